"""Exports reach people's spreadsheets as text: no formulas, no broken workbooks."""

from __future__ import annotations

import pandas as pd
import pytest

from semantic_match.io.output import format_table, write_table

HOSTILE = [
    '=HYPERLINK("http://evil.example","Dinas")',
    "+62 812",
    "-SUM(A1:A9)",
    "@cmd",
    "\tx",
    "\rx",
    "ok \x00\x07 bell",
    "biasa",
]


def test_xlsx_cells_are_text_never_formulas(tmp_path):
    from openpyxl import load_workbook

    frame = pd.DataFrame({"buyer": HOSTILE, "n": range(len(HOSTILE))})
    path = write_table(frame, tmp_path / "m.xlsx")
    ws = load_workbook(path).active
    cells = [c for c in ws["A"][1:]]
    assert all(c.data_type == "s" for c in cells)
    assert cells[0].value == HOSTILE[0]
    assert cells[6].value == "ok  bell"  # control characters that would break the file are removed
    assert [c.value for c in ws["B"][1:]] == list(range(len(HOSTILE)))


@pytest.mark.parametrize("escape", [True, False])
def test_csv_escapes_formula_text_unless_asked_not_to(tmp_path, escape):
    frame = pd.DataFrame({"buyer": HOSTILE, "price": [-5] * len(HOSTILE)})
    path = write_table(frame, tmp_path / "m.csv", escape_formulas=escape)
    back = pd.read_csv(path, keep_default_na=False)
    if escape:
        assert back["buyer"].tolist()[:6] == ["'" + v for v in HOSTILE[:6]]
        assert back["buyer"].iloc[7] == "biasa"
    else:
        assert back["buyer"].iloc[0] == HOSTILE[0]
    assert back["price"].tolist() == [-5] * len(HOSTILE)  # numbers are never touched


def test_printed_csv_is_escaped_too():
    out = format_table(pd.DataFrame({"name": ["=1+1"]}), "csv")
    assert "'=1+1" in out
