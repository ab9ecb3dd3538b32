"""Retrieval evaluation with graded relevance judgments.

Judgments ("qrels") are rows ``need_id, item_id, grade`` with grade 0 (not
relevant), 1 (close variant, acceptable broader or narrower item) or 2
(exact). Unjudged items count as not relevant.

Uncertainty: :func:`bootstrap_ci` (percentile interval of a mean metric,
resampling needs), :func:`paired_bootstrap` (difference of two runs on the
same needs), :func:`auroc_ci` and :func:`no_match_auroc` (how well a score
separates needs with a relevant item from needs without one). The frozen
test split of ``data/eval`` is checked with :func:`check_frozen`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import InputError, format_list
from ..io.catalog import TableSource
from .frozen import FrozenSplitError, check_frozen, frozen_record
from .intervals import AurocCI, PairedDiff, auroc, auroc_ci, bootstrap_ci, no_match_auroc, paired_bootstrap
from .qrels import METRICS, load_qrels

__all__ = [
    "evaluate",
    "EvalResult",
    "load_qrels",
    "bootstrap_ci",
    "paired_bootstrap",
    "PairedDiff",
    "auroc",
    "auroc_ci",
    "no_match_auroc",
    "AurocCI",
    "METRICS",
    "frozen_record",
    "check_frozen",
    "FrozenSplitError",
]


@dataclass
class EvalResult:
    """Evaluation of one run.

    Attributes
    ----------
    summary : dict
        Mean metrics over needs: ``ndcg@10``, ``recall@10``, ``recall@50``,
        ``mrr``, and counts (``needs``, ``needs_with_relevant``).
    per_need : DataFrame
        One row per judged need with the same metrics (NaN where a need has
        no relevant item) and ``n_relevant``.
    intervals : dict
        Only with ``evaluate(..., ci=True)``: metric -> ``(lo, hi)``, the 95 %
        (``1 - alpha``) bootstrap percentile interval of the mean over needs
        (see :func:`bootstrap_ci`); empty otherwise.
    no_match : AurocCI or None
        Only with ``ci=True`` and a run with a ``confidence`` column: AUROC of
        the rank-1 confidence between judged needs with and without a relevant
        item, with its interval (see :func:`no_match_auroc`).
    """

    summary: dict
    per_need: pd.DataFrame
    intervals: dict = field(default_factory=dict)
    no_match: AurocCI | None = None

    def __repr__(self) -> str:
        parts = ", ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in self.summary.items())
        return f"EvalResult({parts})"


def _dcg(gains: np.ndarray) -> float:
    return float(np.sum(gains / np.log2(np.arange(2, len(gains) + 2))))


def evaluate(
    qrels: TableSource,
    run: pd.DataFrame | None = None,
    *,
    matcher=None,
    needs: TableSource | None = None,
    text_cols: str | Sequence[str] | None = None,
    id_col: str | None = None,
    depth: int = 50,
    min_grade: int = 1,
    text_col: str | Sequence[str] | None = None,
    ci: bool = False,
    n_boot: int = 2000,
    seed: int = 0,
    alpha: float = 0.05,
) -> EvalResult:
    """Score a ranking against graded judgments.

    Parameters
    ----------
    qrels : DataFrame or file
        ``need_id, item_id, grade``.
    run : DataFrame, optional
        ``need_id, item_id`` and ``rank`` (or ``score``, higher first), e.g.
        the output of :meth:`Matcher.match`.
    matcher : Matcher, optional
        Instead of ``run``: match ``needs`` (with ``id_col``, ``text_cols``)
        to ``depth`` and score that. (``text_col`` is the deprecated name of ``text_cols``.)
    depth : int
        Results per need considered (at least 50 for Recall@50).
    min_grade : int
        Lowest grade that counts as relevant for recall and MRR.
    ci : bool
        Also compute bootstrap intervals (``EvalResult.intervals``, and
        ``EvalResult.no_match`` when the run has a ``confidence`` column) from
        ``n_boot`` resamples of the needs (``seed``, level ``1 - alpha``).
        Off by default: the point estimates do not need it.

    Returns
    -------
    EvalResult
        nDCG@10 uses gain 2^grade - 1 and the ideal ordering of every judged
        item of the need; Recall@k is the share of relevant items in the top
        k; MRR the reciprocal rank of the first relevant item. Needs without
        any relevant judged item are left out of the means (they are the test
        of "no good match", see the confidence column).

    Examples
    --------
    >>> res = evaluate("data/eval/kbki_qrels.csv", matcher=m, needs="data/eval/kbki_needs.csv",
    ...                id_col="eval_id", text_cols=["item", "spec"])
    >>> res.summary["ndcg@10"]
    """
    if text_col is not None:
        warnings.warn("evaluate(text_cols=...) is deprecated; use text_cols=...", DeprecationWarning, stacklevel=2)
        text_cols = text_col if text_cols is None else text_cols
    q = load_qrels(qrels)
    if run is None:
        if matcher is None or needs is None or text_cols is None:
            raise InputError("pass run=..., or matcher=..., needs=..., text_cols=... (and id_col=...)")
        run = matcher.match(needs, text_cols=text_cols, id_col=id_col, k=depth)
        # Only the needs given are evaluated (e.g. the test split of a judged set).
        q = q[q["need_id"].isin(set(run["need_id"].astype(str)))]
    missing = [c for c in ("need_id", "item_id") if c not in run.columns]
    if missing or not ({"rank", "score"} & set(run.columns)):
        raise InputError(
            f"the run needs columns need_id, item_id and rank or score; it has {format_list(list(run.columns), 12)}"
        )
    run = run.copy()
    run["need_id"] = run["need_id"].astype(str)
    run["item_id"] = run["item_id"].astype(str)
    if "rank" in run.columns:
        run = run.sort_values(["need_id", "rank"], kind="stable")
    else:
        run = run.sort_values(["need_id", "score"], ascending=[True, False], kind="stable")
    ranked = run.groupby("need_id", sort=False)["item_id"].apply(list).to_dict()
    grades = {n: dict(zip(g["item_id"], g["grade"])) for n, g in q.groupby("need_id", sort=False)}

    rows = []
    for need, judged in grades.items():
        items = ranked.get(need, [])[:depth]
        g = np.array([judged.get(i, 0) for i in items], dtype=float)
        relevant = sum(1 for v in judged.values() if v >= min_grade)
        ideal = np.sort(np.array([v for v in judged.values()], dtype=float))[::-1]
        row = {"need_id": need, "n_relevant": relevant, "n_ranked": len(items)}
        if relevant == 0:
            row.update({"ndcg@10": np.nan, "recall@10": np.nan, "recall@50": np.nan, "mrr": np.nan})
        else:
            idcg = _dcg(2 ** ideal[:10] - 1)
            row["ndcg@10"] = _dcg(2 ** g[:10] - 1) / idcg if idcg > 0 else np.nan
            hits = g >= min_grade
            row["recall@10"] = hits[:10].sum() / relevant
            row["recall@50"] = hits[:50].sum() / relevant
            first = np.flatnonzero(hits)
            row["mrr"] = 1.0 / (first[0] + 1) if len(first) else 0.0
        rows.append(row)
    per_need = pd.DataFrame(rows)
    with_rel = per_need[per_need["n_relevant"] > 0]
    summary = {m: float(with_rel[m].mean()) for m in ("ndcg@10", "recall@10", "recall@50", "mrr")}
    summary["needs"] = int(len(per_need))
    summary["needs_with_relevant"] = int(len(with_rel))
    result = EvalResult(summary=summary, per_need=per_need)
    if ci:
        result.intervals = {m: bootstrap_ci(with_rel, m, n=n_boot, seed=seed, alpha=alpha) for m in METRICS}
        if "confidence" in run.columns and run["confidence"].notna().any():
            judged_in_run = q[q["need_id"].isin(set(ranked))]
            result.no_match = no_match_auroc(
                judged_in_run, run, score_col="confidence", min_grade=min_grade, n=n_boot, seed=seed, alpha=alpha
            )
    return result


# ---------------------------------------------------------------- bootstrap
