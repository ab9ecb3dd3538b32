"""Live updates of a built index: add, remove, upsert, compact.

- ``add`` encodes and counts the new items into a new segment; the vocabularies grow and the
  document frequencies, item count and total length gain the new items' counts.
- ``remove`` marks rows dead (tombstones) and takes their counts out of the statistics.
- ``upsert`` removes the ids that exist, then adds every given item.
- ``compact`` rewrites every live item into one segment (fresh vocabularies, no tombstones,
  an approximate dense index when large enough). :func:`needs_compaction` says when it pays:
  more than :data:`COMPACT_DEAD_SHARE` of the rows removed, or more than
  :data:`COMPACT_SEGMENTS` segments.

Statistics stay exact, so an exhaustive ranking after any sequence of updates equals a fresh
build over the same items (``tests/retrieval/test_scale.py`` checks it on random sequences).
Nothing here touches the disk: ``Matcher.save`` publishes the result as one new commit,
writing only the new segments, tombstones and statistics.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import InputError, format_list
from ..io.catalog import Catalog, TableSource, load_catalog
from .lexical import LexicalStats
from .state import IndexState, build_segment

if TYPE_CHECKING:  # pragma: no cover
    from .matcher import Matcher

__all__ = [
    "LiveUpdates",
    "add_items",
    "remove_ids",
    "upsert_items",
    "compact",
    "needs_compaction",
    "COMPACT_DEAD_SHARE",
    "COMPACT_SEGMENTS",
]

COMPACT_DEAD_SHARE = 0.2
COMPACT_SEGMENTS = 16


def _catalog(m: Matcher, items: TableSource | Catalog, **read) -> Catalog:
    st = m.state_
    if isinstance(items, Catalog):
        catalog = items
    else:
        catalog = load_catalog(
            items,
            id_col=st.id_col,
            text_cols=list(st.text_cols),
            meta_cols=list(st.meta_cols),
            what="new items",
            **read,
        )
    if catalog.id_col != st.id_col or tuple(catalog.text_cols) != st.text_cols:
        raise InputError(
            f"the new items use id column {catalog.id_col!r} and text columns {list(catalog.text_cols)}; "
            f"the index uses {st.id_col!r} and {list(st.text_cols)}"
        )
    return catalog


def _encode(m: Matcher, texts: list[str]) -> np.ndarray | None:
    if m.encoder_ is None:
        return None
    return np.vstack(
        [
            np.zeros((0, m.encoder_.dim), np.float32),
            *m.encoder_.iter_document_batches(texts, batch_size=m.batch_size, show_progress=m.show_progress),
        ]
    )


def add_items(m: Matcher, items: TableSource | Catalog, **read) -> int:
    """Append new items (ids not in the index yet); returns how many were added."""
    m.check_built()
    catalog = _catalog(m, items, **read)
    st = m.state_
    present = set(st.ids().tolist())
    clash = [i for i in catalog.ids if i in present]
    if clash:
        raise InputError(
            f"{len(clash)} of the new items' ids are already in the index: {format_list(clash)}; "
            f"use upsert(...) to replace them"
        )
    if not len(catalog):
        return 0
    seg = build_segment(
        catalog.items,
        catalog.texts,
        _encode(m, catalog.texts),
        st.stats,
        st.lexical,
        ann_factory=m.segment_factory(len(catalog)) if m.encoder_ is not None else None,
        candidate_index=st.approximate or None,
    )
    st.lexical.set_stats(st.stats)
    st.append(seg)
    m.set_state(st, encoder=m.encoder_)
    return len(catalog)


def remove_ids(m: Matcher, ids: Sequence[object], *, missing: str = "error") -> int:
    """Remove items by id; unknown ids raise (``missing="error"``) or are skipped (``"ignore"``)."""
    m.check_built()
    if missing not in ("error", "ignore"):
        raise InputError(f"missing must be 'error' or 'ignore', got {missing!r}")
    st = m.state_
    wanted = [str(i).strip() for i in ids]
    position = {v: p for p, v in enumerate(st.ids().tolist())}
    unknown = [i for i in dict.fromkeys(wanted) if i not in position]
    if unknown and missing == "error":
        raise InputError(
            f"{len(unknown)} ids to remove are not in the index: {format_list(unknown)}; "
            f"pass missing='ignore' (--ignore-missing) to skip them"
        )
    pos = np.array(sorted({position[i] for i in wanted if i in position}), dtype=np.int64)
    if not len(pos):
        return 0
    if len(pos) == st.n_items:
        raise InputError("removing every item would leave an empty index; build a new one instead")
    st.remove_positions(pos)
    st.lexical.set_stats(st.stats)
    m.set_state(st, encoder=m.encoder_)
    return len(pos)


def upsert_items(m: Matcher, items: TableSource | Catalog, **read) -> tuple[int, int]:
    """Replace the items whose ids exist and add the others; returns (replaced, added)."""
    m.check_built()
    catalog = _catalog(m, items, **read)
    present = set(m.state_.ids().tolist())
    old = [i for i in catalog.ids if i in present]
    if len(old) == m.state_.n_items and len(old):
        # Every item replaced: rebuild rather than leave an empty index in between.
        compact(m, replace=catalog)
        return len(old), len(catalog) - len(old)
    if old:
        remove_ids(m, old)
    add_items(m, catalog)
    return len(old), len(catalog) - len(old)


def needs_compaction(state: IndexState) -> bool:
    rows = sum(s.rows for s in state.segments)
    dead = rows - state.n_items
    return len(state.segments) > COMPACT_SEGMENTS or (rows > 0 and dead / rows > COMPACT_DEAD_SHARE)


def compact(m: Matcher, *, replace: Catalog | None = None) -> None:
    """Rewrite every live item into one fresh segment (or the items of ``replace``)."""
    m.check_built()
    st = m.state_
    if replace is None:
        view = st.exhaustive()
        catalog, vectors = view.catalog, view.vectors
        items = catalog.items
        texts = catalog.texts
    else:
        catalog, items, texts = replace, replace.items, replace.texts
        vectors = _encode(m, texts)
    stats = LexicalStats()
    lexical = st.lexical
    factory = m.segment_factory(len(items)) if vectors is not None else None
    seg = build_segment(pd.DataFrame(items), texts, vectors, stats, lexical, ann_factory=factory)
    state = IndexState(
        [seg],
        stats,
        lexical.set_stats(stats),
        id_col=st.id_col,
        text_cols=st.text_cols,
        meta_cols=st.meta_cols,
        source=st.source,
        dim=st.dim,
        catalog=catalog,
    )
    m.set_state(state, encoder=m.encoder_)


class LiveUpdates:
    """The update methods of :class:`~semantic_match.retrieval.matcher.Matcher` (a mixin)."""

    def add(self, items: TableSource | Catalog, **read) -> int:
        """Add new items (the index's id, text and metadata columns); returns how many.

        Known ids are refused (use :meth:`upsert`); :meth:`save` publishes the change as one
        commit (see :mod:`semantic_match.retrieval.updates`).
        """
        return add_items(self, items, **read)  # type: ignore[arg-type]

    def remove(self, ids: Sequence[object], *, missing: str = "error") -> int:
        """Remove items by id; returns how many were removed (``missing="ignore"`` skips unknown ids)."""
        return remove_ids(self, ids, missing=missing)  # type: ignore[arg-type]

    def upsert(self, items: TableSource | Catalog, **read) -> tuple[int, int]:
        """Replace the items whose ids exist and add the others; returns ``(replaced, added)``."""
        return upsert_items(self, items, **read)  # type: ignore[arg-type]

    def compact(self):
        """Rewrite every live item into one segment (drops removed rows; rebuilds the dense index)."""
        compact(self)  # type: ignore[arg-type]
        return self
