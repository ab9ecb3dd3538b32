"""The one "missing column" check, so every table names what is missing, what exists and the fix."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from ..errors import InputError, format_list

__all__ = ["require_columns", "missing_columns_message"]


def missing_columns_message(
    missing: Sequence[object], columns: Sequence[object], *, where: str, what: str = "", hint: str = ""
) -> str:
    """``"<where> is missing <what> column 'x'; columns are [...]; <hint>"``."""
    noun = "column" if len(missing) == 1 else "columns"
    names = ", ".join(repr(str(m)) for m in missing)
    kind = f"{what} " if what else ""
    msg = f"{where} is missing {kind}{noun} {names}; columns are {format_list([str(c) for c in columns], 12)}"
    return msg + (f"; {hint}" if hint else "")


def require_columns(
    frame: pd.DataFrame,
    wanted: Sequence[object],
    *,
    where: str,
    what: str = "",
    hint: str = "",
    error: type[InputError] = InputError,
) -> None:
    """Raise ``error`` naming every column of ``wanted`` that ``frame`` lacks.

    >>> require_columns(pd.DataFrame({"id": [1]}), ["id", "nama"], where="catalog 'k.csv'",
    ...                 hint="pass text_cols=[...]")
    Traceback (most recent call last):
    ...
    semantic_match.errors.InputError: catalog 'k.csv' is missing column 'nama'; columns are ['id']; pass text_cols=[...]
    """
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise error(missing_columns_message(missing, list(frame.columns), where=where, what=what, hint=hint))
