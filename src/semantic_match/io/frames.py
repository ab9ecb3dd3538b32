"""DataFrame helpers shared by every writer of Parquet files."""

from __future__ import annotations

import pandas as pd

__all__ = ["parquet_safe", "is_missing"]


def is_missing(value: object) -> bool:
    """True for None, pandas' NA/NaT and any float NaN (Python or numpy)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    try:
        return bool(value != value) and not isinstance(value, (str, bytes))
    except (TypeError, ValueError):  # arrays and objects without a scalar comparison
        return False


def parquet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose object columns of mixed types are stored as text (missing values stay missing).

    Parquet needs one type per column; a spreadsheet column mixing ``80`` and
    ``"78,5"`` would otherwise fail to save.
    """
    frame = frame.copy()
    for col in frame.columns:
        if frame[col].dtype == object:
            kinds = {type(v) for v in frame[col].dropna()}
            if len(kinds) > 1 or (kinds and not kinds <= {str}):
                frame[col] = frame[col].map(lambda v: v if is_missing(v) else str(v))
    return frame
