"""Cells that spreadsheet programs cannot turn into formulas, and text that never breaks a workbook.

A buyer or product named ``=HYPERLINK("http://evil.example","Dinas")`` must reach an analyst's
Excel as that text, not as a live formula (CSV/formula injection, OWASP). So:

- in ``.xlsx`` files every string is stored as a string cell (never a formula), and the
  control characters Excel files cannot hold are removed;
- in CSV files meant for people, a text that starts with ``=``, ``+``, ``-``, ``@``, a tab or a
  carriage return gets a leading apostrophe, the escape spreadsheet programs recognise.
  Machine-to-machine CSV can turn this off (``escape_formulas=False``, ``--raw-csv``).
"""

from __future__ import annotations

import re

import pandas as pd

__all__ = ["FORMULA_PREFIXES", "escape_formula", "csv_safe", "xlsx_text", "xlsx_cell", "write_xlsx"]

#: Leading characters that make spreadsheet programs evaluate a cell.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# What openpyxl refuses to store (XML 1.0 forbids these control characters).
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def escape_formula(value: object) -> object:
    """``value`` with a leading apostrophe when it is text a spreadsheet would evaluate."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_safe(frame: pd.DataFrame, *, escape_formulas: bool = True) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells are safe to open in a spreadsheet program."""
    if not escape_formulas:
        return frame
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(escape_formula)
    out.columns = [escape_formula(c) if isinstance(c, str) else c for c in out.columns]
    return out


def xlsx_text(value: str) -> str:
    """Text an ``.xlsx`` cell can hold: forbidden control characters removed."""
    return _ILLEGAL.sub("", value)


def xlsx_cell(sheet, value: object, **style):
    """A write-only cell holding ``value``; text is stored as text, never as a formula.

    ``style`` sets cell attributes such as ``font`` or ``alignment``.
    """
    from openpyxl.cell import WriteOnlyCell

    if isinstance(value, str):
        cell = WriteOnlyCell(sheet, value=xlsx_text(value))
        cell.data_type = "s"  # openpyxl would otherwise store a leading "=" as a formula
    else:
        cell = WriteOnlyCell(sheet, value=value)
    for name, attr in style.items():
        setattr(cell, name, attr)
    return cell


def _plain(value: object) -> object:
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            return value.item()
        except (ValueError, AttributeError):
            return str(value)
    if isinstance(value, (list, tuple, dict, set)):
        return str(value)
    return value


def write_xlsx(frame: pd.DataFrame, path, *, sheet: str = "Sheet1") -> None:
    """Write one DataFrame to an ``.xlsx`` file with every text stored as text."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=xlsx_text(sheet)[:31] or "Sheet1")
    ws.append([xlsx_cell(ws, str(c)) for c in frame.columns])
    for row in frame.itertuples(index=False, name=None):
        ws.append([xlsx_cell(ws, _plain(v)) for v in row])
    wb.save(path)
