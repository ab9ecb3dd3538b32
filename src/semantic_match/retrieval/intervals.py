"""Uncertainty of evaluation results: bootstrap intervals, paired differences, AUROC.

:func:`bootstrap_ci` (percentile interval of a mean metric, resampling needs),
:func:`paired_bootstrap` (difference of two runs on the same needs), :func:`auroc_ci` and
:func:`no_match_auroc` (how well a score separates needs with a relevant item from needs
without one).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from ..errors import InputError, format_list
from ..io.catalog import TableSource
from .qrels import load_qrels

__all__ = ["bootstrap_ci", "paired_bootstrap", "PairedDiff", "auroc", "auroc_ci", "no_match_auroc", "AurocCI"]


def _values(per_need, metric: str | None) -> np.ndarray:
    if isinstance(per_need, pd.DataFrame):
        if metric is None or metric not in per_need.columns:
            raise InputError(
                f"metric {metric!r} is not a column of the per-need table; columns are "
                f"{format_list(list(per_need.columns), 12)}"
            )
        values = per_need[metric]
    else:
        values = per_need
    x = np.asarray(values, dtype=float)
    return x[~np.isnan(x)]


def _check_boot(n: int, alpha: float) -> None:
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise InputError(f"n (bootstrap resamples) must be a positive integer, got {n!r}")
    if not 0 < alpha < 1:
        raise InputError(f"alpha must be between 0 and 1, got {alpha!r}")


def _resampled_means(x: np.ndarray, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    means = np.empty(n)
    step = max(1, 2_000_000 // max(len(x), 1))  # bound the (resamples x needs) index array
    for start in range(0, n, step):
        stop = min(n, start + step)
        means[start:stop] = x[rng.integers(0, len(x), size=(stop - start, len(x)))].mean(axis=1)
    return means


def bootstrap_ci(
    per_need, metric: str | None = None, *, n: int = 2000, seed: int = 0, alpha: float = 0.05
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of a per-need metric.

    Needs are resampled with replacement ``n`` times; the interval is the
    ``alpha/2`` and ``1 - alpha/2`` quantiles of the resampled means (95 % by
    default). NaN values (needs without a relevant item) are left out, as in
    :attr:`EvalResult.summary`.

    Parameters
    ----------
    per_need : DataFrame or array-like
        :attr:`EvalResult.per_need` (then ``metric`` names the column), or the
        per-need values themselves.
    metric : str, optional
        Column of ``per_need``, e.g. ``"ndcg@10"``.

    Returns
    -------
    (lo, hi) : tuple of float
        ``(nan, nan)`` when there is no value.

    Examples
    --------
    >>> res = evaluate(qrels, run)
    >>> bootstrap_ci(res.per_need, "ndcg@10")
    (0.440..., 0.566...)
    """
    _check_boot(n, alpha)
    x = _values(per_need, metric)
    if len(x) == 0:
        return (float("nan"), float("nan"))
    if np.all(x == x[0]):  # constant: every resample has the same mean
        return (float(x[0]), float(x[0]))
    lo, hi = np.quantile(_resampled_means(x, n, seed), [alpha / 2, 1 - alpha / 2])
    return (float(lo), float(hi))


class PairedDiff(NamedTuple):
    """Mean per-need difference of two runs (``a - b``) and its bootstrap interval."""

    diff: float
    lo: float
    hi: float
    needs: int
    #: Two-sided bootstrap p-value: twice the smaller share of resampled differences on either side of 0.
    p: float


def paired_bootstrap(
    per_need_a, per_need_b, metric: str, *, n: int = 2000, seed: int = 0, alpha: float = 0.05
) -> PairedDiff:
    """Difference of two runs on the same needs, with a paired bootstrap interval.

    Each resample draws needs with replacement and takes the mean of the
    per-need differences ``a - b``, so that needs hard for both runs do not
    widen the interval. A gain is established at level ``alpha`` when the
    interval excludes 0.

    Parameters
    ----------
    per_need_a, per_need_b : DataFrame
        :attr:`EvalResult.per_need` of two runs scored against the same
        judgments (matched on ``need_id``).
    metric : str
        e.g. ``"ndcg@10"``.

    Returns
    -------
    PairedDiff
        ``diff`` (mean of a - b), ``lo``, ``hi``, ``needs`` and ``p``.
    """
    _check_boot(n, alpha)
    cols = []
    for name, frame in (("per_need_a", per_need_a), ("per_need_b", per_need_b)):
        if not isinstance(frame, pd.DataFrame) or "need_id" not in frame.columns or metric not in frame.columns:
            raise InputError(f"{name} must be a per-need table with columns need_id and {metric!r}")
        if frame["need_id"].duplicated().any():
            raise InputError(f"{name} lists some needs twice")
        col = frame.set_index(frame["need_id"].astype(str))[metric].astype(float).dropna()
        cols.append(col)
    a, b = cols
    if set(a.index) != set(b.index):
        only_a, only_b = sorted(set(a.index) - set(b.index)), sorted(set(b.index) - set(a.index))
        raise InputError(
            f"the two runs have {metric} values for different needs (only in a: "
            f"{format_list(only_a)}; only in b: {format_list(only_b)}); score both against "
            f"the same judgments and needs"
        )
    d = (a - b.reindex(a.index)).to_numpy()
    if len(d) == 0:
        return PairedDiff(float("nan"), float("nan"), float("nan"), 0, float("nan"))
    diff = float(d.mean())
    if np.all(d == d[0]):
        return PairedDiff(diff, float(d[0]), float(d[0]), len(d), 0.0 if d[0] != 0 else 1.0)
    means = _resampled_means(d, n, seed)
    lo, hi = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    p = float(min(1.0, 2 * min((means <= 0).mean(), (means >= 0).mean())))
    return PairedDiff(diff, float(lo), float(hi), len(d), p)


