"""Batch matching on a cluster: needs cut into partitions, each matched by a worker that holds the index.

The driver reads and validates the needs whole (ids numbered, duplicates refused) and cuts the
validated table into partitions of whole batches of :data:`~semantic_match.retrieval.batch.NEEDS_PER_BATCH`
needs; every worker opens the matcher's index folder once (see :mod:`.worker`) and matches its
partitions with the driver's ranking settings. The partitions' results, put back in order, are
the frame a single process returns.
"""

from __future__ import annotations

import os
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ..errors import InputError
from ..io.catalog import Catalog, TableSource
from ..io.needs import load_needs
from ..retrieval.batch import NEEDS_PER_BATCH
from ..retrieval.filters import Filters
from ..retrieval.storage import CURRENT
from .cluster import total_threads
from .partitions import partition_bounds, partition_size, table_source
from .tasks import RETRIES, run_partitions
from .worker import REBUILDABLE_BACKENDS, IndexSpec, MatchRequest, blas_threads, match_partition, matcher_signature

if TYPE_CHECKING:  # pragma: no cover
    from distributed import Client

    from ..retrieval.matcher import Matcher

__all__ = ["match_on_cluster", "plan_match", "MatchPlan", "index_spec", "concat_parts", "NEEDS_PER_PARTITION_MAX"]

#: Most needs per matching task (memory per task is bounded by the matcher's batches anyway).
NEEDS_PER_PARTITION_MAX = 4096

# Signatures of the driver's matchers, kept while they live and hold the same items (the index
# state keeps one ids array until its next update), so a chunked caller does not hash per chunk.
_SIGNATURES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _signature(matcher: Matcher) -> str:
    ids = matcher.ids_
    cached = _SIGNATURES.get(matcher)
    if cached is not None and cached[0] is ids:
        return cached[1]
    sig = matcher_signature(matcher)
    _SIGNATURES[matcher] = (ids, sig)
    return sig


def index_spec(matcher: Matcher) -> IndexSpec:
    """How workers open ``matcher``'s index folder and rank like it.

    Raises
    ------
    InputError
        The matcher was never saved to or loaded from a folder.
    """
    folder = getattr(matcher, "folder_", None)
    if folder is None:
        raise InputError(
            "this matcher has no index folder: save the index to a folder every worker can read "
            "first (matcher.save('shared/index')), or load it from one"
        )
    folder = Path(os.path.abspath(folder))
    try:
        commit = (folder / CURRENT).read_text(encoding="ascii").strip() or None
    except FileNotFoundError:
        commit = None  # a format-1 folder: one set of files, no commits
    mine = getattr(matcher, "commit_name_", None)
    if mine is not None and mine != commit:
        raise InputError(
            f"index '{folder}' has moved on to {commit} since this matcher read or wrote {mine}; "
            f"load it again (Matcher.load) before matching on the cluster"
        )
    enc = matcher.encoder_
    ship = enc is not None and enc.identity().get("backend") not in REBUILDABLE_BACKENDS
    return IndexSpec(
        folder=str(folder),
        commit=commit,
        signature=_signature(matcher),
        batch_size=matcher.batch_size,
        ranking={
            "mode": matcher.mode,
            "weights": dict(matcher.weights_),
            "fusion": matcher.fusion,
            "rrf_k": matcher.rrf_k,
        },
        exact=matcher.exact,
        calibration=matcher.calibration_,
        encoder=enc if ship else None,
        blas_threads=blas_threads(),
    )


@dataclass
class MatchPlan:
    """Validated needs cut into partitions, with what every partition is matched with."""

    needs: Catalog
    request: MatchRequest
    bounds: list[tuple[int, int]]
    seconds: float

    def partition(self, i: int) -> pd.DataFrame:
        a, b = self.bounds[i]
        return self.needs.items.iloc[a:b]


