"""What a built or loaded index holds: segments of items, their channel data, corpus statistics.

An :class:`IndexState` is a list of :class:`Segment` objects — the in-memory (or memory-mapped)
image of an index folder's segments — plus the :class:`LexicalStats` of the live items. Items
are addressed by *live position* 0..n-1: the live rows of the segments, in segment order. Every
result, filter mask and frame of the :class:`Matcher` uses live positions.

Two ways to rank over it:

- the *exhaustive* view (:meth:`IndexState.exhaustive`): every live item's dense vector,
  character TF-IDF and BM25 weights as whole arrays, scored completely — small indexes and
  ``exact=True``;
- the *candidate* path (:mod:`.candidates`): each segment proposes candidates (dense through
  FAISS, BM25 through its postings) and the fused score is computed on their union — large
  indexes. Segments of at least :data:`ANN_MIN_ROWS` items get an approximate FAISS index
  and keep their character counts in compact memory-mapped arrays.

Updates append segments and mark removed rows dead; statistics follow exactly, so an exhaustive
ranking after updates equals a fresh build over the same items.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..io.catalog import Catalog
from ..io.frames import parquet_safe
from .lexical import LexicalIndex, LexicalStats, count_char_ngrams
from .packed import PackedRows, rare_postings

__all__ = [
    "Segment",
    "IndexState",
    "ExhaustiveView",
    "TEXT_COLUMN",
    "ANN_MIN_ROWS",
    "build_segment",
    "COUNT_CHUNK",
    "CHAR_POSTING_SHARE",
]

logger = logging.getLogger(__name__)

#: Column of a segment's item table holding each item's normalised text.
TEXT_COLUMN = "__text__"
#: Segments with at least this many rows get an approximate dense index (see docs/benchmarks.md).
ANN_MIN_ROWS = 100_000
#: Texts counted per chunk when building large segments (bounds peak memory).
COUNT_CHUNK = 50_000
#: A large segment's character n-grams present in at most this share of its rows (at least
#: CHAR_POSTING_MIN_DF rows) get postings: the char channel's candidates (docs/scale.md).
CHAR_POSTING_SHARE = 0.02
CHAR_POSTING_MIN_DF = 100


@dataclass
class Segment:
    """One block of items and their channel data (rows in item order).

    Attributes
    ----------
    table : pyarrow.Table
        The item rows and their normalised text (column ``__text__``).
    vectors : ndarray of shape (rows, dim), float32, or None
        Dense vectors of an exactly searched segment (None for ANN segments and lexical indexes).
    ann : DenseIndex or None
        Approximate dense index of a large segment (it also stores the vectors, as float16).
    char_counts : csr_matrix or PackedRows of shape (rows, char vocabulary), or None
        Character n-gram counts: CSR for small segments, compact :class:`.packed.PackedRows`
        for large ones; None in large segments written before they were kept (recounted from
        the text on demand).
    bm25_post : csr_matrix of shape (terms when written, rows)
        Word counts by term: the postings of the BM25 channel.
    doc_len : ndarray of shape (rows,), float32
        Words per item (BM25's document length).
    live : ndarray of shape (rows,), bool, or None
        False for removed rows; None when none is removed.
    name : str or None
        Its folder name once written; ``files`` its commit entries (reused by later commits).
    char_post : PackedRows of shape (char vocabulary, rows) or None
        Large segments: postings of the character n-grams present in at most
        :data:`CHAR_POSTING_SHARE` of the rows (:func:`.packed.rare_postings`), the character
        channel's candidate index.
    char_norm : ndarray of shape (rows,), float32, or None
        Large segments: each row's character TF-IDF norm with the statistics of its build (the
        candidate index's normaliser; exact scores always use the current statistics).
    """

    table: object
    vectors: np.ndarray | None
    ann: object | None
    char_counts: sp.csr_matrix | PackedRows | None
    bm25_post: sp.csr_matrix
    doc_len: np.ndarray
    live: np.ndarray | None = None
    name: str | None = None
    files: dict = field(default_factory=dict)
    char_post: PackedRows | None = None
    char_norm: np.ndarray | None = None

    @property
    def rows(self) -> int:
        return self.table.num_rows

    def take(self, rows: Sequence[int], columns: Sequence[str] | None = None):
        """Rows of the item table in the given order.

        Taking from each record batch separately: pyarrow's ``Table.take`` on a memory-mapped
        table of many batches costs ~10 ms at a million rows, per batch ~1 ms.
        """
        import pyarrow as pa

        rows = np.asarray(rows, dtype=np.int64)
        table = self.table if columns is None else self.table.select(list(columns))
        batches = table.to_batches()
        if len(batches) <= 1 or not len(rows):
            return table.take(rows)
        offsets = np.concatenate([[0], np.cumsum([b.num_rows for b in batches])])
        order = np.argsort(rows, kind="stable")
        srt = rows[order]
        which = np.searchsorted(offsets, srt, side="right") - 1
        parts = [batches[b].take(pa.array(srt[which == b] - offsets[b])) for b in np.unique(which)]
        picked = pa.Table.from_batches(parts, schema=table.schema)
        inverse = np.empty(len(rows), dtype=np.int64)
        inverse[order] = np.arange(len(rows))
        return picked.take(inverse)

    @property
    def n_live(self) -> int:
        return self.rows if self.live is None else int(self.live.sum())

    def live_rows(self) -> np.ndarray:
        return np.arange(self.rows) if self.live is None else np.flatnonzero(self.live)

    def texts(self, rows: Sequence[int] | None = None) -> list[str]:
        if rows is None:
            return self.table.column(TEXT_COLUMN).to_pylist()
        return self.take(rows, [TEXT_COLUMN]).column(0).to_pylist()

    def vectors_of(self, rows: np.ndarray) -> np.ndarray:
        """Dense vectors of some rows, float32 (from the ANN index's storage for ANN segments)."""
        rows = np.asarray(rows, dtype=np.int64)
        if self.vectors is not None:
            return np.asarray(self.vectors[rows], dtype=np.float32)
        return self.ann.reconstruct(rows)

    def char_counts_of(self, rows: np.ndarray, stats: LexicalStats, char_ngrams: tuple[int, int]) -> sp.csr_matrix:
        """Character n-gram counts of some rows (recounted from the text when not stored)."""
        rows = np.asarray(rows, dtype=np.int64)
        if isinstance(self.char_counts, PackedRows):
            m = self.char_counts.take(rows)
        elif self.char_counts is not None:
            m = self.char_counts[rows]
        else:
            m = count_char_ngrams(self.texts(rows), stats.char_vocab, char_ngrams, grow=False)
        return sp.csr_matrix((m.data, m.indices, m.indptr), shape=(len(rows), len(stats.char_vocab)))

    def bm25_counts_of(self, rows: np.ndarray, n_terms: int) -> sp.csr_matrix:
        """Word counts of some rows (doc-major), width ``n_terms``."""
        m = self.bm25_post.T.tocsr()[np.asarray(rows, dtype=np.int64)]
        return sp.csr_matrix((m.data, m.indices, m.indptr), shape=(m.shape[0], n_terms))


def _table(items: pd.DataFrame, texts: Sequence[str]):
    import pyarrow as pa

    frame = items.copy()
    frame[TEXT_COLUMN] = list(texts)
    return pa.Table.from_pandas(parquet_safe(frame), preserve_index=False)


def build_segment(
    items: pd.DataFrame,
    texts: Sequence[str],
    vectors: np.ndarray | None,
    stats: LexicalStats,
    lexical: LexicalIndex,
    *,
    ann_factory: str | None = None,
    candidate_index: bool | None = None,
) -> Segment:
    """Count a block of items into ``stats`` (vocabularies grow) and make its segment.

    With ``ann_factory`` (large blocks) the vectors go into an approximate FAISS index and the
    character counts are kept in compact arrays (:class:`.packed.PackedRows`), chunk by chunk.
    ``candidate_index`` (default: with ``ann_factory``) adds the rare n-gram postings and norms
    the candidate path reads; small segments added to an approximate index get them too.
    """
    texts = list(texts)
    packed = ann_factory is not None
    char_parts, bm25_parts = [], []
    for start in range(0, len(texts), COUNT_CHUNK):
        chunk = texts[start : start + COUNT_CHUNK]
        char, words = lexical.count(chunk, stats)
        stats.add(char, words)
        bm25_parts.append(words)
        if packed:  # bounded peak memory: each chunk shrinks to compact dtypes at once
            char = PackedRows.from_parts([char], len(stats.char_vocab))
        char_parts.append(char)
    n_char, n_terms = len(stats.char_vocab), len(stats.bm25_vocab)

    def stack(parts, width):
        if not parts:
            return sp.csr_matrix((0, width), dtype=np.float32)
        return sp.vstack(
            [sp.csr_matrix((p.data, p.indices, p.indptr), shape=(p.shape[0], width)) for p in parts]
        ).tocsr()

    words = stack(bm25_parts, n_terms)
    del bm25_parts
    post = words.T.tocsr()
    post.sort_indices()  # rows ascending in each posting list: membership tests use searchsorted
    doc_len = np.asarray(words.sum(axis=1), dtype=np.float32).ravel()
    del words
    char_counts = PackedRows.stack(char_parts, n_char) if packed else stack(char_parts, n_char)
    del char_parts
    char_post = char_norm = None
    if packed if candidate_index is None else candidate_index:
        char_norm = LexicalIndex.from_settings(lexical.settings()).set_stats(stats).char_norms(char_counts)
        max_df = max(CHAR_POSTING_MIN_DF, int(CHAR_POSTING_SHARE * len(texts)))
        as_packed = char_counts if packed else PackedRows.from_parts([char_counts], n_char)
        char_post = rare_postings(as_packed, max_df, norms=char_norm)
    table = _table(items, texts)
    # The approximate index last: everything else is compact by then (peak memory: docs/scale.md, Building).
    ann = None
    if ann_factory is not None and vectors is not None:
        from .dense import DenseIndex

        ann = DenseIndex.build(np.asarray(vectors, dtype=np.float32), factory=ann_factory)
        vectors = None
    return Segment(
        table=table,
        vectors=None if vectors is None else np.asarray(vectors, np.float32),
        ann=ann,
        char_counts=char_counts,
        bm25_post=post,
        doc_len=doc_len,
        char_post=char_post,
        char_norm=char_norm,
    )


@dataclass
class ExhaustiveView:
    """Every live item as whole arrays, for exhaustive (exact) ranking."""

    catalog: Catalog
    vectors: np.ndarray | None
    lexical: LexicalIndex


class IndexState:
    """Segments, live rows and statistics of one index (see the module docstring)."""

    def __init__(
        self,
        segments: list[Segment],
        stats: LexicalStats,
        lexical: LexicalIndex,
        *,
        id_col: str,
        text_cols: Sequence[str],
        meta_cols: Sequence[str],
        source: str | None,
        dim: int | None,
        catalog: Catalog | None = None,
    ):
        self.segments = segments
        self.stats = stats
        self.lexical = lexical
        self.id_col, self.text_cols, self.meta_cols = id_col, tuple(text_cols), tuple(meta_cols)
        self.source = source
        self.dim = dim
        # A freshly fitted index keeps the caller's table (its dtypes) as the exhaustive view's items.
        self._fit_catalog = catalog
        self._columns: dict[str, pd.Series] = {}
        self._refresh()

    def _refresh(self) -> None:
        self._view: ExhaustiveView | None = None
        self._columns = {}
        counts = [s.n_live for s in self.segments]
        self.offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self._live_rank = [None if s.live is None else np.cumsum(s.live) - 1 for s in self.segments]
        # Row of each live position (locate(), every search: flatnonzero of 1M rows costs ~1 ms).
        self._live_rows = [None if s.live is None else np.flatnonzero(s.live) for s in self.segments]
        self._ids: np.ndarray | None = None

    @property
    def n_items(self) -> int:
        return int(self.offsets[-1])

    @property
    def has_view(self) -> bool:
        """Whether the exhaustive view is built (then positions are served from it)."""
        return self._view is not None

    @property
    def approximate(self) -> bool:
        """True when some segment has an approximate dense index."""
        return any(s.ann is not None for s in self.segments)

    # ------------------------------------------------------------ positions
    def positions(self, seg: int, rows: np.ndarray) -> np.ndarray:
        """Live positions of live rows of segment ``seg``."""
        rows = np.asarray(rows, dtype=np.int64)
        rank = self._live_rank[seg]
        return self.offsets[seg] + (rows if rank is None else rank[rows])

    def locate(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Segment index and row of live positions."""
        positions = np.asarray(positions, dtype=np.int64)
        seg = np.searchsorted(self.offsets, positions, side="right") - 1
        rows = np.empty_like(positions)
        for s in np.unique(seg):
            sel = seg == s
            local = positions[sel] - self.offsets[s]
            live_rows = self._live_rows[s]
            rows[sel] = local if live_rows is None else live_rows[local]
        return seg, rows

    # ------------------------------------------------------------ items
    def ids(self) -> np.ndarray:
        """Item ids of every live position, as an object array."""
        if self._ids is None:
            parts = [
                np.asarray(s.table.column(self.id_col).to_pylist(), dtype=object)[s.live_rows()] for s in self.segments
            ]
            self._ids = np.concatenate(parts) if parts else np.zeros(0, dtype=object)
        return self._ids

    def rows(self, positions: np.ndarray, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """Item rows (id, text and metadata columns) of live positions, in the order given."""
        positions = np.asarray(positions, dtype=np.int64)
        cols = list(columns) if columns is not None else [self.id_col, *self.text_cols, *self.meta_cols]
        if not len(positions):
            return self.exhaustive().catalog.items.iloc[:0][cols] if self._view else pd.DataFrame(columns=cols)
        return self.take(positions, cols).to_pandas()

    def take(self, positions: np.ndarray, columns: Sequence[str]):
        """Item rows of live positions as a pyarrow table, in the order given (non-empty positions)."""
        import pyarrow as pa

        seg, rows = self.locate(np.asarray(positions, dtype=np.int64))
        segs = np.unique(seg)
        if len(segs) == 1:  # the usual case: one take, already in the order given
            return self.segments[int(segs[0])].take(rows, columns)
        parts, order = [], []
        for s in segs:
            sel = np.flatnonzero(seg == s)
            parts.append(self.segments[s].take(rows[sel], columns))
            order.append(sel)
        inverse = np.empty(len(rows), dtype=np.int64)
        inverse[np.concatenate(order)] = np.arange(len(rows))
        return pa.concat_tables(parts).take(inverse)

    def texts(self, positions: np.ndarray) -> list[str]:
        seg, rows = self.locate(positions)
        out: list[str] = [""] * len(rows)
        for s in np.unique(seg):
            sel = np.flatnonzero(seg == s)
            for i, t in zip(sel, self.segments[s].texts(rows[sel])):
                out[i] = t
        return out

    def column(self, name: str) -> pd.Series:
        """One column over every live position (for filters), cached until the next update."""
        if name not in self._columns:
            parts = [s.table.column(name).take(s.live_rows()).to_pandas() for s in self.segments]
            self._columns[name] = pd.concat(parts, ignore_index=True) if parts else pd.Series([], dtype=object)
        return self._columns[name]

    # ------------------------------------------------------------ exhaustive
    def exhaustive(self) -> ExhaustiveView:
        """Every live item as whole arrays (built once, then cached until the next update)."""
        if self._view is None:
            self._view = self._build_view()
        return self._view

    def _build_view(self) -> ExhaustiveView:
        n_char, n_terms = len(self.stats.char_vocab), len(self.stats.bm25_vocab)
        frames, texts, vecs, chars, words = [], [], [], [], []
        for s in self.segments:
            rows = s.live_rows()
            frame = s.table.take(rows).to_pandas() if s.live is not None else s.table.to_pandas()
            texts.extend(frame.pop(TEXT_COLUMN).astype(str).tolist())
            frames.append(frame)
            if self.dim is not None:
                vecs.append(s.vectors_of(rows) if s.live is not None or s.vectors is None else s.vectors)
            chars.append(s.char_counts_of(rows, self.stats, self.lexical.char_ngrams))
            words.append(s.bm25_counts_of(rows, n_terms))
        cols = [self.id_col, *self.text_cols, *self.meta_cols]
        items = pd.concat(frames, ignore_index=True)[cols] if frames else pd.DataFrame(columns=cols)
        vectors = None
        if self.dim is not None:
            vectors = (
                vecs[0] if len(vecs) == 1 else (np.concatenate(vecs) if vecs else np.zeros((0, self.dim), np.float32))
            )
        lex = LexicalIndex(
            char_ngrams=self.lexical.char_ngrams,
            stem=self.lexical.stem,
            bm25_k1=self.lexical.bm25_k1,
            bm25_b=self.lexical.bm25_b,
        )
        empty_c = sp.csr_matrix((0, n_char), dtype=np.float32)
        empty_w = sp.csr_matrix((0, n_terms), dtype=np.float32)
        lex.set_counts(
            self.stats, sp.vstack(chars).tocsr() if chars else empty_c, sp.vstack(words).tocsr() if words else empty_w
        )
        catalog = Catalog(
            items=items,
            id_col=self.id_col,
            text_cols=self.text_cols,
            meta_cols=self.meta_cols,
            texts=texts,
            source=self.source,
        )
        fit = self._fit_catalog
        if fit is not None and len(self.segments) == 1 and self.segments[0].live is None and len(fit) == len(items):
            catalog = fit
        return ExhaustiveView(catalog=catalog, vectors=vectors, lexical=lex)

    # ------------------------------------------------------------ updates
    def append(self, segment: Segment) -> None:
        self.segments.append(segment)
        self._fit_catalog = None
        self._refresh()

    def remove_positions(self, positions: np.ndarray) -> None:
        """Mark live positions dead and take their counts out of the statistics."""
        seg, rows = self.locate(positions)
        n_terms = len(self.stats.bm25_vocab)
        for s in np.unique(seg):
            segment = self.segments[s]
            dead = rows[seg == s]
            self.stats.remove(
                segment.char_counts_of(dead, self.stats, self.lexical.char_ngrams),
                segment.bm25_counts_of(dead, n_terms),
            )
            live = np.ones(segment.rows, dtype=bool) if segment.live is None else segment.live.copy()
            live[dead] = False
            segment.live = live
        self._fit_catalog = None
        self._refresh()
