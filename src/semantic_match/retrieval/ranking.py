"""Ranking a batch of normalised needs: channel scores, fusion, top-k and calibrated confidence."""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Literal, NamedTuple

import numpy as np

from ..errors import InputError
from .fusion import CHANNELS, FUSION_METHODS, fuse
from .rerank import context_features, needs_context, order_by_confidence

if TYPE_CHECKING:  # pragma: no cover
    from .matcher import Matcher

__all__ = [
    "Ranking",
    "Mode",
    "MODES",
    "topk",
    "empty_ranking",
    "stack_rankings",
    "rank_batch",
    "rank_texts",
    "ranked_depth",
    "finish_ranking",
    "ranking_weights",
    "channel_scores",
    "pair_features",
    "usable_cores",
]

#: Ranking channels used: all three, the encoder alone, or character TF-IDF + BM25.
Mode = Literal["hybrid", "dense", "lexical"]
MODES: tuple[str, ...] = ("hybrid", "dense", "lexical")


class Ranking(NamedTuple):
    """Top-k results of a batch of queries, all arrays of shape (n_queries, k).

    ``indices`` are row positions in :attr:`Matcher.items` (``-1`` pads when
    fewer items qualify); ``scores`` the ranking scores (fused for hybrid; a
    confidence model with a re-ranking depth orders the top results by
    ``confidence`` instead, see :func:`finish_ranking`);
    ``dense``, ``char`` and ``bm25`` the raw channel scores of each result
    (cosine, cosine, BM25; NaN where a channel is off); ``bm25n`` BM25 divided
    by the query's best possible BM25; ``confidence`` the calibrated
    probability that the item is relevant (NaN without a calibration).
    """

    scores: np.ndarray
    indices: np.ndarray
    dense: np.ndarray
    char: np.ndarray
    bm25: np.ndarray
    bm25n: np.ndarray
    confidence: np.ndarray


def ranking_weights(
    mode: str, weights: Mapping[str, float] | None, fusion: str, *, default: Mapping[str, float]
) -> dict[str, float]:
    """Check ranking settings and return the fusion weights in force for ``mode``.

    Raises
    ------
    InputError
        Unknown mode, fusion or channel; a weight that is negative, NaN,
        infinite or not a number; every weight of the mode zero.
    """
    if mode not in MODES:
        raise InputError(f"unknown mode {mode!r}; use one of {sorted(MODES)}")
    if fusion not in FUSION_METHODS:
        raise InputError(f"unknown fusion {fusion!r}; use one of {list(FUSION_METHODS)}")
    out = dict(default if weights is None else weights)
    unknown = sorted(set(out) - set(CHANNELS))
    if unknown:
        raise InputError(f"unknown fusion weight(s) {unknown}; channels are {list(CHANNELS)}")
    bad = {
        c: w
        for c, w in out.items()
        if not isinstance(w, (int, float, np.floating, np.integer))
        or isinstance(w, bool)
        or not np.isfinite(w)
        or w < 0
    }
    if bad:
        raise InputError(f"fusion weights must be finite numbers >= 0, got {bad}; write e.g. weights={dict(default)}")
    if mode == "dense":
        out = {"dense": 1.0}
    elif mode == "lexical":
        out = {c: w for c, w in out.items() if c != "dense"}
    if not any(out.values()):
        raise InputError(f"every fusion weight of mode {mode!r} is zero: {out}")
    return out


