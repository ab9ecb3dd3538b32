"""Stage 3 of an event, pair scores: from product-level matches to buyer × supplier scores and unmet needs.

:func:`score_pairs` takes the matches (stage 2) and returns :class:`PairScores`:
every pair's score with its explanation in words, and the needs no product
serves. :func:`pair_scores` and :func:`unmet_needs` work on any
:meth:`Matcher.match` output with ``buyer_id`` and ``supplier_id`` added.

Scores are built from ``confidence`` (the calibrated probability that a
product is relevant, comparable across needs), never from the fused ``score``,
which is relative to one need.

For a buyer *b*, a supplier *s* and a minimum confidence *m*, let
``c(n, s)`` be the best confidence of a product of *s* among the ranked
products of need *n*, and ``N(b, s)`` the needs of *b* with ``c(n, s) >= m``.
A pair exists when ``N(b, s)`` is not empty, and its score is

==================== ==========================================================
``max``              ``max c(n, s)`` over ``N(b, s)``: the best single match
``mean_top_n``       ``(1/top_n) · Σ`` of the ``top_n`` largest ``c(n, s)``;
                     missing needs count 0, so serving three needs well beats
                     serving one slightly better (range 0–1)
``sum``              ``Σ c(n, s)`` over ``N(b, s)``: breadth and strength
``count_needs_served`` ``|N(b, s)|``: the number of needs served
==================== ==========================================================
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..errors import InputError
from ..io.columns import require_columns
from .compat import renamed_keywords
from .inputs import EventInputs

__all__ = [
    "AGGREGATIONS",
    "Aggregation",
    "PairScores",
    "score_pairs",
    "check_aggregation",
    "best_per_need_supplier",
    "pair_scores",
    "unmet_needs",
]

logger = logging.getLogger(__name__)

Aggregation = Literal["max", "mean_top_n", "sum", "count_needs_served"]
AGGREGATIONS: tuple[str, ...] = ("max", "mean_top_n", "sum", "count_needs_served")

_EXPLAIN_LIMIT = 5


def _require(matches: pd.DataFrame, cols: Sequence[str], what: str) -> None:
    if not isinstance(matches, pd.DataFrame):
        raise InputError(f"{what} needs a DataFrame of matches; got {type(matches).__name__}")
    require_columns(
        matches,
        cols,
        where="matches",
        hint=f"{what} needs {list(cols)} (add buyer_id and supplier_id to the output of "
        f"Matcher.match, or use run_event)",
    )


def check_aggregation(how: str, top_n: int) -> None:
    """Raise InputError for an unknown aggregation or a ``top_n`` that is not a whole number >= 1."""
    if how not in AGGREGATIONS:
        raise InputError(f"unknown aggregation {how!r}; use one of {list(AGGREGATIONS)}")
    if isinstance(top_n, bool) or not isinstance(top_n, (int, np.integer)) or top_n < 1:
        raise InputError(f"top_n must be a whole number >= 1; got {top_n!r}")


def best_per_need_supplier(matches: pd.DataFrame, *, min_confidence: float) -> pd.DataFrame:
    """The best product of every supplier for every need, at or above ``min_confidence``.

    Parameters
    ----------
    matches : DataFrame
        Columns ``need_id, buyer_id, supplier_id, item_id, confidence`` (one row per
        need × ranked product, as :meth:`Matcher.match` returns with ids added).
    min_confidence : float

    Returns
    -------
    DataFrame
        ``buyer_id, supplier_id, need_id, item_id, confidence``, one row per
        (need, supplier), sorted by buyer, supplier, confidence (descending), need.
    """
    _require(matches, ["need_id", "buyer_id", "supplier_id", "item_id", "confidence"], "aggregation")
    conf = pd.to_numeric(matches["confidence"], errors="coerce")
    if len(matches) and conf.isna().all():
        raise InputError(
            "every confidence is NaN: the matcher has no confidence calibration for its "
            "encoder; use the embedded default encoder or fit one on your own judged pairs "
            "with Matcher.calibrate(pairs)"
        )
    keep = (conf >= min_confidence) & matches["supplier_id"].notna()
    rows = matches.loc[keep, ["buyer_id", "supplier_id", "need_id", "item_id"]].assign(confidence=conf[keep])
    rows = rows.astype({"buyer_id": str, "supplier_id": str, "need_id": str, "item_id": str})
    # Highest confidence first, ties by item id: one deterministic best product per (need, supplier).
    rows = rows.sort_values(
        ["need_id", "supplier_id", "confidence", "item_id"], ascending=[True, True, False, True], kind="stable"
    )
    best = rows.drop_duplicates(["need_id", "supplier_id"], keep="first")
    return best.sort_values(
        ["buyer_id", "supplier_id", "confidence", "need_id"], ascending=[True, True, False, True], kind="stable"
    ).reset_index(drop=True)


def _explain(need_ids: np.ndarray, item_ids: np.ndarray, conf: np.ndarray, limit: int) -> str:
    parts = [f"{n}→{i} ({c:.2f})" for n, i, c in zip(need_ids[:limit], item_ids[:limit], conf[:limit])]
    more = len(need_ids) - limit
    return "; ".join(parts) + (f"; … (+{more} more)" if more > 0 else "")


def pair_scores(
    matches: pd.DataFrame,
    *,
    how: Aggregation = "mean_top_n",
    top_n: int = 3,
    min_confidence: float,
    explain_limit: int = _EXPLAIN_LIMIT,
) -> pd.DataFrame:
    """Score every buyer × supplier pair from product-level matches (formulas in the module docstring).

    Parameters
    ----------
    matches : DataFrame
        Columns ``need_id, buyer_id, supplier_id, item_id, confidence``.
    how : {"max", "mean_top_n", "sum", "count_needs_served"}
    top_n : int
        Needs averaged by ``mean_top_n``.
    min_confidence : float
        Matches below it do not count (the calibration's "no good match" threshold
        is the usual choice).
    explain_limit : int
        Needs listed in ``explanation`` before "… (+n more)".

    Returns
    -------
    DataFrame
        One row per pair with at least one need served: ``buyer_id, supplier_id,
        score, rank`` (of the supplier for the buyer, 1 = best), ``needs_served``,
        ``best_confidence``, ``need_ids``, ``item_ids`` (``;``-separated, best
        first) and ``explanation`` ("N001→P0038 (0.91); N040→P0103 (0.84)").
        Sorted by buyer, then rank.

    Examples
    --------
    >>> m = pd.DataFrame({"need_id": ["N1", "N1", "N2"], "buyer_id": ["Dinas Koperasi"] * 3,
    ...                   "supplier_id": ["S01", "S02", "S01"], "item_id": ["P1", "P7", "P2"],
    ...                   "confidence": [0.9, 0.6, 0.8]})
    >>> pair_scores(m, how="sum", min_confidence=0.5)[["supplier_id", "score", "explanation"]]
      supplier_id  score                 explanation
    0         S01    1.7  N1→P1 (0.90); N2→P2 (0.80)
    1         S02    0.6                N1→P7 (0.60)
    """
    check_aggregation(how, top_n)
    if min_confidence is None or not np.isfinite(min_confidence):
        raise InputError(f"min_confidence must be a number; got {min_confidence!r}")
    best = best_per_need_supplier(matches, min_confidence=float(min_confidence))
    columns = [
        "buyer_id",
        "supplier_id",
        "score",
        "rank",
        "needs_served",
        "best_confidence",
        "need_ids",
        "item_ids",
        "explanation",
    ]
    if best.empty:
        return pd.DataFrame(
            {
                c: pd.Series(
                    dtype=object if c in ("buyer_id", "supplier_id", "need_ids", "item_ids", "explanation") else float
                )
                for c in columns
            }
        )
    conf = best["confidence"].to_numpy(dtype=float)
    keys = best[["buyer_id", "supplier_id"]]
    # Rows of one pair are contiguous and sorted by confidence, best first.
    starts = np.flatnonzero(np.r_[True, (keys.iloc[1:].to_numpy() != keys.iloc[:-1].to_numpy()).any(axis=1)])
    ends = np.r_[starts[1:], len(best)]
    need_ids, item_ids = best["need_id"].to_numpy(), best["item_id"].to_numpy()
    sums = np.add.reduceat(conf, starts)
    counts = ends - starts
    if how == "max":
        score = conf[starts]
    elif how == "sum":
        score = sums
    elif how == "count_needs_served":
        score = counts.astype(float)
    else:
        csum = np.r_[0.0, np.cumsum(conf)]
        score = (csum[np.minimum(starts + top_n, ends)] - csum[starts]) / top_n
    out = pd.DataFrame(
        {
            "buyer_id": best["buyer_id"].to_numpy()[starts],
            "supplier_id": best["supplier_id"].to_numpy()[starts],
            "score": np.round(score, 6),
            "needs_served": counts,
            "best_confidence": conf[starts],
            "need_ids": [";".join(need_ids[a:b]) for a, b in zip(starts, ends)],
            "item_ids": [";".join(item_ids[a:b]) for a, b in zip(starts, ends)],
            "explanation": [
                _explain(need_ids[a:b], item_ids[a:b], conf[a:b], explain_limit) for a, b in zip(starts, ends)
            ],
        }
    )
    out = out.sort_values(
        ["buyer_id", "score", "best_confidence", "supplier_id"], ascending=[True, False, False, True], kind="stable"
    ).reset_index(drop=True)
    out.insert(3, "rank", out.groupby("buyer_id", sort=False).cumcount() + 1)
    return out


@renamed_keywords(threshold="min_confidence")
def unmet_needs(
    matches: pd.DataFrame,
    *,
    min_confidence: float,
    needs: pd.DataFrame | None = None,
    category_col: str | None = "category",
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Needs whose best product is below ``min_confidence``: the opportunity list for local industry.

    Parameters
    ----------
    matches : DataFrame
        Output of :meth:`Matcher.match` with ``buyer_id`` (and the catalogue's
        category column) added.
    min_confidence : float
        Rank-1 confidence below which a need counts as unmet (``threshold`` is
        its deprecated name).
    needs : DataFrame, optional
        Every need of the event, columns ``need_id, buyer_id`` (and optionally
        ``need_text``); needs without any ranked product (every item filtered
        out) are then reported too, with no best match.
    category_col : str, optional
        Catalogue column to group the weak best matches by.

    Returns
    -------
    unmet : DataFrame
        The rank-1 row of each unmet need (all match columns), lowest confidence first.
    by_buyer : DataFrame
        ``buyer_id, unmet_needs, need_ids``, most unmet first.
    by_category : DataFrame
        ``category, unmet_needs, buyers, need_ids`` grouped by the category of
        the weak best match ("(no match)" when none), most unmet first.
    """
    _require(matches, ["need_id", "buyer_id", "rank", "confidence"], "the unmet-needs report")
    top = matches[matches["rank"] == 1]
    weak = top[~(pd.to_numeric(top["confidence"], errors="coerce") >= min_confidence)]
    if needs is not None:
        lost = needs[~needs["need_id"].astype(str).isin(set(top["need_id"].astype(str)))]
        if len(lost):
            extra = lost[[c for c in ("need_id", "need_text", "buyer_id") if c in lost.columns]]
            weak = pd.concat([weak, extra], ignore_index=True) if len(weak) else extra.reset_index(drop=True)
    weak = weak.sort_values(["confidence", "need_id"], na_position="first", kind="stable").reset_index(drop=True)
    if weak.empty:
        by_buyer = pd.DataFrame(
            {
                "buyer_id": pd.Series(dtype=object),
                "unmet_needs": pd.Series(dtype=int),
                "need_ids": pd.Series(dtype=object),
            }
        )
    else:
        by_buyer = (
            weak.groupby("buyer_id", sort=True)["need_id"]
            .agg(unmet_needs="size", need_ids=lambda s: ";".join(map(str, sorted(s))))
            .reset_index()
            .sort_values(["unmet_needs", "buyer_id"], ascending=[False, True], kind="stable")
            .reset_index(drop=True)
        )
    cat = (
        weak[category_col]
        if category_col and category_col in weak.columns
        else pd.Series([None] * len(weak), index=weak.index, dtype=object)
    )
    grouped = weak.assign(category=cat.where(cat.notna(), "(no match)").astype(str))
    if grouped.empty:
        by_category = pd.DataFrame(
            {c: pd.Series(dtype=object) for c in ("category", "unmet_needs", "buyers", "need_ids")}
        )
    else:
        by_category = (
            grouped.groupby("category", sort=True)
            .agg(
                unmet_needs=("need_id", "size"),
                buyers=("buyer_id", lambda s: s.nunique()),
                need_ids=("need_id", lambda s: ";".join(map(str, sorted(s)))),
            )
            .reset_index()
            .sort_values(["unmet_needs", "category"], ascending=[False, True], kind="stable")
            .reset_index(drop=True)
        )
    return weak, by_buyer, by_category


