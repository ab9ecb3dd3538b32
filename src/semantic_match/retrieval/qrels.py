"""Graded relevance judgments ("qrels"): ``need_id, item_id, grade`` (0, 1 or 2), read and checked."""

from __future__ import annotations

import pandas as pd

from ..errors import InputError, format_list
from ..io.catalog import TableSource, read_table

__all__ = ["load_qrels", "METRICS"]

#: The per-need metrics of :func:`semantic_match.evaluate`, in reporting order.
METRICS = ("ndcg@10", "recall@10", "recall@50", "mrr")


def load_qrels(source: TableSource) -> pd.DataFrame:
    """Read and validate judgments with columns ``need_id, item_id, grade``."""
    frame = (
        source.copy()
        if isinstance(source, pd.DataFrame)
        else read_table(source, dtype={"need_id": str, "item_id": str})
    )
    missing = [c for c in ("need_id", "item_id", "grade") if c not in frame.columns]
    if missing:
        raise InputError(
            f"judgments are missing column(s) {missing}; columns are "
            f"{format_list(list(frame.columns), 12)}; expected need_id, item_id, grade"
        )
    frame = frame[["need_id", "item_id", "grade"]].copy()
    frame["need_id"] = frame["need_id"].astype(str)
    frame["item_id"] = frame["item_id"].astype(str)
    grades = pd.to_numeric(frame["grade"], errors="coerce")
    bad = frame.index[grades.isna() | ~grades.isin([0, 1, 2])]
    if len(bad):
        raise InputError(f"judgments have {len(bad)} grades that are not 0, 1 or 2, rows {format_list(list(bad))}")
    frame["grade"] = grades.astype(int)
    dup = frame.duplicated(["need_id", "item_id"], keep=False)
    if dup.any():
        pairs = frame.loc[dup, ["need_id", "item_id"]].drop_duplicates().itertuples(index=False)
        raise InputError(
            f"judgments list some (need_id, item_id) pairs twice: "
            f"{format_list([tuple(p) for p in pairs])}; keep one grade per pair"
        )
    return frame
