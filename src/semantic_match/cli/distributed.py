"""The command line's scale-out options: ``--workers N`` / ``--scheduler ADDRESS`` for index, match and event.

Without either option nothing here imports Dask and every command runs in one process as before.
"""

from __future__ import annotations

import argparse
import functools
import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    from distributed import Client

    from ..retrieval.matcher import Matcher

__all__ = ["add_cluster_options", "cluster_client", "use_cluster", "match_folder_command"]


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def add_cluster_options(parser: argparse.ArgumentParser, *, what: str = "the encoding") -> None:
    """Add ``--workers`` / ``--scheduler`` (mutually exclusive) and ``--threads-per-worker`` to a command."""
    group = parser.add_argument_group("scale-out on Dask (docs/scale-out.md)")
    choice = group.add_mutually_exclusive_group()
    choice.add_argument(
        "--workers", type=positive_int, metavar="N", help=f"run {what} on a local Dask cluster of N worker processes"
    )
    choice.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help=f"run {what} on the Dask cluster whose scheduler is at ADDRESS (tcp://host:8786); "
        f"its workers must read the index folder (and write --out FOLDER/) at the same path",
    )
    group.add_argument(
        "--threads-per-worker",
        type=positive_int,
        metavar="T",
        help="threads of each local worker (default: cores / N); each thread encodes with one core",
    )


@contextmanager
def cluster_client(args) -> Iterator[Client | None]:
    """The client the command's options ask for (None: one process), closed afterwards."""
    workers, scheduler = getattr(args, "workers", None), getattr(args, "scheduler", None)
    if getattr(args, "threads_per_worker", None) and not workers:
        raise InputError("--threads-per-worker applies to a local cluster (--workers N) only")
    if getattr(args, "threads", None) and (workers or scheduler):
        raise InputError("--threads applies to matching in one process; a cluster's workers use --threads-per-worker")
    if workers is None and scheduler is None:
        yield None
        return
    import distributed  # noqa: F401 - configures its loggers on import; adjusted just below

    from ..distributed import connect

    if not logging.getLogger().isEnabledFor(logging.INFO):
        # Dask sets its loggers to INFO; without -v the command line shows warnings only.
        logging.getLogger("distributed").setLevel(logging.WARNING)
    client = connect(workers=workers, scheduler=scheduler, threads_per_worker=getattr(args, "threads_per_worker", None))
    try:
        yield client
    finally:
        client.close()


def use_cluster(matcher: Matcher, client: Client | None, index_dir: Path) -> Matcher:
    """Make ``matcher.match`` run on ``client`` for callers that cannot pass it (the event workflow).

    Workers open the index from its folder: a matcher built from a catalogue file is saved to
    ``index_dir`` first.
    """
    if client is None:
        return matcher
    if getattr(matcher, "folder_", None) is None:
        matcher.save(index_dir)
        print(f"saved the index to {index_dir} for the workers", file=sys.stderr)
    matcher.match = functools.partial(type(matcher).match, matcher, client=client)
    return matcher


def match_folder_command(args, matcher: Matcher, needs, client: Client | None, filters) -> int:
    """``semantic-match match … --out FOLDER/``: resumable Parquet parts; prints what ``match`` prints."""
    from ..distributed import match_to_folder, read_match_folder

    t0 = time.perf_counter()
    res = match_to_folder(
        matcher,
        needs,
        args.out,
        client=client,
        text_cols=args.text_col,
        id_col=args.id_col,
        k=args.k,
        filters=filters,
        keep_cols=args.keep_col or (),
        sheet=args.sheet,
        encoding=args.encoding,
        threads=getattr(args, "threads", None),
    )
    reused = f", {len(res.skipped)} reused from an earlier run" if res.skipped else ""
    print(
        f"matched {res.needs} needs against {matcher.n_items} items in {time.perf_counter() - t0:.1f} s: "
        f"{res.rows} rows -> {res.folder}/ ({len(res.parts)} part{'s' if len(res.parts) != 1 else ''}{reused})"
    )
    if matcher.calibration_ is not None:
        top = read_match_folder(res.folder, columns=["need_id", "rank", "confidence"])
        weak = matcher.no_good_match(top)
        print(
            f"{len(weak)} of {res.needs} needs have no good match (rank-1 confidence < "
            f"{matcher.calibration_.threshold:.2f})"
        )
    return 0
