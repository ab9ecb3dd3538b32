"""The package's layout (issue 9): short modules, public names across modules, wings that do not import upwards."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import semantic_match

PACKAGE = Path(semantic_match.__file__).parent
MODULES = sorted(PACKAGE.rglob("*.py"))
#: Who may import whom: shared layers, the core, the wings, the command line on top.
LAYERS = {
    "text": 0,
    "io": 0,
    "errors": 0,
    "version": 0,
    "retrieval": 1,
    "events": 2,
    "notebook": 2,
    "training": 2,
    "distributed": 2,
    "cli": 3,
}


def _name(path: Path) -> str:
    return ".".join(path.relative_to(PACKAGE).with_suffix("").parts)


#: Upward imports allowed inside a function only: the core hands work to a Dask cluster when given a client.
LAZY = {("retrieval", "distributed")}


def _imports(path: Path, *, module_level: bool = False) -> list[ast.ImportFrom]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if module_level else list(ast.walk(tree))
    return [n for n in nodes if isinstance(n, ast.ImportFrom)]


def _target(path: Path, node: ast.ImportFrom) -> str:
    """The absolute module an import names (``semantic_match.…``)."""
    if not node.level:
        return node.module or ""
    base = ["semantic_match", *path.relative_to(PACKAGE).parent.parts]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def test_the_package_has_its_four_wings_and_the_core():
    subpackages = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    assert {"text", "io", "retrieval", "events", "notebook", "training", "distributed", "cli"} <= subpackages


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_modules_are_at_most_450_lines(path):
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 450


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_no_private_name_crosses_a_module(path):
    private = [
        f"{n.module}.{a.name}"
        for n in _imports(path)
        for a in n.names
        if a.name.startswith("_")
        and not a.name.endswith("__")
        and (n.level or (n.module or "").startswith("semantic_match"))
    ]
    assert private == []


@pytest.mark.parametrize("path", [p for p in MODULES if p.parent != PACKAGE], ids=_name)
def test_layers_import_only_layers_below_or_beside_them(path):
    own = path.relative_to(PACKAGE).parts[0]
    top = {id(n) for n in _imports(path, module_level=True)}
    for node in _imports(path):
        target = _target(path, node).split(".")
        if target[0] != "semantic_match" or len(target) < 2 or target[1] not in LAYERS:
            continue
        other = target[1]
        # The shared layers use each other; a wing uses the core and the shared layers, never another
        # wing or the CLI.
        allowed = (
            other == own
            or LAYERS[other] < LAYERS[own]
            or LAYERS[other] == LAYERS[own] == 0
            or ((own, other) in LAZY and id(node) not in top)
        )
        assert allowed, f"{_name(path)} imports semantic_match.{other}"
