"""Re-ranking the hybrid's top results by a confidence model over the pair *and its context*.

The shipped confidence model of the embedded e5 encoder (issue 13) scores each of the top
``rerank_depth`` results of the fused ranking with a logistic model over features that need
the ranked list and the texts, not only the channel scores of one pair:

- the channel scores and the fused score, and how far each is below the list's best
  (``*_gap``, ``gap1``), and the result's position (``logrank``);
- coverage both ways: how much of the need the item holds (``char_cov``, ``term_cov``, as
  :meth:`.LexicalIndex.coverage` defines them) and how much of the *item* the need holds
  (``rev_term_cov``); the same for the need's item name alone (``name_*``: the part before the
  first ". " of a need text whose item name is said twice, see
  :func:`semantic_match.text.procurement.weight_item`; else the whole text);
- whether the item's first word occurs in the need (``head_in_need``), the item's and the
  need's number of words (``item_len``, ``need_len``);
- figures as attributes: figures shared by need and item (``num_shared``), figures only the
  item has (``num_item_only``) or only the need has (``num_need_only``), so that "80 gram"
  no longer pulls an unrelated item because it contains "80".

The model's probability is the result's ``confidence``; the fusion's top ``rerank_depth``
results are ordered by it (ranking mode ``hybrid``; results further down keep the fused order,
so asking for more results never changes the first ones), so a relevant item the fusion put
at rank 15 can come first, and a need's rank-1 confidence says whether *any* of its top
results is likely relevant: the
no-match AUROC on the frozen test split rose from 0.674 to 0.801 (KBKI) and 0.804 to 0.844
(marketplace) (docs/quality.md).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from ..text.tokens import tokenize

__all__ = ["CONTEXT_FEATURES", "context_features", "name_part", "needs_context", "order_by_confidence"]

#: Features computed here (the channel scores ``dense``, ``char``, ``bm25n`` come from the ranking).
CONTEXT_FEATURES = (
    "char_cov",
    "term_cov",
    "score",
    "gap1",
    "logrank",
    "dense_gap",
    "char_gap",
    "bm25n_gap",
    "name_term_cov",
    "name_char_cov",
    "rev_term_cov",
    "name_rev_term_cov",
    "item_len",
    "need_len",
    "head_in_need",
    "num_shared",
    "num_item_only",
    "num_need_only",
)


def needs_context(features: Sequence[str]) -> bool:
    """Whether a confidence model reads features beyond the pair's channel scores and coverage."""
    return bool(set(features) & (set(CONTEXT_FEATURES) - {"char_cov", "term_cov"}))


def name_part(text: str) -> str:
    """The item name of a need text whose name is said twice (``"name. name. spec"``), else the text.

    >>> name_part("printer. printer. printer a3 laser")
    'printer'
    >>> name_part("kertas hvs a4")
    'kertas hvs a4'
    """
    head, sep, rest = text.partition(". ")
    if sep and (rest == head or rest.startswith(head + ". ")):
        return head
    return text


_DIGITS = frozenset("0123456789")
_DIGIT = re.compile("[0-9]")


def _weight_held(rows: sp.csr_matrix, weights: sp.csr_matrix, w_row: int) -> np.ndarray:
    """Per row of ``rows``, the sum of ``weights[w_row]`` over the columns the row holds (non-zero).

    The same as ``(rows != 0) @ weights[w_row].T`` for rows without repeated columns, without
    transposing a matrix as wide as the n-gram vocabulary."""
    lo, hi = weights.indptr[w_row], weights.indptr[w_row + 1]
    cols, vals = weights.indices[lo:hi], weights.data[lo:hi].astype(np.float64)
    order = np.argsort(cols)
    cols, vals = cols[order], vals[order]
    out = np.zeros(rows.shape[0])
    if not len(cols) or not rows.nnz:
        return out
    at = np.minimum(np.searchsorted(cols, rows.indices), len(cols) - 1)
    held = np.where((cols[at] == rows.indices) & (rows.data != 0), vals[at], 0.0)
    owner = np.repeat(np.arange(rows.shape[0]), np.diff(rows.indptr))
    return np.bincount(owner, held, minlength=rows.shape[0])


