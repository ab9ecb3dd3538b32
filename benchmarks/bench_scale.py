"""Scale benchmark: build, load, search, update and batch-match synthetic national-size catalogues.

    python benchmarks/bench_scale.py --sizes 100000 1000000

Catalogue and stand-in encoder: benchmarks/scale_data.py (real KBKI and marketplace titles plus
random attribute words; per-word random vectors, so encoding costs microseconds and is left out
of every time). Queries: real RUP 2023-2024 needs (never 2025). Each step runs in its own
process so its memory is its own:

- build: fit (encoding excluded) and save; peak RSS of the process, folder size;
- load + search: load time, RSS after load and after 100 searches (and its anonymous and mapped-file
  parts), p50/p95 latency of the
  default (candidate) path, query encoding excluded (vectors precomputed);
- exact: the same needs ranked exhaustively from the same folder (``exact=True``): recall@10
  of the default against it, and the exhaustive path's latency (the 0.1.0 way of ranking);
- update: upsert of 10,000 items (half replacing, half new) and removal of 10,000 ids, each
  followed by its save (one commit), encoding excluded;
- match: 10,000 needs matched in one call (k=10), encoding excluded.

Prints a markdown table per size; docs/benchmarks.md records the output.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "src"))

from common import require_shared, rup_needs  # noqa: E402
from scale_data import StandInEncoder, synthetic_catalog  # noqa: E402
from semantic_match import Matcher, normalize_text  # noqa: E402
from semantic_match.retrieval.encoders import Encoder  # noqa: E402

WORK = ROOT / "build" / "scale"


def rss_mb(field: str = "VmRSS") -> float:
    """Resident memory of this process; ``RssAnon`` / ``RssFile`` split it into its own memory and
    the pages of mapped files (the index folder), which other processes share."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def folder_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


class CachedEncoder(Encoder):
    """The stand-in encoder with query vectors computed beforehand, so timings leave encoding out."""

    def __init__(self, base: StandInEncoder, texts: list[str]):
        self.base = base
        self.batch_size = base.batch_size
        self.cache = {t: v for t, v in zip(texts, base.encode_queries(texts))}

    @property
    def dim(self) -> int:
        return self.base.dim

    def identity(self) -> dict:
        return self.base.identity()

    def _encode(self, texts, *, is_query):
        return np.vstack(
            [self.cache[t] if t in self.cache else self.base._encode([t], is_query=is_query)[0] for t in texts]
        )

    def encode_queries(self, texts):
        return np.vstack([self.cache[t] if t in self.cache else self.base.encode_queries([t])[0] for t in texts])


def needs(n: int) -> list[str]:
    """``n`` distinct real RUP 2023-2024 needs (never 2025), in a fixed random order.

    Item plus specification first (5,307), then the item alone, the specification alone and the
    package names, each kept only if its normalised text is new: the batch matching step ranks
    10,000 different needs, none twice (the 2023-2024 goods lines hold ~5,300 item + spec needs).
    """
    frame = rup_needs()
    packages = pd.read_csv(require_shared() / "rup_kalbar_barang_2023_2025.csv", dtype=str)
    packages = packages[packages["tahun_anggaran"].isin(["2023", "2024"])]["nama_paket"].dropna()
    specs = frame["spec"].fillna("")
    pools = [
        [f"{i} {s}".strip() for i, s in zip(frame["item"], specs)],
        list(frame["item"]),
        list(specs),
        list(packages),
    ]
    seen: set[str] = set()
    out: list[str] = []
    rng = np.random.default_rng(0)
    for pool in pools:
        for i in rng.permutation(len(pool)):
            key = normalize_text(pool[i])
            if key and key not in seen:
                seen.add(key)
                out.append(pool[i])
    if len(out) < n:
        raise SystemExit(f"only {len(out)} distinct RUP 2023-2024 needs; ask for at most that many")
    return out[:n]


def catalog(n: int) -> pd.DataFrame:
    path = WORK / f"catalog_{n}.parquet"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        synthetic_catalog(n).to_parquet(path, index=False)
    return pd.read_parquet(path)


# ---------------------------------------------------------------- steps (each in its own process)
def step_build(n: int) -> dict:
    cat = catalog(n)
    # A fresh folder: saving over an earlier index keeps its previous commit for readers.
    shutil.rmtree(WORK / f"idx_{n}", ignore_errors=True)
    enc = StandInEncoder()  # counts the seconds spent inside its encode calls
    t0 = time.perf_counter()
    m = Matcher(encoder=enc, show_progress=False).fit(cat, id_col="item_id", text_cols=["name"])
    fit = time.perf_counter() - t0
    t0 = time.perf_counter()
    m.save(WORK / f"idx_{n}")
    save = time.perf_counter() - t0
    return {
        "build_s": fit - enc.seconds + save,
        "encoding_s_excluded": enc.seconds,
        "peak_build_mb": peak_mb(),
        "folder_mb": folder_mb(WORK / f"idx_{n}"),
        "approximate": m.state_.approximate,
    }


