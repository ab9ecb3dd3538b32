"""Writing result tables to files and the terminal."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pandas as pd

from ..errors import InputError
from .files import atomic_write
from .spreadsheet import csv_safe, write_xlsx

__all__ = ["write_table", "format_table", "OUTPUT_SUFFIXES"]

OUTPUT_SUFFIXES = (".csv", ".xlsx", ".parquet", ".jsonl")


def write_table(frame: pd.DataFrame, path: str | os.PathLike, *, escape_formulas: bool = True) -> Path:
    """Write a DataFrame as CSV, Excel, Parquet or JSON Lines (by suffix), atomically.

    A crash mid-write leaves any previous file at ``path`` untouched. Excel cells hold text as
    text, never formulas; CSV text that a spreadsheet would evaluate (leading ``= + - @``, tab,
    carriage return) gets a leading apostrophe unless ``escape_formulas=False`` (for CSV read by
    programs, not people). See :mod:`semantic_match.io.spreadsheet`.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in OUTPUT_SUFFIXES:
        raise InputError(
            f"cannot write '{path}': unsupported suffix '{suffix}'; use one of {', '.join(OUTPUT_SUFFIXES)}"
        )

    def write(tmp: Path) -> None:
        if suffix == ".csv":
            # CRLF records (RFC 4180): a field holding a bare carriage return is then quoted too.
            csv_safe(frame, escape_formulas=escape_formulas).to_csv(
                tmp, index=False, encoding="utf-8", lineterminator="\r\n"
            )
        elif suffix == ".xlsx":
            write_xlsx(frame, tmp, sheet="matches")
        elif suffix == ".parquet":
            frame.to_parquet(tmp, index=False)
        else:
            frame.to_json(tmp, orient="records", lines=True, force_ascii=False)

    return atomic_write(path, write)


def _clip(value: object, width: int) -> object:
    if isinstance(value, str) and len(value) > width:
        return value[: width - 1] + "…"
    return value


def format_table(frame: pd.DataFrame, fmt: str = "table", *, max_colwidth: int = 48) -> str:
    """Render results as an aligned text table, CSV or JSON (records)."""
    if fmt == "csv":
        return csv_safe(frame).to_csv(index=False)
    if fmt == "json":
        return json.dumps(json.loads(frame.to_json(orient="records", force_ascii=False)), ensure_ascii=False, indent=2)
    if fmt != "table":
        raise InputError(f"unknown format {fmt!r}; use one of ['table', 'csv', 'json']")
    if frame.empty:
        return "(no results)"
    shown = frame.copy()
    for col in shown.columns:
        if shown[col].dtype == object or pd.api.types.is_string_dtype(shown[col]):
            shown[col] = shown[col].map(lambda v: _clip(v, max_colwidth))
    for col in ("score", "confidence"):
        if col in shown.columns:
            shown[col] = shown[col].map(lambda v: f"{v:.4f}" if pd.notna(v) else "")
    width = shutil.get_terminal_size((160, 24)).columns
    with pd.option_context("display.width", max(width, 80), "display.max_columns", None):
        return shown.to_string(index=False)
