"""Inputs given as many files, and the cutting of work into partitions.

A catalogue or a table of needs may be one file, a glob (``parts/*.parquet``) or a folder of
CSV/Parquet/… parts. Parts are read one by one with :func:`semantic_match.io.tables.read_table`
in name order and stacked, so a catalogue given as many files gives the same index as the file
they were cut from. The table is then validated whole (unique ids, empty texts) before any work
is sent to a cluster: an error costs nothing.
"""

from __future__ import annotations

import dataclasses
import glob
import hashlib
import json
import math
import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ..errors import InputError
from ..io.catalog import Catalog, TableSource, load_catalog
from ..io.tables import SUPPORTED_SUFFIXES, read_table

__all__ = [
    "input_files",
    "read_parts",
    "table_source",
    "load_catalog_parts",
    "partition_size",
    "partition_bounds",
    "frame_fingerprint",
]

_GLOB_CHARS = set("*?[")


def _is_glob(text: str) -> bool:
    return any(c in _GLOB_CHARS for c in text)


def _is_part(path: Path) -> bool:
    # Hidden and underscore names are bookkeeping (_SUCCESS, _manifest.json, .part.tmp), never data.
    return path.is_file() and not path.name.startswith((".", "_")) and path.suffix.lower() in SUPPORTED_SUFFIXES


def input_files(spec: str | os.PathLike) -> list[Path]:
    """The files a table argument names: one file, a glob, or every table file of a folder.

    Parameters
    ----------
    spec : str or path-like
        ``needs.csv``, ``"parts/*.parquet"`` or ``parts/``.

    Returns
    -------
    list of Path
        In name order (zero-padded part numbers keep their order); one file when ``spec`` is a file.

    Raises
    ------
    FileNotFoundError
        Nothing exists at ``spec``.
    InputError
        A glob or folder without a table file.
    """
    text = os.fspath(spec)
    path = Path(text)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if _is_part(p))
        if not files:
            raise InputError(f"folder '{path}' holds no table file ({', '.join(SUPPORTED_SUFFIXES)})")
        return files
    if path.exists() or not _is_glob(text):
        if not path.exists():
            raise FileNotFoundError(f"file not found: '{path}'")
        return [path]
    files = sorted(Path(p) for p in glob.glob(text) if _is_part(Path(p)))
    if not files:
        raise InputError(f"no table file matches '{text}'")
    return files


def read_parts(
    files: Sequence[Path], *, id_col: str | None = None, sheet: str | int | None = None, encoding: str | None = None
) -> pd.DataFrame:
    """Read table files one by one and stack them (ids read as text, as for one file).

    Raises
    ------
    InputError
        The parts do not have the same columns.
    """
    frames = []
    for path in files:
        frame = read_table(path, dtype={id_col: str} if id_col else None, sheet=sheet, encoding=encoding)
        if frames and list(frame.columns) != list(frames[0].columns):
            raise InputError(
                f"'{path}' has the columns {list(frame.columns)[:8]}, but '{files[0]}' has "
                f"{list(frames[0].columns)[:8]}; every part must have the same columns"
            )
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def table_source(
    spec: TableSource | Sequence[str],
    *,
    id_col: str | None = None,
    sheet: str | int | None = None,
    encoding: str | None = None,
) -> TableSource | Sequence[str]:
    """What to hand :func:`load_catalog` or :meth:`Matcher.match` for a table argument.

    One file is passed on unchanged (so messages name its lines); a glob or a folder becomes
    the stacked DataFrame of its parts. DataFrames and lists of texts pass through.
    """
    if not isinstance(spec, (str, os.PathLike)):
        return spec
    files = input_files(spec)
    if len(files) == 1:
        return spec if Path(spec).is_file() else files[0]
    return read_parts(files, id_col=id_col, sheet=sheet, encoding=encoding)


def load_catalog_parts(
    spec: TableSource,
    *,
    id_col: str,
    text_cols: Sequence[str] | str,
    meta_cols: Sequence[str] | None = None,
    sheet: str | int | None = None,
    encoding: str | None = None,
) -> Catalog:
    """:func:`semantic_match.load_catalog` for a catalogue that may be a glob or a folder of parts.

    Examples
    --------
    >>> cat = load_catalog_parts("build/katalog/", id_col="product_id", text_cols=["name"])  # doctest: +SKIP
    """
    source = table_source(spec, id_col=id_col, sheet=sheet, encoding=encoding)
    catalog = load_catalog(
        source, id_col=id_col, text_cols=text_cols, meta_cols=meta_cols, sheet=sheet, encoding=encoding
    )
    if isinstance(source, pd.DataFrame) and isinstance(spec, (str, os.PathLike)):
        # The manifest names what the user gave, not "a DataFrame".
        catalog = dataclasses.replace(catalog, source=os.fspath(spec))
    return catalog


def partition_size(
    n: int, *, slots: int, unit: int, largest: int, per_slot: int = 4, requested: int | None = None
) -> int:
    """Rows per partition: about ``per_slot`` partitions per worker thread, always a multiple of ``unit``.

    Partitions start on multiples of ``unit`` (the encoder's batch, the matcher's batch of needs),
    so every batch a worker computes is one a single process computes, on the same rows: the
    same numbers to the last bit (a matrix product's rounding depends on how many rows it has).
    Many partitions balance the load and make a lost worker cost little; ``largest`` bounds the
    memory of one task. A ``requested`` size is rounded up to a multiple of ``unit``.
    """
    unit = max(int(unit), 1)
    if requested is not None:
        if isinstance(requested, bool) or not isinstance(requested, int) or requested < 1:
            raise InputError(f"partition_rows must be a whole number >= 1, got {requested!r}")
        return math.ceil(requested / unit) * unit
    want = math.ceil(max(n, 1) / max(slots * per_slot, 1))
    size = math.ceil(want / unit) * unit
    return int(min(max(size, unit), max(largest // unit, 1) * unit))


def partition_bounds(n: int, size: int) -> list[tuple[int, int]]:
    """``(start, stop)`` of consecutive partitions of ``size`` rows covering ``range(n)``."""
    return [(start, min(start + size, n)) for start in range(0, n, size)]


def frame_fingerprint(frame: pd.DataFrame) -> str:
    """SHA-256 of a table's column names and cell values as text, row order included.

    The same table read again gives the same fingerprint; a changed cell, row or order does not.
    """
    h = hashlib.sha256(json.dumps([str(c) for c in frame.columns]).encode())
    text = frame.astype(str).where(frame.notna(), "\x00")  # NaN differs from the text "nan"
    h.update(pd.util.hash_pandas_object(text, index=False).to_numpy().tobytes())
    return h.hexdigest()