def _load(n: int, queries: list[str], **kw) -> tuple[Matcher, float]:
    enc = CachedEncoder(StandInEncoder(), [normalize_text(q) for q in queries])
    t0 = time.perf_counter()
    m = Matcher.load(WORK / f"idx_{n}", encoder=enc, show_progress=False, **kw)
    return m, time.perf_counter() - t0


def step_search(n: int) -> dict:
    queries = needs(200)
    m, load = _load(n, queries)
    after_load = rss_mb()
    lat, top = [], {}
    for i, q in enumerate(queries):
        t0 = time.perf_counter()
        res = m.search(q, k=10)
        lat.append(time.perf_counter() - t0)
        top[q] = res["item_id"].tolist()
        if i == 99:
            after_100, anon_100, file_100 = rss_mb(), rss_mb("RssAnon"), rss_mb("RssFile")
    (WORK / f"top_{n}.json").write_text(json.dumps(top))
    return {
        "load_s": load,
        "rss_after_load_mb": after_load,
        "rss_after_100_searches_mb": after_100,
        "of_which_anonymous_mb": anon_100,
        "of_which_mapped_files_mb": file_100,
        "p50_ms": float(np.percentile(lat, 50) * 1000),
        "p95_ms": float(np.percentile(lat, 95) * 1000),
    }


def step_exact(n: int) -> dict:
    queries = needs(200)
    m, _ = _load(n, queries, exact=True)
    top = json.loads((WORK / f"top_{n}.json").read_text())
    m.search(queries[0], k=10)  # builds the exhaustive view once (not timed per query)
    lat, rec = [], []
    for q in queries:
        t0 = time.perf_counter()
        res = m.search(q, k=10)
        lat.append(time.perf_counter() - t0)
        rec.append(len(set(res["item_id"]) & set(top[q])) / max(len(res), 1))
    return {
        "recall@10_vs_exact": float(np.mean(rec)),
        "exact_p50_ms": float(np.percentile(lat, 50) * 1000),
        "exact_peak_mb": peak_mb(),
    }


def step_update(n: int) -> dict:
    cat = catalog(n)
    rng = np.random.default_rng(1)
    old = cat.iloc[rng.choice(n, 5000, replace=False)].copy()
    old["name"] = old["name"] + " revisi"
    new = synthetic_catalog(5000, seed=99)
    new["item_id"] = [f"N{i:07d}" for i in range(5000)]
    changes = pd.concat([old, new], ignore_index=True)
    enc = StandInEncoder()
    m = Matcher.load(WORK / f"idx_{n}", encoder=enc, show_progress=False)
    t0 = time.perf_counter()
    m.upsert(changes)
    m.save(WORK / f"idx_{n}")
    upsert = time.perf_counter() - t0 - enc.seconds
    replaced = set(old["item_id"])
    pool = cat["item_id"][~cat["item_id"].isin(replaced)].to_numpy()
    gone = pool[rng.choice(len(pool), min(10_000, len(pool) - 1), replace=False)].tolist()
    t0 = time.perf_counter()
    m.remove(gone)
    m.save(WORK / f"idx_{n}")
    remove = time.perf_counter() - t0
    return {"upsert_10k_s": upsert, "remove_10k_s": remove, "removed": len(gone)}


def step_match(n: int, n_needs: int = 10_000) -> dict:
    queries = needs(n_needs)
    m, _ = _load(n, queries)
    t0 = time.perf_counter()
    out = m.match(queries, k=10)
    seconds = time.perf_counter() - t0
    return {
        f"match_{n_needs}_needs_s": seconds,
        "match_needs_per_s": n_needs / seconds,
        "match_10k_projected_s": seconds * 10_000 / n_needs,
        "rows": len(out),
    }


STEPS = {"build": step_build, "search": step_search, "exact": step_exact, "update": step_update, "match": step_match}


def run_step(step: str, n: int, match_needs: int = 10_000) -> dict:
    cmd = [sys.executable, __file__, "--step", step, "--n", str(n), "--match-needs", str(match_needs)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        print(proc.stderr[-3000:], file=sys.stderr)
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--steps", nargs="+", default=list(STEPS))
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    parser.add_argument(
        "--match-needs",
        type=int,
        default=10_000,
        help="needs of the match step (default 10,000; fewer for a quick run)",
    )
    args = parser.parse_args()
    if args.step:
        extra = {"n_needs": args.match_needs} if args.step == "match" else {}
        print(json.dumps(STEPS[args.step](args.n, **extra)))
        return
    print(f"stand-in encoder (per-word random vectors; encoding excluded); {os.cpu_count()} cores")
    for n in args.sizes:
        row = {"items": n}
        for step in args.steps:
            t0 = time.perf_counter()
            row.update(run_step(step, n, args.match_needs))
            print(f"  {n:,} {step}: {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
        print(f"\n### {n:,} items\n")
        print("| measure | value |\n|---|---|")
        for k, v in row.items():
            print(f"| {k} | {v:,.3f} |" if isinstance(v, float) else f"| {k} | {v} |")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
