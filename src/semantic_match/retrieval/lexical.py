"""Lexical channels designed for Indonesian product and procurement text.

Two channels, both over :func:`normalize_text` output:

- ``char``: TF-IDF over character n-grams inside word boundaries
  (scikit-learn's ``char_wb``), cosine similarity. Robust to affixes
  ("perontok"/"merontokkan"), glued codes and typos, which matters in
  agglutinative Indonesian.
- ``bm25``: BM25 over word tokens (implemented here on scipy sparse matrices), with an Indonesian stop-word list
  and optional PySastrawi stemming.

State is saved as JSON and ``.npy``/``.npz`` arrays, never pickle.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Sequence

import numpy as np
import scipy.sparse as sp

from ..text.tokens import STOPWORDS, tokenize

__all__ = ["LexicalIndex", "tokenize", "STOPWORDS"]

logger = logging.getLogger(__name__)

class LexicalIndex:
    """Character n-gram TF-IDF and word BM25 over a fixed list of texts.

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

    # --------------------------------------------------------------- build
    def fit(self, texts: Sequence[str]) -> "LexicalIndex":
        """Build both channels from normalised texts."""
        from sklearn.feature_extraction.text import TfidfVectorizer

        texts = list(texts)
        self.vectorizer_ = TfidfVectorizer(analyzer="char_wb", ngram_range=self.char_ngrams,
                                           sublinear_tf=True, lowercase=False, dtype=np.float32)
        self.char_matrix_ = self.vectorizer_.fit_transform(texts).tocsr()
        self._fit_bm25([tokenize(t, stem=self.stem) for t in texts])
        self.n_docs_ = len(texts)
        return self

    def _fit_bm25(self, corpus_tokens: list[list[str]]) -> None:
        vocab: dict[str, int] = {}
        rows, cols = [], []
        for i, toks in enumerate(corpus_tokens):
            for t in toks:
                rows.append(i)
                cols.append(vocab.setdefault(t, len(vocab)))
        n = len(corpus_tokens)
        tf = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(n, max(len(vocab), 1)))
        tf.sum_duplicates()
        doc_len = np.asarray(tf.sum(axis=1)).ravel()
        avg = doc_len.mean() if n else 1.0
        df = np.bincount(tf.indices, minlength=tf.shape[1]).astype(np.float32)
        idf = np.log(1.0 + (n - df + 0.5) / (df + 0.5)).astype(np.float32)  # Lucene's BM25 idf
        # BM25 term weights per (doc, term): idf * tf*(k1+1) / (tf + k1*(1-b+b*len/avg))
        k1, b = self.bm25_k1, self.bm25_b
        denom = tf.data + k1 * (1 - b + b * np.repeat(doc_len / avg, np.diff(tf.indptr)))
        weights = tf.copy()
        weights.data = (tf.data * (k1 + 1) / denom * idf[tf.indices]).astype(np.float32)
        self.bm25_vocab_ = vocab
        self.bm25_matrix_ = weights.T.tocsr()  # (terms, docs) for fast query lookups
        self.bm25_idf_ = idf

    def _check(self) -> None:
        if not hasattr(self, "char_matrix_"):
            from ..errors import NotBuiltError
            raise NotBuiltError("LexicalIndex is not fitted; call fit(texts) first")

    # --------------------------------------------------------------- score
    def char_scores(self, queries: Sequence[str]) -> sp.csr_matrix:
        """Cosine of character n-gram TF-IDF vectors, sparse (n_queries, n_docs)."""
        self._check()
        q = self.vectorizer_.transform(list(queries))
        return (q @ self.char_matrix_.T).tocsr()

    def char_vectors(self, texts: Sequence[str]) -> sp.csr_matrix:
        """L2-normalised character n-gram TF-IDF vectors of texts, sparse (n_texts, n_ngrams)."""
        self._check()
        return self.vectorizer_.transform(list(texts)).tocsr()

    def item_char_matrix(self) -> sp.csr_matrix:
        """The indexed documents' character TF-IDF vectors, sparse (n_docs, n_ngrams)."""
        self._check()
        return self.char_matrix_

    def query_terms(self, query: str) -> list[str]:
        """The query's BM25 terms that occur in the catalogue."""
        return [t for t in dict.fromkeys(tokenize(query, stem=self.stem)) if t in self.bm25_vocab_]

    def bm25_scores(self, queries: Sequence[str]) -> sp.csr_matrix:
        """BM25 scores, sparse (n_queries, n_docs); a term repeated in a query counts once."""
        self._check()
        rows, cols = [], []
        for i, q in enumerate(queries):
            for t in self.query_terms(q):
                rows.append(i)
                cols.append(self.bm25_vocab_[t])
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
        self._check()
        out = np.empty(len(queries), np.float32)
        for i, q in enumerate(queries):
            terms = self.query_terms(q)
            out[i] = sum(self.bm25_idf_[self.bm25_vocab_[t]] for t in terms) * (self.bm25_k1 + 1)
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
        self._check()
        indices = np.asarray(indices)
        q_char = self.vectorizer_.transform(list(queries))
        q_char = q_char.multiply(q_char).tocsr()
        doc_terms = self._doc_terms()
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
            terms = [self.bm25_vocab_[t] for t in self.query_terms(q)]
            if terms:
                idf = self.bm25_idf_[terms]
                present = doc_terms[rows[ok]][:, terms].toarray() > 0
                term_cov[i, ok] = present @ idf / idf.sum()
            else:
                term_cov[i, ok] = 0.0
        return {"char_cov": char_cov, "term_cov": term_cov}

    def _doc_terms(self) -> sp.csr_matrix:
        if getattr(self, "_doc_terms_cache", None) is None:
            self._doc_terms_cache = self.bm25_matrix_.T.tocsr()
        return self._doc_terms_cache

    # ----------------------------------------------------------- persist
    def writers(self) -> dict:
        """File name -> function writing that file, for an index folder. No pickle."""
        self._check()
        char_vocab = {k: int(v) for k, v in self.vectorizer_.vocabulary_.items()}

        def json_writer(obj):
            return lambda path: Path(path).write_text(json.dumps(obj, ensure_ascii=False), encoding="utf-8")

        def npy_writer(arr):
            def write(path):
                with open(path, "wb") as fh:
                    np.save(fh, arr, allow_pickle=False)
            return write

        def npz_writer(mat):
            def write(path):
                with open(path, "wb") as fh:
                    sp.save_npz(fh, mat, compressed=False)
            return write

        return {
            "lexical_char_vocab.json": json_writer(char_vocab),
            "lexical_char_idf.npy": npy_writer(self.vectorizer_.idf_.astype(np.float32)),
            "lexical_char_matrix.npz": npz_writer(self.char_matrix_),
            "lexical_bm25_vocab.json": json_writer(self.bm25_vocab_),
            "lexical_bm25_idf.npy": npy_writer(self.bm25_idf_),
            "lexical_bm25_matrix.npz": npz_writer(self.bm25_matrix_),
        }

    @classmethod
    def load(cls, folder: Path, settings: dict) -> "LexicalIndex":
        from sklearn.feature_extraction.text import TfidfVectorizer

        folder = Path(folder)
        obj = cls(char_ngrams=tuple(settings["char_ngrams"]), stem=settings["stem"],
                  bm25_k1=settings["bm25_k1"], bm25_b=settings["bm25_b"])
        vocab = json.loads((folder / "lexical_char_vocab.json").read_text(encoding="utf-8"))
        vec = TfidfVectorizer(analyzer="char_wb", ngram_range=obj.char_ngrams, sublinear_tf=True,
                              lowercase=False, dtype=np.float32, vocabulary=vocab)
        vec.idf_ = np.load(folder / "lexical_char_idf.npy", allow_pickle=False).astype(np.float32)
        obj.vectorizer_ = vec
        obj.char_matrix_ = sp.load_npz(folder / "lexical_char_matrix.npz").tocsr()
        obj.bm25_vocab_ = json.loads((folder / "lexical_bm25_vocab.json").read_text(encoding="utf-8"))
        obj.bm25_matrix_ = sp.load_npz(folder / "lexical_bm25_matrix.npz").tocsr()
        obj.bm25_idf_ = np.load(folder / "lexical_bm25_idf.npy", allow_pickle=False)
        obj.n_docs_ = obj.char_matrix_.shape[0]
        return obj
