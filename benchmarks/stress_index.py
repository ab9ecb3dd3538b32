"""Stress the index folder protocol: readers while a writer saves, and kill -9 at random moments.

    python benchmarks/stress_index.py readers --loads 10000 --every 0.02
    python benchmarks/stress_index.py kills --kills 200

``readers``: one writer process saves one of two versions of the sample catalogue (same ids,
different texts and order) every ``--every`` seconds; this process loads the index ``--loads``
times and checks every search against the version the loaded items claim. Counts wrong
results, mixed versions and errors (``IndexChangedError`` is the documented retryable one).

``kills``: a child process saves in a loop and is killed with SIGKILL at a random moment,
``--kills`` times; after each kill the index must load as one whole version, and after a final
save no scratch folder may remain. The results are recorded in docs/reliability.md.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from semantic_match import Matcher  # noqa: E402
from semantic_match.retrieval.storage.reader import IndexChangedError  # noqa: E402
from tests.support import HashEncoder  # noqa: E402

CATALOG = ROOT / "data" / "catalog_lampung.csv"
QUERIES = ["seminar kit bernuansa tapis", "mesin perontok padi", "kopi robusta bubuk"]


def versions() -> list[pd.DataFrame]:
    cat = pd.read_csv(CATALOG, dtype=str)[["product_id", "name", "description", "supplier"]]
    return [cat, cat.iloc[::-1].assign(name=lambda d: "v2 " + d["name"])]


def build(frame: pd.DataFrame) -> Matcher:
    return Matcher.from_catalog(
        frame, id_col="product_id", text_cols=["name", "description"], encoder=HashEncoder(), show_progress=False
    )


WRITER = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {root!r}); sys.path.insert(0, {bench!r})
    from stress_index import build, versions
    ms = [build(v) for v in versions()]
    print("ready", flush=True)
    i = 0
    while True:
        ms[i % 2].save({folder!r})
        i += 1
        print(i, flush=True)
        time.sleep({every})
""")


def readers(args) -> None:
    folder = Path(tempfile.mkdtemp()) / "idx"
    ms = [build(v) for v in versions()]
    expected = [{q: m.search(q, k=5)[["item_id", "score"]] for q in QUERIES} for m in ms]
    ms[0].save(folder)
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            WRITER.format(root=str(ROOT), bench=str(ROOT / "benchmarks"), folder=str(folder), every=args.every),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout.readline().strip() == "ready"
    wrong = mixed = retryable = other = 0
    seen = [0, 0]
    t0 = time.perf_counter()
    try:
        for i in range(args.loads):
            try:
                m = Matcher.load(folder, encoder=HashEncoder())
            except IndexChangedError:
                retryable += 1
                continue
            except Exception as exc:  # noqa: BLE001 - counted and shown
                other += 1
                print("error:", type(exc).__name__, exc)
                continue
            names = m.items["name"]
            v2 = names.str.startswith("v2 ")
            if v2.any() and not v2.all():
                mixed += 1
                continue
            version = int(v2.all())
            seen[version] += 1
            for q, want in expected[version].items():
                got = m.search(q, k=5)[["item_id", "score"]]
                if not got.equals(want):
                    wrong += 1
            if (i + 1) % 1000 == 0:
                print(f"{i + 1} loads, {time.perf_counter() - t0:.0f} s", flush=True)
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    saves = 0
    for line in writer.stdout:
        if line.strip().isdigit():
            saves = int(line)
    print(
        "| loads | saves by the writer | version A / B loaded | wrong results | mixed versions | "
        "retryable errors | other errors | seconds |"
    )
    print("|---|---|---|---|---|---|---|---|")
    print(
        f"| {args.loads:,} | {saves:,} (every {args.every * 1000:.0f} ms) | {seen[0]:,} / {seen[1]:,} | {wrong} | "
        f"{mixed} | {retryable} | {other} | {time.perf_counter() - t0:.0f} |"
    )


SAVER = textwrap.dedent("""
    import sys
    sys.path.insert(0, {root!r}); sys.path.insert(0, {bench!r})
    from stress_index import build, versions
    ms = [build(v) for v in versions()]
    i = 0
    print("ready", flush=True)
    while True:
        ms[i % 2].save({folder!r})
        i += 1
""")


def kills(args) -> None:
    folder = Path(tempfile.mkdtemp()) / "idx"
    build(versions()[0]).save(folder)
    rng = np.random.default_rng(args.seed)
    bad = scratch_seen = 0
    t0 = time.perf_counter()
    for i in range(args.kills):
        proc = subprocess.Popen(
            [sys.executable, "-c", SAVER.format(root=str(ROOT), bench=str(ROOT / "benchmarks"), folder=str(folder))],
            stdout=subprocess.PIPE,
            text=True,
        )
        proc.stdout.readline()
        time.sleep(float(rng.uniform(0.0, 0.4)))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        scratch_seen += any(p.name.startswith(".tmp-") for p in folder.iterdir())
        try:
            m = Matcher.load(folder, encoder=HashEncoder())
            v2 = m.items["name"].str.startswith("v2 ")
            if v2.any() and not v2.all():
                bad += 1
        except Exception as exc:  # noqa: BLE001 - counted and shown
            bad += 1
            print("error after kill", i, type(exc).__name__, exc)
    build(versions()[0]).save(folder)
    left = [p.name for p in folder.iterdir() if p.name.startswith(".tmp-")]
    print(
        "| kills | unloadable or mixed after a kill | kills that left scratch | scratch after the next save | seconds |"
    )
    print("|---|---|---|---|---|")
    print(f"| {args.kills} | {bad} | {scratch_seen} | {len(left)} | {time.perf_counter() - t0:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("readers")
    p.add_argument("--loads", type=int, default=10_000)
    p.add_argument("--every", type=float, default=0.02)
    p.set_defaults(func=readers)
    p = sub.add_parser("kills")
    p.add_argument("--kills", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=kills)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
