"""Loading and validating catalogues and tables of needs.

A catalogue is any table with an id column, one or more text columns (name,
description, …) and metadata columns kept for display and filtering
(supplier, category, region, price, TKDN, …). It may come as a DataFrame or a
CSV, TSV, Excel, Parquet or JSON Lines file.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Sequence, Union

import pandas as pd

from ..errors import CatalogError, format_list
from ..text.normalize import normalize_text
from .columns import require_columns
from .tables import read_table

__all__ = ["Catalog", "TableSource", "load_catalog", "combine_texts"]

TableSource = Union[pd.DataFrame, str, os.PathLike]

@dataclass(frozen=True)
class Catalog:
    """A validated table of items with one id, text columns and metadata.

    Attributes
    ----------
    items : DataFrame
        The rows in input order with a fresh RangeIndex; the id column holds
        ``str``.
    id_col : str
    text_cols : tuple of str
    meta_cols : tuple of str
    texts : list of str
        The normalised text of each row: the text columns joined with ". ".
    source : str or None
        File name the table came from, for messages.
    """

    items: pd.DataFrame
    id_col: str
    text_cols: tuple[str, ...]
    meta_cols: tuple[str, ...]
    texts: list[str]
    source: str | None = None

    def __len__(self) -> int:
        return len(self.items)

    @property
    def ids(self) -> list[str]:
        return self.items[self.id_col].tolist()


def _describe(source: TableSource) -> str:
    return f"'{source}'" if not isinstance(source, pd.DataFrame) else "the DataFrame"


def _check_columns(frame: pd.DataFrame, wanted: Sequence[str], what: str, where: str, hint: str) -> None:
    require_columns(frame, wanted, where=where, what=what, hint=hint, error=CatalogError)


def _row_label(frame_pos: int, from_file: bool) -> str:
    # Row numbers as a spreadsheet shows them: header on line 1.
    return f"line {frame_pos + 2}" if from_file else f"row {frame_pos}"


def combine_texts(frame: pd.DataFrame, text_cols: Sequence[str]) -> list[str]:
    """Normalise and join the text columns of each row with ". "."""
    parts = [frame[c].map(normalize_text).tolist() for c in text_cols]
    out = []
    for values in zip(*parts):
        kept = [v.rstrip(" .") for v in values if v]
        out.append(". ".join(kept))
    return out


def load_catalog(
    source: TableSource,
    *,
    id_col: str,
    text_cols: Sequence[str] | str,
    meta_cols: Sequence[str] | None = None,
    sheet: str | int | None = None,
    encoding: str | None = None,
    what: str = "catalog",
) -> Catalog:
    """Load and validate a catalogue (or a table of needs).

    Parameters
    ----------
    source : DataFrame, str or path-like
        The table or its file (CSV/TSV, Excel, Parquet, JSON Lines).
    id_col : str
        Column with a unique id per row; read as text so "007" stays "007".
    text_cols : str or sequence of str
        Columns whose normalised texts, joined with ". ", describe the row.
    meta_cols : sequence of str, optional
        Columns kept for display and filtering; default every other column.
    sheet, encoding
        Passed to :func:`read_table` for files.
    what : str
        Word used in error messages ("catalog", "needs").

    Returns
    -------
    Catalog

    Raises
    ------
    CatalogError
        Missing columns, missing or duplicate ids, or rows whose texts are all
        empty; the message lists the offending ids or lines and the fix.

    Examples
    --------
    >>> df = pd.DataFrame({"kode": ["P1", "P2"], "nama": ["Seminar kit tapis", "Kopi robusta 250gr"],
    ...                    "harga": [85000, 30000]})
    >>> cat = load_catalog(df, id_col="kode", text_cols=["nama"])
    >>> cat.texts
    ['seminar kit tapis', 'kopi robusta 250 gram']
    """
    if isinstance(text_cols, str):
        text_cols = [text_cols]
    text_cols = list(dict.fromkeys(text_cols))
    if not text_cols:
        raise CatalogError(f"no text column given for the {what}; pass text_cols=[...] "
                           f"(--text-col COL on the command line)")
    where = f"{what} {_describe(source)}"
    from_file = not isinstance(source, pd.DataFrame)
    if isinstance(source, pd.DataFrame):
        frame = source.copy()
    elif isinstance(source, (str, os.PathLike)):
        frame = read_table(source, dtype={id_col: str}, sheet=sheet, encoding=encoding)
    else:
        raise TypeError(f"{what} must be a pandas DataFrame or a file path, got {type(source).__name__}")

    frame.columns = [str(c).strip() if isinstance(c, str) else c for c in frame.columns]
    if frame.columns.duplicated().any():
        dups = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
        raise CatalogError(f"{where} has duplicate column names {format_list(dups)}; rename them")
    _check_columns(frame, [id_col], "id", where, "pass id_col=... (--id-col COL)")
    _check_columns(frame, text_cols, "text", where, "pass text_cols=[...] (--text-col COL)")
    if meta_cols is None:
        meta_cols = [c for c in frame.columns if c != id_col and c not in text_cols]
    else:
        meta_cols = [c for c in dict.fromkeys(meta_cols) if c != id_col and c not in text_cols]
        _check_columns(frame, meta_cols, "metadata", where, "fix meta_cols=[...] (--meta-col COL)")
    if len(frame) == 0:
        raise CatalogError(f"{where} has no rows")

    frame = frame[[id_col, *text_cols, *meta_cols]].reset_index(drop=True)
    ids = frame[id_col]
    missing_id = ids.isna() | (ids.astype(str).str.strip() == "")
    if missing_id.any():
        rows = [_row_label(i, from_file) for i in missing_id[missing_id].index]
        raise CatalogError(
            f"{where} has {int(missing_id.sum())} rows without an id in column '{id_col}': "
            f"{format_list(rows)}; give every row an id"
        )
    ids = ids.map(lambda v: str(v).strip() if not isinstance(v, float) or not v.is_integer()
                  else str(int(v)))
    frame[id_col] = ids
    dup = ids.duplicated(keep=False)
    if dup.any():
        groups = frame[dup].groupby(id_col, sort=True).groups
        desc = [f"{k!r} ({', '.join(_row_label(i, from_file) for i in v[:3])})"
                for k, v in list(groups.items())[:5]]
        more = f", … ({len(groups) - 5} more)" if len(groups) > 5 else ""
        raise CatalogError(
            f"{where} has {len(groups)} duplicate ids in column '{id_col}': {', '.join(desc)}{more}; "
            f"ids must be unique: fix or drop the repeated rows, or choose another id column"
        )
    texts = combine_texts(frame, text_cols)
    empty = [i for i, t in enumerate(texts) if not t]
    if empty:
        bad = [ids.iloc[i] for i in empty]
        raise CatalogError(
            f"{where} has {len(empty)} rows whose text columns {text_cols} are all empty, ids "
            f"{format_list(bad)}; fill in a name or description, or drop those rows"
        )
    return Catalog(
        items=frame,
        id_col=id_col,
        text_cols=tuple(text_cols),
        meta_cols=tuple(meta_cols),
        texts=texts,
        source=None if isinstance(source, pd.DataFrame) else str(source),
    )
