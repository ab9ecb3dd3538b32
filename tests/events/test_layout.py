"""The events wing's layout: stages that never call back, public names across modules, light imports."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import semantic_match.events

WING = Path(semantic_match.events.__file__).parent
MODULES = sorted(WING.rglob("*.py"))

# Each module may import only those listed before it (imports needed by type hints alone excepted):
# the shared helpers, the inputs' parts, the scheduler, then the stages in pipeline order.
ORDER = [
    "values",
    "compat",
    "slots",
    "parties",
    "scheduling",
    "inputs",
    "matching",
    "pairs",
    "candidates",
    "schedule",
    "summary",
    "charts",
    "workbook",
    "report",
    "exports",
    "event",
]


def _name(path: Path) -> str:
    return ".".join(path.relative_to(WING).with_suffix("").parts)


def _imports(path: Path, *, with_typing: bool) -> list[ast.ImportFrom]:
    """``from … import …`` statements of a module (with those under ``if TYPE_CHECKING:`` or not)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    hidden = set()
    if not with_typing:
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
                hidden |= {id(n) for n in ast.walk(node)}
    return [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and id(n) not in hidden]


# Module length and private names: tests/test_layout.py, for the whole package.


@pytest.mark.parametrize("path", [p for p in MODULES if p.parent == WING and p.stem != "__init__"], ids=_name)
def test_stages_import_only_what_comes_before_them(path):
    rank = ORDER.index(path.stem)
    for node in _imports(path, with_typing=False):
        if node.level == 1 and node.module:
            assert ORDER.index(node.module.split(".")[0]) < rank, f"{path.stem} imports .{node.module}"
        if node.level >= 2:
            wing = (node.module or "").split(".")[0]
            assert wing not in ("notebook", "training", "cli"), f"{path.stem} imports the {wing} wing"


def test_importing_the_wing_leaves_scipy_optimize_unloaded():
    code = (
        "import sys, semantic_match, semantic_match.events.event, semantic_match.events.exports, "
        "semantic_match.events.scheduling; from semantic_match import run_event, schedule_meetings; "
        "print(sorted(m for m in ('scipy.optimize', 'openpyxl', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
