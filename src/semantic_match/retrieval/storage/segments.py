"""Segment and commit-data files: what one immutable segment and one commit's statistics hold on disk.

A segment (``seg-NNNNNN-xxxxxxxx/``) holds a block of items:

==================  =====================================================================
``items.arrow``     the item rows (id, text and metadata columns) and each item's normalised
                    text (column ``__text__``); Arrow IPC, memory-mapped when read
``bm25_*.npy``      word counts by term: the BM25 postings, CSR arrays ``indptr`` (one more
                    than the terms known when written), ``indices`` (rows), ``data`` (counts)
``doc_len.npy``     words per row, float32
``vectors.npy``     dense vectors, float32 (rows, dim), for exactly searched segments
``dense.faiss``     the approximate index of a large segment (IVF, float16 storage), instead
``charpost_*.npy``  large segments: postings (rows by n-gram) of the n-grams present in at
                    most 2 % of the rows, and ``char_norm.npy`` each row's TF-IDF norm: the
                    character channel's candidate index (``char_post`` in the commit entry)
``char_*.npy``      character n-gram counts, CSR by row; large (approximate) segments store
                    them compactly (uint8 counts, uint16 columns while the n-gram vocabulary
                    fits) and memory-mapped; segments written by 0.2.0 development builds
                    before that keep none (recounted from the text for candidates)
==================  =====================================================================

A commit's own folder (``c-NNNNNN/``) holds the corpus statistics of its live items
(``char_vocab.json``, ``bm25_vocab.json``, ``char_df.npy``, ``bm25_df.npy``) and one
``tomb-<segment>.npy`` (sorted removed row positions) per segment with removed rows.
Term ids are ids of append-only vocabularies, so later commits read older segments
unchanged. Arrays are ``.npy`` without pickle; large arrays are memory-mapped from the
verified file descriptors.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ...errors import IndexFormatError
from ..lexical import LexicalStats, Vocabulary
from ..packed import PackedRows
from .reader import Snapshot

__all__ = [
    "segment_files",
    "stats_files",
    "write_segment",
    "read_segment",
    "write_stats",
    "read_stats",
    "write_tombstones",
    "read_tombstones",
    "segment_entry",
    "MMAP_MIN_BYTES",
]

_CSR = ("indptr", "indices", "data")
_STATS = ("char_vocab.json", "bm25_vocab.json", "char_df.npy", "bm25_df.npy")
#: Files at least this large are memory-mapped instead of read (pages shared between processes).
MMAP_MIN_BYTES = 1 << 20


def segment_files(entry: dict, *, dense: bool) -> set[str]:
    """Relative names of the files a segment of this commit entry must have."""
    files = {"items.arrow", "doc_len.npy"} | {f"bm25_{p}.npy" for p in _CSR}
    if entry.get("char", True):
        files |= {f"char_{p}.npy" for p in _CSR}
    if entry.get("char_post"):
        files |= {f"charpost_{p}.npy" for p in _CSR} | {"char_norm.npy"}
    if dense:
        files.add("dense.faiss" if entry.get("ann") else "vectors.npy")
    return {f"{entry['name']}/{f}" for f in files}


def stats_files(data_dir: str) -> set[str]:
    return {f"{data_dir}/{f}" for f in _STATS}


def segment_entry(seg) -> dict:
    """The commit's description of a written segment (see :class:`..state.Segment`)."""
    return {
        "name": seg.name,
        "rows": seg.rows,
        "deleted": seg.rows - seg.n_live,
        "tombstones": None,
        "char": seg.char_counts is not None,
        "ann": seg.ann.factory if seg.ann is not None else None,
        "bm25_terms": seg.bm25_post.shape[0],
        "char_post": seg.char_post is not None,
        "char_post_grams": seg.char_post.shape[0] if seg.char_post is not None else None,
    }


def _save_npy(path: Path, arr: np.ndarray) -> None:
    with open(path, "wb") as fh:
        np.save(fh, np.ascontiguousarray(arr), allow_pickle=False)


