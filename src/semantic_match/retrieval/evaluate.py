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

import hashlib
import json
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from ..errors import InputError, SemanticMatchError, format_list
from ..io.catalog import TableSource, read_table

__all__ = ["evaluate", "EvalResult", "load_qrels", "bootstrap_ci", "paired_bootstrap", "PairedDiff",
           "auroc", "auroc_ci", "no_match_auroc", "AurocCI", "METRICS",
           "frozen_record", "check_frozen", "FrozenSplitError"]

#: The per-need metrics of :func:`evaluate`, in reporting order.
METRICS = ("ndcg@10", "recall@10", "recall@50", "mrr")


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


def load_qrels(source: TableSource) -> pd.DataFrame:
    """Read and validate judgments with columns ``need_id, item_id, grade``."""
    frame = source.copy() if isinstance(source, pd.DataFrame) else read_table(
        source, dtype={"need_id": str, "item_id": str})
    missing = [c for c in ("need_id", "item_id", "grade") if c not in frame.columns]
    if missing:
        raise InputError(f"judgments are missing column(s) {missing}; columns are "
                         f"{format_list(list(frame.columns), 12)}; expected need_id, item_id, grade")
    frame = frame[["need_id", "item_id", "grade"]].copy()
    frame["need_id"] = frame["need_id"].astype(str)
    frame["item_id"] = frame["item_id"].astype(str)
    grades = pd.to_numeric(frame["grade"], errors="coerce")
    bad = frame.index[grades.isna() | ~grades.isin([0, 1, 2])]
    if len(bad):
        raise InputError(f"judgments have {len(bad)} grades that are not 0, 1 or 2, rows "
                         f"{format_list(list(bad))}")
    frame["grade"] = grades.astype(int)
    dup = frame.duplicated(["need_id", "item_id"], keep=False)
    if dup.any():
        pairs = frame.loc[dup, ["need_id", "item_id"]].drop_duplicates().itertuples(index=False)
        raise InputError(f"judgments list some (need_id, item_id) pairs twice: "
                         f"{format_list([tuple(p) for p in pairs])}; keep one grade per pair")
    return frame


def _dcg(gains: np.ndarray) -> float:
    return float(np.sum(gains / np.log2(np.arange(2, len(gains) + 2))))


def evaluate(qrels: TableSource, run: pd.DataFrame | None = None, *, matcher=None,
             needs: TableSource | None = None, text_cols: str | Sequence[str] | None = None,
             id_col: str | None = None, depth: int = 50, min_grade: int = 1,
             text_col: str | Sequence[str] | None = None, ci: bool = False, n_boot: int = 2000,
             seed: int = 0, alpha: float = 0.05) -> EvalResult:
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
        raise InputError(f"the run needs columns need_id, item_id and rank or score; it has "
                         f"{format_list(list(run.columns), 12)}")
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
            result.no_match = no_match_auroc(judged_in_run, run, score_col="confidence", min_grade=min_grade,
                                             n=n_boot, seed=seed, alpha=alpha)
    return result


# ---------------------------------------------------------------- bootstrap

def _values(per_need, metric: str | None) -> np.ndarray:
    if isinstance(per_need, pd.DataFrame):
        if metric is None or metric not in per_need.columns:
            raise InputError(f"metric {metric!r} is not a column of the per-need table; columns are "
                             f"{format_list(list(per_need.columns), 12)}")
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


def bootstrap_ci(per_need, metric: str | None = None, *, n: int = 2000, seed: int = 0,
                 alpha: float = 0.05) -> tuple[float, float]:
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


def paired_bootstrap(per_need_a, per_need_b, metric: str, *, n: int = 2000, seed: int = 0,
                     alpha: float = 0.05) -> PairedDiff:
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
        raise InputError(f"the two runs have {metric} values for different needs (only in a: "
                         f"{format_list(only_a)}; only in b: {format_list(only_b)}); score both against "
                         f"the same judgments and needs")
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


def no_match_auroc(qrels: TableSource, run: pd.DataFrame, *, score_col: str = "confidence",
                   min_grade: int = 1, n: int = 2000, seed: int = 0, alpha: float = 0.05) -> AurocCI:
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
    return auroc_ci(top.reindex(needs).to_numpy(dtype=float), has_rel.reindex(needs).to_numpy(),
                    n=n, seed=seed, alpha=alpha)


# ---------------------------------------------------------------- frozen split

class FrozenSplitError(SemanticMatchError, RuntimeError):
    """The frozen test split of an evaluation set was edited, or a tuning step asked for it."""


def _default_eval_dir() -> Path:
    # src/semantic_match/retrieval/evaluate.py -> the repository's data/eval
    return Path(__file__).resolve().parents[3] / "data" / "eval"


