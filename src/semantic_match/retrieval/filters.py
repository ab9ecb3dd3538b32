"""Metadata filters: equality, membership and numeric ranges.

A filter is a mapping from column to condition::

    {"region": "Metro"}                       # equality
    {"region": ["Metro", "Pesawaran"]}        # membership
    {"price": {"<=": 500_000}, "tkdn": {">=": 40}}   # ranges
    {"category": {"!=": "Kopi"}}              # also "in", "not in", "<", ">", "=="

or the command-line strings ``"tkdn>=40"``, ``"region=Metro,Pesawaran"``,
``"price<=500000"``, ``"category!=Kopi"``. Conditions are combined with AND,
also several on one column: :func:`parse_filters` merges repeated command-line
filters so that ``price<=100000`` and ``price<=500000`` keep the stricter
bound, two ``=`` lists keep their intersection and two ``!=`` lists their
union. Missing values never satisfy a condition.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import FilterError, format_list

__all__ = ["build_mask", "parse_filter", "parse_filters", "Filters"]

Filters = Mapping[str, Any]

_OPS = ("<=", ">=", "!=", "==", "<", ">", "in", "not in")
_ALIASES = {"min": ">=", "max": "<=", "eq": "==", "ne": "!=", "lt": "<", "gt": ">", "le": "<=", "ge": ">=", "=": "=="}
_STRING_FILTER = re.compile(r"^\s*([^<>=!]+?)\s*(<=|>=|!=|==|=|<|>)\s*(.*?)\s*$")


def _coerce(value: str) -> Any:
    try:
        number = float(value.replace("_", ""))
    except ValueError:
        return value
    return int(number) if number.is_integer() and "." not in value else number


def parse_filter(text: str) -> dict[str, Any]:
    """Parse one command-line filter such as ``"tkdn>=40"`` or ``"region=Metro,Pesawaran"``.

    Returns
    -------
    dict
        ``{column: {op: value}}``, ready to merge into a filters mapping.
    """
    match = _STRING_FILTER.match(text)
    if not match or not match.group(3) or match.group(3)[0] in "<>=!":
        raise FilterError(
            f"cannot parse filter {text!r}; write COLUMN OP VALUE with OP one of "
            f"=, !=, <, <=, >, >=, e.g. 'tkdn>=40', 'price<=500000', 'region=Metro,Pesawaran'"
        )
    col, op, value = match.groups()
    op = _ALIASES.get(op, op)
    if op in ("==", "!=") and "," in value:
        values = [_coerce(v.strip()) for v in value.split(",") if v.strip()]
        return {col: {"in" if op == "==" else "not in": values}}
    return {col: {op: _coerce(value)}}


def parse_filters(texts: Sequence[str] | None) -> dict[str, dict[str, Any]] | None:
    """Parse command-line filters into one filters mapping; every condition must hold (AND).

    >>> parse_filters(["price<=500000", "price<=100000", "region=Metro,Pesawaran", "region=Metro"])
    {'price': {'<=': 100000}, 'region': {'in': ['Metro']}}
    """
    if not texts:
        return None
    merged: dict[str, dict[str, Any]] = {}
    for text in texts:
        for col, cond in parse_filter(text).items():
            for op, value in cond.items():
                if op == "==":
                    op, value = "in", [value]
                elif op == "!=":
                    op, value = "not in", [value]
                conds = merged.setdefault(col, {})
                conds[op] = value if op not in conds else _and(conds[op], value, op)
    return merged


def _and(old: Any, new: Any, op: str) -> Any:
    """The one condition equal to ``op old AND op new``."""
    if op in ("<", "<="):
        return min(old, new)
    if op in (">", ">="):
        return max(old, new)
    if op == "in":
        # Values match as trimmed, case-folded text (see _isin): "Metro" AND "metro" is "Metro".
        keys = {_text_key(v) for v in new}
        return [v for v in old if _text_key(v) in keys]
    return list(dict.fromkeys([*old, *new]))  # not in


def _text_key(value: Any) -> str:
    return str(value).strip().casefold()


def _normalize_condition(col: str, cond: Any) -> list[tuple[str, Any]]:
    if isinstance(cond, Mapping):
        out = []
        for op, value in cond.items():
            op = _ALIASES.get(op, op)
            if op not in _OPS:
                raise FilterError(
                    f"unknown operator {op!r} for column '{col}'; use one of {list(_OPS) + sorted(_ALIASES)}"
                )
            out.append((op, value))
        return out
    if isinstance(cond, (list, tuple, set, frozenset, np.ndarray, pd.Series)):
        return [("in", list(cond))]
    return [("==", cond)]


def build_mask(
    frame: pd.DataFrame, filters: Filters | None, *, columns: Sequence[str] | None = None
) -> np.ndarray | None:
    """Boolean mask of the rows of ``frame`` that satisfy every condition.

    Parameters
    ----------
    frame : DataFrame
        The catalogue items.
    filters : mapping or None
        See the module docstring; ``None`` or empty gives ``None`` (no filter).
    columns : sequence of str, optional
        Columns that may be filtered on; default all of ``frame``.

    Returns
    -------
    ndarray of shape (len(frame),), bool, or None
    """
    if not filters:
        return None
    if not isinstance(filters, Mapping):
        raise FilterError(
            f"filters must be a mapping of column to condition, got "
            f"{type(filters).__name__}; e.g. {{'tkdn': {{'>=': 40}}}}"
        )
    allowed_cols = list(columns) if columns is not None else [str(c) for c in frame.columns]
    mask = np.ones(len(frame), dtype=bool)
    for col, cond in filters.items():
        if col not in allowed_cols:
            raise FilterError(
                f"cannot filter on unknown column {col!r}; filterable columns are "
                f"{format_list(sorted(allowed_cols), 12)}"
            )
        series = frame[col]
        present = series.notna().to_numpy()
        for op, value in _normalize_condition(col, cond):
            if op in ("<", "<=", ">", ">="):
                numeric = pd.to_numeric(series, errors="coerce")
                if numeric.notna().sum() == 0 and present.any():
                    raise FilterError(
                        f"column '{col}' is not numeric (e.g. {series.dropna().iloc[0]!r}); use = or != on it, not {op}"
                    )
                if isinstance(value, str):
                    try:
                        value = float(value)
                    except ValueError:
                        raise FilterError(f"filter {col} {op} {value!r} needs a number") from None
                vals = numeric.to_numpy(dtype=float, na_value=np.nan)
                with np.errstate(invalid="ignore"):
                    cmp = {"<": vals < value, "<=": vals <= value, ">": vals > value, ">=": vals >= value}[op]
                mask &= cmp & ~np.isnan(vals)
            else:
                values = value if op in ("in", "not in") else [value]
                if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
                    values = [values]
                hit = _isin(series, list(values))
                mask &= present & (hit if op in ("==", "in") else ~hit)
    return mask


def _isin(series: pd.Series, values: list) -> np.ndarray:
    # Compare as text too, so "40" matches 40 and ids read as text match ints.
    hit = series.isin(values).to_numpy(dtype=bool, copy=True)
    as_text = {_text_key(v) for v in values}
    hit |= series.astype(str).str.strip().str.casefold().isin(as_text).to_numpy(dtype=bool)
    return hit
