"""`shared/` is a kit any service could be built from: it knows no service of this application.

What is checked, in every module under `shared/` (read as source, nothing is imported):

- **Imports.** No `import services…`, `from services… import`, `import marketplace…` or
  `from marketplace… import`, nor an `importlib.import_module`/`__import__`/`find_spec` of such a
  name: the application (`marketplace/`) composes the kit and the services, never the reverse.
- **Names.** No identifier (variable, argument, function, class, attribute, keyword) spelled as
  a service (`users`, `jobs`, `contracts`, `payments`, `reviews`, `messages`), and no string in
  code that names one: the name itself (`"users"`), a dotted or slashed path starting with it
  (`"payments.escrow"`, `"users/"`), a `services.<name>` module or `services/<name>` folder, or
  a variable of one (`DATABASE_URL_USERS`, `GATEWAY_JOBS_URL`, `MARKETPLACE_PORT_REVIEWS`).
  Knowing those is knowing the application's composition (which services, their ports, routes,
  databases). Docstrings and comments are prose and not checked.

What is allowed, and why:

- `shared/events/` is the published language between services: each producer's event schemas
  live in `shared/events/<producer>.py` and name their event types (`payments.escrow.funded`),
  and `shared/events/__init__.py` gathers those modules into the catalogue. Event types are a
  contract every consumer reads, not the application's wiring, so the name rule does not apply
  there; the import rule does (the catalogue imports no service and no application code).
- `ALLOWED` below lists single (file, name) pairs where a service's name is an ordinary word of
  a library's vocabulary, each with its reason.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KIT = ROOT / "shared"
SERVICE_NAMES = ("users", "jobs", "contracts", "payments", "reviews", "messages")
APPLICATION = ("services", "marketplace")
EVENT_CATALOGUE = KIT / "events"
ALLOWED = {
    # marshmallow's and webargs' name for a failed validation's messages, not the messages service.
    ("shared/http/problems.py", "messages"),
}
_IMPORTERS = {"import_module", "__import__", "find_spec"}
_NAMED = "|".join(SERVICE_NAMES)
_IN_STRING = re.compile(
    rf"^(?:{_NAMED})(?:[./:].*)?$"                      # "users", "payments.escrow.funded", "users/…"
    rf"|\bservices[./](?:{_NAMED})\b"                   # "services.users", "services/jobs"
    rf"|\b[A-Z_]*_(?:{_NAMED.upper()})(?:_[A-Z]+)*\b",  # DATABASE_URL_USERS, GATEWAY_JOBS_URL
)


def kit_modules() -> list[Path]:
    return sorted(path for path in KIT.rglob("*.py") if "__pycache__" not in path.parts)


def _relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _docstrings(tree: ast.AST) -> set[int]:
    """The ids of the string constants that are docstrings (prose, not code)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                found.add(id(first.value))
    return found


def _is_application(module: str) -> bool:
    return module.split(".", 1)[0] in APPLICATION


def imports_of_the_application(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [f"import {alias.name}" for alias in node.names if _is_application(alias.name)]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and _is_application(node.module):
            found.append(f"from {node.module} import …")
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if called in _IMPORTERS and isinstance(node.args[0].value, str) and _is_application(node.args[0].value):
                found.append(f"{called}({node.args[0].value!r})")
    return found


def _identifiers(node: ast.AST):
    if isinstance(node, ast.Name):
        yield node.id
    elif isinstance(node, ast.Attribute):
        yield node.attr
    elif isinstance(node, ast.arg):
        yield node.arg
    elif isinstance(node, ast.keyword) and node.arg:
        yield node.arg
    elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        yield node.name
    elif isinstance(node, ast.alias):
        yield (node.asname or node.name).split(".")[-1]
    elif isinstance(node, ast.ImportFrom) and node.module:
        yield from node.module.split(".")


def service_names_in(path: Path, tree: ast.AST) -> list[str]:
    prose = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        for name in _identifiers(node):
            if name in SERVICE_NAMES and (_relative(path), name) not in ALLOWED:
                found.append(f"line {node.lineno}: identifier {name}")
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in prose:
            match = _IN_STRING.search(node.value)
            if match and (_relative(path), node.value) not in ALLOWED:
                found.append(f"line {node.lineno}: string {node.value!r}")
    return found


@pytest.mark.parametrize("path", kit_modules(), ids=_relative)
def test_the_kit_imports_neither_the_services_nor_the_application(path):
    found = imports_of_the_application(ast.parse(path.read_text(), str(path)))
    assert not found, f"{_relative(path)} depends on the application: {', '.join(found)}"


@pytest.mark.parametrize("path", [p for p in kit_modules() if EVENT_CATALOGUE not in p.parents], ids=_relative)
def test_the_kit_names_no_service(path):
    found = service_names_in(path, ast.parse(path.read_text(), str(path)))
    assert not found, f"{_relative(path)} names a service: {'; '.join(found)}"


class TestTheRuleItself:
    """The checks catch what they are meant to and let the kit's own vocabulary through."""

    @pytest.mark.parametrize("source", [
        "import services.users", "from services import users as u", "from marketplace.registry import NAMES",
        "import marketplace", "importlib.import_module('services.jobs')", "__import__('marketplace.cli')",
    ])
    def test_an_import_of_the_application_is_found(self, source):
        assert imports_of_the_application(ast.parse(source))

    @pytest.mark.parametrize("source", [
        "PORTS = {'users': 8001}", "SERVICES = ('jobs', 'reviews')", "url = env['DATABASE_URL_PAYMENTS']",
        "kind = 'contracts.offer.expire'", "def users(): pass", "runtime.payments", "module = 'services.reviews'",
        "target = f'GATEWAY_{x}_URL' or 'GATEWAY_JOBS_URL'", "folder = 'services/messages'", "messages = 1",
    ])
    def test_a_service_named_in_code_is_found(self, source):
        assert service_names_in(KIT / "toy.py", ast.parse(source))

    @pytest.mark.parametrize("source", [
        "'''Each user's messages, in jobs and contracts.'''", "exchange = 'marketplace.events'",
        "issuer = 'marketplace'", "name = f'DATABASE_URL_{service.upper()}'", "services = {}",
        "user_id = 1", "x = 'a job'",
    ])
    def test_the_kit_s_own_words_pass(self, source):
        assert not service_names_in(KIT / "toy.py", ast.parse(source))
