"""Sub-linear ranking: each channel proposes candidates, the fused score is computed on their union.

For every query and segment:

- **BM25** is computed exactly from the postings of the query's terms (only items sharing a
  term are touched); its best ``BM25_DEPTH x`` :data:`CANDIDATES` items are candidates (items
  sharing the query's common words tie on BM25 by the hundred; the other channels decide).
- **dense**: an approximate (IVF) search of a large segment, an exact one of a small segment;
  its best :data:`CANDIDATES` items are candidates. Candidates found only by another channel
  get their exact cosine from the stored vectors.
- **char** (character n-gram TF-IDF) proposes candidates through the large segment's rare
  n-gram postings (n-grams in at most 2 % of its rows, :func:`.packed.rare_postings`, each
  list ordered by impact): the query's :data:`RARE_GRAMS` heaviest n-grams score the first
  :data:`RARE_DEPTH` rows of their lists by their share of the cosine; the best
  :data:`CANDIDATES` are candidates. This finds what only the char channel
  sees: stop words ("belanja", "untuk"), hyphenated forms ("alat-alat"), spelling variants.
  Segments without that index (written before it existed) go through the vocabulary
  words closest to the query by character 3- and 4-grams (:data:`FUZZY_WORDS` of them,
  "mikroskop" for "oftalmoskopi") and their BM25 postings. Then every candidate is rescored
  exactly from its stored n-gram counts.

Convex fusion min-max-normalises each channel over the allowed items. On the candidate path:
BM25's maximum and minimum are exact; the dense maximum is the best candidate's and the
minimum comes from a search with the negated query (exact for small segments); the char
maximum is the best candidate's and the minimum is taken as 0. Reciprocal-rank fusion ranks
within the candidates. ``exact=True`` gives the exhaustive ranking of the same index, the
reference this path is measured against (docs/benchmarks.md).
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from .proposals import (
    FUZZY_MIN_SIMILARITY,
    FUZZY_WORDS,
    bm25_sums,
    fuzzy_terms,
    rare_gram_scores,
    top_rows,
)
from .ranking import Ranking, empty_ranking, finish_ranking, ranked_depth, split_rows, topk, usable_cores
from .rerank import needs_context

if TYPE_CHECKING:  # pragma: no cover
    from .matcher import Matcher
    from .state import IndexState

__all__ = ["rank_candidates", "CANDIDATES", "SELECTIVE_ROWS", "FUZZY_WORDS", "FUZZY_MIN_SIMILARITY"]

#: Candidates per channel and query (at least 20 x k).
CANDIDATES = 200
#: BM25 proposes this many times as many: items that share the query's common words tie on BM25
#: by the hundred and the other channels decide between them (docs/benchmarks.md).
BM25_DEPTH = 2
#: A filter leaving at most this many rows of a large segment is searched exactly on that subset.
SELECTIVE_ROWS = 50_000


#: Batches of at most this many queries overlap their dense search with the lexical work.
OVERLAP_QUERIES = 8
_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _dense_pool() -> ThreadPoolExecutor:
    """The threads that run overlapped dense searches (created on first use, shared)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(usable_cores(), thread_name_prefix="dense-search")
        return _POOL


def _segment_masks(state: IndexState, mask: np.ndarray | None) -> list[np.ndarray | None]:
    """Per segment: allowed rows (live and passing the filter), or None when all rows are allowed."""
    out = []
    for i, seg in enumerate(state.segments):
        if mask is None:
            out.append(seg.live)
            continue
        part = mask[state.offsets[i] : state.offsets[i + 1]]
        if seg.live is None:
            out.append(np.asarray(part, dtype=bool))
        else:
            allowed = np.zeros(seg.rows, dtype=bool)
            allowed[np.flatnonzero(seg.live)] = part
            out.append(allowed)
    return out


def _dense_batch(seg, vecs: np.ndarray, allowed: np.ndarray | None, n_allowed: int, n_cand: int):
    """Dense candidates of a batch for one segment: (rows per query, scores lookup, lower bounds)."""
    if seg.ann is None or (allowed is not None and n_allowed <= SELECTIVE_ROWS):
        all_rows = np.arange(seg.rows) if allowed is None else np.flatnonzero(allowed)
        # Exact: small segments, and a selective filter's subset of a large one (the approximate
        # index would probe lists holding few allowed rows, and k rows must still come back).
        if seg.ann is not None:
            sub = seg.vectors_of(all_rows)
        else:  # no copy of a whole small segment's vectors when nothing is filtered out
            sub = seg.vectors if allowed is None else np.asarray(seg.vectors[all_rows], np.float32)
        scores = sub @ vecs.T  # (allowed rows, queries)
        lows = scores.min(axis=0) if len(all_rows) else np.full(len(vecs), np.inf)
        top = [top_rows(all_rows, scores[:, i], n_cand) for i in range(len(vecs))]
        lookup = {"rows": all_rows, "scores": scores}
        return top, lookup, lows
    res = seg.ann.search(vecs, n_cand, allowed=allowed)
    # The channel's minimum only scales the normalisation: a coarse search is enough for it.
    neg = seg.ann.search(-vecs, 1, allowed=allowed, nprobe_share=1 / 32)
    top = [res.indices[i][res.indices[i] >= 0] for i in range(len(vecs))]
    lows = np.where(neg.indices[:, 0] >= 0, -neg.scores[:, 0], np.inf)
    return top, {"found": res}, lows


