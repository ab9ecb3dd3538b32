"""Command-line interface: ``semantic-match index | update | compact | search | match | evaluate | event |
adapt | convert | upgrade | info``.

A thin layer over :class:`semantic_match.Matcher`; every option maps to a library argument. This
module holds the querying commands (search, match, evaluate) and ``main``; index folders are
:mod:`.folders`', model folders :mod:`.models`', events :mod:`.events`'.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time

from ..distributed.outputs import is_folder_output
from ..distributed.partitions import table_source
from ..errors import InputError, SemanticMatchError
from ..io.catalog import read_table
from ..io.output import format_table, write_table
from ..retrieval.evaluate import evaluate
from ..retrieval.filters import parse_filters
from ..version import __version__
from .distributed import add_cluster_options, cluster_client, match_folder_command, positive_int
from .events import add_event_parser
from .folders import add_folder_parsers, add_maintenance_parsers
from .models import add_model_parsers
from .options import add_common_options, add_exact_option, add_ranking_options, load_matcher

__all__ = ["main", "build_parser"]

logger = logging.getLogger("semantic_match.cli")


_EXPLAIN = ["confidence", "dense_score", "char_score", "bm25_score", "matched_terms"]


def _columns(result, wanted: list[str] | None, default: list[str]) -> list[str]:
    cols = wanted if wanted else default
    missing = [c for c in cols if c not in result.columns]
    if missing:
        raise InputError(f"unknown column(s) {missing}; result columns are {list(result.columns)}")
    return cols


def cmd_search(args) -> int:
    matcher = load_matcher(args)
    result = matcher.search(args.query, k=args.k, filters=parse_filters(args.filter))
    if args.format == "table":
        first_text = list(matcher.catalog_.text_cols[:1])
        shown = ["rank", "item_id", "score", "confidence", *first_text]
        if args.explain:
            shown = ["rank", "item_id", "score", *_EXPLAIN, *first_text]
        extra = [c for c in (args.columns or []) if c not in shown]
        result = result[_columns(result, shown + extra, shown)]
    elif args.columns:
        result = result[["rank", "item_id", "score", *_columns(result, args.columns, [])]]
    if args.format == "table":
        print(f"query: {args.query}")
    print(format_table(result, args.format))
    return 0


def cmd_match(args) -> int:
    matcher = load_matcher(args)
    t0 = time.perf_counter()
    # The needs may be a glob or a folder of parts; matching may run on a Dask cluster.
    needs = table_source(args.needs, id_col=args.id_col, sheet=args.sheet, encoding=args.encoding)
    with cluster_client(args) as client:
        if args.out and is_folder_output(args.out):
            return match_folder_command(args, matcher, needs, client, parse_filters(args.filter))
        result = matcher.match(
            needs,
            text_cols=args.text_col,
            id_col=args.id_col,
            k=args.k,
            filters=parse_filters(args.filter),
            keep_cols=args.keep_col or (),
            sheet=args.sheet,
            encoding=args.encoding,
            client=client,
            threads=args.threads,
        )
    elapsed = time.perf_counter() - t0
    n_needs = result["need_id"].nunique()
    if args.out:
        write_table(result, args.out, escape_formulas=not args.raw_csv)
        print(
            f"matched {n_needs} needs against {matcher.n_items} items in {elapsed:.1f} s: "
            f"{len(result)} rows -> {args.out}"
        )
    else:
        print(
            format_table(
                result[["need_id", "rank", "item_id", "score", "confidence", *matcher.catalog_.text_cols[:1]]]
                if args.format == "table"
                else result,
                args.format,
            )
        )
    if matcher.calibration_ is not None:
        weak = matcher.no_good_match(result)
        print(
            f"{len(weak)} of {n_needs} needs have no good match (rank-1 confidence < "
            f"{matcher.calibration_.threshold:.2f})"
        )
    return 0


def cmd_evaluate(args) -> int:
    import pandas as pd

    needs = read_table(args.needs, dtype={args.id_col: str}, sheet=args.sheet, encoding=args.encoding)
    if args.split:
        if "split" not in needs.columns:
            raise InputError(f"--split {args.split} needs a 'split' column in '{args.needs}'")
        needs = needs[needs["split"].astype(str) == args.split]
        if needs.empty:
            raise InputError(f"no need in '{args.needs}' has split == {args.split!r}")
    rows, ci_rows = [], []
    modes = args.compare or [None]
    per_need = None
    for mode in modes:
        if mode:
            args.mode = mode
        matcher = load_matcher(args)
        res = evaluate(
            args.qrels,
            matcher=matcher,
            needs=needs,
            text_cols=args.text_col,
            id_col=args.id_col,
            depth=args.depth,
            ci=args.ci,
        )
        label = f"{matcher.mode}" + (f" ({matcher.fusion})" if matcher.mode == "hybrid" else "")
        rows.append(
            {"ranking": label, **{k: round(v, 4) if isinstance(v, float) else v for k, v in res.summary.items()}}
        )
        if args.ci:
            ci_rows.append(
                {"ranking": label, **{f"{k} 95% CI": f"[{lo:.4f}, {hi:.4f}]" for k, (lo, hi) in res.intervals.items()}}
            )
            if res.no_match is not None:
                nm = res.no_match
                ci_rows[-1]["no-match AUROC (rank-1 confidence)"] = (
                    f"{nm.auroc:.4f} [{nm.lo:.4f}, {nm.hi:.4f}] ({nm.positives} with / {nm.negatives} without)"
                )
        per_need = res.per_need if per_need is None else per_need
    table = pd.DataFrame(rows)
    print(table.to_string(index=False))
    if ci_rows:
        print("\n95 % bootstrap intervals (needs resampled 2,000 times):")
        print(pd.DataFrame(ci_rows).to_string(index=False))
    if args.per_need:
        write_table(per_need, args.per_need)
        print(f"per-need metrics -> {args.per_need}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="semantic-match", description="Match Indonesian procurement needs to local IKM/UMKM products."
    )
    parser.add_argument("--version", action="version", version=f"semantic-match {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_folder_parsers(sub)

    p = sub.add_parser(
        "search", help="rank products for one need", description="Search an index for one free-text need."
    )
    p.add_argument("index", help="index folder made by `semantic-match index`")
    p.add_argument("query", help='the need, e.g. "seminar kit bernuansa tapis"')
    p.add_argument("-k", type=int, default=10, help="number of results (default 10)")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    p.add_argument(
        "--filter",
        action="append",
        metavar="EXPR",
        help="metadata filter such as 'tkdn>=40', 'price<=500000', 'region=Metro,Pesawaran'; repeat",
    )
    p.add_argument("--columns", nargs="+", metavar="COL", help="item columns to show after rank, id, score")
    p.add_argument("--explain", action="store_true", help="show channel scores and matched query terms in the table")
    p.add_argument("--encoder", default=None, help=argparse.SUPPRESS)
    add_exact_option(p)
    add_ranking_options(p)
    add_common_options(p, reading=False)
    p.set_defaults(func=cmd_search)

    p = sub.add_parser(
        "match",
        help="rank products for every need of a table",
        description="Match a table of needs against an index; one row per need x rank.",
    )
    p.add_argument("index", help="index folder made by `semantic-match index`")
    p.add_argument("needs", help="needs file (.csv, .tsv, .xlsx, .parquet or .jsonl), a glob or a folder of parts")
    p.add_argument("--id-col", help="column with a unique need id (default: row number from 1)")
    p.add_argument(
        "--text-col",
        required=True,
        action="append",
        help="column with the need text; repeat for several (item, specification, ...)",
    )
    p.add_argument("--keep-col", action="append", help="needs column to copy into the output; repeat")
    p.add_argument("-k", type=int, default=10, help="results per need (default 10)")
    p.add_argument("--filter", action="append", metavar="EXPR", help="metadata filter, as for search")
    p.add_argument(
        "--out",
        help="output file: .csv, .xlsx, .parquet or .jsonl (default: print); or FOLDER/ for resumable Parquet parts",
    )
    p.add_argument(
        "--raw-csv",
        action="store_true",
        help="write CSV text exactly as is: do not put an apostrophe before text starting with "
        "= + - @ (for programs; spreadsheets would evaluate such text as formulas)",
    )
    p.add_argument(
        "--format", choices=["table", "csv", "json"], default="table", help="printed format when --out is not given"
    )
    p.add_argument("--encoder", default=None, help=argparse.SUPPRESS)
    p.add_argument(
        "--threads",
        type=positive_int,
        metavar="N",
        help="threads ranking needs in this process (default: the cores, at most 8, on a large index "
        "searched by candidates; 1 for exhaustive ranking); not with --workers/--scheduler",
    )
    add_exact_option(p)
    add_ranking_options(p)
    add_common_options(p)
    add_cluster_options(p, what="the matching")
    p.set_defaults(func=cmd_match)

    p = sub.add_parser(
        "evaluate",
        help="score an index against graded relevance judgments",
        description="Match judged needs and report nDCG@10, Recall@10/@50 and MRR.",
    )
    p.add_argument("index", help="index folder made by `semantic-match index`")
    p.add_argument("--needs", required=True, help="needs file (e.g. data/eval/kbki_needs.csv)")
    p.add_argument("--qrels", required=True, help="judgments file with need_id, item_id, grade (0/1/2)")
    p.add_argument("--id-col", required=True, help="need id column of the needs file")
    p.add_argument("--text-col", required=True, action="append", help="need text column; repeat")
    p.add_argument("--depth", type=int, default=50, help="results per need scored (default 50)")
    p.add_argument("--split", help="evaluate only the needs whose 'split' column equals this (dev/test)")
    p.add_argument(
        "--compare",
        nargs="+",
        choices=["dense", "lexical", "hybrid"],
        help="evaluate several ranking modes side by side",
    )
    p.add_argument("--per-need", metavar="FILE", help="write per-need metrics to FILE")
    p.add_argument(
        "--ci",
        action="store_true",
        help="also print 95 %% bootstrap intervals (needs resampled) and the no-match AUROC of the rank-1 confidence",
    )
    p.add_argument("--encoder", default=None, help=argparse.SUPPRESS)
    add_exact_option(p)
    add_ranking_options(p)
    add_common_options(p)
    p.set_defaults(func=cmd_evaluate)

    add_event_parser(sub)
    add_model_parsers(sub)
    add_maintenance_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        return args.func(args)
    except (SemanticMatchError, FileNotFoundError) as exc:
        print(f"semantic-match {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
