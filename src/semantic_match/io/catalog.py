"""Loading and validating catalogues and tables of needs.

A catalogue is any table with an id column, one or more text columns (name,
description, …) and metadata columns kept for display and filtering
(supplier, category, region, price, TKDN, …). It may come as a DataFrame or a
CSV, TSV, Excel, Parquet or JSON Lines file.

What loading does to the table, in order (rules in :mod:`semantic_match.io.cells`):

- text columns are read as text (a name "123" stays "123"); a text or id column
  holding lists, arrays or dicts (a Parquet list column) is refused with an
  example row and the fix;
- control characters are removed from every text cell (tab and line breaks
  become spaces), so no export breaks later;
- ids are cleaned (``1``/``"1"``/``1.0`` and ``"A"``/``"A "`` are one id) and must
  be present and unique;
- text metadata columns written with decimal commas (``80``, ``78,5``) become
  numbers when every value reads as one, else stay text;
- each row's text is normalised (:func:`semantic_match.normalize_text`; invisible
  characters count as nothing) and must not be empty; texts longer than
  :data:`~semantic_match.text.normalize.MAX_TEXT_CHARS` are cut at a word
  boundary, counted in :attr:`Catalog.truncated` and logged.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Union

import pandas as pd

from ..errors import CatalogError, format_list
from ..text.normalize import MAX_TEXT_CHARS, normalize_with_cap, truncate_words
from .cells import clean_id, clean_text_cell, decimal_comma_floats, dirty_text_cells, is_nested, nested_kind
from .columns import require_columns
from .tables import read_table, read_table_and_lines

__all__ = ["Catalog", "TableSource", "load_catalog", "combine_texts", "read_table"]

logger = logging.getLogger(__name__)

TableSource = Union[pd.DataFrame, str, os.PathLike]


@dataclass(frozen=True)
class Catalog:
    """A validated table of items with one id, text columns and metadata.

    Attributes
    ----------
    items : DataFrame
        The rows in input order with a fresh RangeIndex; the id column holds
        ``str``; control characters are removed from text cells.
    id_col : str
    text_cols : tuple of str
    meta_cols : tuple of str
    texts : list of str
        The normalised text of each row: the text columns joined with ". ",
        at most :data:`~semantic_match.text.normalize.MAX_TEXT_CHARS` characters.
    source : str or None
        File name the table came from, for messages.
    truncated : int
        How many rows had their text cut to ``MAX_TEXT_CHARS``.
    """

    items: pd.DataFrame
    id_col: str
    text_cols: tuple[str, ...]
    meta_cols: tuple[str, ...]
    texts: list[str]
    source: str | None = None
    truncated: int = 0

    def __len__(self) -> int:
        return len(self.items)

    @property
    def ids(self) -> list[str]:
        return self.items[self.id_col].tolist()


def _describe(source: TableSource) -> str:
    return f"'{source}'" if not isinstance(source, pd.DataFrame) else "the DataFrame"


def _check_columns(frame: pd.DataFrame, wanted: Sequence[str], what: str, where: str, hint: str) -> None:
    require_columns(frame, wanted, where=where, what=what, hint=hint, error=CatalogError)


def _row_labels(n: int, source: TableSource, lines: list[int] | None) -> list[str]:
    """How messages name each row: as the user's editor or spreadsheet shows it."""
    if lines is not None:  # CSV/TSV: the physical line where the record starts
        return [f"line {line}" for line in lines]
    suffix = "" if isinstance(source, pd.DataFrame) else os.fspath(source).lower().rsplit(".", 1)[-1]
    if suffix in ("xlsx", "xlsm", "xls"):  # spreadsheet row, the header being row 1
        return [f"row {i + 2}" for i in range(n)]
    if suffix in ("jsonl", "ndjson"):
        return [f"line {i + 1}" for i in range(n)]
    return [f"row {i}" for i in range(n)]  # DataFrame or Parquet position


def _texts(frame: pd.DataFrame, text_cols: Sequence[str]) -> tuple[list[str], list[bool]]:
    # Each column is normalised with the cap (bounded work per cell), then the
    # joined text is capped again.
    parts = [[normalize_with_cap(v) for v in frame[c].tolist()] for c in text_cols]
    texts, cut = [], []
    for values in zip(*parts):
        kept = [v.rstrip(" .") for v, _ in values if v]
        text = ". ".join(kept)
        truncated = any(t for _, t in values)
        if len(text) > MAX_TEXT_CHARS:
            text, truncated = truncate_words(text, MAX_TEXT_CHARS), True
        texts.append(text)
        cut.append(truncated)
    return texts, cut


def combine_texts(frame: pd.DataFrame, text_cols: Sequence[str]) -> list[str]:
    """Normalise and join the text columns of each row with ". ".

    Each text is at most :data:`~semantic_match.text.normalize.MAX_TEXT_CHARS`
    characters, cut at a word boundary.
    """
    return _texts(frame, text_cols)[0]


def _refuse_nested(frame: pd.DataFrame, cols: Sequence[str], id_col: str, labels: list[str], where: str) -> None:
    for col in cols:
        nested = frame[col].map(is_nested)
        if nested.any():
            i = int(nested.to_numpy().argmax())
            value = frame[col].iloc[i]
            shown = repr(value if not hasattr(value, "tolist") else value.tolist())
            shown = shown if len(shown) <= 60 else shown[:60] + "…"
            kind = "id" if col == id_col else "text"
            raise CatalogError(
                f"{where} {kind} column '{col}' holds {nested_kind(value)}, not text "
                f"({int(nested.sum())} rows, e.g. {labels[i]}: {shown}); join each into one text first, "
                f"e.g. df['{col}'] = df['{col}'].str.join(' ') for lists of words, then pass the table again"
            )