def write_segment(folder: Path, seg) -> None:
    """Write a segment's files into ``folder`` (a writer's scratch segment folder)."""
    import pyarrow as pa

    with pa.OSFile(str(folder / "items.arrow"), "wb") as sink:
        with pa.ipc.new_file(sink, seg.table.schema) as writer:
            writer.write_table(seg.table, max_chunksize=65_536)
    if seg.ann is not None:
        seg.ann.save(folder / "dense.faiss")
    elif seg.vectors is not None:
        _save_npy(folder / "vectors.npy", np.asarray(seg.vectors, dtype=np.float32))
    parts = [("bm25", seg.bm25_post)] + ([("char", seg.char_counts)] if seg.char_counts is not None else [])
    if seg.char_post is not None:
        parts.append(("charpost", seg.char_post))
        _save_npy(folder / "char_norm.npy", np.asarray(seg.char_norm, dtype=np.float32))
    for ch, m in parts:
        if isinstance(m, PackedRows):  # compact dtypes, written as they are
            _save_npy(folder / f"{ch}_indptr.npy", np.asarray(m.indptr, dtype=np.int64))
            _save_npy(folder / f"{ch}_indices.npy", m.indices)
            _save_npy(folder / f"{ch}_data.npy", m.data)
            continue
        m = m.tocsr()
        _save_npy(folder / f"{ch}_indptr.npy", m.indptr.astype(np.int64))
        _save_npy(folder / f"{ch}_indices.npy", m.indices.astype(np.int32))
        _save_npy(folder / f"{ch}_data.npy", m.data.astype(np.float32))
    _save_npy(folder / "doc_len.npy", np.asarray(seg.doc_len, dtype=np.float32))