def plan_match(
    matcher: Matcher,
    needs: TableSource | Sequence[str],
    *,
    slots: int,
    text_cols=None,
    id_col: str | None = None,
    k: int = 10,
    filters: Filters | None = None,
    keep_cols: Sequence[str] = (),
    sheet: str | int | None = None,
    encoding: str | None = None,
    partition_rows: int | None = None,
) -> MatchPlan:
    """Read and validate the needs on the driver and cut them into partitions.

    ``needs`` may also be a glob or a folder of table files (see :mod:`.partitions`).
    """
    matcher.check_built()
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise InputError(f"k must be a positive integer, got {k!r}")
    clock = time.perf_counter()
    source = table_source(needs, id_col=id_col, sheet=sheet, encoding=encoding)
    table = load_needs(
        source, text_cols=text_cols, id_col=id_col, keep_cols=list(keep_cols), sheet=sheet, encoding=encoding
    )
    matcher.filter_mask(filters)  # a bad filter fails here, once, not on every worker
    rows = partition_size(
        len(table), slots=slots, unit=NEEDS_PER_BATCH, largest=NEEDS_PER_PARTITION_MAX, requested=partition_rows
    )
    request = MatchRequest(
        text_cols=tuple(table.text_cols),
        id_col=table.id_col,
        k=min(k, max(matcher.n_items, 1)),
        filters=filters,
        keep_cols=tuple(keep_cols),
    )
    return MatchPlan(
        needs=table, request=request, bounds=partition_bounds(len(table), rows), seconds=time.perf_counter() - clock
    )


def concat_parts(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Partitions' matches in partition order, as one frame with a fresh index."""
    # Partitions without a match (every item filtered out) add no row; one is kept for the columns.
    kept = [p for p in parts if len(p)] or parts[:1]
    return pd.concat(kept, ignore_index=True)


def match_on_cluster(
    client: Client,
    matcher: Matcher,
    needs: TableSource | Sequence[str],
    *,
    text_cols: Sequence[str] | str | None = None,
    id_col: str | None = None,
    k: int = 10,
    filters: Filters | None = None,
    keep_cols: Sequence[str] = (),
    sheet: str | int | None = None,
    encoding: str | None = None,
    partition_rows: int | None = None,
    resources: dict | None = None,
    retries: int = RETRIES,
    on_partition: Callable[[int, int], object] | None = None,
) -> pd.DataFrame:
    """:meth:`Matcher.match` on a Dask cluster: the same frame, rows in the same order.

    Parameters
    ----------
    client : distributed.Client
    matcher : Matcher
        Saved to, or loaded from, a folder every worker can read (``matcher.folder_``).
    needs, text_cols, id_col, k, filters, keep_cols, sheet, encoding
        As for :meth:`Matcher.match`; ``needs`` may also be a glob or a folder of table files.
    partition_rows : int, optional
        Needs per task, rounded up to whole batches of
        :data:`~semantic_match.retrieval.batch.NEEDS_PER_BATCH` (256) needs, which a single
        process ranks together; default about four tasks per worker thread.
    resources : dict, optional
        Worker resources each task needs (see :mod:`.tasks`).
    retries : int
        Times a failed task is tried again.
    on_partition : callable, optional
        ``on_partition(done, total)`` after each partition.

    Returns
    -------
    DataFrame
        As :meth:`Matcher.match` returns it.

    Raises
    ------
    InputError
        No index folder, invalid needs or filters, or an index folder that changed under the job.

    Examples
    --------
    >>> m = Matcher.load("/shared/index")                                       # doctest: +SKIP
    >>> m.match("/shared/rup/*.parquet", text_cols=["item", "spec"], client=client)  # doctest: +SKIP
    """
    spec = index_spec(matcher)
    plan = plan_match(
        matcher,
        needs,
        slots=total_threads(client),
        text_cols=text_cols,
        id_col=id_col,
        k=k,
        filters=filters,
        keep_cols=keep_cols,
        sheet=sheet,
        encoding=encoding,
        partition_rows=partition_rows,
    )
    clock = time.perf_counter()
    parts: list[pd.DataFrame] = [pd.DataFrame()] * len(plan.bounds)
    tasks = ((i, (spec, plan.partition(i), plan.request)) for i in range(len(plan.bounds)))
    for i, frame in run_partitions(
        client,
        match_partition,
        tasks,
        total=len(plan.bounds),
        name="match-partition",
        desc="matching needs",
        show_progress=matcher.show_progress,
        resources=resources,
        retries=retries,
        on_partition=on_partition,
    ):
        parts[i] = frame
    cluster = time.perf_counter() - clock
    clock = time.perf_counter()
    out = concat_parts(parts)
    # What match() reports for one process; the event workflow sums them over its chunks.
    matcher.timings_ = {"load_needs": plan.seconds, "cluster": cluster, "output_frame": time.perf_counter() - clock}
    return out
