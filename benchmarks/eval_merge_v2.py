"""Phase 2 of the fairer evaluation (issue 13): merge the judged packets, measure agreement.

    .venv/bin/python benchmarks/eval_merge_v2.py [--dry-run]

Reads build/judge/manifest.json, the packets build/judge/*.jsonl and the judges' grades
build/judge/out/<packet>.csv (``need_id,item_id,grade``), and:

1. validates every grades file against its packet: exactly the packet's (need_id, item_id)
   pairs, each once, grades in {0, 1, 2}; the packets' checksums must match the manifest;
2. appends the first-round judgments (packets of kind "first") to
   data/eval/{kbki,market}_qrels.csv, keeping the existing rows; a pair already there must
   carry the same grade (so running it twice changes nothing); rows are sorted by
   (need_id, item_id);
3. writes the second judge's grades of the double-judging sample (packets of kind
   "double") to data/eval/double_judged.csv (``need_id,item_id,grade_second``); they
   do not enter the qrels;
4. compares the second judge with the primary judgment of each double-judged pair (the
   merged qrels: the round-1 grade or the new first-round grade): Cohen's kappa weighted
   quadratically on 0/1/2, unweighted kappa on relevant (grade >= 1), raw agreement and
   the 3 x 3 confusion table, per set;
5. writes the counts and agreement to build/judge/merge_report.json and prints them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT  # noqa: E402

EVAL = ROOT / "data" / "eval"
JUDGE = ROOT / "build" / "judge"


def cohen_kappa(a, b, *, weights: str | None = None, labels=(0, 1, 2)) -> float:
    """Cohen's kappa of two raters; ``weights='quadratic'`` for the weighted form."""
    a, b = np.asarray(a), np.asarray(b)
    k = len(labels)
    pos = {v: i for i, v in enumerate(labels)}
    conf = np.zeros((k, k))
    for x, y in zip(a, b):
        conf[pos[x], pos[y]] += 1
    n = conf.sum()
    expected = np.outer(conf.sum(1), conf.sum(0)) / n
    i, j = np.indices((k, k))
    if weights is None:
        w = (i != j).astype(float)
    elif weights == "quadratic":
        w = (i - j) ** 2 / (k - 1) ** 2
    else:
        raise ValueError(weights)
    return float(1 - (w * conf).sum() / (w * expected).sum())