def _clean_cells(frame: pd.DataFrame, cols: Sequence[str]) -> None:
    for col in cols:
        values = frame[col]
        if pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype):
            continue
        dirty = dirty_text_cells(values)
        if not dirty.any():
            continue
        if isinstance(values.dtype, pd.CategoricalDtype):
            # New values are not categories: clean the column as plain objects.
            frame[col] = values.astype(object).map(clean_text_cell)
        else:
            frame.loc[dirty, col] = values[dirty].map(clean_text_cell)


def _report_duplicates(ids: pd.Series, raw: pd.Series, labels: list[str], where: str, id_col: str) -> None:
    dup = ids.duplicated(keep=False)
    if not dup.any():
        return
    groups: dict[str, list[int]] = {}
    for i in dup[dup].index:
        groups.setdefault(ids.iloc[i], []).append(i)
    desc = []
    for key in sorted(groups)[:5]:
        rows = groups[key]
        text = f"{key!r} ({', '.join(labels[i] for i in rows[:3])}"
        written = list(dict.fromkeys(repr(raw.iloc[i]) for i in rows[:3]))
        if len(written) > 1:  # same id after clean-up: show how each was written
            text += f"; written {', '.join(written)}"
        desc.append(text + ")")
    more = f", … ({len(groups) - 5} more)" if len(groups) > 5 else ""
    raise CatalogError(
        f"{where} has {len(groups)} duplicate ids in column '{id_col}': {', '.join(desc)}{more}; "
        f"ids must be unique: fix or drop the repeated rows, or choose another id column"
    )


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
        Ids that differ only in white space, invisible characters or a ``.0``
        (``"A"``/``"A "``, ``1``/``"1"``) are the same id.
    text_cols : str or sequence of str
        Columns whose normalised texts, joined with ". ", describe the row.
    meta_cols : sequence of str, optional
        Columns kept for display and filtering; default every other column.
        Text columns of numbers with decimal commas (``80``, ``78,5``) become
        numbers (rule in :mod:`semantic_match.io.cells`).
    sheet, encoding
        Passed to :func:`read_table` for files.
    what : str
        Word used in error messages ("catalog", "needs").

    Returns
    -------
    Catalog
        With ``truncated`` set to the number of rows whose text was cut to
        :data:`~semantic_match.text.normalize.MAX_TEXT_CHARS` (a warning names
        up to five of their ids).

    Raises
    ------
    CatalogError
        Missing columns, list-valued text columns, missing or duplicate ids, or
        rows whose texts are all empty; the message lists the offending ids or
        lines and the fix.
    InputError
        The file cannot be read (see :func:`read_table`).

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
        raise CatalogError(
            f"no text column given for the {what}; pass text_cols=[...] (--text-col COL on the command line)"
        )
    where = f"{what} {_describe(source)}"
    lines: list[int] | None = None
    if isinstance(source, pd.DataFrame):
        frame = source.copy()
    elif isinstance(source, (str, os.PathLike)):
        # Text columns as text too: a name "0123" or "1.50" stays as written.
        frame, lines = read_table_and_lines(
            source, dtype={id_col: str, **{c: str for c in text_cols}}, sheet=sheet, encoding=encoding
        )
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
    labels = _row_labels(len(frame), source, lines)
    _refuse_nested(frame, [id_col, *text_cols], id_col, labels, where)
    raw_ids = frame[id_col].copy()
    ids = raw_ids.map(clean_id)
    missing_id = ids.isna()
    if missing_id.any():
        rows = [labels[i] for i in missing_id[missing_id].index]
        raise CatalogError(
            f"{where} has {int(missing_id.sum())} rows without an id in column '{id_col}': "
            f"{format_list(rows)}; give every row an id"
        )
    frame[id_col] = ids.astype(str)
    _report_duplicates(ids, raw_ids, labels, where, id_col)
    _clean_cells(frame, [*text_cols, *meta_cols])
    for col in meta_cols:
        numbers = decimal_comma_floats(frame[col])
        if numbers is not None:
            frame[col] = numbers
    texts, cut = _texts(frame, text_cols)
    empty = [i for i, t in enumerate(texts) if not t]
    if empty:
        bad = [ids.iloc[i] for i in empty]
        raise CatalogError(
            f"{where} has {len(empty)} rows whose text columns {text_cols} are all empty, ids "
            f"{format_list(bad)}; fill in a name or description, or drop those rows"
        )
    truncated = sum(cut)
    if truncated:
        long_ids = [ids.iloc[i] for i, c in enumerate(cut) if c]
        logger.warning(
            "%s: %d rows have texts longer than %d characters, cut at a word boundary (ids %s); "
            "the encoder reads at most 512 tokens anyway",
            where,
            truncated,
            MAX_TEXT_CHARS,
            format_list(long_ids),
        )
    return Catalog(
        items=frame,
        id_col=id_col,
        text_cols=tuple(text_cols),
        meta_cols=tuple(meta_cols),
        texts=texts,
        source=None if isinstance(source, pd.DataFrame) else str(source),
        truncated=truncated,
    )
