"""Vocabularies and term counting for the lexical channels.

:class:`Vocabulary` maps terms to ids that never change (it only grows). Character n-gram
counts are computed on code-point arrays with 64-bit polynomial hashes of the n-grams, giving
exactly scikit-learn's ``char_wb`` analyzer's n-grams (a property test checks it) many times
faster; word counts use the word tokeniser of :mod:`semantic_match.text.tokens`.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import scipy.sparse as sp

from ..text.tokens import tokenize

__all__ = ["Vocabulary", "count_char_ngrams", "count_terms"]


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
            h = h * _HASH_BASE + codes[j : len(codes) - n + 1 + j]
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


def _fast_char_counts(
    texts: Sequence[str], vocab: Vocabulary, char_ngrams: tuple[int, int], *, grow: bool
) -> sp.csr_matrix:
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
    char_owner = np.repeat(np.asarray(owner, dtype=np.int64), lens)[: len(codes)]
    sep = codes == 0
    rows_parts, id_parts = [], []
    for n in range(char_ngrams[0], char_ngrams[1] + 1):
        if len(codes) < n:
            break
        h = _gram_hashes(codes, n)
        valid = np.ones(len(h), dtype=bool)
        for j in range(n):
            valid &= ~sep[j : len(codes) - n + 1 + j]
        h, start = h[valid], np.flatnonzero(valid)
        ids = hv.lookup(h)
        if grow and (ids < 0).any():
            new_h, first = np.unique(h[ids < 0], return_index=True)
            starts = start[ids < 0][first]
            terms = [joined[s : s + n] for s in starts.tolist()]
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


def count_char_ngrams(
    texts: Sequence[str], vocab: Vocabulary, char_ngrams: tuple[int, int], *, grow: bool
) -> sp.csr_matrix:
    """Character n-gram counts of texts, shape (n_texts, len(vocab)), float32."""
    return _fast_char_counts(list(texts), vocab, tuple(char_ngrams), grow=grow)


def count_terms(texts: Sequence[str], vocab: Vocabulary, *, stem: bool, grow: bool) -> sp.csr_matrix:
    """BM25 word counts of texts (stop words removed), shape (n_texts, len(vocab)), float32."""
    return _counts(texts, lambda t: tokenize(t, stem=stem), vocab, grow=grow)