def read_packet(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def validate(packet: dict) -> pd.DataFrame:
    path = JUDGE / packet["file"]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != packet["sha256"]:
        raise SystemExit(f"{packet['file']}: the packet changed since the manifest was written")
    recs = read_packet(path)
    expected = {(r["need_id"], c["item_id"]) for r in recs for c in r["candidates"]}
    out_path = JUDGE / "out" / packet["file"].replace(".jsonl", ".csv")
    out = pd.read_csv(out_path, dtype=str, keep_default_na=False)
    if list(out.columns) != ["need_id", "item_id", "grade"]:
        raise SystemExit(f"{out_path.name}: columns {list(out.columns)}, expected need_id,item_id,grade")
    got = list(zip(out["need_id"], out["item_id"]))
    dup = len(got) - len(set(got))
    missing, extra = expected - set(got), set(got) - expected
    bad = out[~out["grade"].isin(["0", "1", "2"])]
    if dup or missing or extra or len(bad):
        raise SystemExit(
            f"{out_path.name}: {dup} duplicate, {len(missing)} missing, {len(extra)} extra pairs, "
            f"{len(bad)} bad grades (e.g. {sorted(missing)[:3]} {sorted(extra)[:3]} "
            f"{bad.head(3).to_dict('records')})"
        )
    if {r["need_id"] for r in recs} != set(packet["need_ids"]):
        raise SystemExit(f"{packet['file']}: needs differ from the manifest")
    out["grade"] = out["grade"].astype(int)
    return out


def merge(name: str, first: pd.DataFrame, dry_run: bool) -> tuple[pd.DataFrame, dict]:
    path = EVAL / f"{name}_qrels.csv"
    old = pd.read_csv(path, dtype={"need_id": str, "item_id": str})
    key_old = dict(zip(zip(old["need_id"], old["item_id"]), old["grade"]))
    clash = [
        (k, key_old[k], g)
        for k, g in zip(zip(first["need_id"], first["item_id"]), first["grade"])
        if k in key_old and key_old[k] != g
    ]
    if clash:
        raise SystemExit(
            f"{name}: {len(clash)} judged pairs are already in the qrels with another grade, e.g. {clash[:3]}"
        )
    new = first[[k not in key_old for k in zip(first["need_id"], first["item_id"])]]
    merged = (
        pd.concat([old, new[["need_id", "item_id", "grade"]]], ignore_index=True)
        .sort_values(["need_id", "item_id"], kind="stable")
        .reset_index(drop=True)
    )
    if merged.duplicated(["need_id", "item_id"]).any():
        raise SystemExit(f"{name}: duplicate pairs after the merge")
    if not dry_run:
        merged.to_csv(path, index=False)
    return merged, {
        "qrels_before": len(old),
        "appended": len(new),
        "already_there": len(first) - len(new),
        "qrels_after": len(merged),
    }


def counts(name: str, qrels: pd.DataFrame) -> dict:
    needs = pd.read_csv(EVAL / f"{name}_needs.csv", dtype=str)
    unknown = set(qrels["need_id"]) - set(needs["eval_id"])
    if unknown:
        raise SystemExit(f"{name}: judgments for unknown needs {sorted(unknown)[:5]}")
    rel = set(qrels.loc[qrels["grade"] >= 1, "need_id"])
    judged = set(qrels["need_id"])
    out = {
        "needs": len(needs),
        "judged_pairs": len(qrels),
        "grade_2": int((qrels["grade"] == 2).sum()),
        "grade_1": int((qrels["grade"] == 1).sum()),
        "grade_0": int((qrels["grade"] == 0).sum()),
        "needs_without_judgment": int((~needs["eval_id"].isin(judged)).sum()),
    }
    for split in ("dev", "test"):
        ids = needs.loc[needs["split"] == split, "eval_id"]
        q = qrels[qrels["need_id"].isin(set(ids))]
        out[split] = {
            "needs": len(ids),
            "with_relevant": int(ids.isin(rel).sum()),
            "pairs": len(q),
            "grade_2": int((q["grade"] == 2).sum()),
            "grade_1": int((q["grade"] == 1).sum()),
        }
    return out


def agreement(second: pd.DataFrame, qrels: pd.DataFrame, round1: set) -> dict:
    primary = dict(zip(zip(qrels["need_id"], qrels["item_id"]), qrels["grade"]))
    keys = list(zip(second["need_id"], second["item_id"]))
    missing = [k for k in keys if k not in primary]
    if missing:
        raise SystemExit(f"{len(missing)} double-judged pairs have no primary judgment, e.g. {missing[:3]}")
    a = np.array([primary[k] for k in keys])
    b = second["grade"].to_numpy()
    conf = pd.crosstab(pd.Series(a, name="primary"), pd.Series(b, name="second")).reindex(
        index=[0, 1, 2], columns=[0, 1, 2], fill_value=0
    )
    from_round1 = np.array([k in round1 for k in keys])
    res = {
        "needs": int(second["need_id"].nunique()),
        "pairs": len(keys),
        "pairs_primary_round1": int(from_round1.sum()),
        "kappa_quadratic_012": round(cohen_kappa(a, b, weights="quadratic"), 4),
        "kappa_relevant": round(cohen_kappa(a >= 1, b >= 1, labels=(False, True)), 4),
        "kappa_unweighted_012": round(cohen_kappa(a, b), 4),
        "raw_agreement_012": round(float((a == b).mean()), 4),
        "raw_agreement_relevant": round(float(((a >= 1) == (b >= 1)).mean()), 4),
        "relevant_primary": int((a >= 1).sum()),
        "relevant_second": int((b >= 1).sum()),
        "relevant_both": int(((a >= 1) & (b >= 1)).sum()),
        "confusion_primary_rows_second_cols": conf.to_numpy().tolist(),
    }
    # 95 % intervals by resampling the double-judged needs (pairs of a need stay together).
    need_of = second["need_id"].to_numpy()
    groups = [np.flatnonzero(need_of == n) for n in pd.unique(need_of)]
    rng = np.random.default_rng(0)
    boots = {"quadratic": [], "relevant": []}
    for _ in range(2000):
        idx = np.concatenate([groups[i] for i in rng.integers(0, len(groups), len(groups))])
        if len(set(a[idx]) | set(b[idx])) < 2 or len(set(a[idx] >= 1) | set(b[idx] >= 1)) < 2:
            continue
        boots["quadratic"].append(cohen_kappa(a[idx], b[idx], weights="quadratic"))
        boots["relevant"].append(cohen_kappa(a[idx] >= 1, b[idx] >= 1, labels=(False, True)))
    res["kappa_quadratic_012_ci95"] = [round(float(x), 4) for x in np.nanpercentile(boots["quadratic"], [2.5, 97.5])]
    res["kappa_relevant_ci95"] = [round(float(x), 4) for x in np.nanpercentile(boots["relevant"], [2.5, 97.5])]
    for label, mask in (("primary_round1", from_round1), ("primary_new", ~from_round1)):
        if mask.sum() and len(set(a[mask]) | set(b[mask])) > 1:
            res[f"kappa_quadratic_012_{label}"] = round(cohen_kappa(a[mask], b[mask], weights="quadratic"), 4)
            res[f"kappa_relevant_{label}"] = round(cohen_kappa(a[mask] >= 1, b[mask] >= 1, labels=(False, True)), 4)
    # Needs-level: does each rater find the need has a relevant item at all?
    has_a = pd.Series(a >= 1).groupby(second["need_id"].to_numpy()).any()
    has_b = pd.Series(b >= 1).groupby(second["need_id"].to_numpy()).any()
    res["needs_with_relevant_primary"] = int(has_a.sum())
    res["needs_with_relevant_second"] = int(has_b.sum())
    res["needs_agree_on_has_relevant"] = int((has_a == has_b).sum())
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dry-run", action="store_true", help="validate and report; write nothing")
    args = ap.parse_args()
    manifest = json.loads((JUDGE / "manifest.json").read_text())
    report: dict = {"sets": {}}
    doubles = []
    for name in ("kbki", "market"):
        packets = [p for p in manifest["packets"] if p["set"] == name]
        first = pd.concat([validate(p) for p in packets if p["kind"] == "first"], ignore_index=True)
        if first.duplicated(["need_id", "item_id"]).any():
            raise SystemExit(f"{name}: a pair appears in two first-round packets")
        if len(first) != manifest["sets"][name]["to_judge_pairs"]:
            raise SystemExit(
                f"{name}: {len(first)} first-round pairs, manifest says {manifest['sets'][name]['to_judge_pairs']}"
            )
        old = pd.read_csv(EVAL / f"{name}_qrels.csv", dtype={"need_id": str, "item_id": str})
        new_keys = set(zip(first["need_id"], first["item_id"]))
        round1 = set(zip(old["need_id"], old["item_id"])) - new_keys
        merged, merge_info = merge(name, first, args.dry_run)
        second = pd.concat([validate(p) for p in packets if p["kind"] == "double"], ignore_index=True)
        doubles.append(second.rename(columns={"grade": "grade_second"}))
        report["sets"][name] = {
            "first_round_pairs": len(first),
            "first_round_grades": {str(g): int((first["grade"] == g).sum()) for g in (0, 1, 2)},
            **merge_info,
            **counts(name, merged),
            "agreement": agreement(second, merged, round1),
        }
    # need ids are unique across the sets (K... and M...), so no set column is needed.
    dj = pd.concat(doubles, ignore_index=True)[["need_id", "item_id", "grade_second"]]
    dj = dj.sort_values(["need_id", "item_id"]).reset_index(drop=True)
    if not args.dry_run:
        dj.to_csv(EVAL / "double_judged.csv", index=False)
        (JUDGE / "merge_report.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
