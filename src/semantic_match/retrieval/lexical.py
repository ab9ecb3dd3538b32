"""Lexical channels designed for Indonesian product and procurement text.

Two channels, both over :func:`normalize_text` output:

- ``char``: TF-IDF over character n-grams inside word boundaries
  (scikit-learn's ``char_wb`` analyzer, sublinear tf, smoothed idf, L2 norm),
  cosine similarity. Robust to affixes ("perontok"/"merontokkan"), glued
  codes and typos, which matters in agglutinative Indonesian.
- ``bm25``: BM25 (Lucene's idf) over word tokens with an Indonesian stop-word
  list and optional PySastrawi stemming, computed here on scipy sparse matrices.

What is stored is raw counts (per item: character n-gram counts and word
counts, with ids of an append-only :class:`Vocabulary`) plus corpus statistics
(:class:`LexicalStats`: document frequencies, number of items, total length).
Weights are derived from them when an index is opened. So adding or removing
items only updates counts and statistics, and a ranking after any sequence of
updates equals a fresh build over the same items: terms whose document
frequency fell to zero are ignored exactly as if they had never been seen.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Sequence

import numpy as np
import scipy.sparse as sp

from ..errors import NotBuiltError
from ..text.tokens import STOPWORDS, tokenize

__all__ = ["LexicalIndex", "LexicalStats", "Vocabulary", "count_char_ngrams", "count_terms", "tokenize",
           "STOPWORDS"]

logger = logging.getLogger(__name__)


class Vocabulary:
    """Append-only mapping of terms to consecutive ids (ids never change once given)."""

    def __init__(self, terms: Sequence[str] = ()):
        self._hashed = None  # hashed lookup table, built on first vectorised count
        self.terms: list[str] = list(terms)
        self.ids: dict[str, int] = {t: i for i, t in enumerate(self.terms)}
        if len(self.ids) != len(self.terms):
            raise ValueError("vocabulary terms must be unique")

    def __len__(self) -> int:
        return len(self.terms)

    def add(self, terms: Sequence[str]) -> np.ndarray:
        """Ids of ``terms``, giving new ones to unseen terms."""
        out = np.empty(len(terms), dtype=np.int64)
        for i, t in enumerate(terms):
            j = self.ids.get(t)
            if j is None:
                j = self.ids[t] = len(self.terms)
                self.terms.append(t)
            out[i] = j
        return out

    def copy(self) -> Vocabulary:
        return Vocabulary(self.terms)

    def hashed(self) -> _HashedVocab:
        """The hashed lookup table of this vocabulary (kept in step as terms are added)."""
        if self._hashed is None or self._hashed.size != len(self.terms):
            self._hashed = _HashedVocab(self.terms)
        return self._hashed


def _counts(texts: Sequence[str], analyzer, vocab: Vocabulary | None, *, grow: bool) -> sp.csr_matrix:
    """Rows of term counts over ``vocab`` (float32), adding unseen terms when ``grow``."""
    from sklearn.feature_extraction.text import CountVectorizer

    n = len(texts)
    width = len(vocab) if vocab is not None else 0
    if n == 0:
        return sp.csr_matrix((0, width), dtype=np.float32)
    cv = CountVectorizer(analyzer=analyzer, lowercase=False, dtype=np.float32)
    try:
        local = cv.fit_transform(list(texts)).tocsr()
    except ValueError:  # empty vocabulary: no text produced a single term
        return sp.csr_matrix((n, width), dtype=np.float32)
    names = cv.get_feature_names_out().tolist()
    if vocab is None:
        return local
    if grow:
        mapping = vocab.add(names)
    else:
        mapping = np.array([vocab.ids.get(t, -1) for t in names], dtype=np.int64)
    cols = mapping[local.indices]
    keep = cols >= 0
    rows = np.repeat(np.arange(n), np.diff(local.indptr))[keep]
    out = sp.csr_matrix((local.data[keep], (rows, cols[keep])), shape=(n, len(vocab)), dtype=np.float32)
    out.sum_duplicates()
    out.sort_indices()
    return out


@lru_cache(maxsize=8)
def _char_analyzer(char_ngrams: tuple[int, int]):
    from sklearn.feature_extraction.text import CountVectorizer

    return CountVectorizer(analyzer="char_wb", ngram_range=tuple(char_ngrams), lowercase=False).build_analyzer()


_HASH_BASE = np.uint64(1_000_003)


def _gram_hashes(codes: np.ndarray, n: int) -> np.ndarray:
    """Polynomial hashes (mod 2**64) of every length-n window of a code point array."""
    h = np.zeros(len(codes) - n + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(n):
            h = h * _HASH_BASE + codes[j:len(codes) - n + 1 + j]
    return h


def _term_hashes(terms: Sequence[str]) -> np.ndarray:
    hashes = np.zeros(len(terms), dtype=np.uint64)
    lengths = np.fromiter((len(t) for t in terms), dtype=np.int64, count=len(terms))
    for n in np.unique(lengths):
        if n == 0:
            continue
        idx = np.flatnonzero(lengths == n)
        codes = np.frombuffer("".join(terms[i] for i in idx).encode("utf-32-le"), dtype=np.uint32)
        codes = codes.astype(np.uint64).reshape(len(idx), n)
        h = np.zeros(len(idx), dtype=np.uint64)
        with np.errstate(over="ignore"):
            for j in range(n):
                h = h * _HASH_BASE + codes[:, j]
        hashes[idx] = h
    return hashes


class _HashedVocab:
    """A vocabulary's n-grams as 64-bit hashes in a hash index, for vectorised lookups."""

    def __init__(self, terms: Sequence[str]):
        self.hashes = _term_hashes(terms)
        self.size = len(terms)
        self._index = None

    def lookup(self, h: np.ndarray) -> np.ndarray:
        """Term ids of hashes, -1 where unknown."""
        import pandas as pd

        if self._index is None:
            self._index = pd.Index(self.hashes)
        if not len(self.hashes):
            return np.full(len(h), -1, dtype=np.int64)
        return np.asarray(self._index.get_indexer(h), dtype=np.int64)

    def extend(self, terms: Sequence[str], hashes: np.ndarray) -> None:
        self.hashes = np.concatenate([self.hashes, hashes])
        self.size += len(terms)
        self._index = None