def _dense_of(seg, lookup, rows: np.ndarray, vec: np.ndarray, qi: int) -> np.ndarray:
    """Cosines of a query with some rows of a segment (``rows`` sorted, unique)."""
    if lookup is not None and "rows" in lookup:  # an exact search scored every allowed row
        where = np.searchsorted(lookup["rows"], rows)
        return lookup["scores"][where, qi]
    out = np.empty(len(rows), np.float32)
    todo = np.ones(len(rows), dtype=bool)
    if lookup is not None:  # the approximate search's own results keep their scores
        found = lookup["found"].indices[qi]
        ok = found >= 0
        order = np.argsort(found[ok])
        known, scores = found[ok][order], lookup["found"].scores[qi][ok][order]
        at = np.minimum(np.searchsorted(known, rows), max(len(known) - 1, 0))
        hit = (known[at] == rows) if len(known) else np.zeros(len(rows), dtype=bool)
        out[hit] = scores[at[hit]]
        todo = ~hit
    if todo.any():  # the others' vectors are read back from the index
        out[todo] = seg.vectors_of(rows[todo]) @ vec
    return out


def _fuse(m: Matcher, channels: dict, lows: dict, highs: dict) -> np.ndarray:
    n = len(channels["char"])
    if m.mode == "dense":
        return channels["dense"].astype(np.float64)
    fused = np.zeros(n, np.float64)
    for c, w in m.weights_.items():
        if not w:
            continue
        if m.fusion == "rrf":
            order = np.argsort(-channels[c], kind="stable")
            ranks = np.empty(n)
            ranks[order] = np.arange(1, n + 1)
            fused += w / (m.rrf_k + ranks)
        else:
            fused += w * (channels[c] - lows[c]) / max(highs[c] - lows[c], 1e-9)
    return fused


