"""What each channel proposes on the candidate path: BM25 sums from postings, char candidates from
the rare n-gram index (or the vocabulary words nearest to the query), and the per-thread scratch
arrays that keep their cost proportional to the postings read (see :mod:`.candidates`)."""

from __future__ import annotations

import threading
import weakref

import numpy as np
import scipy.sparse as sp

from .packed import slice_positions

__all__ = [
    "RowSums",
    "scratch_buffers",
    "bm25_sums",
    "rare_gram_scores",
    "fuzzy_terms",
    "top_rows",
    "RARE_GRAMS",
    "RARE_DEPTH",
    "FUZZY_WORDS",
    "FUZZY_MIN_SIMILARITY",
]

#: The char candidate index is read for the query's n-grams of most weight (tf-idf), this many.
RARE_GRAMS = 48
#: ... each read to this many rows (its rows of most impact; docs/benchmarks.md).
RARE_DEPTH = 2000
#: Vocabulary words, closest to the query by character n-grams, whose items are char candidates.
FUZZY_WORDS = 24
#: ... provided their cosine to the query (3- and 4-grams) reaches this.
FUZZY_MIN_SIMILARITY = 0.1

# Per lexical index: its vocabulary words' character vectors (3- and 4-grams), by n-gram.
_WORD_GRAMS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _word_grams(lex) -> sp.csr_matrix:
    """(n-grams, words): the L2-normalised 3- and 4-gram TF-IDF vectors of the BM25 vocabulary's words.

    Built once per state of the statistics (the idf array is replaced whenever they change).
    """
    key = id(lex.bm25_idf_)
    cached = _WORD_GRAMS.get(lex)
    if cached is not None and cached[0] == key:
        return cached[1]
    words = lex.stats_.bm25_vocab.terms
    vec = lex.char_vectors(list(words)) if len(words) else sp.csr_matrix((0, len(lex.char_idf_)), dtype=np.float32)
    vec = sp.csr_matrix(vec, dtype=np.float32)
    # Bigrams are shared by too many words to say which are alike; dead words propose nothing.
    long_gram = np.array([len(g.strip()) >= 3 for g in lex.stats_.char_vocab.terms], dtype=bool)
    if len(long_gram) < vec.shape[1]:
        long_gram = np.pad(long_gram, (0, vec.shape[1] - len(long_gram)))
    keep = long_gram[vec.indices] & np.repeat(lex.bm25_live_[: vec.shape[0]], np.diff(vec.indptr))
    vec.data[~keep] = 0
    vec.eliminate_zeros()
    from sklearn.preprocessing import normalize

    by_gram = normalize(vec, norm="l2", copy=False).T.tocsr()
    _WORD_GRAMS[lex] = (key, by_gram)
    return by_gram


