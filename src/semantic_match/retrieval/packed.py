"""Compact row-major count matrices that stay memory-mapped: a large segment's character counts.

A million items hold about 130 million character n-gram counts. As scipy's CSR (float32 counts,
int32 columns) that is about 1 GB; here counts are ``uint8`` (a count above 255 keeps the
whole matrix in float32) and columns ``uint16`` while the n-gram vocabulary has at most 65,536
entries (int32 above), about 0.4 GB. scipy would copy such arrays into its own dtypes, so rows are
gathered here instead (:meth:`PackedRows.take`): a candidate's counts are read from the mapped
file, and only the pages of the rows asked for are touched.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

__all__ = ["PackedRows", "compact_dtypes", "rare_postings", "slice_positions"]


def slice_positions(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Positions of the entries of several slices ``[start, start + length)``, one after another."""
    ends = np.cumsum(lengths)
    return np.repeat(starts - (ends - lengths), lengths) + np.arange(int(ends[-1]) if len(ends) else 0, dtype=np.int64)


def compact_dtypes(width: int, max_count: float) -> tuple[np.dtype, np.dtype]:
    """The smallest (column, count) dtypes that hold ``width`` columns and counts up to ``max_count``."""
    col = np.dtype(np.uint16) if width <= (1 << 16) else np.dtype(np.int32)
    cnt = np.dtype(np.uint8) if max_count <= 255 and float(max_count).is_integer() else np.dtype(np.float32)
    return col, cnt


class PackedRows:
    """Rows of non-negative counts: CSR arrays in compact dtypes, possibly memory-mapped.

    Parameters
    ----------
    indptr : ndarray of shape (rows + 1,), integer
    indices : ndarray of shape (nnz,), uint16 or int32
        Column of each count, ascending within a row.
    data : ndarray of shape (nnz,), uint8 or float32
    width : int
        Number of columns.
    """

    def __init__(self, indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, width: int):
        self.indptr, self.indices, self.data = indptr, indices, data
        self.shape = (len(indptr) - 1, int(width))

    @property
    def nnz(self) -> int:
        return int(self.indptr[-1])

    @classmethod
    def from_parts(cls, parts: Sequence[sp.csr_matrix], width: int) -> PackedRows:
        """Stack row blocks (each CSR, any column count up to ``width``) into compact arrays."""
        nnz = sum(int(p.nnz) for p in parts)
        top = max((float(p.data.max()) for p in parts if p.nnz), default=0.0)
        integral = all(bool(np.all(np.mod(p.data, 1) == 0)) for p in parts if p.nnz)
        col, cnt = compact_dtypes(width, top if integral else 0.5)
        indices = np.empty(nnz, dtype=col)
        data = np.empty(nnz, dtype=cnt)
        indptr = [np.zeros(1, dtype=np.int64)]
        at = 0
        for p in parts:
            p = sp.csr_matrix(p)
            p.sort_indices()
            indices[at : at + p.nnz] = p.indices
            data[at : at + p.nnz] = p.data
            indptr.append(p.indptr[1:].astype(np.int64) + at)
            at += p.nnz
        return cls(np.concatenate(indptr), indices, data, width)

    @classmethod
    def stack(cls, parts: Sequence[PackedRows], width: int) -> PackedRows:
        """One PackedRows of row blocks packed one by one (in the widest dtypes any block needed)."""
        if len(parts) == 1:
            return parts[0].with_width(width)
        col, cnt = compact_dtypes(width, 0.5 if any(p.data.dtype.kind == "f" for p in parts) else 255)
        indptr = [np.zeros(1, dtype=np.int64)]
        at = 0
        for p in parts:
            indptr.append(np.asarray(p.indptr[1:], dtype=np.int64) + at)
            at += p.nnz
        return cls(
            np.concatenate(indptr),
            np.concatenate([np.zeros(0, col), *(p.indices.astype(col, copy=False) for p in parts)]),
            np.concatenate([np.zeros(0, cnt), *(p.data.astype(cnt, copy=False) for p in parts)]),
            width,
        )

    def take(self, rows: np.ndarray) -> sp.csr_matrix:
        """The given rows (in that order) as a float32 CSR matrix of shape (len(rows), width)."""
        rows = np.asarray(rows, dtype=np.int64)
        starts = np.asarray(self.indptr[rows], dtype=np.int64)
        lengths = np.asarray(self.indptr[rows + 1], dtype=np.int64) - starts
        out_ptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lengths, out=out_ptr[1:])
        where = slice_positions(starts, lengths)
        return sp.csr_matrix(
            (
                np.asarray(self.data[where], dtype=np.float32),
                np.asarray(self.indices[where], dtype=np.int32),
                out_ptr,
            ),
            shape=(len(rows), self.shape[1]),
        )

    def with_width(self, width: int) -> PackedRows:
        """The same rows seen with more columns (the vocabulary grew since they were counted)."""
        return PackedRows(self.indptr, self.indices, self.data, max(width, self.shape[1]))


