"""The ``semantic-match event`` command: needs and a catalogue in, meeting agendas and reports out.

::

    semantic-match event data/needs_lampung.csv build/demo/index --buyer-col buyer \\
        --need-text-col need --need-text-col spec --suppliers data/event_suppliers.csv \\
        --slots 09:00-12:00/20 --tables 12 --out build/event

A thin layer over :func:`semantic_match.events.event.run_event`; every option maps to
one of its arguments.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from .distributed import add_cluster_options, cluster_client, use_cluster
from .options import progress_flag

__all__ = ["add_event_parser", "cmd_event"]

_DESCRIPTION = """\
Match every need against the catalogue (resumable: finished chunks are kept in OUT/matches_parts),
score buyer x supplier pairs from the calibrated confidence of their products, schedule one-to-one
meetings in slots at tables, list the needs no local product serves, and write schedule.csv, the
agendas, pair_scores.csv, unmet_needs.csv, event.xlsx and report.html into OUT.

slots: '09:00-12:00/20' (20-minute meetings from 09:00 to 12:00), '09:00-10:20/20,10:40-12:00/20'
(with a break) or '09:00,09:30,10:00'. Availability cells in the buyers/suppliers files:
'09:00-10:30;11:00' (empty = all day)."""


def _is_index(path: Path) -> bool:
    from ..retrieval.storage.reader import is_index_folder

    # Any index format: 0.1.0's manifest.json as well as the current one.
    return path.is_dir() and is_index_folder(path)


def _matcher(args, client=None):
    from ..errors import InputError
    from ..retrieval.matcher import Matcher

    source = Path(args.catalog)
    show = progress_flag(args)
    if _is_index(source):
        if args.id_col or args.text_col:
            raise InputError(f"'{source}' is an index folder; --id-col/--text-col apply to a catalogue file only")
        return Matcher.load(source, encoder=args.encoder, show_progress=show)
    if source.is_dir():
        raise InputError(
            f"'{source}' is a folder but not an index; give an index made by `semantic-match index` or a catalogue file"
        )
    if not args.id_col or not args.text_col:
        raise InputError(
            f"'{source}' is a catalogue file: pass --id-col COL and --text-col COL (repeatable) to "
            f"index it, or give an index folder made by `semantic-match index`"
        )
    return Matcher(encoder=args.encoder, show_progress=show).fit(
        source, id_col=args.id_col, text_cols=args.text_col, meta_cols=args.meta_col or None, client=client
    )


def cmd_event(args) -> int:
    from ..events.event import run_event
    from ..retrieval.filters import parse_filters

    t0 = time.perf_counter()
    filters = parse_filters(args.filter)
    out = Path(args.out)
    # Inputs are checked before the index is loaded: a typo costs nothing.
    _check_slots(args)
    with cluster_client(args) as client:
        matcher = use_cluster(_matcher(args, client), client, out / "index")
        result = run_event(
            args.needs,
            matcher,
            slots=args.slots,
            tables=args.tables,
            buyer_col=args.buyer_col,
            need_id_col=args.need_id_col,
            need_text_cols=args.need_text_col,
            buyers=args.buyers,
            suppliers=args.suppliers,
            supplier_col=args.supplier_col,
            category_col=args.category_col,
            availability_col=args.availability_col,
            meeting_minutes=args.meeting_minutes,
            k=args.k,
            filters=filters,
            aggregation=args.aggregation,
            top_n=args.top_n,
            min_confidence=args.min_confidence,
            candidates_per_buyer=args.candidates,
            max_per_buyer=args.max_per_buyer,
            max_per_supplier=args.max_per_supplier,
            must_meet=args.must_meet,
            do_not_meet=args.do_not_meet,
            rules=args.rules,
            fixed=args.fixed,
            time_limit=args.time_limit,
            chunk_size=args.chunk_size,
            work_dir=out / "matches_parts",
            restart=args.restart,
            show_progress=progress_flag(args),
            sheet=args.sheet,
            encoding=args.encoding,
        )
    files = result.export(out, formats=args.formats, title=args.title)
    print(result.summary())
    print(f"wrote {len(files)} files to {out} in {time.perf_counter() - t0:.1f} s: " + ", ".join(p.name for p in files))
    return 0


def _check_slots(args) -> None:
    from ..events.slots import parse_slots

    parse_slots(args.slots, minutes=args.meeting_minutes)


def add_event_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``event`` command to the ``semantic-match`` subparsers; returns its parser."""
    p = subparsers.add_parser(
        "event",
        help="match needs, schedule buyer-supplier meetings, write agendas",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("needs", help="needs file (.csv, .xlsx, .parquet, .jsonl) with a buyer column")
    p.add_argument(
        "catalog",
        metavar="CATALOG_OR_INDEX",
        help="index folder made by `semantic-match index`, or a catalogue file (with --id-col, --text-col)",
    )
    p.add_argument("--out", required=True, help="output folder (created; earlier event files are replaced)")
    p.add_argument("--slots", required=True, metavar="SPEC", help="meeting slots, e.g. 09:00-12:00/20")
    p.add_argument("--tables", required=True, type=int, help="number of tables per slot")

    g = p.add_argument_group("needs")
    g.add_argument(
        "--need-text-col",
        action="append",
        required=True,
        metavar="COL",
        help="needs column with text; repeat (need, spec, ...)",
    )
    g.add_argument(
        "--need-id-col", metavar="COL", help="needs id column (default: need_id if present, else the row number)"
    )
    g.add_argument("--buyer-col", default="buyer", metavar="COL", help="needs column naming the buyer (default buyer)")
    g.add_argument("--sheet", help="Excel sheet of the needs file (default: the first)")
    g.add_argument("--encoding", help="text encoding of the needs CSV (default UTF-8)")

    g = p.add_argument_group("catalogue")
    g.add_argument("--id-col", help="product id column, when CATALOG_OR_INDEX is a catalogue file")
    g.add_argument("--text-col", action="append", help="product text column; repeat (catalogue file only)")
    g.add_argument("--meta-col", action="append", help="product metadata column to keep; repeat (default: all)")
    g.add_argument(
        "--supplier-col",
        default="supplier_id",
        metavar="COL",
        help="catalogue column with the supplier id, also the suppliers file's id (default supplier_id)",
    )
    g.add_argument(
        "--category-col",
        default="category",
        metavar="COL",
        help="catalogue column grouping the unmet needs (default category)",
    )
    g.add_argument("--encoder", default=None, help=argparse.SUPPRESS)

    g = p.add_argument_group("parties and constraints")
    g.add_argument("--buyers", metavar="FILE", help="buyers file: buyer_id, buyer (name), available, ...")
    g.add_argument("--suppliers", metavar="FILE", help="suppliers file: supplier_id, supplier (name), available, ...")
    g.add_argument(
        "--availability-col",
        default="available",
        metavar="COL",
        help="availability column of those files (default available)",
    )
    g.add_argument("--rules", metavar="FILE", help="buyer, supplier, rule (must_meet | do_not_meet)")
    g.add_argument("--must-meet", metavar="FILE", help="buyer, supplier pairs that must meet")
    g.add_argument("--do-not-meet", metavar="FILE", help="buyer, supplier pairs that must not meet")
    g.add_argument(
        "--fixed",
        metavar="FILE",
        help="meetings fixed by hand: buyer, supplier, slot[, table]; an edited schedule.csv "
        "works, keeping the rows whose 'fixed' column is 1/true/ya",
    )
    g.add_argument("--max-per-buyer", type=int, metavar="N", help="most meetings per buyer (default: one per slot)")
    g.add_argument(
        "--max-per-supplier", type=int, metavar="N", help="most meetings per supplier (default: one per slot)"
    )
    g.add_argument(
        "--meeting-minutes",
        type=int,
        default=20,
        metavar="MIN",
        help="length of slots given by start time only (default 20)",
    )

    g = p.add_argument_group("matching and scores")
    g.add_argument("-k", type=int, default=10, help="products ranked per need (default 10)")
    g.add_argument("--filter", action="append", metavar="EXPR", help="metadata filter such as 'tkdn>=40'; repeat")
    g.add_argument(
        "--aggregation",
        default="mean_top_n",
        choices=["max", "mean_top_n", "sum", "count_needs_served"],
        help="pair score from the needs' best products (default mean_top_n)",
    )
    g.add_argument("--top-n", type=int, default=3, metavar="N", help="needs averaged by mean_top_n (default 3)")
    g.add_argument(
        "--min-confidence",
        type=float,
        metavar="X",
        help="matches below it do not count (default: the calibration's no-good-match threshold)",
    )
    g.add_argument(
        "--candidates",
        type=int,
        metavar="N",
        help="best suppliers per buyer offered to the scheduler (default 2 x slots)",
    )
    g.add_argument("--time-limit", type=float, default=60.0, metavar="S", help="scheduler seconds (default 60)")

    g = p.add_argument_group("run and output")
    g.add_argument("--chunk-size", type=int, default=512, metavar="N", help="needs per matching chunk (default 512)")
    g.add_argument(
        "--restart", action="store_true", help="discard matching parts of another run found in OUT/matches_parts"
    )
    g.add_argument(
        "--formats",
        nargs="+",
        default=["csv", "xlsx", "html"],
        choices=["csv", "xlsx", "html"],
        help="files to write (default: all)",
    )
    g.add_argument("--title", help="report title (default: 'Temu Bisnis — business-matching event')")
    g.add_argument("--no-progress", action="store_true", help="hide progress bars")
    add_cluster_options(p, what="the matching step")
    p.set_defaults(func=cmd_event)
    return p
