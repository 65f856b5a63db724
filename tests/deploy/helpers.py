"""What the deployment tests share: the repository's files, compose interpolation, the
definitions renderer, and the needs of each service on the broker (from the code itself)."""
from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

from tests import infra

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = ROOT / "docker-compose.yml"
DEFINITIONS = DEPLOY / "rabbitmq" / "definitions.json"
SERVICES = ("users", "jobs", "contracts", "payments", "reviews", "messages")
LOCAL_ENGINE = DEPLOY / "local-engine.sh"


def local_engine(*args: str) -> dict[str, str]:
    """The engine and the images, from deploy/local-engine.sh (`app`: the marketplace image too): the
    {variable: value} it exports. Without them the test is skipped, except under CI, where it fails."""
    try:
        made = subprocess.run(["bash", str(LOCAL_ENGINE), *args], capture_output=True, text=True, timeout=3000,
                              env={**os.environ, "PYTHON": sys.executable}, check=False)
    except OSError as error:
        infra.unavailable(f"a Docker engine (deploy/local-engine.sh: {error})")
    if made.returncode != 0:
        infra.unavailable(f"a Docker engine and its images (deploy/local-engine.sh {' '.join(args)}: "
                          f"{made.stderr[-2000:]})")
    return dict(line.removeprefix("export ").partition("=")[::2] for line in made.stdout.splitlines()
                if line.startswith("export "))


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())  # the merge keys (<<) are resolved by PyYAML


def load_module(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def render_definitions_module():
    return load_module(DEPLOY / "rabbitmq" / "render-definitions.py", "render_definitions")


def secrets_module():
    return load_module(DEPLOY / "k8s" / "secrets-from-env.py", "secrets_from_env")


def definitions() -> dict:
    return json.loads(DEFINITIONS.read_text())


def env_example() -> dict[str, str]:
    return secrets_module().read_env(str(ROOT / ".env.example"))


_VARIABLE = re.compile(r"\$(?:\$|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")


def variables(text: str) -> dict[str, str | None]:
    """Every ${VAR...} of a compose file: name -> its operator (None, ':-', '-', ':?', '?')."""
    found = {}
    for match in _VARIABLE.finditer(text):
        name = match.group(1) or match.group(4)
        if name:
            found.setdefault(name, match.group(2))
            if match.group(2) in (":?", "?"):
                found[name] = match.group(2)
    return found


def interpolate(value, env: dict[str, str]):
    """Compose's interpolation: $$, $VAR, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def one(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name, operator, argument = match.group(1) or match.group(4), match.group(2), match.group(3)
        present = name in env and (env[name] != "" or operator not in (":-", ":?"))
        if operator in (":-", "-"):
            return env[name] if present else argument
        if operator in (":?", "?"):
            if not present:
                raise KeyError(f"{name}: {argument}")
            return env[name]
        return env.get(name, "")

    return _VARIABLE.sub(one, value)
