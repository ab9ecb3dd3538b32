"""The frozen test split of ``data/eval``: its checksums, recomputed and compared.

No tuning, threshold or calibration may read the test needs; their rows and judgments are
frozen by SHA-256 (``data/eval/frozen.json``), and :func:`check_frozen` tells when they changed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ..errors import InputError, SemanticMatchError, format_list

__all__ = ["frozen_record", "check_frozen", "FrozenSplitError"]


class FrozenSplitError(SemanticMatchError, RuntimeError):
    """The frozen test split of an evaluation set was edited, or a tuning step asked for it."""


def _default_eval_dir() -> Path:
    # src/semantic_match/retrieval/evaluate.py -> the repository's data/eval
    return Path(__file__).resolve().parents[3] / "data" / "eval"


def _canonical(frame: pd.DataFrame, sort_cols: Sequence[str]) -> str:
    return frame.sort_values(list(sort_cols), kind="stable").to_csv(index=False, lineterminator="\n")


def frozen_record(
    needs: pd.DataFrame,
    qrels: pd.DataFrame,
    *,
    split: str = "test",
    id_col: str = "eval_id",
    columns: Sequence[str] | None = None,
) -> dict:
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
    return {
        "split": split,
        "id_col": id_col,
        "columns": cols,
        "needs": len(ids),
        "needs_with_relevant": sum(i in rel for i in ids),
        "judgments": len(q),
        "needs_sha256": hashlib.sha256(needs_text.encode("utf-8")).hexdigest(),
        "qrels_sha256": hashlib.sha256(qrels_text.encode("utf-8")).hexdigest(),
        "need_ids": ids,
    }


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
        problems.append(
            f"test need ids differ (now in test: {format_list(added)}; no longer in test: {format_list(removed)})"
        )
    if got["needs_sha256"] != want["needs_sha256"]:
        problems.append("the test needs' rows changed")
    if got["qrels_sha256"] != want["qrels_sha256"]:
        problems.append(f"the test needs' judgments changed ({want['judgments']} frozen, {got['judgments']} now)")
    if problems:
        raise FrozenSplitError(
            f"{set_name}: the frozen test split was edited: "
            + "; ".join(problems)
            + ". Undo the edit, or re-freeze on purpose (data/eval/FROZEN.md)."
        )
    return want
