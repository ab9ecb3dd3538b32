"""Segment and commit-data files: what one immutable segment and one commit's statistics hold on disk.

A segment (``seg-NNNNNN-xxxxxxxx/``) holds a block of items:

==================  =====================================================================
``items.arrow``     the item rows (id, text and metadata columns) and each item's normalised
                    text (column ``__text__``), Arrow IPC, memory-mappable
``vectors.npy``     dense vectors, float32 (rows, dim); absent for lexical indexes
``char_*.npy``      character n-gram counts, CSR arrays ``indptr``, ``indices``, ``data``
``bm25_*.npy``      word counts, CSR arrays ``indptr``, ``indices``, ``data``
==================  =====================================================================

A commit's own folder (``c-NNNNNN/``) holds the corpus statistics of its live items
(``char_vocab.json``, ``bm25_vocab.json``, ``char_df.npy``, ``bm25_df.npy``) and one
``tomb-<segment>.npy`` (sorted row positions) per segment with removed rows.
Term ids in a segment are ids of the vocabulary of the commit that wrote it; vocabularies only
grow, so later commits read older segments unchanged. Arrays are ``.npy`` without pickle.
"""
from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ...errors import IndexFormatError
from ...io.frames import parquet_safe
from ..lexical import LexicalStats, Vocabulary
from .reader import Snapshot

__all__ = ["SegmentData", "TEXT_COLUMN", "segment_files", "stats_files", "write_segment", "read_segment",
           "write_stats", "read_stats", "write_tombstones", "read_tombstones"]

#: Column of items.arrow holding each item's normalised text.
TEXT_COLUMN = "__text__"
_CSR = ("indptr", "indices", "data")
_STATS = ("char_vocab.json", "bm25_vocab.json", "char_df.npy", "bm25_df.npy")


@dataclass
class SegmentData:
    """One segment's items and raw channel data, rows in item order."""

    name: str
    items: pd.DataFrame
    texts: list[str]
    vectors: np.ndarray | None
    char_counts: sp.csr_matrix
    bm25_counts: sp.csr_matrix

    @property
    def rows(self) -> int:
        return len(self.items)


def segment_files(name: str, *, dense: bool) -> set[str]:
    """Relative names of the files a segment must have."""
    files = {"items.arrow"} | {f"{ch}_{part}.npy" for ch in ("char", "bm25") for part in _CSR}
    if dense:
        files.add("vectors.npy")
    return {f"{name}/{f}" for f in files}


def stats_files(data_dir: str) -> set[str]:
    return {f"{data_dir}/{f}" for f in _STATS}


def _save_npy(path: Path, arr: np.ndarray) -> None:
    with open(path, "wb") as fh:
        np.save(fh, np.ascontiguousarray(arr), allow_pickle=False)


def write_segment(folder: Path, seg: SegmentData) -> None:
    """Write a segment's files into ``folder`` (a writer's scratch segment folder)."""
    import pyarrow as pa

    items = seg.items.copy()
    items[TEXT_COLUMN] = seg.texts
    table = pa.Table.from_pandas(parquet_safe(items), preserve_index=False)
    with pa.OSFile(str(folder / "items.arrow"), "wb") as sink:
        with pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
    if seg.vectors is not None:
        _save_npy(folder / "vectors.npy", np.asarray(seg.vectors, dtype=np.float32))
    for ch, m in (("char", seg.char_counts), ("bm25", seg.bm25_counts)):
        m = m.tocsr()
        _save_npy(folder / f"{ch}_indptr.npy", m.indptr.astype(np.int64))
        _save_npy(folder / f"{ch}_indices.npy", m.indices.astype(np.int32))
        _save_npy(folder / f"{ch}_data.npy", m.data.astype(np.float32))


def _load_npy(snap: Snapshot, rel: str, *, mmap: bool = False) -> np.ndarray:
    f = snap.file(rel)
    if mmap:
        return np.load(f.path, mmap_mode="r", allow_pickle=False)
    return np.load(io.BytesIO(f.read_bytes()), allow_pickle=False)


def _csr(snap: Snapshot, name: str, ch: str, rows: int, width: int) -> sp.csr_matrix:
    indptr = _load_npy(snap, f"{name}/{ch}_indptr.npy")
    indices = _load_npy(snap, f"{name}/{ch}_indices.npy")
    data = _load_npy(snap, f"{name}/{ch}_data.npy")
    if (indptr.ndim != 1 or len(indptr) != rows + 1 or indptr[0] != 0 or indptr[-1] != len(indices)
            or len(data) != len(indices) or (np.diff(indptr) < 0).any()
            or (len(indices) and (indices.min() < 0 or indices.max() >= width))
            or not np.isfinite(data).all() or (data < 0).any()):
        raise IndexFormatError(f"segment '{name}': its {ch} counts are inconsistent with {rows} rows and a "
                               f"vocabulary of {width} terms; rebuild the index")
    return sp.csr_matrix((data.astype(np.float32), indices, indptr), shape=(rows, width))