class AurocCI(NamedTuple):
    """AUROC with its bootstrap interval (needs resampled)."""

    auroc: float
    lo: float
    hi: float
    positives: int
    negatives: int


def auroc(scores, labels) -> float:
    """Area under the ROC curve: chance that a positive scores above a negative (ties count half)."""
    from scipy.stats import rankdata

    s = np.asarray(scores, dtype=float)
    y = np.asarray(labels, dtype=bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    r = rankdata(s)
    return float((r[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def auroc_ci(scores, labels, *, n: int = 2000, seed: int = 0, alpha: float = 0.05) -> AurocCI:
    """AUROC of ``scores`` for ``labels`` (True = positive) with a percentile bootstrap interval.

    Resamples the rows (needs) with replacement; resamples with only one class
    are drawn again (they have no AUROC). Rows with a NaN score are dropped.
    """
    _check_boot(n, alpha)
    s = np.asarray(scores, dtype=float)
    y = np.asarray(labels, dtype=bool)
    if s.shape != y.shape:
        raise InputError(f"scores and labels differ in length ({len(s)} vs {len(y)})")
    keep = ~np.isnan(s)
    s, y = s[keep], y[keep]
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    point = auroc(s, y)
    if n_pos == 0 or n_neg == 0:
        return AurocCI(point, float("nan"), float("nan"), n_pos, n_neg)
    rng = np.random.default_rng(seed)
    values: list[float] = []
    while len(values) < n:
        idx = rng.integers(0, len(s), size=len(s))
        if y[idx].all() or not y[idx].any():
            continue
        values.append(auroc(s[idx], y[idx]))
    lo, hi = np.quantile(values, [alpha / 2, 1 - alpha / 2])
    return AurocCI(point, float(lo), float(hi), n_pos, n_neg)


def no_match_auroc(
    qrels: TableSource,
    run: pd.DataFrame,
    *,
    score_col: str = "confidence",
    min_grade: int = 1,
    n: int = 2000,
    seed: int = 0,
    alpha: float = 0.05,
) -> AurocCI:
    """How well the rank-1 score separates needs with a relevant item from needs without one.

    Every judged need of ``qrels`` that the run ranks is one row: positive when
    it has an item of grade >= ``min_grade``, scored by ``score_col`` of its
    rank-1 result (e.g. the calibrated ``confidence`` of :meth:`Matcher.match`,
    or a raw channel score). AUROC 0.5 is chance; the "no good match" flag
    works only as well as this separation.

    Returns
    -------
    AurocCI
        ``auroc, lo, hi`` (bootstrap over needs) and the numbers of needs with
        (``positives``) and without (``negatives``) a relevant item.
    """
    q = load_qrels(qrels)
    if score_col not in run.columns or "need_id" not in run.columns:
        raise InputError(f"the run needs columns need_id and {score_col!r}")
    r = run.copy()
    r["need_id"] = r["need_id"].astype(str)
    if "rank" in r.columns:
        r = r.sort_values(["need_id", "rank"], kind="stable")
    elif "score" in r.columns:
        r = r.sort_values(["need_id", "score"], ascending=[True, False], kind="stable")
    else:
        raise InputError("the run needs a rank or score column to find each need's rank-1 result")
    top = r.groupby("need_id", sort=False)[score_col].first()
    has_rel = q.groupby("need_id")["grade"].max() >= min_grade
    needs = [nid for nid in has_rel.index if nid in top.index]
    return auroc_ci(
        top.reindex(needs).to_numpy(dtype=float), has_rel.reindex(needs).to_numpy(), n=n, seed=seed, alpha=alpha
    )


# ---------------------------------------------------------------- frozen split