def _load_npy(snap: Snapshot, rel: str) -> np.ndarray:
    f = snap.file(rel)
    try:
        if f.size >= MMAP_MIN_BYTES:
            return np.load(f.path, mmap_mode="r", allow_pickle=False)
        return np.load(io.BytesIO(f.read_bytes()), allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise IndexFormatError(f"'{rel}' is not a numeric array ({exc}); rebuild the index") from None


def _csr(
    snap: Snapshot, name: str, ch: str, rows: int, width: int, *, as_packed: bool = False
) -> sp.csr_matrix | PackedRows:
    """A segment's CSR arrays: scipy CSR (float32 data, int32 columns) or, in compact dtypes
    (uint8 counts, uint16 columns: large segments' character counts), :class:`PackedRows`."""
    indptr = _load_npy(snap, f"{name}/{ch}_indptr.npy")
    indices = _load_npy(snap, f"{name}/{ch}_indices.npy")
    data = _load_npy(snap, f"{name}/{ch}_data.npy")
    packed = as_packed or indices.dtype == np.uint16 or data.dtype == np.uint8
    ok = (
        indptr.ndim == 1
        and len(indptr) == rows + 1
        and indices.ndim == 1
        and data.ndim == 1
        and indptr.dtype.kind == "i"
        and (indices.dtype.kind == "i" or indices.dtype == np.uint16)
        and (data.dtype == np.float32 or data.dtype == np.uint8)
        and (packed or indices.dtype.itemsize >= 4)
        and indptr[0] == 0
        and indptr[-1] == len(indices)
        and len(data) == len(indices)
    )
    # Full scans of large mapped arrays would touch every page: check bounds on small ones, and
    # on large ones only what is cheap (the ends); the content hash already vouches for the rest.
    if ok and len(indices) < (1 << 22):
        ok = (
            not (np.diff(indptr) < 0).any()
            and (not len(indices) or (indices.min() >= 0 and indices.max() < width))
            and bool(np.isfinite(data).all())
            and not (data < 0).any()
        )
    if not ok:
        raise IndexFormatError(
            f"segment '{name}': its {ch} arrays are inconsistent with {rows} rows and "
            f"{width} columns; rebuild the index"
        )
    if packed:
        return PackedRows(indptr, indices, data, width)
    return sp.csr_matrix((data, indices, indptr), shape=(rows, width))


def read_segment(snap: Snapshot, entry: dict, *, dim: int | None, stats: LexicalStats, text_col: str, id_col: str):
    """Open a verified segment; every array is checked against the commit's structure."""
    import pyarrow as pa

    from ..dense import DenseIndex
    from ..state import Segment

    name, rows = entry["name"], entry["rows"]
    items = snap.file(f"{name}/items.arrow")
    try:
        source = pa.memory_map(items.path) if items.size >= MMAP_MIN_BYTES else pa.BufferReader(items.read_bytes())
        table = pa.ipc.open_file(source).read_all()
    except (pa.ArrowException, ValueError, OSError) as exc:
        raise IndexFormatError(f"segment '{name}': items.arrow is unreadable ({exc}); rebuild the index") from None
    if table.num_rows != rows or text_col not in table.column_names or id_col not in table.column_names:
        raise IndexFormatError(
            f"segment '{name}': items.arrow holds {table.num_rows} rows (commit: {rows}) or "
            f"lacks its id/text columns; rebuild the index"
        )
    vectors = ann = None
    if dim is not None:
        if entry.get("ann"):
            f = snap.file(f"{name}/dense.faiss")
            try:
                ann = DenseIndex.load(f.path, factory=entry["ann"], mmap=True)
            except RuntimeError as exc:
                raise IndexFormatError(
                    f"segment '{name}': dense.faiss is unreadable ({exc}); rebuild the index"
                ) from None
            if ann.ntotal != rows or ann.dim != dim:
                raise IndexFormatError(
                    f"segment '{name}': dense.faiss holds {ann.ntotal} vectors of dim {ann.dim}, "
                    f"expected {rows} of dim {dim}; rebuild the index"
                )
        else:
            vectors = _load_npy(snap, f"{name}/vectors.npy")
            if vectors.dtype != np.float32 or vectors.shape != (rows, dim):
                raise IndexFormatError(
                    f"segment '{name}': vectors.npy holds {vectors.dtype} {vectors.shape}, "
                    f"expected float32 ({rows}, {dim}); rebuild the index"
                )
    terms = entry.get("bm25_terms")
    if not isinstance(terms, int) or not 0 <= terms <= len(stats.bm25_vocab):
        raise IndexFormatError(f"segment '{name}': its term count {terms!r} exceeds the vocabulary; rebuild the index")
    post = _csr(snap, name, "bm25", terms, rows)
    char = _csr(snap, name, "char", rows, len(stats.char_vocab)) if entry.get("char", True) else None
    doc_len = _load_npy(snap, f"{name}/doc_len.npy")
    if doc_len.shape != (rows,) or doc_len.dtype != np.float32:
        raise IndexFormatError(f"segment '{name}': doc_len.npy does not hold {rows} float32 lengths")
    char_post = char_norm = None
    if entry.get("char_post"):
        grams = entry.get("char_post_grams")
        if not isinstance(grams, int) or not 0 <= grams <= len(stats.char_vocab):
            raise IndexFormatError(
                f"segment '{name}': its n-gram count {grams!r} exceeds the vocabulary; rebuild the index"
            )
        char_post = _csr(snap, name, "charpost", grams, rows, as_packed=True)
        char_norm = _load_npy(snap, f"{name}/char_norm.npy")
        if char_norm.shape != (rows,) or char_norm.dtype != np.float32:
            raise IndexFormatError(f"segment '{name}': char_norm.npy does not hold {rows} float32 norms")
    return Segment(
        table=table,
        vectors=vectors,
        ann=ann,
        char_counts=char,
        bm25_post=post,
        doc_len=doc_len,
        name=name,
        files={r: snap.commit["files"][r] for r in snap.commit["files"] if r.startswith(name + "/")},
        char_post=char_post,
        char_norm=char_norm,
    )


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
    char_df = np.asarray(_load_npy(snap, f"{data_dir}/char_df.npy"))
    bm25_df = np.asarray(_load_npy(snap, f"{data_dir}/bm25_df.npy"))
    if (
        char_df.shape != (len(vocabs[0]),)
        or bm25_df.shape != (len(vocabs[1]),)
        or char_df.dtype.kind != "i"
        or bm25_df.dtype.kind != "i"
        or (char_df < 0).any()
        or (bm25_df < 0).any()
    ):
        raise IndexFormatError(f"'{data_dir}': document frequencies do not match the vocabularies; rebuild the index")
    return LexicalStats(
        vocabs[0],
        vocabs[1],
        char_df.astype(np.int64),
        bm25_df.astype(np.int64),
        int(info["n_docs"]),
        float(info["total_len"]),
    )


def write_tombstones(folder: Path, segment: str, live: np.ndarray) -> str:
    name = f"tomb-{segment}.npy"
    _save_npy(folder / name, np.flatnonzero(~np.asarray(live, dtype=bool)).astype(np.int64))
    return name


def read_tombstones(snap: Snapshot, rel: str, rows: int) -> np.ndarray:
    """The live mask of a segment from its tombstone file."""
    dead = np.asarray(_load_npy(snap, rel))
    if (
        dead.ndim != 1
        or dead.dtype.kind != "i"
        or (len(dead) and (dead.min() < 0 or dead.max() >= rows))
        or (np.diff(dead) <= 0).any()
    ):
        raise IndexFormatError(f"'{rel}' is not a sorted list of row positions below {rows}; rebuild the index")
    live = np.ones(rows, dtype=bool)
    live[dead] = False
    return live
