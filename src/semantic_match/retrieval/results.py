"""Result frames: the columns every search and match result carries, and building them from arrays."""
from __future__ import annotations

__all__ = ["RESULT_COLUMNS", "CHANNELS"]

#: Columns a result frame holds before the item's own columns; an item column of the same name is
#: renamed ``item_<name>`` so it never shadows them.
RESULT_COLUMNS: tuple[str, ...] = ("need_id", "need_text", "rank", "item_id", "score", "confidence",
                                   "dense_score", "char_score", "bm25_score", "matched_terms")

#: The ranking channels: dense cosine, character n-gram TF-IDF cosine, word BM25.
CHANNELS: tuple[str, ...] = ("dense", "char", "bm25")