def _fast_char_counts(texts: Sequence[str], vocab: Vocabulary, char_ngrams: tuple[int, int], *,
                      grow: bool) -> sp.csr_matrix:
    """Counts of char_wb n-grams, computed on code point arrays (many times the analyzer's speed).

    Same n-grams as scikit-learn's ``char_wb`` analyzer: each white-space separated word padded
    with one space on each side, every n-gram of length n <= the padded word's length. With
    ``grow``, n-grams the vocabulary lacks are added to it; otherwise they are ignored.
    """
    hv = vocab.hashed()
    words, owner = [], []
    for i, t in enumerate(texts):
        ws = t.split()
        words.extend(ws)
        owner.extend([i] * len(ws))
    if not words:
        return sp.csr_matrix((len(texts), len(vocab)), dtype=np.float32)
    joined = "\x00".join(f" {w} " for w in words)  # \x00 never occurs inside a normalised word
    codes = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    lens = np.fromiter((len(w) + 3 for w in words), dtype=np.int64, count=len(words))
    char_owner = np.repeat(np.asarray(owner, dtype=np.int64), lens)[:len(codes)]
    sep = codes == 0
    rows_parts, id_parts = [], []
    for n in range(char_ngrams[0], char_ngrams[1] + 1):
        if len(codes) < n:
            break
        h = _gram_hashes(codes, n)
        valid = np.ones(len(h), dtype=bool)
        for j in range(n):
            valid &= ~sep[j:len(codes) - n + 1 + j]
        h, start = h[valid], np.flatnonzero(valid)
        ids = hv.lookup(h)
        if grow and (ids < 0).any():
            new_h, first = np.unique(h[ids < 0], return_index=True)
            starts = start[ids < 0][first]
            terms = [joined[s:s + n] for s in starts.tolist()]
            vocab.add(terms)
            hv.extend(terms, new_h)
            ids = hv.lookup(h)
        hit = ids >= 0
        rows_parts.append(char_owner[start[hit]])
        id_parts.append(ids[hit])
    rows = np.concatenate(rows_parts)
    cols = np.concatenate(id_parts)
    m = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(len(texts), len(vocab)))
    m.sum_duplicates()
    return m


def count_char_ngrams(texts: Sequence[str], vocab: Vocabulary, char_ngrams: tuple[int, int], *,
                      grow: bool) -> sp.csr_matrix:
    """Character n-gram counts of texts, shape (n_texts, len(vocab)), float32."""
    return _fast_char_counts(list(texts), vocab, tuple(char_ngrams), grow=grow)


def count_terms(texts: Sequence[str], vocab: Vocabulary, *, stem: bool, grow: bool) -> sp.csr_matrix:
    """BM25 word counts of texts (stop words removed), shape (n_texts, len(vocab)), float32."""
    return _counts(texts, lambda t: tokenize(t, stem=stem), vocab, grow=grow)


