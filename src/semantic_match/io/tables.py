"""Reading tables from files: CSV/TSV, Excel, Parquet and JSON Lines.

CSV and TSV files are read the way pandas and spreadsheets write them: UTF-8
with or without a BOM, CR LF or LF line ends, quoted fields holding delimiters,
quotes (doubled), tabs and line breaks. The delimiter is chosen from the header
line and confirmed by every record (:mod:`semantic_match.io.csvsniff`); a record
with the wrong number of fields, an unbalanced quote or a repeated column name
is refused with its line number instead of being shifted, padded or renamed
(pandas would silently rename a second ``nama`` to ``nama.1``). Excel sheets
are checked for repeated names in their first row too.

Cells are returned as the file holds them: no control character is removed and
no decimal comma converted here; :func:`semantic_match.load_catalog` does that
for catalogues and needs (see :mod:`semantic_match.io.cells`).
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path
from typing import Any, cast
from xml.etree.ElementTree import ParseError

import pandas as pd

from ..errors import InputError
from .csvsniff import DELIMITERS, sniff_csv

__all__ = ["read_table", "read_table_and_lines", "check_header_names", "SUPPORTED_SUFFIXES"]

SUPPORTED_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".xls", ".parquet", ".pq", ".jsonl", ".ndjson", ".json")


def check_header_names(names: list[object], *, source: str, where: str) -> None:
    """Raise :class:`InputError` when two non-empty column names are equal after stripping white space.

    Parameters
    ----------
    names : list
        The names in file order.
    source : str
        The file, for the message.
    where : str
        Where the names are, e.g. ``"the header (line 1)"``.
    """
    seen: dict[str, list[int]] = {}
    for pos, name in enumerate(names, start=1):
        if name is None or (isinstance(name, float) and name != name):
            continue
        key = str(name).strip()
        if key:
            seen.setdefault(key, []).append(pos)
    dups = {k: v for k, v in seen.items() if len(v) > 1}
    if dups:
        desc = "; ".join(f"{k!r} in columns {', '.join(map(str, v))}" for k, v in list(dups.items())[:5])
        more = f"; … ({len(dups) - 5} more)" if len(dups) > 5 else ""
        raise InputError(
            f"cannot read '{source}': {where} repeats column names: {desc}{more}; rename the columns so that "
            f"each has its own name (pandas would rename the repeats 'name.1' silently, and the wrong column "
            f"could be used)"
        )


def _decode(path: Path, encoding: str) -> str:
    raw = path.read_bytes()
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise InputError(
            f"cannot decode '{path}' as {encoding}: byte {exc.object[exc.start : exc.start + 1]!r} at "
            f"position {exc.start} is invalid; save the file as UTF-8, or pass its encoding "
            f"(e.g. encoding='cp1252' or --encoding cp1252)"
        ) from exc
    # A BOM read with an explicit encoding such as 'utf-8' would become part of the first name.
    return text[1:] if text.startswith("\ufeff") else text


def _read_csv(path: Path, text: str, dtype: dict[str, object] | None) -> tuple[pd.DataFrame, list[int]]:
    delimiters = ("\t",) if path.suffix.lower() == ".tsv" else DELIMITERS
    layout = sniff_csv(text, source=str(path), delimiters=delimiters)
    check_header_names(list(layout.header), source=str(path), where=f"the header (line {layout.header_line})")

    def parse(**engine: Any) -> pd.DataFrame:
        return pd.read_csv(
            io.StringIO(text),
            sep=layout.delimiter,
            dtype=cast(Any, dtype),
            quotechar='"',
            doublequote=True,
            keep_default_na=True,
            skip_blank_lines=True,
            index_col=False,
            **engine,
        )

    # low_memory=False: one type per column, never a column typed chunk by chunk.
    frame = parse(low_memory=False)
    if frame.shape != (len(layout.record_lines), len(layout.header)):
        # The C parser and the csv module disagree (exotic white-space lines);
        # the python engine splits records with the csv module itself.
        frame = parse(engine="python")
    if frame.shape != (len(layout.record_lines), len(layout.header)):
        raise InputError(
            f"cannot read '{path}' unambiguously: {len(layout.record_lines)} records of "
            f"{len(layout.header)} fields were checked, pandas read {frame.shape[0]} rows of "
            f"{frame.shape[1]} columns; save the file again as CSV UTF-8 from a spreadsheet"
        )
    return frame, list(layout.record_lines)


def _read_excel(path: Path, sheet: str | int | None, dtype: dict[str, object] | None) -> pd.DataFrame:
    sheet_name = 0 if sheet is None else sheet
    first = pd.read_excel(path, sheet_name=sheet_name, header=None, nrows=1, dtype=object)
    if len(first):
        check_header_names(first.iloc[0].tolist(), source=str(path), where="the first row of the sheet")
    return pd.read_excel(path, sheet_name=sheet_name, dtype=cast(Any, dtype))


def _json_text_columns(frame: pd.DataFrame, dtype: dict[str, object] | None) -> pd.DataFrame:
    # Read as objects, then made text here: pandas' dtype=str would turn a JSON
    # array into the string "['kopi', 'tapis']", hiding it from the check for
    # list-valued text columns.
    for col, kind in (dtype or {}).items():
        if kind is str and col in frame.columns:
            frame[col] = frame[col].map(
                lambda v: v if v is None or isinstance(v, (list, dict)) or (isinstance(v, float) and v != v) else str(v)
            )
    return frame


def read_table_and_lines(
    path: str | os.PathLike,
    *,
    dtype: dict[str, object] | None = None,
    sheet: str | int | None = None,
    encoding: str | None = None,
) -> tuple[pd.DataFrame, list[int] | None]:
    """:func:`read_table`, and for CSV/TSV files the physical line where each row starts.

    Returns
    -------
    frame : DataFrame
    lines : list of int or None
        ``lines[i]`` is the line of the file (from 1, as an editor numbers them)
        where row ``i`` starts; ``None`` for formats without lines.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"file not found: '{path}'")
    if path.is_dir():
        raise InputError(
            f"'{path}' is a folder; expected a table file with one of the suffixes {', '.join(SUPPORTED_SUFFIXES)}"
        )
    suffix = path.suffix.lower()
    enc = encoding or "utf-8-sig"
    try:
        if suffix in (".csv", ".tsv", ".txt"):
            return _read_csv(path, _decode(path, enc), dtype)
        if suffix in (".xlsx", ".xlsm", ".xls"):
            return _read_excel(path, sheet, dtype), None
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path), None
        if suffix in (".jsonl", ".ndjson", ".json"):
            text = _decode(path, enc)
            objects = {c: object for c in (dtype or {})}
            frame = pd.read_json(io.StringIO(text), lines=suffix != ".json", dtype=objects or None)
            return _json_text_columns(frame, dtype), None
    except UnicodeDecodeError as exc:
        raise InputError(
            f"cannot decode '{path}' as {enc}: byte {exc.object[exc.start : exc.start + 1]!r} at "
            f"position {exc.start} is invalid; save the file as UTF-8, or pass its encoding "
            f"(e.g. encoding='cp1252' or --encoding cp1252)"
        ) from exc
    except (ValueError, pd.errors.ParserError, OSError, ImportError, zipfile.BadZipFile, ParseError) as exc:
        # BadZipFile and ParseError: a damaged .xlsx (or one holding characters XML forbids).
        if isinstance(exc, InputError):
            raise
        raise InputError(f"cannot read '{path}' as a {suffix} table: {exc}") from exc
    raise InputError(f"unsupported file type '{suffix}' for '{path}'; use one of {', '.join(SUPPORTED_SUFFIXES)}")


