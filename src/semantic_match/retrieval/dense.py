"""Dense vector index on FAISS: exact for small segments, approximate (IVF) for large ones.

Inner product on unit vectors (cosine). Segments below ``ANN_MIN_ROWS`` items are searched
exactly; larger ones get an inverted-file index with float16 storage,
``IVF{nlist},SQfp16`` with ``nlist`` about ``4 sqrt(n)`` (:func:`auto_factory`; 4,096 lists
and 128 probed at a million vectors scan a quarter of what 1,024 lists and 64 probes scan, with
better recall, docs/benchmarks.md): it builds in about a minute and a half for a million vectors
on two cores, stores each vector once (half the bytes
of float32, cosine error below 1e-3), can be memory-mapped, reconstructs any vector for exact
rescoring, and searches ``nprobe`` of its lists (:func:`default_nprobe`). HNSW was measured too:
its graph took over 15 minutes to build for a million vectors here (see docs/benchmarks.md).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..errors import InputError

__all__ = ["DenseIndex", "SearchResult", "auto_factory", "default_nprobe"]

#: Inverted lists searched per query by IVF indexes: this share of the lists, at least NPROBE_MIN
#: (recall/latency trade-off, docs/benchmarks.md).
NPROBE_SHARE = 1 / 32
NPROBE_MIN = 16
#: IVF lists per square root of the segment's rows (4,096 lists for a million vectors).
LISTS_PER_SQRT = 4
#: Vectors added to an index per call while building.
ADD_BLOCK = 20_000


def default_nprobe(nlist: int) -> int:
    return max(NPROBE_MIN, int(round(nlist * NPROBE_SHARE)))


logger = logging.getLogger(__name__)


class SearchResult(NamedTuple):
    """Top-k results of a batch of queries.

    scores : ndarray of shape (n_queries, k), dtype float32; ``-inf`` pads.
    indices : ndarray of shape (n_queries, k), dtype int64; ``-1`` pads.
    """

    scores: np.ndarray
    indices: np.ndarray


class DenseIndex:
    """FAISS index over unit vectors, positions 0..n-1 matching catalogue rows.

    Parameters
    ----------
    dim : int
        Vector dimension.
    factory : str
        FAISS index factory string; ``"Flat"`` is exact search.
    """

    def __init__(self, dim: int, *, factory: str = "Flat"):
        import faiss

        self.dim = int(dim)
        self.factory = factory
        self.index_ = faiss.index_factory(self.dim, factory, faiss.METRIC_INNER_PRODUCT)

    @classmethod
    def build(cls, vectors: np.ndarray, *, factory: str) -> DenseIndex:
        """Train (if needed) and fill an index of ``factory`` with ``vectors`` (n, dim) float32."""
        import faiss

        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        obj = cls(vectors.shape[1], factory=factory)
        if not obj.index_.is_trained:
            rng = np.random.default_rng(0)
            nlist = 1
            if "IVF" in factory:
                ivf = faiss.extract_index_ivf(obj.index_)
                nlist = ivf.nlist
                ivf.cp.niter = 10  # k-means converges enough for routing; 25 rounds cost minutes at 1M
            sample = (
                vectors if len(vectors) <= 32 * nlist else vectors[rng.choice(len(vectors), 32 * nlist, replace=False)]
            )
            obj.index_.train(sample)
        # Small blocks: FAISS assigns each block to its lists with a (block, nlist) distance table.
        for start in range(0, len(vectors), ADD_BLOCK):
            obj.index_.add(vectors[start : start + ADD_BLOCK])
        if "IVF" in factory:
            ivf = faiss.extract_index_ivf(obj.index_)
            ivf.make_direct_map()  # reconstruct(row) for exact rescoring of candidates
            ivf.nprobe = default_nprobe(ivf.nlist)
        return obj

    def set_nprobe(self, nprobe: int) -> None:
        import faiss

        if "IVF" in self.factory:
            faiss.extract_index_ivf(self.index_).nprobe = int(nprobe)

    @property
    def ntotal(self) -> int:
        return int(self.index_.ntotal)

    def add(self, vectors: np.ndarray) -> None:
        """Append vectors of shape (n, dim), float32."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise InputError(f"expected vectors of shape (n, {self.dim}), got {vectors.shape}")
        if not self.index_.is_trained:
            raise InputError(
                f"FAISS index '{self.factory}' needs training before add(); train it on a sample of vectors first"
            )
        self.index_.add(vectors)

    def search(
        self, queries: np.ndarray, k: int, *, allowed: np.ndarray | None = None, nprobe_share: float = 1.0
    ) -> SearchResult:
        """Top-k inner products for each query.

        Parameters
        ----------
        queries : ndarray of shape (n_queries, dim), float32
        k : int
            Results per query; rows are padded with ``-1`` / ``-inf`` when
            fewer items exist or qualify.
        allowed : ndarray of shape (ntotal,), bool, optional
            Only items where this is True may be returned. FAISS applies it
            inside the search, so k results come back whenever k qualify.
        """
        import faiss

        queries = np.ascontiguousarray(queries, dtype=np.float32)
        if queries.ndim != 2 or queries.shape[1] != self.dim:
            raise InputError(f"expected queries of shape (n, {self.dim}), got {queries.shape}")
        if k < 1:
            raise InputError(f"k must be at least 1, got {k}")
        params = None
        if allowed is not None:
            allowed = np.asarray(allowed, dtype=bool)
            if allowed.shape != (self.ntotal,):
                raise InputError(f"allowed must have shape ({self.ntotal},), got {allowed.shape}")
            n_allowed = int(allowed.sum())
            if n_allowed == 0:
                return SearchResult(
                    np.full((len(queries), k), -np.inf, np.float32), np.full((len(queries), k), -1, np.int64)
                )
            if n_allowed < self.ntotal:
                bits = np.packbits(allowed, bitorder="little")
                selector = faiss.IDSelectorBitmap(self.ntotal, faiss.swig_ptr(bits))
                if "IVF" in self.factory:
                    params = faiss.SearchParametersIVF(sel=selector, nprobe=faiss.extract_index_ivf(self.index_).nprobe)
                else:
                    params = faiss.SearchParameters(sel=selector)
        if nprobe_share != 1.0 and "IVF" in self.factory:
            nprobe = max(1, int(faiss.extract_index_ivf(self.index_).nprobe * nprobe_share))
            if params is None:
                params = faiss.SearchParametersIVF(nprobe=nprobe)
            else:
                params.nprobe = nprobe
        kk = min(k, self.ntotal) if self.ntotal else 1
        if self.ntotal == 0:
            scores = np.full((len(queries), kk), -np.inf, np.float32)
            ids = np.full((len(queries), kk), -1, np.int64)
        else:
            scores, ids = self.index_.search(queries, kk, params=params)
        scores = np.where(ids < 0, -np.inf, scores).astype(np.float32)
        if kk < k:
            pad = k - kk
            scores = np.pad(scores, ((0, 0), (0, pad)), constant_values=-np.inf)
            ids = np.pad(ids, ((0, 0), (0, pad)), constant_values=-1)
        return SearchResult(scores, ids.astype(np.int64))

    def vectors(self) -> np.ndarray:
        """All stored vectors, shape (ntotal, dim) float32.

        For the exact ``Flat`` index this is a read-only view of FAISS's own
        storage (no copy); other indexes reconstruct their vectors.
        """
        import faiss

        if isinstance(self.index_, faiss.IndexFlat) and self.ntotal:
            view = faiss.rev_swig_ptr(self.index_.get_xb(), self.ntotal * self.dim)
            view = np.asarray(view).reshape(self.ntotal, self.dim)
            view.flags.writeable = False
            return view
        return self.reconstruct()

    def reconstruct(self, positions: np.ndarray | None = None) -> np.ndarray:
        """Stored vectors, shape (n, dim) float32; all of them by default."""
        if positions is None:
            return self.index_.reconstruct_n(0, self.ntotal)
        positions = np.asarray(positions, dtype=np.int64)
        if not len(positions):
            return np.zeros((0, self.dim), np.float32)
        return np.asarray(self.index_.reconstruct_batch(positions), dtype=np.float32).reshape(len(positions), self.dim)

    def save(self, path: str | Path) -> None:
        """Write the index. One read memory-mapped is copied byte for byte from the file it was
        read from: FAISS cannot serialise memory-mapped inverted lists (it writes a truncated file
        that crashes the process searching it)."""
        import faiss

        fd = getattr(self, "_source_fd", None)
        if fd is None:
            faiss.write_index(self.index_, str(path))
            return
        with open(path, "wb") as out:
            offset = 0
            while True:
                chunk = os.pread(fd, 1 << 22, offset)
                if not chunk:
                    break
                out.write(chunk)
                offset += len(chunk)

    def __del__(self) -> None:
        fd = getattr(self, "_source_fd", None)
        if fd is not None:
            self._source_fd = None
            try:
                os.close(fd)
            except OSError:  # pragma: no cover - already closed at interpreter exit
                pass

    @classmethod
    def load(cls, path: str | Path, *, factory: str = "Flat", mmap: bool = False) -> DenseIndex:
        """Read an index; ``mmap`` maps an IVF index's lists instead of reading them (shared pages)."""
        import faiss

        mapped = mmap and "IVF" in factory
        # A mapped index keeps its file open: saving it elsewhere copies these bytes (see save).
        source_fd = os.open(str(path), os.O_RDONLY) if mapped else None
        try:
            index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY if mapped else 0)
        except BaseException:
            if source_fd is not None:
                os.close(source_fd)
            raise
        if "IVF" in factory:
            ivf = faiss.extract_index_ivf(index)
            ivf.nprobe = default_nprobe(ivf.nlist)
        obj = cls.__new__(cls)
        obj.dim = int(index.d)
        obj.factory = factory
        obj.index_ = index
        obj._source_fd = source_fd
        return obj


def auto_factory(n_rows: int, *, min_rows: int) -> str | None:
    """The approximate index for a segment of ``n_rows`` vectors, or None to search it exactly."""
    if n_rows < min_rows:
        return None
    nlist = int(2 ** round(np.log2(LISTS_PER_SQRT * np.sqrt(n_rows))))
    return f"IVF{nlist},SQfp16"