def read_segment(snap: Snapshot, name: str, rows: int, *, dim: int | None, stats: LexicalStats,
                 mmap_vectors: bool = True) -> SegmentData:
    """Read a verified segment; every array is checked against the commit's structure."""
    import pyarrow as pa

    try:
        table = pa.ipc.open_file(pa.BufferReader(snap.file(f"{name}/items.arrow").read_bytes())).read_all()
        items = table.to_pandas()
    except (pa.ArrowException, ValueError, OSError) as exc:
        raise IndexFormatError(f"segment '{name}': items.arrow is unreadable ({exc}); rebuild the index") from None
    if len(items) != rows or TEXT_COLUMN not in items.columns:
        raise IndexFormatError(f"segment '{name}': items.arrow holds {len(items)} rows, the commit says {rows}; "
                               f"rebuild the index")
    texts = items.pop(TEXT_COLUMN).astype(str).tolist()
    vectors = None
    if dim is not None:
        vectors = _load_npy(snap, f"{name}/vectors.npy", mmap=mmap_vectors)
        if vectors.dtype != np.float32 or vectors.shape != (rows, dim):
            raise IndexFormatError(f"segment '{name}': vectors.npy holds {vectors.dtype} {vectors.shape}, expected "
                                   f"float32 ({rows}, {dim}); rebuild the index")
    char = _csr(snap, name, "char", rows, len(stats.char_vocab))
    bm25 = _csr(snap, name, "bm25", rows, len(stats.bm25_vocab))
    return SegmentData(name=name, items=items, texts=texts, vectors=vectors, char_counts=char, bm25_counts=bm25)


def write_stats(folder: Path, stats: LexicalStats) -> None:
    for name, vocab in (("char_vocab.json", stats.char_vocab), ("bm25_vocab.json", stats.bm25_vocab)):
        (folder / name).write_text(json.dumps(vocab.terms, ensure_ascii=False), encoding="utf-8")
    _save_npy(folder / "char_df.npy", stats.char_df.astype(np.int64))
    _save_npy(folder / "bm25_df.npy", stats.bm25_df.astype(np.int64))


def read_stats(snap: Snapshot, data_dir: str, info: dict) -> LexicalStats:
    vocabs = []
    for name in ("char_vocab.json", "bm25_vocab.json"):
        try:
            terms = json.loads(snap.file(f"{data_dir}/{name}").read_bytes().decode("utf-8"))
            if not isinstance(terms, list) or not all(isinstance(t, str) for t in terms):
                raise ValueError("not a list of strings")
            vocabs.append(Vocabulary(terms))
        except ValueError as exc:
            raise IndexFormatError(f"'{data_dir}/{name}' is not a vocabulary ({exc}); rebuild the index") from None
    char_df = _load_npy(snap, f"{data_dir}/char_df.npy")
    bm25_df = _load_npy(snap, f"{data_dir}/bm25_df.npy")
    if (char_df.shape != (len(vocabs[0]),) or bm25_df.shape != (len(vocabs[1]),)
            or char_df.dtype.kind != "i" or bm25_df.dtype.kind != "i" or (char_df < 0).any() or (bm25_df < 0).any()):
        raise IndexFormatError(f"'{data_dir}': document frequencies do not match the vocabularies; rebuild the index")
    return LexicalStats(vocabs[0], vocabs[1], char_df.astype(np.int64), bm25_df.astype(np.int64),
                        int(info["n_docs"]), float(info["total_len"]))


def write_tombstones(folder: Path, segment: str, rows: np.ndarray) -> str:
    name = f"tomb-{segment}.npy"
    _save_npy(folder / name, np.unique(np.asarray(rows, dtype=np.int64)))
    return name


def read_tombstones(snap: Snapshot, rel: str, rows: int) -> np.ndarray:
    dead = _load_npy(snap, rel)
    if dead.ndim != 1 or dead.dtype.kind != "i" or (len(dead) and (dead.min() < 0 or dead.max() >= rows)) \
            or (np.diff(dead) <= 0).any():
        raise IndexFormatError(f"'{rel}' is not a sorted list of row positions below {rows}; rebuild the index")
    return dead.astype(np.int64)