@dataclass(frozen=True, eq=False)
class PairScores:
    """What the pair-scores stage hands on.

    Attributes
    ----------
    pairs : DataFrame
        :func:`pair_scores` with the party names (``buyer`` second, ``supplier``
        fourth) and ``detail``: the needs and products behind the pair, in words.
    unmet, unmet_by_buyer, unmet_by_category : DataFrame
        :func:`unmet_needs` of every need of the event; ``unmet_by_buyer`` has the
        buyer's name second.
    """

    pairs: pd.DataFrame
    unmet: pd.DataFrame
    unmet_by_buyer: pd.DataFrame
    unmet_by_category: pd.DataFrame


def score_pairs(
    matches: pd.DataFrame,
    inputs: EventInputs,
    *,
    aggregation: Aggregation = "mean_top_n",
    top_n: int = 3,
    category_col: str | None = "category",
) -> PairScores:
    """Score the buyer × supplier pairs of an event and list its unmet needs.

    Parameters
    ----------
    matches : DataFrame
        The matches of the event (stage 2, :func:`~semantic_match.events.matching.match_needs`).
    inputs : EventInputs
        The event's inputs: minimum confidence, needs and party names, product names.
    aggregation, top_n
        As ``how`` and ``top_n`` of :func:`pair_scores`.
    category_col : str, optional
        Catalogue column grouping the unmet needs.
    """
    cut = inputs.min_confidence
    pairs = pair_scores(matches, how=aggregation, top_n=top_n, min_confidence=cut)
    pairs = _describe_pairs(pairs, inputs)
    weak, by_buyer, by_category = unmet_needs(
        matches, min_confidence=cut, needs=inputs.need_table, category_col=category_col
    )
    if len(by_buyer):
        by_buyer.insert(1, "buyer", by_buyer["buyer_id"].map(inputs.buyers.name))
    return PairScores(pairs=pairs, unmet=weak, unmet_by_buyer=by_buyer, unmet_by_category=by_category)


def _short(text: Any, width: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _describe_pairs(pairs: pd.DataFrame, inputs: EventInputs) -> pd.DataFrame:
    """Add party names and ``detail``: the needs and products behind each pair, in words."""
    pairs = pairs.copy()
    pairs.insert(1, "buyer", pairs["buyer_id"].map(inputs.buyers.name))
    pairs.insert(3, "supplier", pairs["supplier_id"].map(inputs.suppliers.name))
    product = inputs.product_names
    need = dict(zip(inputs.need_table["need_id"], inputs.need_table["need_text"]))
    details = []
    for n_ids, i_ids in zip(pairs["need_ids"], pairs["item_ids"]):
        rows = list(zip(n_ids.split(";"), i_ids.split(";")))
        text = " | ".join(f"{_short(need.get(n, n), 40)} → {_short(product.get(i, i), 50)}" for n, i in rows[:3])
        details.append(text + (f" | … (+{len(rows) - 3})" if len(rows) > 3 else ""))
    pairs["detail"] = details
    return pairs
