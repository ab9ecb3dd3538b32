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
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from ..errors import NotBuiltError
from ..text.tokens import STOPWORDS, tokenize
from .packed import PackedRows
from .vocab import Vocabulary, count_char_ngrams, count_terms

__all__ = ["LexicalIndex", "LexicalStats", "Vocabulary", "count_char_ngrams", "count_terms", "tokenize", "STOPWORDS"]

logger = logging.getLogger(__name__)


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
        return LexicalStats(
            self.char_vocab.copy(),
            self.bm25_vocab.copy(),
            self.char_df.copy(),
            self.bm25_df.copy(),
            self.n_docs,
            self.total_len,
        )


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

    def __init__(
        self, *, char_ngrams: tuple[int, int] = (2, 4), stem: bool = False, bm25_k1: float = 1.2, bm25_b: float = 0.75
    ):
        self.char_ngrams = tuple(char_ngrams)
        self.stem = stem
        self.bm25_k1 = bm25_k1
        self.bm25_b = bm25_b

    def settings(self) -> dict:
        """JSON-able settings recorded in index manifests."""
        return {
            "char_ngrams": list(self.char_ngrams),
            "stem": self.stem,
            "bm25_k1": self.bm25_k1,
            "bm25_b": self.bm25_b,
            "stopwords": len(STOPWORDS),
            "char_analyzer": "char_wb",
            "char_sublinear_tf": True,
        }

    @classmethod
    def from_settings(cls, settings: dict) -> LexicalIndex:
        return cls(
            char_ngrams=tuple(settings["char_ngrams"]),
            stem=bool(settings["stem"]),
            bm25_k1=float(settings["bm25_k1"]),
            bm25_b=float(settings["bm25_b"]),
        )

    # --------------------------------------------------------------- build
    def count(
        self, texts: Sequence[str], stats: LexicalStats, *, grow: bool = True
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

    def set_counts(self, stats: LexicalStats, char_counts: sp.csr_matrix, bm25_counts: sp.csr_matrix) -> LexicalIndex:
        """Install the live items' counts (rows in item order) and derive every weight."""
        n = char_counts.shape[0]
        if bm25_counts.shape[0] != n or n != stats.n_docs:
            raise ValueError(
                f"lexical counts disagree: {n} char rows, {bm25_counts.shape[0]} word rows, "
                f"{stats.n_docs} documents in the statistics"
            )
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
        self.bm25_idf_ = np.log(np.float32(1.0) + (n - bdf + np.float32(0.5)) / (bdf + np.float32(0.5))).astype(
            np.float32
        )
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
        weights = sp.csr_matrix(
            (self.bm25_weights(tf.data, np.repeat(doc_len, np.diff(tf.indptr)), tf.indices), tf.indices, tf.indptr),
            shape=tf.shape,
            dtype=np.float32,
        )
        self.bm25_doc_ = weights  # (docs, terms)
        self.bm25_matrix_ = weights.T.tocsr()  # (terms, docs) for fast query lookups

    def _weights(self, counts: sp.csr_matrix) -> sp.csr_matrix:
        """Character TF-IDF weights before normalisation: (1 + log count) * idf, dead n-grams dropped."""
        x = sp.csr_matrix(counts, dtype=np.float32, copy=True)
        keep = self.char_live_[x.indices]
        if not keep.all():  # terms no live item has: as if never seen
            x.data[~keep] = 0
            x.eliminate_zeros()
        np.log(x.data, x.data)
        x.data += np.float32(1.0)
        x.data *= self.char_idf_[x.indices]
        return x

    def _tfidf(self, counts: sp.csr_matrix) -> sp.csr_matrix:
        from sklearn.utils.sparsefuncs_fast import inplace_csr_row_normalize_l2

        # sklearn's normalize() without its per-call validation: queries call this often.
        x = self._weights(counts)
        inplace_csr_row_normalize_l2(x)
        return x

    def char_norms(self, counts: sp.csr_matrix | PackedRows, *, chunk: int = 100_000) -> np.ndarray:
        """Each row's character TF-IDF norm before L2 normalisation, float32 (rows of ``counts``:
        a CSR matrix or :class:`.packed.PackedRows`), with the current statistics."""
        from sklearn.utils.extmath import row_norms

        n = counts.shape[0]
        out = np.zeros(n, dtype=np.float32)
        for start in range(0, n, chunk):
            rows = np.arange(start, min(n, start + chunk))
            part = counts.take(rows) if isinstance(counts, PackedRows) else counts[rows]
            out[rows] = row_norms(self._weights(_pad_columns(sp.csr_matrix(part), len(self.char_idf_))))
        return out

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
            raise NotBuiltError(
                "this LexicalIndex holds statistics only (query side); item scores need set_counts(...)"
            )

    def char_scores(self, queries: Sequence[str], vectors: sp.csr_matrix | None = None) -> sp.csr_matrix:
        """Cosine of character n-gram TF-IDF vectors, sparse (n_queries, n_docs); ``vectors``: the
        queries' :meth:`char_vectors` when already computed."""
        self._check_matrices()
        if vectors is None:
            vectors = self.char_vectors(queries)
        return (vectors @ self.char_matrix_t_).tocsr()

    def query_terms(self, query: str) -> list[str]:
        """The query's BM25 terms that occur in the live items."""
        ids = self.stats_.bm25_vocab.ids
        return [t for t in dict.fromkeys(tokenize(query, stem=self.stem)) if t in ids and self.bm25_live_[ids[t]]]

    def bm25_scores(self, queries: Sequence[str]) -> sp.csr_matrix:
        """BM25 scores, sparse (n_queries, n_docs); a term repeated in a query counts once."""
        self.check()
        rows, cols = [], []
        ids = self.stats_.bm25_vocab.ids
        for i, q in enumerate(queries):
            for t in self.query_terms(q):
                rows.append(i)
                cols.append(ids[t])
        qm = sp.csr_matrix(
            (np.ones(len(rows), np.float32), (rows, cols)), shape=(len(queries), self.bm25_matrix_.shape[0])
        )
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
