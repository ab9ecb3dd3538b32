"""Batch matching on one machine: every need of a table ranked, in batches, into one frame.

:meth:`Matcher.match` calls :func:`match_needs` (or :func:`semantic_match.distributed.match_on_cluster`
with a Dask client); :func:`weak_top_rows` is :meth:`Matcher.no_good_match`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd

from ..io.catalog import TableSource
from ..io.needs import load_needs
from ..io.progress import progress_bar
from .candidates import rank_candidates
from .filters import Filters
from .ranking import rank_texts, usable_cores
from .results import match_frame

if TYPE_CHECKING:  # pragma: no cover
    from .matcher import Matcher

__all__ = ["NEEDS_PER_BATCH", "MAX_THREADS", "default_threads", "match_needs", "weak_top_rows"]

#: Needs ranked per batch: bounds the (needs x items) score arrays in memory.
NEEDS_PER_BATCH = 256
#: Most threads a match ranks in by default (candidate path; the exhaustive path's matrix products
#: already use every core through BLAS).
MAX_THREADS = 8


def default_threads() -> int:
    """Threads a match on the candidate path ranks in: the cores this process may use, at most
    :data:`MAX_THREADS`."""
    return max(1, min(usable_cores(), MAX_THREADS))


def match_needs(
    m: Matcher,
    needs: TableSource | Sequence[str],
    *,
    text_cols: Sequence[str] | str | None,
    id_col: str | None,
    k: int,
    filters: Filters | None,
    keep_cols: Sequence[str],
    sheet: str | int | None,
    encoding: str | None,
    threads: int | None = None,
) -> tuple[pd.DataFrame, dict[str, float]]:
    """The match frame of every need (see :meth:`Matcher.match`) and the seconds each stage took."""
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    keep_cols = list(keep_cols)
    table = load_needs(needs, text_cols=text_cols, id_col=id_col, keep_cols=keep_cols, sheet=sheet, encoding=encoding)
    mask = m.filter_mask(filters)
    timings["load_needs"] = time.perf_counter() - clock
    ranker = rank_candidates if m.uses_candidates else None  # None: exhaustive
    if threads is None:
        threads = default_threads() if ranker is not None else 1
    with progress_bar(len(table), "matching needs", m.show_progress) as bar:
        res = rank_texts(
            m,
            table.texts,
            k,
            mask,
            timings=timings,
            batch=NEEDS_PER_BATCH,
            on_batch=bar.update,
            ranker=ranker,
            threads=threads,
        )
    clock = time.perf_counter()
    out = match_frame(table, res, keep_cols, m)
    timings["output_frame"] = time.perf_counter() - clock
    return out, timings


def weak_top_rows(matches: pd.DataFrame, min_confidence: float) -> pd.DataFrame:
    """The rank-1 rows of ``matches`` whose confidence is below ``min_confidence``."""
    top = matches[matches["rank"] == 1]
    return top[top["confidence"] < min_confidence].reset_index(drop=True)