def _canonical(frame: pd.DataFrame, sort_cols: Sequence[str]) -> str:
    return frame.sort_values(list(sort_cols), kind="stable").to_csv(index=False, lineterminator="\n")


def frozen_record(needs: pd.DataFrame, qrels: pd.DataFrame, *, split: str = "test",
                  id_col: str = "eval_id", columns: Sequence[str] | None = None) -> dict:
    """Need ids and SHA-256 checksums of one split of an evaluation set.

    ``needs`` and ``qrels`` are read as text (``dtype=str``, empty cells as
    ""). The canonical text of the needs is the CSV (``\\n`` line ends, no
    index) of the split's rows with ``columns`` (default: all), sorted by
    ``id_col``; that of the judgments is ``need_id,item_id,grade`` of the
    split's needs, grades as integers, sorted by need and item.
    """
    cols = list(columns) if columns is not None else list(needs.columns)
    missing = [c for c in [*cols, "split", id_col] if c not in needs.columns]
    if missing:
        raise InputError(f"the needs table is missing column(s) {missing}")
    part = needs[needs["split"].astype(str) == split].astype(str)
    ids = sorted(part[id_col])
    q = qrels[qrels["need_id"].astype(str).isin(set(ids))][["need_id", "item_id", "grade"]].copy()
    q["need_id"] = q["need_id"].astype(str)
    q["item_id"] = q["item_id"].astype(str)
    q["grade"] = pd.to_numeric(q["grade"]).astype(int)
    needs_text = _canonical(part[cols], [id_col])
    qrels_text = _canonical(q, ["need_id", "item_id"])
    rel = set(q.loc[q["grade"] >= 1, "need_id"])
    return {"split": split, "id_col": id_col, "columns": cols, "needs": len(ids),
            "needs_with_relevant": sum(i in rel for i in ids), "judgments": len(q),
            "needs_sha256": hashlib.sha256(needs_text.encode("utf-8")).hexdigest(),
            "qrels_sha256": hashlib.sha256(qrels_text.encode("utf-8")).hexdigest(),
            "need_ids": ids}


def _read_set(eval_dir: Path, set_name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    needs = pd.read_csv(eval_dir / f"{set_name}_needs.csv", dtype=str, keep_default_na=False)
    qrels = pd.read_csv(eval_dir / f"{set_name}_qrels.csv", dtype=str, keep_default_na=False)
    return needs, qrels


def check_frozen(set_name: str, eval_dir: str | Path | None = None) -> dict:
    """Recompute the frozen test split of ``set_name`` ("kbki", "market") and compare.

    Reads ``frozen.json``, ``<set>_needs.csv`` and ``<set>_qrels.csv`` from
    ``eval_dir`` (default: the repository's ``data/eval``).

    Returns
    -------
    dict
        The frozen record, when everything matches.

    Raises
    ------
    FrozenSplitError
        When the test need ids, the test needs' rows or their judgments differ
        from the frozen checksums: the test split was edited (re-freezing is a
        deliberate, documented step; see ``data/eval/FROZEN.md``).
    """
    folder = Path(eval_dir) if eval_dir is not None else _default_eval_dir()
    path = folder / "frozen.json"
    if not path.exists():
        raise InputError(f"no frozen.json in {folder}; pass eval_dir=... (the folder with the evaluation sets)")
    frozen = json.loads(path.read_text(encoding="utf-8"))
    if set_name not in frozen.get("sets", {}):
        raise InputError(f"{path} has no set {set_name!r}; it has {format_list(sorted(frozen.get('sets', {})))}")
    want = frozen["sets"][set_name]
    needs, qrels = _read_set(folder, set_name)
    got = frozen_record(needs, qrels, split=want["split"], id_col=want["id_col"], columns=want["columns"])
    problems = []
    if got["need_ids"] != want["need_ids"]:
        added = sorted(set(got["need_ids"]) - set(want["need_ids"]))
        removed = sorted(set(want["need_ids"]) - set(got["need_ids"]))
        problems.append(f"test need ids differ (now in test: {format_list(added)}; "
                        f"no longer in test: {format_list(removed)})")
    if got["needs_sha256"] != want["needs_sha256"]:
        problems.append("the test needs' rows changed")
    if got["qrels_sha256"] != want["qrels_sha256"]:
        problems.append(f"the test needs' judgments changed ({want['judgments']} frozen, {got['judgments']} now)")
    if problems:
        raise FrozenSplitError(f"{set_name}: the frozen test split was edited: " + "; ".join(problems)
                               + ". Undo the edit, or re-freeze on purpose (data/eval/FROZEN.md).")
    return want
