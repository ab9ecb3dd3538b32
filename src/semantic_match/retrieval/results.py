"""Result frames: the columns every search and match result carries, and building them from arrays."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..io.catalog import Catalog
from ..io.needs import raw_texts
from .fusion import CHANNELS
from .ranking import Ranking

if TYPE_CHECKING:  # pragma: no cover
    from .lexical import LexicalIndex
    from .matcher import Matcher

__all__ = ["RESULT_COLUMNS", "CHANNELS", "search_frame", "explain_columns", "match_frame", "display_frame"]

logger = logging.getLogger(__name__)

#: Columns a result frame holds before the item's own columns; an item column of the same name is
#: renamed ``item_<name>`` so it never shadows them.
RESULT_COLUMNS: tuple[str, ...] = (
    "need_id",
    "need_text",
    "rank",
    "item_id",
    "score",
    "confidence",
    "dense_score",
    "char_score",
    "bm25_score",
    "matched_terms",
)


def search_frame(res: Ranking, row: int, matcher: Matcher, *, query_norm: str) -> pd.DataFrame:
    """One query's results: ``rank, item_id, score, confidence, <channel scores>, matched_terms``, item columns."""
    keep = res.indices[row] >= 0
    idx = res.indices[row][keep]
    display, texts = matcher.item_display_and_texts(idx)
    columns = {
        "rank": np.arange(1, len(idx) + 1),
        "item_id": matcher.item_ids(idx),
        **explain_columns(res, row, keep, lexical=matcher.state_.lexical, item_texts=texts, query_norm=query_norm),
    }
    if display.columns.isin(list(columns)).any():  # names the catalogue repeats stay side by side
        return pd.concat([pd.DataFrame(columns), display], axis=1)
    # One frame from arrays (each pandas insert or concat costs a fraction of a millisecond per search).
    for c in display.columns:
        columns[c] = display[c].array  # keeps the column's dtype
    return pd.DataFrame(columns)


def explain_columns(
    res: Ranking, row: int, keep: np.ndarray, *, lexical: LexicalIndex, item_texts: Sequence[str], query_norm: str
) -> dict[str, np.ndarray | list[str]]:
    """The score, confidence, channel-score and matched-terms columns of one query's kept results."""
    return {
        "score": res.scores[row][keep].astype(np.float64).round(6),
        "confidence": res.confidence[row][keep].astype(np.float64).round(4),
        "dense_score": res.dense[row][keep].astype(np.float64).round(6),
        "char_score": res.char[row][keep].astype(np.float64).round(6),
        "bm25_score": res.bm25[row][keep].astype(np.float64).round(4),
        "matched_terms": [" ".join(t) for t in lexical.matched_terms(query_norm, item_texts)],
    }


def match_frame(needs: Catalog, res: Ranking, keep_cols: Sequence[str], matcher: Matcher) -> pd.DataFrame:
    """One row per need × rank: ``need_id, need_text, [keep_cols], rank, item_id, …``, item columns."""
    n, k = res.indices.shape
    found = res.indices >= 0
    need_pos = np.repeat(np.arange(n), k).reshape(n, k)[found]
    ranks = np.tile(np.arange(1, k + 1), n).reshape(n, k)[found]
    idx = res.indices[found]
    empty = np.flatnonzero(~found.any(axis=1))
    if len(empty):
        logger.warning("%d needs have no item passing the filters: %s", len(empty), [needs.ids[i] for i in empty[:10]])
    display = matcher.item_display(idx)
    head = pd.DataFrame(
        {
            "need_id": np.asarray(needs.ids, dtype=object)[need_pos],
            "need_text": np.asarray(raw_texts(needs), dtype=object)[need_pos],
        }
    )
    for c in keep_cols:
        name = c if c not in RESULT_COLUMNS and c not in display.columns else f"need_{c}"
        head[name] = needs.items[c].to_numpy()[need_pos]
    head["rank"] = ranks
    head["item_id"] = matcher.item_ids(idx)
    head["score"] = res.scores[found].astype(np.float64).round(6)
    head["confidence"] = res.confidence[found].astype(np.float64).round(4)
    head["dense_score"] = res.dense[found].astype(np.float64).round(6)
    head["char_score"] = res.char[found].astype(np.float64).round(6)
    head["bm25_score"] = res.bm25[found].astype(np.float64).round(4)
    texts = matcher.item_texts(idx)
    lex = matcher.state_.lexical
    head["matched_terms"] = [" ".join(lex.matched_terms(needs.texts[p], [t])[0]) for p, t in zip(need_pos, texts)]
    return pd.concat([head, display], axis=1)


def display_frame(catalog: Catalog) -> pd.DataFrame:
    """The item columns shown after the result columns; an item column named like one is renamed ``item_<name>``."""
    frame = catalog.items.drop(columns=[catalog.id_col])
    return frame.rename(columns={c: f"item_{c}" for c in frame.columns if c in RESULT_COLUMNS})
