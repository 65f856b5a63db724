"""The kit's modules import what they need at their top: no import hidden in a function to dodge a cycle."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

import shared

KIT = Path(shared.__file__).parent
# Ordering: prometheus_client picks its value class when first imported, so `serve` must be able to set
# PROMETHEUS_MULTIPROC_DIR before anything imports it (`share_metrics_between_processes`).
# Cost: OpenTelemetry's SDK, exporters (gRPC's among them) and instrumentations load only once traces are
# on, so a process without an endpoint pays nothing for them (`tracing`).
LAZY = {"serve.py", "tracing.py"}
MODULES = sorted(path for path in KIT.rglob("*.py")
                 if "migrations" not in path.relative_to(KIT).parts and path.relative_to(KIT).as_posix() not in LAZY)


def late_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    return [f"{path.relative_to(KIT)}:{node.lineno}" for function in ast.walk(tree)
            if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef))
            for node in ast.walk(function) if isinstance(node, (ast.Import, ast.ImportFrom))]


@pytest.mark.parametrize("path", MODULES, ids=lambda path: path.relative_to(KIT).as_posix())
def test_a_kit_module_imports_at_its_top(path):
    assert late_imports(path) == []