def _is_figure(token: str) -> bool:
    return token[0].isdigit() and token.replace(".", "").replace(",", "").isdigit()


def _gap(x: np.ndarray, window: int | None) -> np.ndarray:
    """Each value minus the row's best among its first ``window`` results (NaN-aware)."""
    with np.errstate(invalid="ignore"):
        best = np.fmax.reduce(x[:, :window], axis=1, keepdims=True)
    return x - best


def context_features(
    lex,
    texts: Sequence[str],
    indices: np.ndarray,
    scores: np.ndarray,
    channels: dict[str, np.ndarray],
    item_texts: Sequence[Sequence[str]],
    item_chars: Sequence[sp.csr_matrix],
    q_char: sp.csr_matrix | None = None,
    window: int | None = None,
) -> dict[str, np.ndarray]:
    """Every feature of the confidence model for the ranked pairs of a batch of needs.

    Parameters
    ----------
    lex : LexicalIndex
        The index's lexical statistics (vocabularies, idf, tokenizer settings).
    texts : sequence of str
        Normalised need texts.
    indices : ndarray of shape (n_queries, depth)
        The ranked items (``-1`` pads).
    scores : ndarray of shape (n_queries, depth)
        Their fused scores, best first.
    channels : dict
        ``dense``, ``char``, ``bm25n`` of the same pairs (``dense`` may be absent or NaN).
    item_texts : sequence of sequences of str
        Per need, the normalised texts of its ranked items (the valid ones, in order).
    item_chars : sequence of sparse matrices
        Per need, the character n-gram rows of the same items (any non-zero = the n-gram occurs),
        columns in the index's n-gram ids.
    q_char : sparse matrix, optional
        The needs' character TF-IDF vectors (:meth:`.LexicalIndex.char_vectors`), when at hand.
    window : int, optional
        The gaps (``*_gap``, ``gap1``) are taken to the best of the first ``window`` results
        (the re-ranked ones), so that asking for more results changes no confidence among them.
        Default: all.

    Returns
    -------
    dict of str to ndarray of shape (n_queries, depth), float64
        The channel scores and :data:`CONTEXT_FEATURES`; NaN where ``indices`` is -1.
    """
    n_q, depth = indices.shape
    nan = np.full((n_q, depth), np.nan)
    out = {
        c: np.asarray(channels[c], dtype=np.float64) if c in channels else nan.copy()
        for c in ("dense", "char", "bm25n")
    }
    out["score"] = np.asarray(scores, dtype=np.float64)
    out["gap1"] = _gap(out["score"], window)
    out["logrank"] = np.where(indices >= 0, np.log1p(np.arange(depth, dtype=np.float64))[None, :], np.nan)
    for c in ("dense", "char", "bm25n"):
        out[f"{c}_gap"] = _gap(out[c], window)
    per_pair = (
        "char_cov",
        "term_cov",
        "name_term_cov",
        "name_char_cov",
        "rev_term_cov",
        "name_rev_term_cov",
        "item_len",
        "head_in_need",
        "num_shared",
        "num_item_only",
        "num_need_only",
    )
    for c in per_pair:
        out[c] = nan.copy()
    out["need_len"] = nan.copy()
    names = [name_part(t) for t in texts]
    if q_char is None:
        q_char = lex.char_vectors(list(texts))
    other = [i for i, (t, nm) in enumerate(zip(texts, names)) if nm != t]
    differs = set(other)
    q_sq = sp.csr_matrix(q_char, copy=True)
    q_sq.data **= 2
    name_sq = q_sq
    if other:  # names that differ from their text (needs whose item name is said twice)
        nm_sq = lex.char_vectors([names[i] for i in other])
        nm_sq.data **= 2
        name_sq = sp.vstack([q_sq, nm_sq]).tocsr()
    name_row = np.arange(n_q)
    name_row[other] = n_q + np.arange(len(other))
    ids = lex.stats_.bm25_vocab.ids
    get = ids.get
    idf = lex.bm25_idf_.astype(np.float64)
    stem = lex.stem
    for i, text in enumerate(texts):
        ok = np.flatnonzero(indices[i] >= 0)
        q_terms = lex.query_terms(text)
        out["need_len"][i, ok] = np.log1p(len(q_terms))
        if not len(ok):
            continue
        chars = sp.csr_matrix(item_chars[i])
        out["char_cov"][i, ok] = _weight_held(chars, q_sq, i)
        out["name_char_cov"][i, ok] = (
            _weight_held(chars, name_sq, name_row[i]) if i in differs else out["char_cov"][i, ok]
        )
        need = np.array(sorted({ids[t] for t in q_terms}), dtype=np.int64)
        name = np.array(sorted({ids[t] for t in lex.query_terms(names[i])}), dtype=np.int64) if i in differs else need
        figures = {t for t in tokenize(text, stem=stem) if t[0] in _DIGITS and _is_figure(t)}
        # Every item's distinct terms, flattened: term ids and the item each belongs to.
        flat: list[int] = []
        owner: list[int] = []
        n_items = len(ok)
        head = np.full(n_items, -1, dtype=np.int64)
        fig = np.zeros((n_items, 3))
        for j, item in enumerate(item_texts[i]):
            words = tokenize(item, stem=stem)
            terms = [t for t in map(get, dict.fromkeys(words)) if t is not None]
            if terms:
                head[j] = terms[0]
                flat.extend(terms)
                owner.extend([j] * len(terms))
            item_figures = {t for t in words if t[0] in _DIGITS and _is_figure(t)} if _DIGIT.search(item) else set()
            if item_figures or figures:
                fig[j] = (len(item_figures & figures), len(item_figures - figures), len(figures - item_figures))
        terms_all = np.asarray(flat, dtype=np.int64)
        own = np.asarray(owner, dtype=np.int64)
        w = idf[terms_all]
        in_need = np.isin(terms_all, need)
        in_name = np.isin(terms_all, name)
        total = np.bincount(own, w, minlength=n_items)
        held = np.bincount(own, w * in_need, minlength=n_items)
        held_name = np.bincount(own, w * in_name, minlength=n_items)
        need_idf, name_idf = idf[need].sum(), idf[name].sum()
        safe = np.where(total > 0, total, 1.0)
        out["term_cov"][i, ok] = held / need_idf if need_idf else 0.0
        out["name_term_cov"][i, ok] = held_name / name_idf if name_idf else 0.0
        out["rev_term_cov"][i, ok] = np.where(total > 0, held / safe, 0.0)
        out["name_rev_term_cov"][i, ok] = np.where(total > 0, held_name / safe, 0.0)
        out["item_len"][i, ok] = np.log1p(np.bincount(own, minlength=n_items))
        out["head_in_need"][i, ok] = np.isin(head, need) & (head >= 0)
        out["num_shared"][i, ok], out["num_item_only"][i, ok], out["num_need_only"][i, ok] = fig.T
    return out


def order_by_confidence(confidence: np.ndarray, indices: np.ndarray, window: int) -> np.ndarray:
    """Per row, the column order that puts the first ``window`` results in order of confidence
    (ties: earlier rank) and keeps the rest where they are. Padding (``indices == -1``) stays last.
    """
    n = indices.shape[1]
    order = np.tile(np.arange(n), (indices.shape[0], 1))
    w = min(window, n)
    head = confidence[:, :w].astype(np.float64)
    key = np.where(indices[:, :w] >= 0, np.nan_to_num(head, nan=-1.0), -np.inf)
    order[:, :w] = np.argsort(-key, axis=1, kind="stable")
    return order