def rare_postings(
    counts: PackedRows, max_df: int, *, norms: np.ndarray | None = None, chunk: int = 100_000
) -> PackedRows:
    """Column-major postings of the columns present in at most ``max_df`` rows: (columns, rows).

    The character channel's candidate index: a query's rare n-grams ("t-a" of "alat-alat", the
    n-grams of a stop word, of "erythromycin") name the items sharing them, while common n-grams,
    present in many rows and of low idf, are left out (they hold most of the counts). Each list
    holds its rows in ascending order or, given the rows' ``norms``, by impact
    ``(1 + log count) / norm`` (largest first, ties by row): a reader may stop early.
    """
    width, n_rows = counts.shape[1], counts.shape[0]
    indices = np.asarray(counts.indices)
    df = np.bincount(indices, minlength=width)[:width]
    rare = (df > 0) & (df <= max_df)
    ptr = np.zeros(width + 1, dtype=np.int64)
    np.cumsum(np.where(rare, df, 0), out=ptr[1:])
    row_dtype = np.dtype(np.uint16) if n_rows <= (1 << 16) else np.dtype(np.int32)
    rows_out = np.empty(int(ptr[-1]), dtype=row_dtype)
    tf_out = np.empty(int(ptr[-1]), dtype=counts.data.dtype)
    fill = ptr[:-1].copy()
    indptr = np.asarray(counts.indptr, dtype=np.int64)
    # Rows in ascending order, chunk by chunk (bounded memory): each posting list ends up sorted.
    for start in range(0, n_rows, chunk):
        stop = min(n_rows, start + chunk)
        lo, hi = int(indptr[start]), int(indptr[stop])
        cols = indices[lo:hi].astype(np.int64)
        keep = rare[cols]
        cols = cols[keep]
        rows = np.repeat(np.arange(start, stop, dtype=np.int64), np.diff(indptr[start : stop + 1]))[keep]
        tf = np.asarray(counts.data[lo:hi])[keep]
        order = np.argsort(cols, kind="stable")
        cols, rows, tf = cols[order], rows[order], tf[order]
        first = np.searchsorted(cols, cols, side="left")  # rank of each entry within its column
        at = fill[cols] + (np.arange(len(cols)) - first)
        rows_out[at] = rows
        tf_out[at] = tf
        fill += np.bincount(cols, minlength=width)[:width]
    if norms is not None:
        _order_by_impact(ptr, rows_out, tf_out, np.asarray(norms, dtype=np.float32))
    return PackedRows(ptr, rows_out, tf_out, n_rows)


def _order_by_impact(ptr: np.ndarray, rows: np.ndarray, tf: np.ndarray, norms: np.ndarray, block: int = 4_000_000):
    """Reorder every posting list in place by descending impact, a block of whole lists at a time."""
    n_cols = len(ptr) - 1
    start = 0
    while start < n_cols:
        stop = int(np.searchsorted(ptr, ptr[start] + block, side="right")) - 1
        stop = min(max(stop, start + 1), n_cols)
        lo, hi = int(ptr[start]), int(ptr[stop])
        if hi > lo:
            r, t = rows[lo:hi].astype(np.int64), tf[lo:hi]
            impact = (np.log(t.astype(np.float32)) + np.float32(1.0)) / np.maximum(norms[r], np.float32(1e-9))
            col = np.repeat(np.arange(stop - start), np.diff(ptr[start : stop + 1]))
            order = np.lexsort((r, -impact, col))
            rows[lo:hi] = rows[lo:hi][order]
            tf[lo:hi] = t[order]
        start = stop