def _pad_columns(m: sp.csr_matrix, width: int) -> sp.csr_matrix:
    if m.shape[1] == width:
        return m
    return sp.csr_matrix((m.data, m.indices, m.indptr), shape=(m.shape[0], width))


def _df(counts: sp.csr_matrix, width: int) -> np.ndarray:
    return np.bincount(counts.indices, minlength=width).astype(np.int64)


@dataclass
class LexicalStats:
    """Corpus statistics of the live items: vocabularies, document frequencies, size, total length.

    Kept exact under updates: :meth:`add` and :meth:`remove` take the counts of the items
    added or removed.
    """

    char_vocab: Vocabulary = field(default_factory=Vocabulary)
    bm25_vocab: Vocabulary = field(default_factory=Vocabulary)
    char_df: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    bm25_df: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    n_docs: int = 0
    total_len: float = 0.0

    def _grow(self) -> None:
        self.char_df = np.pad(self.char_df, (0, len(self.char_vocab) - len(self.char_df)))
        self.bm25_df = np.pad(self.bm25_df, (0, len(self.bm25_vocab) - len(self.bm25_df)))

    def add(self, char_counts: sp.csr_matrix, bm25_counts: sp.csr_matrix) -> None:
        self._grow()
        self.char_df += _df(char_counts, len(self.char_df))
        self.bm25_df += _df(bm25_counts, len(self.bm25_df))
        self.n_docs += char_counts.shape[0]
        self.total_len += float(bm25_counts.sum())

    def remove(self, char_counts: sp.csr_matrix, bm25_counts: sp.csr_matrix) -> None:
        self._grow()
        self.char_df -= _df(char_counts, len(self.char_df))
        self.bm25_df -= _df(bm25_counts, len(self.bm25_df))
        self.n_docs -= char_counts.shape[0]
        self.total_len -= float(bm25_counts.sum())
        if self.n_docs < 0 or (self.char_df < 0).any() or (self.bm25_df < 0).any():
            raise ValueError("lexical statistics went negative: removed items that were not counted")

    def copy(self) -> LexicalStats:
        return LexicalStats(self.char_vocab.copy(), self.bm25_vocab.copy(), self.char_df.copy(),
                            self.bm25_df.copy(), self.n_docs, self.total_len)