def topk(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest scores per row, best first (ties by position)."""
    n = scores.shape[1]
    if k >= n:
        return np.argsort(-scores, axis=1, kind="stable")
    part = np.argpartition(-scores, kth=k - 1, axis=1)[:, :k]
    part.sort(axis=1)  # position order, so the stable sort breaks ties by position
    order = np.argsort(-np.take_along_axis(scores, part, 1), axis=1, kind="stable")
    return np.take_along_axis(part, order, 1)


def empty_ranking(n_queries: int, k: int) -> Ranking:
    """A ranking with no result: indices -1, scores NaN."""
    empty = np.full((n_queries, k), np.nan, np.float32)
    return Ranking(empty, np.full((n_queries, k), -1, np.int64), empty, empty, empty, empty, empty)


def stack_rankings(parts: list[Ranking], k: int) -> Ranking:
    """Rankings of consecutive query batches as one."""
    if not parts:
        return empty_ranking(0, k)
    return Ranking(*[np.vstack(arrs) for arrs in zip(*parts)])


def _add_time(timings: dict | None, stage: str, since: float) -> float:
    now = time.perf_counter()
    _add_seconds(timings, stage, now - since)
    return now


def _add_seconds(timings: dict | None, stage: str, seconds: float) -> None:
    if timings is not None:
        timings[stage] = timings.get(stage, 0.0) + seconds


def rank_batch(
    matcher: Matcher,
    texts: list[str],
    k: int,
    mask: np.ndarray | None,
    vectors: np.ndarray | None = None,
    timings: dict | None = None,
) -> Ranking:
    """Rank every item of a built matcher for normalised query texts.

    Parameters
    ----------
    matcher : Matcher
        A built or loaded matcher (its channels, weights, fusion and calibration are used).
    texts : list of str
        Normalised queries.
    k : int
        Results per query; rows are padded with -1 / NaN when fewer items qualify.
    mask : ndarray of shape (n_items,), bool, optional
        Items allowed by the filters.
    vectors : ndarray of shape (n_queries, dim), optional
        Query vectors when already encoded.
    timings : dict, optional
        Seconds per stage are added to it (``score``, ``fuse_topk``).
    """
    n_q, n = len(texts), matcher.n_items
    clock = time.perf_counter()
    if mask is not None and not mask.any():
        return empty_ranking(n_q, k)
    cal = matcher.calibration_
    context = cal is not None and needs_context(cal.features)
    q_char = matcher.lexical_.char_vectors(texts) if context else None
    ch = channel_scores(matcher, texts, vectors, q_char)
    clock = _add_time(timings, "score", clock)
    if matcher.mode == "dense":
        fused = ch["dense"].copy()
    else:
        fused = fuse(ch, matcher.weights_, method=matcher.fusion, rrf_k=matcher.rrf_k, allowed=mask)
    if mask is not None:
        fused[:, ~mask] = -np.inf
    depth = ranked_depth(matcher, k)
    kk = min(depth, n if mask is None else int(mask.sum()))
    idx = topk(fused, kk)
    scores = np.take_along_axis(fused, idx, 1)
    pick = {c: np.take_along_axis(v, idx, 1) for c, v in ch.items()}
    if kk < depth:
        pad = ((0, 0), (0, depth - kk))
        idx = np.pad(idx, pad, constant_values=-1)
        scores = np.pad(scores, pad, constant_values=np.nan)
        pick = {c: np.pad(v, pad, constant_values=np.nan) for c, v in pick.items()}
    nan = np.full(idx.shape, np.nan, np.float32)
    pick.setdefault("dense", nan)
    if context:
        lex = matcher.lexical_
        rows = [r[r >= 0] for r in idx]
        texts_of = split_rows(matcher.item_texts(np.concatenate(rows)), rows)
        out = finish_ranking(
            matcher, lex, texts, idx, scores, pick, k, texts_of, [lex.char_matrix_[r] for r in rows], q_char
        )
        _add_time(timings, "fuse_topk", clock)
        return out
    if cal is not None:
        feats = {**pick, **matcher.lexical_.coverage(texts, idx)}
        conf = cal.predict(feats)
    else:
        conf = nan
    conf = np.where(idx < 0, np.nan, conf).astype(np.float32)
    _add_time(timings, "fuse_topk", clock)
    return Ranking(
        scores.astype(np.float32),
        idx.astype(np.int64),
        pick["dense"].astype(np.float32),
        pick["char"].astype(np.float32),
        pick["bm25"].astype(np.float32),
        pick["bm25n"].astype(np.float32),
        conf,
    )


def ranked_depth(matcher: Matcher, k: int) -> int:
    """How many fused results a query needs: ``k``, or the confidence model's re-ranking depth."""
    cal = matcher.calibration_
    if cal is None or not cal.rerank_depth or matcher.mode != "hybrid" or not needs_context(cal.features):
        return k
    return max(k, cal.rerank_depth)


def split_rows(values: list, rows: list[np.ndarray]) -> list[list]:
    out, start = [], 0
    for r in rows:
        out.append(values[start : start + len(r)])
        start += len(r)
    return out


def finish_ranking(
    matcher: Matcher,
    lex,
    texts: Sequence[str],
    idx: np.ndarray,
    scores: np.ndarray,
    pick: dict[str, np.ndarray],
    k: int,
    item_texts: Sequence[Sequence[str]],
    item_chars: Sequence,
    q_char=None,
) -> Ranking:
    """Confidence of a context model (:mod:`.rerank`) for the fused top results, best ``k`` kept.

    ``lex`` is the path's lexical index (the exhaustive view's, or the query-side statistics of
    the candidate path: asking for ``matcher.lexical_`` there would build the whole view);
    ``idx``, ``scores`` and the channel scores ``pick`` are the fused ranking to
    :func:`ranked_depth`; ``item_texts`` and ``item_chars`` the texts and character n-gram
    rows of each query's valid results, in order. In hybrid mode the first ``rerank_depth``
    results are ordered by confidence (the rest keep the fused order); ``scores`` stay the
    fused scores.
    """
    cal = matcher.calibration_
    rerank = bool(cal.rerank_depth) and matcher.mode == "hybrid"
    window = cal.rerank_depth if rerank else None
    feats = context_features(lex, texts, idx, scores, pick, item_texts, item_chars, q_char, window)
    conf = np.where(idx < 0, np.nan, cal.predict(feats)).astype(np.float32)
    if rerank:
        order = order_by_confidence(conf, idx, cal.rerank_depth)[:, :k]
        idx, conf, scores = (np.take_along_axis(a, order, 1) for a in (idx, conf, scores))
        pick = {c: np.take_along_axis(v, order, 1) for c, v in pick.items()}
    else:
        idx, scores, conf = idx[:, :k], scores[:, :k], conf[:, :k]
        pick = {c: v[:, :k] for c, v in pick.items()}
    return Ranking(
        np.asarray(scores, np.float32),
        idx.astype(np.int64),
        pick["dense"].astype(np.float32),
        pick["char"].astype(np.float32),
        pick["bm25"].astype(np.float32),
        pick["bm25n"].astype(np.float32),
        conf,
    )


def rank_texts(
    matcher: Matcher,
    texts: Sequence[str],
    k: int,
    mask: np.ndarray | None,
    *,
    batch: int = 256,
    timings: dict | None = None,
    encode_in_batches: bool = True,
    on_batch: Callable[[int], object] | None = None,
    ranker: Callable | None = None,
    threads: int = 1,
) -> Ranking:
    """Rank many normalised texts, ``batch`` at a time (bounds the score arrays in memory).

    With ``encode_in_batches`` the query vectors of each batch are encoded in
    the encoder's own batch size first (how ``match`` does it); ``on_batch``
    is called with each batch's size (progress bars). With ``threads > 1``
    batches are ranked in that many threads while the next ones are encoded
    (the candidate path is thread-safe: per-thread scratch arrays). Batches
    stay the same either way: an encoder's vectors can differ in the last
    bits with the texts batched alongside, and results must not depend on threads.
    """
    rank = ranker or rank_batch
    parts: list[Ranking] = []
    pending: deque = deque()
    pool = (
        ThreadPoolExecutor(threads, thread_name_prefix="rank", initializer=_share_cores, initargs=(threads,))
        if threads > 1
        else None
    )

    def collect() -> None:
        size, future, part_timings = pending.popleft()
        parts.append(future.result())
        for stage, seconds in part_timings.items():
            _add_seconds(timings, stage, seconds)
        if on_batch is not None:
            on_batch(size)

    try:
        for start in range(0, len(texts), batch):
            part = list(texts[start : start + batch])
            vectors = None
            if encode_in_batches and matcher.encoder_ is not None and matcher.mode != "lexical":
                clock = time.perf_counter()
                vectors = np.vstack(
                    list(
                        matcher.encoder_.iter_document_batches(
                            part, batch_size=matcher.batch_size, show_progress=False, is_query=True
                        )
                    )
                )
                _add_time(timings, "encode", clock)
            if pool is None:
                parts.append(rank(matcher, part, k, mask, vectors, timings))
                if on_batch is not None:
                    on_batch(len(part))
                continue
            part_timings: dict[str, float] = {}  # merged in order, by collect()
            pending.append((len(part), pool.submit(rank, matcher, part, k, mask, vectors, part_timings), part_timings))
            while len(pending) > threads:  # at most one batch per thread ahead
                collect()
        while pending:
            collect()
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    return stack_rankings(parts, k)


def usable_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def _share_cores(threads: int) -> None:
    """Thread initializer: this ranking thread's FAISS searches use its share of the cores.

    OpenMP's thread count is per calling thread, so other threads (a server's searches) keep
    theirs; without it every batch's search spreads over all cores while the other ranking
    threads want them too (about 5 % slower at 1M on 2 cores)."""
    import faiss

    faiss.omp_set_num_threads(max(1, usable_cores() // threads))


def channel_scores(
    matcher: Matcher, texts: list[str], vectors: np.ndarray | None = None, q_char=None
) -> dict[str, np.ndarray]:
    """Every channel's score of every item for normalised query texts.

    Returns
    -------
    dict of str to ndarray of shape (n_queries, n_items), float32
        ``dense`` (cosine; absent in lexical mode), ``char`` (cosine),
        ``bm25`` and ``bm25n`` (BM25 over the query's best possible score).
    """
    out: dict[str, np.ndarray] = {}
    if matcher.vectors_ is not None and (vectors is not None or matcher.mode != "lexical"):
        if vectors is None:
            vectors = matcher.encoder_.encode_queries(texts)
        out["dense"] = vectors @ matcher.vectors_.T
    out["char"] = matcher.lexical_.char_scores(texts, q_char).toarray()
    bm25 = matcher.lexical_.bm25_scores(texts).toarray()
    out["bm25"] = bm25
    out["bm25n"] = bm25 / matcher.lexical_.bm25_upper_bounds(texts)[:, None]
    return out


def pair_features(matcher: Matcher, texts: list[str], indices: np.ndarray) -> dict[str, np.ndarray]:
    """Raw features of (query, item) pairs, as the confidence calibration uses them.

    Parameters
    ----------
    texts : list of str
        Normalised query texts.
    indices : ndarray of shape (n_queries, k)
        Item positions per query.

    Returns
    -------
    dict of str to ndarray of shape (n_queries, k)
        ``dense``, ``char``, ``bm25``, ``bm25n``, ``char_cov``, ``term_cov``.
    """
    ch = channel_scores(matcher, texts)
    indices = np.asarray(indices)
    out = {c: np.take_along_axis(v, indices, 1) for c, v in ch.items()}
    out.update(matcher.lexical_.coverage(texts, indices))
    return out