def _batch_char_rows(state: IndexState, lex, per_query: list) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray] | None:
    """Character TF-IDF rows of every distinct candidate of a batch, counted once.

    Returns (rows, inverse, starts): the candidates of query ``qi`` in its own order are rows
    ``inverse[starts[qi] : starts[qi] + n_qi]``; None when no query has candidates.
    """
    items = [item for item in per_query if item is not None]
    if not items:
        return None
    lengths = np.array([0 if item is None else len(item[1]) for item in per_query], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    seg_id = np.concatenate([item[0] for item in items]).astype(np.int64)
    rows = np.concatenate([item[1] for item in items]).astype(np.int64)
    width = max(int(rows.max()) + 1, 1)
    keys, inverse = np.unique(seg_id * width + rows, return_inverse=True)
    key_seg, key_row = keys // width, keys % width
    parts = []
    for si in np.unique(key_seg):  # keys are sorted by segment, then row
        sel = key_seg == si
        parts.append(state.segments[si].char_counts_of(key_row[sel], lex.stats_, lex.char_ngrams))
    stacked = lex.tfidf(parts[0] if len(parts) == 1 else sp.vstack(parts).tocsr())
    return stacked, inverse.ravel(), starts


def rank_candidates(
    m: Matcher,
    texts: list[str],
    k: int,
    mask: np.ndarray | None,
    vectors: np.ndarray | None = None,
    timings: dict | None = None,
    n_candidates: int | None = None,
) -> Ranking:
    """Rank a batch of normalised queries on the candidate path (see the module docstring)."""
    state: IndexState = m.state_
    lex = state.lexical
    n_q = len(texts)
    out = empty_ranking(n_q, k)
    if n_q == 0 or state.n_items == 0 or (mask is not None and not mask.any()):
        return out
    clock = time.perf_counter()
    use_dense = m.mode != "lexical" and m.encoder_ is not None and (m.mode == "dense" or m.weights_.get("dense", 0) > 0)
    if use_dense and vectors is None:
        vectors = m.encoder_.encode_queries(texts)
    masks = _segment_masks(state, mask)
    n_cand = max(n_candidates or CANDIDATES, 20 * k)

    def dense_candidates() -> list:
        """Dense candidates for the whole batch, segment by segment (FAISS searches a batch at once)."""
        out = []
        for si, seg in enumerate(state.segments):
            allowed = masks[si]
            n_allowed = seg.rows if allowed is None else int(allowed.sum())
            out.append(_dense_batch(seg, vectors, allowed, n_allowed, n_cand) if use_dense and n_allowed else None)
        return out

    # A few queries: the approximate searches (FAISS, without the GIL) run in another thread while
    # this one finds the lexical candidates; a batch searches first (FAISS spreads it over cores).
    overlap = use_dense and n_q <= OVERLAP_QUERIES and state.approximate and usable_cores() > 1
    dense_job = _dense_pool().submit(dense_candidates) if overlap else None
    dense: list = [] if overlap else dense_candidates()
    ids = lex.stats_.bm25_vocab.ids
    q_terms = [np.array([ids[t] for t in lex.query_terms(t)], dtype=np.int64) for t in texts]
    q_char = lex.char_vectors(texts)
    per_query = []
    use_char = m.mode != "dense" and (m.fusion == "rrf" or m.weights_.get("char", 0) > 0)
    # Segments without a rare n-gram index (written before it existed) take char candidates
    # through the vocabulary words closest to the query.
    need_fuzzy = use_char and any(seg.char_post is None for seg in state.segments)
    for qi in range(n_q):
        fuzzy = fuzzy_terms(lex, q_char[qi], q_terms[qi]) if need_fuzzy else None
        seg_ids, seg_rows, d_parts, b_parts = [], [], [], []
        bm25_hi, bm25_lo_zero, bm25_min, dense_lo = 0.0, False, np.inf, np.inf
        for si, seg in enumerate(state.segments):
            allowed = masks[si]
            n_allowed = seg.rows if allowed is None else int(allowed.sum())
            if n_allowed == 0:
                continue
            cands = []
            bm = bm25_sums(seg, lex, q_terms[qi]) if m.mode != "dense" else None
            if bm is not None:
                touched, values = bm.allowed(allowed)
                touched, values = touched[values > 0], values[values > 0]
                if len(touched):
                    bm25_hi = max(bm25_hi, float(values.max()))
                    bm25_min = min(bm25_min, float(values.min()))
                    cands.append(top_rows(touched, values, n_cand * BM25_DEPTH))
                bm25_lo_zero |= len(touched) < n_allowed
            else:
                bm25_lo_zero = True
            if use_char and seg.char_post is not None:
                rare = rare_gram_scores(seg, lex, q_char[qi])
                if rare is not None:
                    hit, score = rare if allowed is None else (rare[0][allowed[rare[0]]], rare[1][allowed[rare[0]]])
                    cands.append(top_rows(hit, score, n_cand))
            elif fuzzy is not None and len(fuzzy[0]):
                near = bm25_sums(seg, lex, fuzzy[0], fuzzy[1])
                if near is not None:
                    hit, score = near.allowed(allowed)
                    cands.append(top_rows(hit[score > 0], score[score > 0], n_cand))
            if dense_job is not None and not dense:
                dense = dense_job.result()
            if dense[si] is not None:
                top, lookup, lows = dense[si]
                cands.append(top[qi])
                dense_lo = min(dense_lo, float(lows[qi]))
            if not cands:
                continue
            rows = np.unique(np.concatenate(cands)).astype(np.int64)
            if dense[si] is not None:
                d = _dense_of(seg, dense[si][1], rows, vectors[qi], qi)
                dense_lo = min(dense_lo, float(d.min())) if len(d) else dense_lo
                d_parts.append(np.asarray(d, np.float32))
            b_parts.append(bm.at(rows) if bm is not None else np.zeros(len(rows), np.float32))
            seg_ids.append(np.full(len(rows), si))
            seg_rows.append(rows)
        if not seg_rows:
            per_query.append(None)
            continue
        per_query.append(
            (
                np.concatenate(seg_ids),
                np.concatenate(seg_rows),
                np.concatenate(b_parts),
                np.concatenate(d_parts) if d_parts else None,
                bm25_hi,
                bm25_lo_zero,
                bm25_min,
                dense_lo,
            )
        )
    # Char: count every candidate of the batch once, then one product per query.
    char_rows = _batch_char_rows(state, lex, per_query)
    cal = m.calibration_
    context = cal is not None and needs_context(cal.features)
    depth = ranked_depth(m, k)
    ranked = empty_ranking(n_q, depth)
    scores, idx = ranked.scores.copy(), ranked.indices.copy()
    ch = {
        c: np.full((n_q, depth), np.nan, np.float32) for c in ("dense", "char", "bm25", "bm25n", "char_cov", "term_cov")
    }
    item_chars: list = [None] * n_q
    q_sq = q_char.multiply(q_char).tocsr()
    for qi, item in enumerate(per_query):
        if item is None:
            item_chars[qi] = sp.csr_matrix((0, q_char.shape[1]), dtype=np.float32)
            continue
        seg_id, rows, bm25, dns, bm25_hi, bm25_lo_zero, bm25_min, dense_lo = item
        stacked, inverse, starts = char_rows
        pos_in = inverse[starts[qi] : starts[qi] + len(rows)]
        if len(pos_in) == stacked.shape[0]:  # one query: its candidates are all the rows counted
            char = np.asarray((stacked @ q_char[qi].T).todense(), dtype=np.float32).ravel()[pos_in]
        else:
            char = np.asarray((stacked[pos_in] @ q_char[qi].T).todense(), dtype=np.float32).ravel()
        channels = {"char": char, "bm25": bm25.astype(np.float32)}
        lows = {"char": 0.0, "bm25": 0.0 if bm25_lo_zero else bm25_min}
        highs = {"char": float(char.max()), "bm25": bm25_hi}
        if dns is not None:
            channels["dense"] = dns
            lows["dense"], highs["dense"] = min(dense_lo, float(dns.min())), float(dns.max())
        fused = _fuse(m, channels, lows, highs)
        top = topk(fused[None, :].astype(np.float32), min(depth, len(rows)))[0]
        n = len(top)
        pos = np.empty(n, dtype=np.int64)
        for si in np.unique(seg_id[top]):
            sel = seg_id[top] == si
            pos[sel] = state.positions(int(si), rows[top][sel])
        idx[qi, :n] = pos
        scores[qi, :n] = fused[top]
        for c, v in channels.items():
            ch[c][qi, :n] = v[top]
        terms = q_terms[qi]
        upper = float(lex.bm25_idf_[terms].sum() * (lex.bm25_k1 + 1)) if len(terms) else 0.0
        ch["bm25n"][qi, :n] = channels["bm25"][top] / max(upper, 1e-9)
        if context:  # the confidence model computes its own coverage (.rerank)
            item_chars[qi] = stacked[pos_in[top]]
            continue
        # Coverage features of the confidence (as LexicalIndex.coverage defines them), from the
        # counts already at hand: n-gram presence, and word presence in the terms' postings.
        present = stacked[pos_in[top]].copy()
        present.data = np.ones_like(present.data)
        ch["char_cov"][qi, :n] = np.asarray((present @ q_sq[qi].T).todense(), dtype=np.float32).ravel()
        if len(terms):
            idf = lex.bm25_idf_[terms].astype(np.float64)
            hit = np.zeros((n, len(terms)))
            for j, t in enumerate(terms):
                for si in np.unique(seg_id[top]):
                    sel = np.flatnonzero(seg_id[top] == si)
                    post = state.segments[si].bm25_post
                    if t < post.shape[0]:
                        docs = np.asarray(post.indices[post.indptr[t] : post.indptr[t + 1]])
                        r = rows[top][sel]
                        at = np.searchsorted(docs, r)
                        hit[sel, j] = (at < len(docs)) & (docs[np.minimum(at, len(docs) - 1)] == r) if len(docs) else 0
            ch["term_cov"][qi, :n] = (hit @ idf / idf.sum()).astype(np.float32)
        else:
            ch["term_cov"][qi, :n] = 0.0
    if context:
        valid = [r[r >= 0] for r in idx]
        texts_of = split_rows(m.item_texts(np.concatenate(valid)), valid)
        pick = {c: ch[c] for c in ("dense", "char", "bm25", "bm25n")}
        out = finish_ranking(m, lex, texts, idx, scores, pick, k, texts_of, item_chars, q_char)
        if timings is not None:
            timings["candidates"] = timings.get("candidates", 0.0) + time.perf_counter() - clock
        return out
    if timings is not None:
        timings["candidates"] = timings.get("candidates", 0.0) + time.perf_counter() - clock
    conf = np.full((n_q, k), np.nan, np.float32)
    if cal is not None:
        feats = {
            "dense": ch["dense"],
            "char": ch["char"],
            "bm25n": ch["bm25n"],
            "char_cov": ch["char_cov"],
            "term_cov": ch["term_cov"],
        }
        conf = np.where(idx < 0, np.nan, cal.predict(feats)).astype(np.float32)
    return Ranking(scores.astype(np.float32), idx, ch["dense"], ch["char"], ch["bm25"], ch["bm25n"], conf)