def read_table(
    path: str | os.PathLike,
    *,
    dtype: dict[str, object] | None = None,
    sheet: str | int | None = None,
    encoding: str | None = None,
) -> pd.DataFrame:
    """Read a CSV, TSV, Excel, Parquet or JSON Lines file into a DataFrame.

    Parameters
    ----------
    path : str or path-like
        The file; its suffix selects the reader. ``.tsv`` is tab-separated; the
        delimiter of ``.csv`` and ``.txt`` files (``,`` ``;`` tab ``|``) is chosen
        from the header line and confirmed by every record.
    dtype : dict, optional
        Column types passed to the reader (ids are read as ``str`` this way so
        that "007" stays "007").
    sheet : str or int, optional
        Excel sheet name or position; default the first sheet.
    encoding : str, optional
        Text encoding of CSV/TSV/JSON files; default UTF-8 (a BOM is accepted).

    Returns
    -------
    DataFrame
        The cells as the file holds them (empty cells and pandas' missing-value
        markers such as ``NA`` read as missing).

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    InputError
        Unknown suffix, undecodable bytes, a row with the wrong number of
        fields or an unbalanced quote (with its line number), repeated column
        names, or other unparsable content; the message names the file and the fix.
    """
    return read_table_and_lines(path, dtype=dtype, sheet=sheet, encoding=encoding)[0]
