"""Retrieval evaluation with graded relevance judgments.

Judgments ("qrels") are rows ``need_id, item_id, grade`` with grade 0 (not
relevant), 1 (close variant, acceptable broader or narrower item) or 2
(exact). Unjudged items count as not relevant.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from ..errors import InputError, format_list
from ..io.catalog import TableSource, read_table

__all__ = ["evaluate", "EvalResult", "load_qrels"]


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
    """

    summary: dict
    per_need: pd.DataFrame

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
             text_col: str | Sequence[str] | None = None) -> EvalResult:
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
    return EvalResult(summary=summary, per_need=per_need)
