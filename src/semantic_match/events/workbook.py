"""The Excel workbook of an event, ``event.xlsx``.

The workbook holds a summary, the full schedule, the buyer × supplier table,
the unmet needs, then one agenda sheet per buyer (``B …``) and per supplier
(``S …``). Excel sheet names are at most 31 characters, unique regardless of
case, without ``[ ] : * ? / \\`` and not starting or ending with an
apostrophe; :func:`sheet_names` makes them so.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..io.frames import is_missing
from ..io.spreadsheet import xlsx_cell
from .summary import party_agendas, summary_rows

if TYPE_CHECKING:
    from .event import EventResult

__all__ = ["sheet_names", "write_workbook"]

_INVALID = re.compile(r"[\[\]:*?/\\]")
_MAX = 31


def sheet_names(names: Iterable[str]) -> list[str]:
    """Valid, unique Excel sheet names for the given titles, in order.

    Examples
    --------
    >>> sheet_names(["B Dinas Koperasi, UKM dan Perindag Kab. Lampung Barat", "S CV Map/Kulit [Ratu]"])
    ['B Dinas Koperasi, UKM dan Perin', 'S CV Map-Kulit (Ratu)']
    """
    out, used = [], set()
    for name in names:
        clean = _INVALID.sub(lambda m: {"[": "(", "]": ")"}.get(m.group(), "-"), str(name))
        clean = " ".join(clean.split()).strip("'") or "Sheet"
        if clean.casefold() == "history":
            clean = "History (1)"
        candidate, n = clean[:_MAX].rstrip().rstrip("'"), 1
        while candidate.casefold() in used:
            n += 1
            suffix = f"~{n}"
            candidate = clean[: _MAX - len(suffix)].rstrip().rstrip("'") + suffix
        used.add(candidate.casefold())
        out.append(candidate)
    return out


def _cell(value: Any) -> Any:
    """A value openpyxl stores as Excel expects: NaN/NA as an empty cell, numpy scalars as Python ones."""
    if value is pd.NA or is_missing(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def _add_sheet(book, name: str, frame: pd.DataFrame, heading: str | None) -> None:
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    ws = book.create_sheet(title=name)
    wrap = Alignment(wrap_text=True, vertical="top")
    long_cols = set()
    # Widths and panes must be set before the first row of a write-only sheet.
    for j, col in enumerate(frame.columns, start=1):
        sample = [str(col)] + [str(v) for v in frame[col].head(200)]
        width = min(max(map(len, sample)) + 2, 60)
        ws.column_dimensions[get_column_letter(j)].width = max(width, 8)
        if width >= 60:
            long_cols.add(j - 1)
    ws.freeze_panes = "A2" if heading is None else "A4"
    if heading is not None:
        ws.append([xlsx_cell(ws, heading, font=Font(bold=True, size=13))])
        ws.append([])
    bold = Font(bold=True)
    header = []
    for col in frame.columns:
        header.append(xlsx_cell(ws, str(col), font=bold))
    ws.append(header)
    # Every cell through xlsx_cell: a buyer named "=HYPERLINK(...)" stays text, never a live formula.
    for row in frame.itertuples(index=False, name=None):
        ws.append(
            [
                xlsx_cell(ws, _cell(v), alignment=wrap) if j in long_cols else xlsx_cell(ws, _cell(v))
                for j, v in enumerate(row)
            ]
        )
    if heading is not None and frame.empty:
        ws.append([xlsx_cell(ws, "no meetings")])


def write_workbook(result: EventResult, path: Path, *, title: str) -> Path:
    """Write ``event.xlsx``: summary, schedule, pairs, unmet needs and one agenda sheet per party.

    The workbook is streamed (openpyxl write-only mode), so hundreds of agenda
    sheets take seconds, not minutes. Agenda sheets have a title row, an empty
    row, then the table (read them with ``pd.read_excel(..., header=2)``).
    openpyxl is imported here, when a workbook is written.
    """
    from openpyxl import Workbook

    fixed = [
        ("Summary", pd.DataFrame(summary_rows(result, title), columns=["item", "value"]), None),
        ("Schedule", result.meetings, None),
        ("Buyer x supplier", result.pair_scores, None),
        ("Unmet needs", _unmet_sheet(result), None),
        ("Unmet by buyer", result.unmet_by_buyer, None),
        ("Unmet by category", result.unmet_by_category, None),
    ]
    agendas = []
    by_buyer, by_supplier = party_agendas(result, "buyer"), party_agendas(result, "supplier")
    for b in result.buyers.ids:
        agendas.append(
            (f"B {b}", by_buyer[b].drop(columns=["detail"]), f"Agenda of buyer {result.buyers.name(b)} ({b})")
        )
    for s in result.suppliers.ids:
        agendas.append(
            (f"S {s}", by_supplier[s].drop(columns=["detail"]), f"Agenda of supplier {result.suppliers.name(s)} ({s})")
        )
    sheets = fixed + agendas
    book = Workbook(write_only=True)
    for name, (_, frame, heading) in zip(sheet_names(n for n, _, _ in sheets), sheets):
        _add_sheet(book, name, frame, heading)
    book.save(path)
    return path


def _unmet_sheet(result: EventResult) -> pd.DataFrame:
    cols = [
        c
        for c in ("need_id", "buyer_id", "need_text", "confidence", "item_id", "category", "supplier_id", "supplier")
        if c in result.unmet.columns
    ]
    name_col = result.settings.get("item_name_col")
    if isinstance(name_col, str) and name_col in result.unmet.columns:
        cols.insert(cols.index("item_id") + 1 if "item_id" in cols else len(cols), name_col)
    return result.unmet[cols]
