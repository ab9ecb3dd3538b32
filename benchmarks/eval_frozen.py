"""The frozen test split of the evaluation sets (issue 13).

    .venv/bin/python benchmarks/eval_frozen.py check          # exit 1 if a test row was edited
    .venv/bin/python benchmarks/eval_frozen.py write [--force] # freeze (once; --force to re-freeze)

``write`` records, per set (kbki, market), the test need ids and the SHA-256 of the
canonical text of their needs rows and of their judgments (see
``semantic_match.retrieval.evaluate.frozen_record``) in data/eval/frozen.json, and
writes data/eval/FROZEN.md. ``check`` recomputes them with
``semantic_match.retrieval.evaluate.check_frozen``; tests/retrieval/test_evaluate.py
runs the same check, so an edit of the test rows fails the test suite.

Re-freezing is a deliberate step (e.g. after judging a new system's pool on purpose):
write with --force, record why in FROZEN.md's history, and never after looking at
test results to choose a setting.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT  # noqa: E402
from semantic_match.retrieval.evaluate import FrozenSplitError, check_frozen, frozen_record  # noqa: E402

EVAL = ROOT / "data" / "eval"
SETS = ("kbki", "market")
# The columns that define a need; a column added later to the needs files does not
# break the freeze, an edit of these does.
COLUMNS = ["eval_id", "need_id", "tahun", "kd_rup", "item", "spec", "satker", "klpd", "group", "split"]


def write(force: bool) -> None:
    path = EVAL / "frozen.json"
    if path.exists() and not force:
        sys.exit(f"{path} exists: the test split is already frozen (use --force to re-freeze on purpose)")
    out = {
        "created": dt.date.today().isoformat(),
        "created_by": "benchmarks/eval_frozen.py write",
        "rule": "no tuning, threshold or calibration reads these needs; report them separately from dev",
        "canonical_text": "needs: CSV of the test rows (columns listed, dtype str, empty cells ''), sorted by "
        "eval_id, '\\n' line ends, header, no index; qrels: CSV need_id,item_id,grade of "
        "the test needs, grade as int, sorted by need_id then item_id",
        "sets": {},
    }
    for name in SETS:
        needs = pd.read_csv(EVAL / f"{name}_needs.csv", dtype=str, keep_default_na=False)
        qrels = pd.read_csv(EVAL / f"{name}_qrels.csv", dtype=str, keep_default_na=False)
        rec = frozen_record(needs, qrels, split="test", id_col="eval_id", columns=COLUMNS)
        out["sets"][name] = {"needs_file": f"{name}_needs.csv", "qrels_file": f"{name}_qrels.csv", **rec}
    path.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    lines = [
        "# Frozen test split (issue 13)",
        "",
        "The `test` needs of both evaluation sets and their judgments are frozen: no tuning, threshold",
        "or calibration step reads them (benchmarks get tuning needs through",
        "`benchmarks/common.py: tuning_needs()`, which returns `dev` only and refuses `test`), and results",
        "on them are reported separately from `dev`. `frozen.json` lists the test need ids and the",
        "SHA-256 of the canonical text of their rows (see its `canonical_text`);",
        "`.venv/bin/python benchmarks/eval_frozen.py check` (and the test suite,",
        "`tests/retrieval/test_evaluate.py::test_frozen_test_split_is_unchanged`) recomputes them.",
        "",
        "| set | test needs | with a relevant item | judgments | needs SHA-256 | qrels SHA-256 |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, rec in out["sets"].items():
        lines.append(
            f"| {name} | {rec['needs']} | {rec['needs_with_relevant']} | {rec['judgments']:,} | "
            f"`{rec['needs_sha256']}` | `{rec['qrels_sha256']}` |"
        )
    lines += [
        "",
        f"Frozen on {out['created']} after merging the judgments of the six-system depth-20 pools",
        "(`benchmarks/eval_merge_v2.py`).",
        "",
        "Known exposure: the fusion weights and confidence calibration shipped before the freeze were",
        "chosen on round 1's `dev` needs (split alternating by row); 48 of the 179 KBKI and 29 of the 112",
        "marketplace test needs were among them, so test results of those defaults are slightly optimistic.",
        "",
        "Re-freezing is a deliberate step, never done after looking at test results to choose a setting:",
        "`benchmarks/eval_frozen.py write --force`, with the reason added below.",
        "",
        "## History",
        "",
        f"- {out['created']}: first freeze (v2 sets: 450 KBKI and 280 marketplace needs).",
        "",
    ]
    (EVAL / "FROZEN.md").write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {path} and {EVAL / 'FROZEN.md'}")


def check() -> int:
    bad = 0
    for name in SETS:
        try:
            rec = check_frozen(name, EVAL)
            print(f"{name}: ok ({rec['needs']} test needs, {rec['judgments']} judgments)")
        except FrozenSplitError as exc:
            print(f"{name}: FAILED: {exc}")
            bad += 1
    return 1 if bad else 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["check", "write"])
    ap.add_argument("--force", action="store_true", help="with write: re-freeze an already frozen split")
    args = ap.parse_args()
    if args.command == "write":
        write(args.force)
    else:
        sys.exit(check())


if __name__ == "__main__":
    main()
