"""How a built :class:`~semantic_match.Matcher` exposes its items: by live position, either path.

A mixin of the Matcher, kept apart so the facade reads as build / query / update / persist:
the exhaustive view's arrays (built on first use), items by position for result frames,
filter masks, and the small accessors the wings use.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import InputError, NotBuiltError
from ..io.catalog import Catalog
from .filters import Filters, build_mask
from .lexical import LexicalIndex
from .results import RESULT_COLUMNS, display_frame
from .state import TEXT_COLUMN

__all__ = ["ItemAccess"]


class ItemAccess:
    """Items, views and filters of a built index (``state_``); see :class:`semantic_match.Matcher`."""

    # ------------------------------------------------ exhaustive view (built on first use)
    @property
    def catalog_(self) -> Catalog:
        """Every live item as a validated :class:`Catalog` (materialised on first use)."""
        self.check_built()
        return self.state_.exhaustive().catalog

    @property
    def lexical_(self) -> LexicalIndex:
        """The lexical channels over every live item (the query side alone: ``state_.lexical``)."""
        self.check_built()
        return self.state_.exhaustive().lexical

    @property
    def vectors_(self) -> np.ndarray | None:
        self.check_built()
        return self.state_.exhaustive().vectors

    @property
    def display_(self) -> pd.DataFrame:
        """Item columns shown in results (a column named like a result column becomes ``item_<name>``)."""
        if self._display is None or self._display[0] is not self.state_.exhaustive():
            self._display = (self.state_.exhaustive(), display_frame(self.catalog_))
        return self._display[1]

    @property
    def ids_(self) -> np.ndarray:
        """Item ids of every live position (object array)."""
        self.check_built()
        return self.state_.ids()

    @property
    def uses_candidates(self) -> bool:
        """Whether queries take the sub-linear candidate path (see :attr:`exact`)."""
        self.check_built()
        return not self.exact if self.exact is not None else self.state_.approximate

    def lexical_settings(self) -> dict:
        return self.state_.lexical.settings()

    # -------------------------------------------------- items by position (either path)
    def item_ids(self, positions: np.ndarray) -> np.ndarray:
        return self.ids_[np.asarray(positions, dtype=np.int64)]

    def item_display(self, positions: np.ndarray) -> pd.DataFrame:
        positions = np.asarray(positions, dtype=np.int64)
        if self.state_.has_view:
            return self.display_.iloc[positions].reset_index(drop=True)
        return self._stored_display(positions)[0]

    def _stored_display(self, positions: np.ndarray, *, with_texts: bool = False) -> tuple[pd.DataFrame, list[str]]:
        """Display columns (and, asked, normalised texts) read from the segments in one pass."""
        cols = [*self.state_.text_cols, *self.state_.meta_cols]
        if not len(positions):
            return self._display_names(self.state_.rows(positions, cols)), []
        table = self.state_.take(positions, [TEXT_COLUMN, *cols] if with_texts else cols)
        texts = [str(t) for t in table.column(TEXT_COLUMN).to_pylist()] if with_texts else []
        frame = (table.drop_columns([TEXT_COLUMN]) if with_texts else table).to_pandas()
        return self._display_names(frame), texts

    @staticmethod
    def _display_names(frame: pd.DataFrame) -> pd.DataFrame:
        clash = {c: f"item_{c}" for c in frame.columns if c in RESULT_COLUMNS}
        return frame.rename(columns=clash) if clash else frame

    def item_display_and_texts(self, positions: np.ndarray) -> tuple[pd.DataFrame, list[str]]:
        """:meth:`item_display` and :meth:`item_texts` of the same items, read in one pass."""
        positions = np.asarray(positions, dtype=np.int64)
        if self.state_.has_view:
            return self.item_display(positions), self.item_texts(positions)
        return self._stored_display(positions, with_texts=True)

    def item_texts(self, positions: np.ndarray) -> list[str]:
        positions = np.asarray(positions, dtype=np.int64)
        if self.state_.has_view:
            texts = self.catalog_.texts
            return [texts[i] for i in positions]
        return self.state_.texts(positions)

    def check_built(self) -> None:
        """Raise :class:`NotBuiltError` unless the index was built (fit) or loaded."""
        if not hasattr(self, "state_"):
            raise NotBuiltError(
                "this Matcher has no index yet; call fit(catalog, ...) or use "
                "Matcher.from_catalog(...) / Matcher.load(folder) first"
            )

    # ---------------------------------------------------------------- queries
    @property
    def n_items(self) -> int:
        self.check_built()
        return self.state_.n_items

    @property
    def texts(self) -> list[str]:
        """The normalised text of every item, in row order (what the channels index)."""
        self.check_built()
        return self.catalog_.texts

    @property
    def id_col(self) -> str:
        """The catalogue's id column."""
        self.check_built()
        return self.state_.id_col

    def item_vectors(self) -> np.ndarray | None:
        """Dense vectors of every item, shape (n_items, dim) float32; None without an encoder."""
        self.check_built()
        return self.vectors_

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
        # No more rows than items: k=10**9 must not allocate (needs x 10**9) arrays.
        return min(int(k), max(self.n_items, 1))

    @staticmethod
    def _check_threads(threads: int | None, client=None) -> int | None:
        """``threads`` of a match in this process (None: the default); refused with a Dask client."""
        if threads is None:
            return None
        if not isinstance(threads, (int, np.integer)) or isinstance(threads, bool) or threads < 1:
            raise InputError(f"threads must be a positive integer or None (all cores), got {threads!r}")
        if client is not None:
            raise InputError("threads applies to matching in this process; a Dask cluster sets its workers' threads")
        return int(threads)

    def filter_mask(self, filters: Filters | None) -> np.ndarray | None:
        """Boolean array of shape (n_items,): the items passing ``filters`` (None: no filter)."""
        self.check_built()
        if not filters:
            return None
        st = self.state_
        cols = [*st.meta_cols, *st.text_cols, st.id_col]
        if st.has_view or not isinstance(filters, Mapping):
            return build_mask(self.catalog_.items, filters, columns=cols)
        # Large indexes: read only the filtered columns, never the whole item table.
        frame = pd.DataFrame({c: st.column(c) for c in filters if c in cols})
        return build_mask(frame.reindex(columns=[c for c in filters]), filters, columns=cols)