class LexicalIndex:
    """Character n-gram TF-IDF and word BM25 over the live items.

    Parameters
    ----------
    char_ngrams : tuple of int
        Smallest and largest character n-gram.
    stem : bool
        Stem words with PySastrawi for BM25 (slower to build; see benchmarks).
    bm25_k1, bm25_b : float
        BM25 parameters.
    """

    def __init__(self, *, char_ngrams: tuple[int, int] = (2, 4), stem: bool = False,
                 bm25_k1: float = 1.2, bm25_b: float = 0.75):
        self.char_ngrams = tuple(char_ngrams)
        self.stem = stem
        self.bm25_k1 = bm25_k1
        self.bm25_b = bm25_b

    def settings(self) -> dict:
        """JSON-able settings recorded in index manifests."""
        return {"char_ngrams": list(self.char_ngrams), "stem": self.stem, "bm25_k1": self.bm25_k1,
                "bm25_b": self.bm25_b, "stopwords": len(STOPWORDS), "char_analyzer": "char_wb",
                "char_sublinear_tf": True}

    @classmethod
    def from_settings(cls, settings: dict) -> LexicalIndex:
        return cls(char_ngrams=tuple(settings["char_ngrams"]), stem=bool(settings["stem"]),
                   bm25_k1=float(settings["bm25_k1"]), bm25_b=float(settings["bm25_b"]))

    # --------------------------------------------------------------- build
    def count(self, texts: Sequence[str], stats: LexicalStats, *, grow: bool = True
              ) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """Character n-gram and word counts of normalised texts over ``stats``' vocabularies."""
        char = count_char_ngrams(texts, stats.char_vocab, self.char_ngrams, grow=grow)
        words = count_terms(texts, stats.bm25_vocab, stem=self.stem, grow=grow)
        return char, words

    def fit(self, texts: Sequence[str]) -> LexicalIndex:
        """Build both channels from normalised texts."""
        stats = LexicalStats()
        char, words = self.count(list(texts), stats)
        stats.add(char, words)
        return self.set_counts(stats, char, words)

    def set_counts(self, stats: LexicalStats, char_counts: sp.csr_matrix, bm25_counts: sp.csr_matrix
                   ) -> LexicalIndex:
        """Install the live items' counts (rows in item order) and derive every weight."""
        n = char_counts.shape[0]
        if bm25_counts.shape[0] != n or n != stats.n_docs:
            raise ValueError(f"lexical counts disagree: {n} char rows, {bm25_counts.shape[0]} word rows, "
                             f"{stats.n_docs} documents in the statistics")
        self.stats_ = stats
        self.char_counts_ = _pad_columns(char_counts.tocsr(), len(stats.char_vocab))
        self.bm25_counts_ = _pad_columns(bm25_counts.tocsr(), len(stats.bm25_vocab))
        self.n_docs_ = n
        self._derive()
        return self

    def set_stats(self, stats: LexicalStats) -> LexicalIndex:
        """Install corpus statistics only: enough for the query side (terms, idf, query vectors)."""
        self.stats_ = stats
        self._derive_idf()
        return self

    def _derive_idf(self) -> None:
        st = self.stats_
        n = np.float32(st.n_docs)
        # Character TF-IDF exactly as scikit-learn's TfidfVectorizer(sublinear_tf=True, smooth_idf=True).
        df = st.char_df.astype(np.float32)
        with np.errstate(divide="ignore"):
            idf = np.log(np.float32(n + 1) / (df + np.float32(1.0))).astype(np.float32) + np.float32(1.0)
        self.char_live_ = st.char_df > 0
        self.char_idf_ = np.where(self.char_live_, idf, np.float32(0.0)).astype(np.float32)
        bdf = st.bm25_df.astype(np.float32)
        self.bm25_live_ = st.bm25_df > 0
        self.bm25_idf_ = np.log(np.float32(1.0) + (n - bdf + np.float32(0.5)) / (bdf + np.float32(0.5))
                                ).astype(np.float32)
        self.avg_len_ = np.float32(st.total_len / st.n_docs) if st.n_docs else np.float32(1.0)

    def bm25_weights(self, tf: np.ndarray, doc_len: np.ndarray, terms: np.ndarray) -> np.ndarray:
        """BM25 weight of term occurrences: idf * tf*(k1+1) / (tf + k1*(1-b+b*len/avg)), float32."""
        k1, b = np.float32(self.bm25_k1), np.float32(self.bm25_b)
        denom = tf + k1 * (np.float32(1) - b + b * (doc_len / max(self.avg_len_, np.float32(1e-9))))
        return (tf * (k1 + np.float32(1)) / denom * self.bm25_idf_[terms]).astype(np.float32)

    def _derive(self) -> None:
        self._derive_idf()
        self.char_matrix_ = self._tfidf(self.char_counts_)
        # (n-grams, docs): a query times this is one sparse product with no per-query transpose.
        self.char_matrix_t_ = self.char_matrix_.T.tocsr()
        # BM25 term weights per (doc, term), Lucene's idf.
        tf = self.bm25_counts_
        doc_len = np.asarray(tf.sum(axis=1), dtype=np.float32).ravel()
        weights = sp.csr_matrix((self.bm25_weights(tf.data, np.repeat(doc_len, np.diff(tf.indptr)), tf.indices),
                                 tf.indices, tf.indptr), shape=tf.shape, dtype=np.float32)
        self.bm25_doc_ = weights  # (docs, terms)
        self.bm25_matrix_ = weights.T.tocsr()  # (terms, docs) for fast query lookups

    def _tfidf(self, counts: sp.csr_matrix) -> sp.csr_matrix:
        from sklearn.preprocessing import normalize

        x = sp.csr_matrix(counts, dtype=np.float32, copy=True)
        keep = self.char_live_[x.indices]
        if not keep.all():  # terms no live item has: as if never seen
            x.data[~keep] = 0
            x.eliminate_zeros()
        np.log(x.data, x.data)
        x.data += np.float32(1.0)
        x.data *= self.char_idf_[x.indices]
        return normalize(x, norm="l2", copy=False).tocsr()

    def check(self) -> None:
        """Raise :class:`NotBuiltError` unless fitted."""
        if not hasattr(self, "stats_"):
            raise NotBuiltError("LexicalIndex is not fitted; call fit(texts) first")

    # --------------------------------------------------------------- score
    def char_vectors(self, texts: Sequence[str]) -> sp.csr_matrix:
        """L2-normalised character n-gram TF-IDF vectors of texts, sparse (n_texts, n_ngrams)."""
        self.check()
        counts = count_char_ngrams(list(texts), self.stats_.char_vocab, self.char_ngrams, grow=False)
        return self.tfidf(counts)

    def tfidf(self, counts: sp.csr_matrix) -> sp.csr_matrix:
        """L2-normalised TF-IDF rows from character n-gram counts (any rows: queries or items)."""
        return self._tfidf(_pad_columns(counts.tocsr(), len(self.char_idf_)))

    def item_char_matrix(self) -> sp.csr_matrix:
        """The items' character TF-IDF vectors, sparse (n_docs, n_ngrams)."""
        self._check_matrices()
        return self.char_matrix_

    def _check_matrices(self) -> None:
        self.check()
        if not hasattr(self, "char_matrix_"):
            raise NotBuiltError("this LexicalIndex holds statistics only (query side); item scores need "
                                "set_counts(...)")

    def char_scores(self, queries: Sequence[str]) -> sp.csr_matrix:
        """Cosine of character n-gram TF-IDF vectors, sparse (n_queries, n_docs)."""
        self._check_matrices()
        return (self.char_vectors(queries) @ self.char_matrix_t_).tocsr()

    def query_terms(self, query: str) -> list[str]:
        """The query's BM25 terms that occur in the live items."""
        ids = self.stats_.bm25_vocab.ids
        return [t for t in dict.fromkeys(tokenize(query, stem=self.stem))
                if t in ids and self.bm25_live_[ids[t]]]

    def bm25_scores(self, queries: Sequence[str]) -> sp.csr_matrix:
        """BM25 scores, sparse (n_queries, n_docs); a term repeated in a query counts once."""
        self.check()
        rows, cols = [], []
        ids = self.stats_.bm25_vocab.ids
        for i, q in enumerate(queries):
            for t in self.query_terms(q):
                rows.append(i)
                cols.append(ids[t])
        qm = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)),
                           shape=(len(queries), self.bm25_matrix_.shape[0]))
        return (qm @ self.bm25_matrix_).tocsr()

    def matched_terms(self, query: str, doc_texts: Sequence[str]) -> list[list[str]]:
        """For each document text, the query terms it contains (after stemming if on)."""
        terms = self.query_terms(query)
        out = []
        for text in doc_texts:
            doc = set(tokenize(text, stem=self.stem))
            out.append([t for t in terms if t in doc])
        return out

    def bm25_upper_bounds(self, queries: Sequence[str]) -> np.ndarray:
        """Best possible BM25 of each query: sum of idf * (k1 + 1) over its terms.

        Dividing by it makes BM25 comparable across queries (0 = no term
        matched, near 1 = every term matched strongly).
        """
        self.check()
        ids = self.stats_.bm25_vocab.ids
        out = np.empty(len(queries), np.float32)
        for i, q in enumerate(queries):
            out[i] = sum(self.bm25_idf_[ids[t]] for t in self.query_terms(q)) * (self.bm25_k1 + 1)
        return np.maximum(out, 1e-9)

    def coverage(self, queries: Sequence[str], indices: np.ndarray) -> dict[str, np.ndarray]:
        """How much of each query the given documents contain, independent of document length.

        Parameters
        ----------
        queries : sequence of str
            Normalised query texts.
        indices : ndarray of shape (n_queries, k), int
            Document positions per query; ``-1`` gives NaN.

        Returns
        -------
        dict
            ``char_cov``: share of the query's (squared, unit-norm) character
            n-gram TF-IDF weight found in the document; ``term_cov``: share of
            the query's BM25 terms, weighted by idf, found in the document.
            Both in [0, 1]. Unlike cosine and BM25, a long product description
            is not penalised for its extra words, so the values mean the same
            for short commodity titles and long catalogue entries.
        """
        self.check()
        indices = np.asarray(indices)
        q_char = self.char_vectors(list(queries))
        q_char = q_char.multiply(q_char).tocsr()
        ids = self.stats_.bm25_vocab.ids
        char_cov = np.full(indices.shape, np.nan, np.float32)
        term_cov = np.full(indices.shape, np.nan, np.float32)
        for i, q in enumerate(queries):
            rows = indices[i]
            ok = rows >= 0
            if not ok.any():
                continue
            docs = self.char_matrix_[rows[ok]]
            docs.data = np.ones_like(docs.data)
            char_cov[i, ok] = np.asarray(docs @ q_char[i].T.toarray()).ravel()
            terms = [ids[t] for t in self.query_terms(q)]
            if terms:
                idf = self.bm25_idf_[terms]
                present = self.bm25_doc_[rows[ok]][:, terms].toarray() > 0
                term_cov[i, ok] = present @ idf / idf.sum()
            else:
                term_cov[i, ok] = 0.0
        return {"char_cov": char_cov, "term_cov": term_cov}