def fuzzy_terms(lex, q_char_row: sp.csr_matrix, exclude: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vocabulary words closest to a query by character 3/4-grams, and their cosines."""
    by_gram = _word_grams(lex)
    if not q_char_row.nnz or by_gram.shape[1] == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    # Query and word vectors share the statistics' n-gram width; slicing (a copy of the whole word
    # matrix) is only needed if the vocabulary grew in between, so it stays off the usual path.
    q, grams = q_char_row, by_gram
    if q.shape[1] != grams.shape[0]:
        width = min(q.shape[1], grams.shape[0])
        q, grams = q[:, :width], grams[:width]
    sims = np.asarray((q @ grams).todense(), dtype=np.float32).ravel()
    if len(exclude):
        sims[exclude[exclude < len(sims)]] = 0
    n = min(FUZZY_WORDS, int((sims >= FUZZY_MIN_SIMILARITY).sum()))
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    top = np.argpartition(-sims, n - 1)[:n]
    return top.astype(np.int64), sims[top]


# 1 + log(tf) for every count a uint8 posting can hold (sublinear tf, as the char channel).
_SUBLINEAR = np.concatenate([[0.0], 1.0 + np.log(np.arange(1, 256))]).astype(np.float32)


def rare_gram_scores(seg, lex, q_char_row: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray] | None:
    """The char channel's cosine restricted to the segment's rare n-grams (its candidate index).

    Every row sharing a rare n-gram with the query gets the part of its character TF-IDF cosine
    that those n-grams make, normalised by the row's norm at build time. Returns (rows, scores)
    of the rows sharing one, or None.
    """
    post = seg.char_post
    grams = q_char_row.indices.astype(np.int64)
    keep = grams < post.shape[0]
    grams, qw = grams[keep], q_char_row.data[keep] * lex.char_idf_[grams[keep]]
    if len(grams) > RARE_GRAMS:  # the query's heaviest n-grams carry its ranking
        top = np.argpartition(-qw, RARE_GRAMS - 1)[:RARE_GRAMS]
        grams, qw = grams[top], qw[top]
    starts = np.asarray(post.indptr[grams], dtype=np.int64)
    # Lists are ordered by impact: their first RARE_DEPTH rows hold the largest contributions.
    lengths = np.minimum(np.asarray(post.indptr[grams + 1], dtype=np.int64) - starts, RARE_DEPTH)
    if not lengths.sum():
        return None
    where = slice_positions(starts, lengths)
    rows = np.asarray(post.indices[where], dtype=np.int64)
    tf = np.asarray(post.data[where])
    weight = _SUBLINEAR[tf] if tf.dtype == np.uint8 else np.log(tf.astype(np.float32)) + np.float32(1.0)
    weight = weight * np.repeat(qw.astype(np.float32), lengths)
    sums = RowSums(rows, weight, seg.rows)
    norms = np.maximum(np.asarray(seg.char_norm[sums.rows], dtype=np.float32), np.float32(1e-9))
    return sums.rows, sums.values / norms


_BUFFERS = threading.local()


def scratch_buffers(n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """This thread's scratch arrays of at least ``n_rows``: sums (kept all zero) and slots."""
    buf = getattr(_BUFFERS, "sums", None)
    if buf is None or len(buf) < n_rows:
        _BUFFERS.sums, _BUFFERS.slots = np.zeros(n_rows, np.float64), np.zeros(n_rows, np.int64)
    return _BUFFERS.sums, _BUFFERS.slots


class RowSums:
    """Sums of weights by row, for the rows that occur: ``rows`` (unique) and ``values``.

    Scattered into a per-thread zeroed buffer and read back, so the cost follows the number of
    postings read, not the segment's size (a ``bincount`` over a million rows and a scan for its
    non-zeros cost ~4 ms per channel and query).
    """

    def __init__(self, rows: np.ndarray, weights: np.ndarray, n_rows: int):
        buf, slots = scratch_buffers(n_rows)
        order = np.arange(len(rows), dtype=np.int64)
        slots[rows] = order  # one of each repeated row's entries keeps its slot
        self.rows = rows[slots[rows] == order]
        # Weights of the buffer's dtype: np.add.at takes a slow casting path otherwise (~5x, numpy 2.x).
        np.add.at(buf, rows, np.asarray(weights, dtype=np.float64))
        self.values = buf[self.rows].astype(np.float32)
        buf[self.rows] = 0.0

    def at(self, rows: np.ndarray) -> np.ndarray:
        """The sums of any rows (0 for rows that did not occur), float32."""
        buf, _ = scratch_buffers(0)
        buf[self.rows] = self.values
        out = buf[rows].astype(np.float32)
        buf[self.rows] = 0.0
        return out

    def allowed(self, allowed: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """(rows, values) of the rows a filter allows."""
        if allowed is None:
            return self.rows, self.values
        keep = allowed[self.rows]
        return self.rows[keep], self.values[keep]


def bm25_sums(seg, lex, terms: np.ndarray, term_weights: np.ndarray | None = None) -> RowSums | None:
    """Exact BM25 of the rows of a segment holding a query term, or None when none does.

    ``term_weights`` scale each term's contribution (fuzzy candidates); default 1.
    """
    post = seg.bm25_post
    terms = np.asarray(terms, dtype=np.int64)
    keep = terms < post.shape[0]
    terms = terms[keep]
    starts = np.asarray(post.indptr[terms], dtype=np.int64)
    lengths = np.asarray(post.indptr[terms + 1], dtype=np.int64) - starts
    if not lengths.sum():
        return None
    # Every term's postings in one gather and one weighting (no Python loop over the terms).
    where = slice_positions(starts, lengths)
    rows = np.asarray(post.indices[where], dtype=np.int64)
    tf = np.asarray(post.data[where], dtype=np.float32)
    w = lex.bm25_weights(tf, np.asarray(seg.doc_len[rows], dtype=np.float32), np.repeat(terms, lengths))
    if term_weights is not None:
        w = w * np.repeat(np.asarray(term_weights, dtype=np.float32)[keep], lengths)
    return RowSums(rows, w, seg.rows)


def top_rows(rows: np.ndarray, scores: np.ndarray, n: int) -> np.ndarray:
    """The ``n`` rows of highest score (all of them when there are fewer)."""
    if len(rows) <= n:
        return rows
    return rows[np.argpartition(-scores, n - 1)[:n]]
