"""Imports point one way: ui -> services -> domain, adapters -> domain (DESIGN.md section 8)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "app"

# Third-party packages each layer may use besides the standard library and `app` itself.
ALLOWED_THIRD_PARTY = {
    "domain": {"biip"},
    "services": {"biip"},
}
FORBIDDEN_APP_LAYERS = {
    "domain": {"app.services", "app.adapters", "app.ui", "app.cli", "app.bootstrap", "app.config"},
    "services": {"app.adapters", "app.ui", "app.cli", "app.bootstrap"},
    "adapters": {"app.services", "app.ui", "app.cli", "app.bootstrap"},
}


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            package = ".".join(path.relative_to(APP.parent).with_suffix("").parts[: -node.level])
            names.add(f"{package}.{node.module}" if node.module else package)
    return names


def layer_files(layer: str) -> list[Path]:
    return sorted((APP / layer).rglob("*.py"))


@pytest.mark.parametrize("layer", sorted(FORBIDDEN_APP_LAYERS))
def test_layers_import_only_inward(layer: str) -> None:
    offences = [
        f"{path.relative_to(APP)} imports {name}"
        for path in layer_files(layer)
        if "migrations" not in path.parts
        for name in imported_modules(path)
        if forbidden(layer, name)
    ]
    assert offences == []


def forbidden(layer: str, name: str) -> bool:
    if any(name == f or name.startswith(f + ".") for f in FORBIDDEN_APP_LAYERS[layer]):
        return True
    if layer not in ALLOWED_THIRD_PARTY:
        return False
    top = name.split(".")[0]
    return top not in sys.stdlib_module_names | {"app"} | ALLOWED_THIRD_PARTY[layer]


def test_the_checker_sees_a_forbidden_import() -> None:
    """A negative control: the scanner finds Qt and SQLAlchemy imports when they are there."""
    bad = APP / "domain" / "_probe_forbidden.py"
    bad.write_text("import sqlalchemy\nfrom PySide6 import QtCore\nfrom ..adapters import db\n")
    try:
        found = imported_modules(bad)
    finally:
        bad.unlink()
    assert found == {"sqlalchemy", "PySide6", "app.adapters"}
    assert all(forbidden("domain", name) for name in found)
    assert not forbidden("domain", "biip.gtin") and not forbidden("domain", "dataclasses")
