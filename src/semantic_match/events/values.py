"""What the organiser's values mean: blank cells, ids as keys, and how messages name tables and ids.

Every stage of the wing reads the same kinds of values (ids typed into a
spreadsheet, cells left empty, tables given as a file or a DataFrame); these
functions give each of those one meaning from the input files to the scheduler.
A cell with no value at all is :func:`semantic_match.io.frames.is_missing`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import format_list
from ..io.catalog import TableSource
from ..io.frames import is_missing

__all__ = ["is_blank", "id_key", "known_ids_phrase", "describe_source"]


def is_blank(value: Any) -> bool:
    """A cell left empty: missing (None, NaN) or holding only white space.

    Examples
    --------
    >>> [is_blank(v) for v in (None, float("nan"), "  ", "B01", 0)]
    [True, True, True, False, False]
    """
    return is_missing(value) or str(value).strip() == ""


def id_key(value: Any) -> str:
    """An id or label as the text it is compared by.

    An integral float reads as an integer: a column of table numbers with a
    hole in it comes back from pandas as ``1.0, NaN, 3.0``, yet means tables 1 and 3.

    Examples
    --------
    >>> id_key(3.0), id_key("B01"), id_key(7)
    ('3', 'B01', '7')
    """
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        value = int(value)
    return str(value)


def known_ids_phrase(role: str, ids: Sequence[str]) -> str:
    """The tail of an "unknown id" message: the ids that do exist, in the order given.

    Examples
    --------
    >>> known_ids_phrase("buyer", ["B01", "B02"])
    "known buyer ids are ['B01', 'B02']"
    >>> known_ids_phrase("supplier", [f"S{i:03d}" for i in range(40)])
    "known supplier ids are 'S000' … 'S039' (40 suppliers)"
    """
    ids = list(ids)
    if len(ids) <= 5:
        return f"known {role} ids are {format_list(ids)}"
    return f"known {role} ids are {ids[0]!r} … {ids[-1]!r} ({len(ids)} {role}s)"


def describe_source(source: TableSource) -> str:
    """A table as messages name it: its path in quotes, or "the DataFrame"."""
    return f"'{source}'" if not isinstance(source, pd.DataFrame) else "the DataFrame"
