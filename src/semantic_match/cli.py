"""Command-line interface: ``semantic-match index | search | match | info``.

A thin layer over :class:`semantic_match.Matcher`; every option maps to a
library argument.
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

__all__ = ["main", "build_parser"]

logger = logging.getLogger("semantic_match.cli")


def _filters(items: list[str] | None) -> dict | None:
    from .filters import parse_filter

    if not items:
        return None
    merged: dict = {}
    for item in items:
        for col, cond in parse_filter(item).items():
            merged.setdefault(col, {}).update(cond)
    return merged


def _progress(args) -> bool | None:
    return False if args.no_progress else None


def cmd_index(args) -> int:
    from .matcher import Matcher

    t0 = time.perf_counter()
    matcher = Matcher.from_catalog(
        args.catalog, id_col=args.id_col, text_cols=args.text_col, meta_cols=args.meta_col or None,
        encoder=args.encoder, batch_size=args.batch_size, show_progress=_progress(args),
        sheet=args.sheet, encoding=args.encoding)
    out = matcher.save(args.out)
    cat = matcher.catalog_
    print(f"indexed {matcher.n_items} items from '{args.catalog}' in {time.perf_counter() - t0:.1f} s "
          f"-> {out}")
    print(f"  encoder: {matcher.encoder_.identity()['model']} (dim {matcher.dense_.dim})")
    print(f"  text: {', '.join(cat.text_cols)}; metadata: {', '.join(map(str, cat.meta_cols)) or '-'}")
    return 0


def cmd_search(args) -> int:
    from .matcher import Matcher
    from .output import format_table

    matcher = Matcher.load(args.index, encoder=args.encoder, show_progress=_progress(args))
    result = matcher.search(args.query, k=args.k, filters=_filters(args.filter))
    if args.columns:
        result = result[["rank", "item_id", "score", *args.columns]]
    if args.format == "table":
        print(f"query: {args.query}")
    print(format_table(result, args.format))
    return 0


def cmd_match(args) -> int:
    from .matcher import Matcher
    from .output import format_table, write_table

    matcher = Matcher.load(args.index, encoder=args.encoder, show_progress=_progress(args))
    t0 = time.perf_counter()
    result = matcher.match(args.needs, text_col=args.text_col, id_col=args.id_col, k=args.k,
                           filters=_filters(args.filter), keep_cols=args.keep_col or (),
                           sheet=args.sheet, encoding=args.encoding)
    elapsed = time.perf_counter() - t0
    n_needs = result["need_id"].nunique()
    if args.out:
        write_table(result, args.out)
        print(f"matched {n_needs} needs against {matcher.n_items} items in {elapsed:.1f} s: "
              f"{len(result)} rows -> {args.out}")
    else:
        print(format_table(result[["need_id", "rank", "item_id", "score", *matcher.catalog_.text_cols[:1]]]
                           if args.format == "table" else result, args.format))
    return 0


def cmd_info(args) -> int:
    import json

    from .store import read_manifest

    manifest = read_manifest(args.index, verify=not args.no_verify)
    print(json.dumps(manifest, indent=2, ensure_ascii=False))
    return 0


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="semantic-match",
        description="Match Indonesian procurement needs to local IKM/UMKM products.")
    parser.add_argument("--version", action="version", version=f"semantic-match {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common(p, *, reading: bool = True):
        p.add_argument("--no-progress", action="store_true", help="hide progress bars")
        if reading:
            p.add_argument("--sheet", help="Excel sheet name (default: the first)")
            p.add_argument("--encoding", help="text encoding of CSV files (default: UTF-8)")

    p = sub.add_parser("index", help="build an index folder from a catalogue file",
                       description="Encode a catalogue and save its index to a folder.")
    p.add_argument("catalog", help="catalogue file: .csv, .tsv, .xlsx, .parquet or .jsonl")
    p.add_argument("--out", required=True, help="index folder to create (replaced if it is an index)")
    p.add_argument("--id-col", required=True, help="column with a unique product id")
    p.add_argument("--text-col", required=True, action="append",
                   help="column with product text; repeat for several (name, description, ...)")
    p.add_argument("--meta-col", action="append",
                   help="metadata column to keep; repeat; default: every other column")
    p.add_argument("--encoder", default=None,
                   help="encoder: 'default' (embedded multilingual-e5-small) or a sentence-transformers "
                        "model name or folder")
    p.add_argument("--batch-size", type=int, default=64, help="texts per encoder batch (default 64)")
    common(p)
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("search", help="rank products for one need",
                       description="Search an index for one free-text need.")
    p.add_argument("index", help="index folder made by `semantic-match index`")
    p.add_argument("query", help='the need, e.g. "seminar kit bernuansa tapis"')
    p.add_argument("-k", type=int, default=10, help="number of results (default 10)")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    p.add_argument("--filter", action="append", metavar="EXPR",
                   help="metadata filter such as 'tkdn>=40', 'price<=500000', 'region=Metro,Pesawaran'; repeat")
    p.add_argument("--columns", nargs="+", metavar="COL", help="item columns to show after rank, id, score")
    p.add_argument("--encoder", default=None, help=argparse.SUPPRESS)
    common(p, reading=False)
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("match", help="rank products for every need of a table",
                       description="Match a table of needs against an index; one row per need x rank.")
    p.add_argument("index", help="index folder made by `semantic-match index`")
    p.add_argument("needs", help="needs file: .csv, .tsv, .xlsx, .parquet or .jsonl")
    p.add_argument("--id-col", help="column with a unique need id (default: row number from 1)")
    p.add_argument("--text-col", required=True, action="append",
                   help="column with the need text; repeat for several (item, specification, ...)")
    p.add_argument("--keep-col", action="append", help="needs column to copy into the output; repeat")
    p.add_argument("-k", type=int, default=10, help="results per need (default 10)")
    p.add_argument("--filter", action="append", metavar="EXPR", help="metadata filter, as for search")
    p.add_argument("--out", help="output file: .csv, .xlsx, .parquet or .jsonl (default: print)")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table",
                   help="printed format when --out is not given")
    p.add_argument("--encoder", default=None, help=argparse.SUPPRESS)
    common(p)
    p.set_defaults(func=cmd_match)

    p = sub.add_parser("info", help="show an index's manifest")
    p.add_argument("index", help="index folder")
    p.add_argument("--no-verify", action="store_true", help="skip the checksum verification")
    p.set_defaults(func=cmd_info)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    from .errors import SemanticMatchError

    try:
        return args.func(args)
    except (SemanticMatchError, FileNotFoundError, TypeError) as exc:
        print(f"semantic-match {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
