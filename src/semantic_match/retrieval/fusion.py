"""Fusion of channel scores: convex combination of normalised scores, or RRF.

Channels score every catalogue item for a batch of queries (arrays of shape
(n_queries, n_items)). Convex fusion rescales each channel per query with
min-max and adds them with weights; reciprocal-rank fusion adds 1/(k + rank).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import numpy as np

from ..errors import InputError

__all__ = ["minmax", "convex", "rrf", "contributions", "fuse", "FusionMethod", "FUSION_METHODS", "CHANNELS"]

#: The ranking channels: dense cosine, character n-gram TF-IDF cosine, word BM25.
CHANNELS: tuple[str, ...] = ("dense", "char", "bm25")

#: How channel scores are combined: convex combination of min-max-normalised scores, or RRF.
FusionMethod = Literal["convex", "rrf"]
FUSION_METHODS: tuple[str, ...] = ("convex", "rrf")


def minmax(scores: np.ndarray, allowed: np.ndarray | None = None) -> np.ndarray:
    """Rescale each row to [0, 1] over the allowed items (others keep their order).

    Parameters
    ----------
    scores : ndarray of shape (n_queries, n_items)
    allowed : ndarray of shape (n_items,), bool, optional
    """
    s = np.asarray(scores, dtype=np.float32)
    ref = s if allowed is None else s[:, allowed]
    if ref.shape[1] == 0:
        return np.zeros_like(s)
    lo = ref.min(axis=1, keepdims=True)
    hi = ref.max(axis=1, keepdims=True)
    return (s - lo) / np.maximum(hi - lo, 1e-9)


def convex(
    channels: Mapping[str, np.ndarray], weights: Mapping[str, float], allowed: np.ndarray | None = None
) -> np.ndarray:
    """Weighted sum of min-max-normalised channel scores, shape (n_queries, n_items)."""
    total = None
    for name, w in weights.items():
        if w == 0:
            continue
        part = w * minmax(channels[name], allowed)
        total = part if total is None else total + part
    if total is None:
        raise InputError("every fusion weight is zero; give at least one channel a weight > 0")
    return total


def _ranks(scores: np.ndarray) -> np.ndarray:
    order = np.argsort(-scores, axis=1, kind="stable")
    ranks = np.empty_like(order)
    rows = np.arange(scores.shape[0])[:, None]
    ranks[rows, order] = np.arange(1, scores.shape[1] + 1)[None, :]
    return ranks


def rrf(
    channels: Mapping[str, np.ndarray], weights: Mapping[str, float], *, k: int = 60, allowed: np.ndarray | None = None
) -> np.ndarray:
    """Weighted reciprocal-rank fusion: sum of w / (k + rank) over channels."""
    total = None
    for name, w in weights.items():
        if w == 0:
            continue
        s = channels[name]
        if allowed is not None:
            s = np.where(allowed[None, :], s, -np.inf)
        part = w / (k + _ranks(s))
        total = part if total is None else total + part
    if total is None:
        raise InputError("every fusion weight is zero; give at least one channel a weight > 0")
    return total.astype(np.float32)


def contributions(
    channels: Mapping[str, np.ndarray],
    weights: Mapping[str, float],
    *,
    method: FusionMethod = "convex",
    rrf_k: int = 60,
    allowed: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Each weighted channel's share of the fused score, shape (n_queries, n_items) per channel.

    The fused score is exactly the sum of these parts; rankings (:func:`fuse`)
    and explanations (:func:`semantic_match.explain_match`) both use them, so an
    explanation always adds up to the score it explains.
    """
    if method not in FUSION_METHODS:
        raise InputError(f"unknown fusion {method!r}; use one of {list(FUSION_METHODS)}")
    out = {}
    for name, w in weights.items():
        if w == 0:
            continue
        if method == "rrf":
            out[name] = rrf({name: channels[name]}, {name: w}, k=rrf_k, allowed=allowed)
        else:
            out[name] = convex({name: channels[name]}, {name: w}, allowed=allowed)
    if not out:
        raise InputError("every fusion weight is zero; give at least one channel a weight > 0")
    return out


def fuse(
    channels: Mapping[str, np.ndarray],
    weights: Mapping[str, float],
    *,
    method: FusionMethod = "convex",
    rrf_k: int = 60,
    allowed: np.ndarray | None = None,
) -> np.ndarray:
    """The fused ranking score, shape (n_queries, n_items), float32: the sum of :func:`contributions`."""
    if method == "rrf":
        return rrf(channels, weights, k=rrf_k, allowed=allowed)
    return convex(channels, weights, allowed=allowed)
