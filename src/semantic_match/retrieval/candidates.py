"""Sub-linear ranking: each channel proposes candidates, the fused score is computed on their union.

For every query and segment:

- **BM25** is computed exactly from the postings of the query's terms (only items sharing a
  term are touched); its best :data:`CANDIDATES` items are candidates.
- **dense**: an approximate (IVF) search of a large segment, an exact one of a small segment;
  its best :data:`CANDIDATES` items are candidates. Candidates found only by BM25 get their
  exact cosine from the stored vectors.
- **char** (character n-gram TF-IDF) rescores the candidates; large segments recompute the
  candidates' n-gram counts from their stored text.

Convex fusion min-max-normalises each channel over the allowed items. On the candidate path:
BM25's maximum and minimum are exact; the dense maximum is the best candidate's and the
minimum comes from a search with the negated query (exact for small segments); the char
maximum is the best candidate's and the minimum is taken as 0. Reciprocal-rank fusion ranks
within the candidates. ``exact=True`` gives the exhaustive ranking of the same index, the
reference this path is measured against (docs/benchmarks.md).
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np

from ..text.tokens import tokenize
from .ranking import Ranking, empty_ranking, topk

if TYPE_CHECKING:  # pragma: no cover
    from .matcher import Matcher
    from .state import IndexState

__all__ = ["rank_candidates", "CANDIDATES"]

#: Candidates per channel and query (at least 20 x k).
CANDIDATES = 200
#: A filter leaving at most this many rows of a large segment is searched exactly on that subset.
SELECTIVE_ROWS = 50_000


def _segment_masks(state: IndexState, mask: np.ndarray | None) -> list[np.ndarray | None]:
    """Per segment: allowed rows (live and passing the filter), or None when all rows are allowed."""
    out = []
    for i, seg in enumerate(state.segments):
        if mask is None:
            out.append(seg.live)
            continue
        part = mask[state.offsets[i]:state.offsets[i + 1]]
        if seg.live is None:
            out.append(np.asarray(part, dtype=bool))
        else:
            allowed = np.zeros(seg.rows, dtype=bool)
            allowed[np.flatnonzero(seg.live)] = part
            out.append(allowed)
    return out


def _bm25(seg, lex, terms: np.ndarray) -> np.ndarray | None:
    """Exact BM25 of every row of a segment (dense array), or None when no query term occurs in it."""
    post = seg.bm25_post
    rows_parts, w_parts = [], []
    for t in terms:
        if t >= post.shape[0]:
            continue
        lo, hi = post.indptr[t], post.indptr[t + 1]
        if hi == lo:
            continue
        rows = np.asarray(post.indices[lo:hi])
        tf = np.asarray(post.data[lo:hi], dtype=np.float32)
        rows_parts.append(rows)
        w_parts.append(lex.bm25_weights(tf, np.asarray(seg.doc_len[rows], dtype=np.float32), np.full(len(rows), t)))
    if not rows_parts:
        return None
    return np.bincount(np.concatenate(rows_parts), weights=np.concatenate(w_parts), minlength=seg.rows
                       ).astype(np.float32)


def _best(scores: np.ndarray, rows: np.ndarray, n: int) -> np.ndarray:
    if len(rows) <= n:
        return rows
    part = np.argpartition(-scores[rows], n - 1)[:n]
    return rows[part]


def _rank_one(m: Matcher, text: str, vec: np.ndarray | None, k: int, masks: list, n_cand: int):
    state: IndexState = m.state_
    lex = state.lexical
    weights = m.weights_
    use_dense = vec is not None and "dense" in weights and weights.get("dense", 0) > 0 or m.mode == "dense"
    ids = lex.stats_.bm25_vocab.ids
    terms = np.array([ids[t] for t in lex.query_terms(text)], dtype=np.int64)
    q_char = lex.char_vectors([text])
    seg_ids, seg_rows, dense_s, bm25_s = [], [], [], []
    bm25_hi, bm25_lo_zero, bm25_min = 0.0, False, np.inf
    dense_lo = np.inf
    for si, seg in enumerate(state.segments):
        allowed = masks[si]
        n_allowed = seg.rows if allowed is None else int(allowed.sum())
        if n_allowed == 0:
            continue
        all_rows = np.arange(seg.rows) if allowed is None else np.flatnonzero(allowed)
        bm = _bm25(seg, lex, terms) if m.mode != "dense" else None
        cands = []
        if bm is not None:
            touched = all_rows[bm[all_rows] > 0]
            if len(touched):
                bm25_hi = max(bm25_hi, float(bm[touched].max()))
                bm25_min = min(bm25_min, float(bm[touched].min()))
                cands.append(_best(bm, touched, n_cand))
            if len(touched) < n_allowed:
                bm25_lo_zero = True
        else:
            bm25_lo_zero = True
        dense_scores = None
        if use_dense:
            if seg.ann is None:
                dense_scores = np.asarray(seg.vectors, dtype=np.float32) @ vec
                dense_lo = min(dense_lo, float(dense_scores[all_rows].min()))
                cands.append(_best(dense_scores, all_rows, n_cand))
            elif allowed is not None and n_allowed <= SELECTIVE_ROWS:
                # A selective filter: the approximate index would probe lists holding few allowed
                # rows, so score exactly the allowed subset and k rows still come back.
                dense_scores = np.zeros(seg.rows, np.float32)
                dense_scores[all_rows] = seg.vectors_of(all_rows) @ vec
                dense_lo = min(dense_lo, float(dense_scores[all_rows].min()))
                cands.append(_best(dense_scores, all_rows, n_cand))
            else:
                allowed_ann = None if allowed is None else allowed
                res = seg.ann.search(vec[None, :], n_cand, allowed=allowed_ann)
                got = res.indices[0][res.indices[0] >= 0]
                cands.append(got)
                neg = seg.ann.search(-vec[None, :], 1, allowed=allowed_ann)
                if neg.indices[0, 0] >= 0:
                    dense_lo = min(dense_lo, -float(neg.scores[0, 0]))
        if not cands:
            continue
        rows = np.unique(np.concatenate(cands)).astype(np.int64)
        if use_dense:
            d = dense_scores[rows] if dense_scores is not None else seg.vectors_of(rows) @ vec
            if seg.ann is not None and len(rows):
                dense_lo = min(dense_lo, float(d.min()))
            dense_s.append(d.astype(np.float32))
        bm25_s.append(bm[rows] if bm is not None else np.zeros(len(rows), np.float32))
        seg_ids.append(np.full(len(rows), si))
        seg_rows.append(rows)
    if not seg_rows:
        return None
    seg_id = np.concatenate(seg_ids)
    rows = np.concatenate(seg_rows)
    bm25 = np.concatenate(bm25_s).astype(np.float32)
    dense = np.concatenate(dense_s) if use_dense else None
    char = np.zeros(len(rows), np.float32)
    for si in np.unique(seg_id):
        sel = seg_id == si
        seg = state.segments[si]
        counts = seg.char_counts_of(rows[sel], lex.stats_, lex.char_ngrams)
        char[sel] = np.asarray((lex.tfidf(counts) @ q_char.T).todense()).ravel()
    channels = {"char": char, "bm25": bm25}
    lows = {"char": 0.0, "bm25": 0.0 if bm25_lo_zero else bm25_min}
    highs = {"char": float(char.max()), "bm25": bm25_hi}
    if use_dense:
        channels["dense"] = dense
        lows["dense"] = min(dense_lo, float(dense.min()))
        highs["dense"] = float(dense.max())
    if m.mode == "dense":
        fused = dense.copy()
    elif m.fusion == "rrf":
        fused = np.zeros(len(rows), np.float64)
        for c, w in weights.items():
            if w:
                order = np.argsort(-channels[c], kind="stable")
                ranks = np.empty(len(rows))
                ranks[order] = np.arange(1, len(rows) + 1)
                fused += w / (m.rrf_k + ranks)
    else:
        fused = np.zeros(len(rows), np.float64)
        for c, w in weights.items():
            if w:
                fused += w * (channels[c] - lows[c]) / max(highs[c] - lows[c], 1e-9)
    order = topk(fused[None, :].astype(np.float32), min(k, len(rows)))[0]
    return seg_id[order], rows[order], fused[order], {c: v[order] for c, v in channels.items()}, terms


def rank_candidates(m: Matcher, texts: list[str], k: int, mask: np.ndarray | None,
                    vectors: np.ndarray | None = None, timings: dict | None = None,
                    n_candidates: int | None = None) -> Ranking:
    """Rank normalised queries on the candidate path (see the module docstring)."""
    state = m.state_
    n_q = len(texts)
    out = empty_ranking(n_q, k)
    if n_q == 0 or state.n_items == 0 or (mask is not None and not mask.any()):
        return out
    clock = time.perf_counter()
    if vectors is None and m.encoder_ is not None and m.mode != "lexical":
        vectors = m.encoder_.encode_queries(texts)
    masks = _segment_masks(state, mask)
    n_cand = max(n_candidates or CANDIDATES, 20 * k)
    scores, idx = out.scores.copy(), out.indices.copy()
    ch = {c: np.full((n_q, k), np.nan, np.float32) for c in ("dense", "char", "bm25", "bm25n")}
    lex = state.lexical
    for i, text in enumerate(texts):
        got = _rank_one(m, text, None if vectors is None else vectors[i], k, masks, n_cand)
        if got is None:
            continue
        seg_id, rows, fused, picked, terms = got
        n = len(rows)
        pos = np.empty(n, dtype=np.int64)
        for si in np.unique(seg_id):
            sel = seg_id == si
            pos[sel] = state.positions(int(si), rows[sel])
        idx[i, :n] = pos
        scores[i, :n] = fused
        for c, v in picked.items():
            ch[c][i, :n] = v
        upper = float(lex.bm25_idf_[terms].sum() * (lex.bm25_k1 + 1)) if len(terms) else 0.0
        ch["bm25n"][i, :n] = picked["bm25"] / max(upper, 1e-9)
    if timings is not None:
        timings["candidates"] = timings.get("candidates", 0.0) + time.perf_counter() - clock
    conf = np.full((n_q, k), np.nan, np.float32)
    if m.calibration_ is not None:
        feats = {"dense": ch["dense"], "char": ch["char"], "bm25n": ch["bm25n"], **coverage(m, texts, idx)}
        conf = np.where(idx < 0, np.nan, m.calibration_.predict(feats)).astype(np.float32)
    return Ranking(scores.astype(np.float32), idx, ch["dense"], ch["char"], ch["bm25"], ch["bm25n"], conf)


def coverage(m: Matcher, texts: list[str], indices: np.ndarray) -> dict[str, np.ndarray]:
    """The confidence's coverage features for ranked items, computed from their stored data.

    Same definition as :meth:`LexicalIndex.coverage`: ``char_cov`` is the share of the query's
    squared unit-norm n-gram weight present in the item, ``term_cov`` the idf-weighted share of
    the query's words present.
    """
    state = m.state_
    lex = state.lexical
    ids = lex.stats_.bm25_vocab.ids
    char_cov = np.full(indices.shape, np.nan, np.float32)
    term_cov = np.full(indices.shape, np.nan, np.float32)
    q_char = lex.char_vectors(texts)
    q_char = q_char.multiply(q_char).tocsr()
    for i, text in enumerate(texts):
        ok = indices[i] >= 0
        if not ok.any():
            continue
        pos = indices[i][ok]
        seg, rows = state.locate(pos)
        present = np.zeros(len(pos), np.float32)
        doc_texts = state.texts(pos)
        for si in np.unique(seg):
            sel = seg == si
            counts = state.segments[si].char_counts_of(rows[sel], lex.stats_, lex.char_ngrams)
            counts.data = np.ones_like(counts.data)
            present[sel] = np.asarray((counts @ q_char[i].T).todense()).ravel()
        char_cov[i, ok] = present
        terms = lex.query_terms(text)
        if terms:
            idf = np.array([lex.bm25_idf_[ids[t]] for t in terms], dtype=np.float64)
            hit = np.array([[t in set(tokenize(d, stem=lex.stem)) for t in terms] for d in doc_texts], dtype=float)
            term_cov[i, ok] = (hit @ idf / idf.sum()).astype(np.float32)
        else:
            term_cov[i, ok] = 0.0
    return {"char_cov": char_cov, "term_cov": term_cov}
