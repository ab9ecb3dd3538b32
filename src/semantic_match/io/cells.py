"""Cleaning the cells of a loaded table: control characters, ids, nested values and decimal commas.

:func:`semantic_match.load_catalog` applies these to every catalogue and table
of needs; :func:`semantic_match.read_table` does not (it returns the cells as
the file holds them).

Control characters
    In every text cell (text columns, string metadata and ids), tab, line feed,
    carriage return (a CR LF pair counts once), vertical tab, form feed and NEL
    (U+0085) become one space each; every other C0 control (U+0000–U+001F), DEL
    (U+007F), every other C1 control (U+0080–U+009F), lone surrogates and the
    non-characters U+FFFE/U+FFFF are removed. None of them is visible, and
    spreadsheet and XML writers refuse them, so one stray byte would otherwise
    break an export long after the table was loaded.

Ids
    :func:`clean_id` turns an id into the text that identifies it: numbers
    without a fractional part lose their ``.0`` (Excel gives ``1.0`` for ``1``),
    control and zero-width characters are removed and surrounding white space is
    stripped. Ids that differ only in these ways (``"A"``/``"A "``/``"A\\u200b"``,
    ``1``/``"1"``/``1.0``) are the same id, so a catalogue holding both is refused
    as having duplicate ids rather than keeping two rows a person cannot tell apart.

Decimal commas (rule of :func:`decimal_comma_floats`)
    Spreadsheets saved on Indonesian-locale machines write ``78,5`` for 78.5, so a
    numeric column such as TKDN arrives as text mixing ``80`` and ``78,5``, and a
    filter ``tkdn >= 40`` would drop half the rows. A column is read as numbers
    (float) only when all of these hold, so that nothing is ever half-read:

    - it is a text (object or string) column, and not the id or a text column;
    - every non-missing value is a number (int or float, not bool) or a string that,
      white space stripped, matches ``^[+-]?(0|[1-9][0-9]*)(,[0-9]+)?$``: an integer
      without leading zeros, optionally with a decimal comma;
    - at least one value has a decimal comma;
    - no value has exactly three digits after its comma (``1,250`` is 1.25 in
      Indonesian but 1250 in English: ambiguous).

    Anything else leaves the column exactly as it was, as text: thousands dots
    (``1.250.000``), dot decimals mixed with comma decimals, codes with leading
    zeros (``007``), markers such as ``-`` or ``n/a``. Values are never set to NaN
    unless they were missing (blank strings count as missing, as in a CSV file).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..text.normalize import INVISIBLE_CHARS
from .frames import is_missing

__all__ = ["clean_text_cell", "clean_id", "is_nested", "nested_kind", "decimal_comma_floats", "dirty_text_cells"]

_CELL_SPACE = re.compile("\r\n|[\t\n\v\f\r\x85]")
_CELL_DROP = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]")
_ID_DROP = re.compile(f"[{INVISIBLE_CHARS}\t\n\v\f\r\x1c-\x1f\x85\ufffe\uffff]")
_DECIMAL_COMMA = re.compile(r"[+-]?(?:0|[1-9][0-9]*)(?:,([0-9]+))?")
_NESTED = (list, tuple, set, frozenset, dict, np.ndarray)


def clean_text_cell(value: object) -> object:
    """A string cell without control characters (see the module docstring); other values unchanged.

    >>> clean_text_cell("Tas\\ttapis\\r\\nLampung\\x00")
    'Tas tapis Lampung'
    """
    if not isinstance(value, str) or value.isprintable():
        return value
    return _CELL_DROP.sub("", _CELL_SPACE.sub(" ", value))


def dirty_text_cells(values: pd.Series) -> np.ndarray:
    """Boolean mask of the string cells that :func:`clean_text_cell` would change."""
    return np.fromiter(
        (isinstance(v, str) and not v.isprintable() and clean_text_cell(v) != v for v in values.tolist()),
        dtype=bool,
        count=len(values),
    )


def clean_id(value: object) -> str | None:
    """The id ``value`` as text, or ``None`` when it is missing or blank (see the module docstring).

    >>> [clean_id(v) for v in (1, 1.0, "1", " A\\u200b", float("nan"), "  ")]
    ['1', '1', '1', 'A', None, None]
    """
    if type(value) is str and value.isascii() and value.isprintable():
        return value.strip() or None  # the common case, without the checks below
    if is_missing(value) or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (bool, np.bool_)):
        text = str(bool(value))
    elif isinstance(value, (int, np.integer)):
        text = str(int(value))
    elif isinstance(value, (float, np.floating)):
        text = str(int(value)) if float(value).is_integer() else repr(float(value))
    else:
        text = str(value)
    text = _ID_DROP.sub("", text).strip()
    return text or None


def is_nested(value: object) -> bool:
    """True for list, tuple, set, dict and array cells (Parquet list columns, JSON arrays)."""
    return isinstance(value, _NESTED)


def nested_kind(value: object) -> str:
    """A word for a nested cell in messages: "lists", "arrays", "dicts", …"""
    return "arrays" if isinstance(value, np.ndarray) else f"{type(value).__name__}s"


def decimal_comma_floats(values: pd.Series) -> pd.Series | None:
    """``values`` as floats when the decimal-comma rule of the module docstring holds, else ``None``.

    >>> decimal_comma_floats(pd.Series(["80", "78,5", None])).tolist()
    [80.0, 78.5, nan]
    >>> decimal_comma_floats(pd.Series(["80", "1.250.000"])) is None
    True
    """
    if pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype):
        return None
    out = np.full(len(values), np.nan)
    seen_comma = False
    for i, value in enumerate(values.tolist()):
        if is_missing(value) or value is pd.NA:
            continue
        if isinstance(value, (bool, np.bool_)):
            return None
        if isinstance(value, (int, float, np.integer, np.floating)):
            out[i] = float(value)
            continue
        if not isinstance(value, str):
            return None
        if not value.strip():
            continue  # a blank cell is a missing value, as in a CSV file
        match = _DECIMAL_COMMA.fullmatch(value.strip())
        if match is None:
            return None
        decimals = match.group(1)
        if decimals is not None:
            if len(decimals) == 3:
                return None
            seen_comma = True
        out[i] = float(value.strip().replace(",", "."))
    if not seen_comma:
        return None
    return pd.Series(out, index=values.index, name=values.name)
