"""Reading tables from files: CSV/TSV (delimiter sniffed), Excel, Parquet and JSON Lines."""
from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pandas as pd

from ..errors import InputError

__all__ = ["read_table", "SUPPORTED_SUFFIXES"]

SUPPORTED_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".xls", ".parquet", ".pq",
                      ".jsonl", ".ndjson", ".json")
_SNIFF_BYTES = 64 * 1024


def _sniff_delimiter(path: Path, encoding: str) -> str:
    # Spreadsheets exported on Indonesian-locale Windows use ';' because ',' is
    # the decimal separator there.
    with open(path, "r", encoding=encoding, newline="") as fh:
        sample = fh.read(_SNIFF_BYTES)
    if path.suffix.lower() == ".tsv":
        return "\t"
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


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
        The file; its suffix selects the reader.
    dtype : dict, optional
        Column types passed to the reader (ids are read as ``str`` this way so
        that "007" stays "007").
    sheet : str or int, optional
        Excel sheet name or position; default the first sheet.
    encoding : str, optional
        Text encoding of CSV/TSV/JSON files; default UTF-8 (a BOM is accepted).

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    InputError
        Unknown suffix, undecodable bytes or unparsable content; the message
        names the file.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"file not found: '{path}'")
    if path.is_dir():
        raise InputError(f"'{path}' is a folder; expected a table file with one of the suffixes "
                         f"{', '.join(SUPPORTED_SUFFIXES)}")
    suffix = path.suffix.lower()
    enc = encoding or "utf-8-sig"
    try:
        if suffix in (".csv", ".tsv", ".txt"):
            sep = _sniff_delimiter(path, enc)
            return pd.read_csv(path, sep=sep, dtype=dtype, encoding=enc, keep_default_na=True)
        if suffix in (".xlsx", ".xlsm", ".xls"):
            return pd.read_excel(path, sheet_name=0 if sheet is None else sheet, dtype=dtype)
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
        if suffix in (".jsonl", ".ndjson"):
            return pd.read_json(path, lines=True, dtype=dtype, encoding=enc)
        if suffix == ".json":
            with open(path, encoding=enc) as fh:
                return pd.read_json(io.StringIO(fh.read()), dtype=dtype)
    except UnicodeDecodeError as exc:
        raise InputError(
            f"cannot decode '{path}' as {enc}: byte {exc.object[exc.start:exc.start + 1]!r} at "
            f"position {exc.start} is invalid; save the file as UTF-8, or pass its encoding "
            f"(e.g. encoding='cp1252' or --encoding cp1252)"
        ) from exc
    except (ValueError, pd.errors.ParserError, OSError, ImportError) as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(f"cannot read '{path}' as a {suffix} table: {exc}") from exc
    raise InputError(
        f"unsupported file type '{suffix}' for '{path}'; use one of {', '.join(SUPPORTED_SUFFIXES)}"
    )
