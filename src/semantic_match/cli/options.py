"""Options and helpers the commands share: progress, ranking settings, loading an index."""

from __future__ import annotations

import argparse

from ..errors import InputError
from ..retrieval.matcher import Matcher

__all__ = [
    "progress_flag",
    "parse_weights",
    "ranking_settings",
    "load_matcher",
    "add_ranking_options",
    "add_common_options",
    "add_exact_option",
]


def progress_flag(args) -> bool | None:
    """``show_progress`` for the library: off with --no-progress, else when stderr is a terminal."""
    return False if args.no_progress else None


def parse_weights(text: str | None) -> dict | None:
    """Parse 'dense=0.5,char=0.35,bm25=0.15'."""
    if not text:
        return None
    out = {}
    for part in text.split(","):
        name, _, value = part.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise InputError(
                f"cannot parse weight {part!r}; write e.g. --weights dense=0.5,char=0.35,bm25=0.15"
            ) from None
    return out


def ranking_settings(args) -> dict:
    """Ranking settings given on the command line (the index's saved ones otherwise)."""
    out = {}
    if getattr(args, "mode", None):
        out["mode"] = args.mode
    if getattr(args, "weights", None):
        out["weights"] = parse_weights(args.weights)
    if getattr(args, "fusion", None):
        out["fusion"] = args.fusion
    return out


def load_matcher(args) -> Matcher:
    """The index folder ``args.index``, with the command line's ranking settings and --exact."""
    return Matcher.load(
        args.index,
        encoder=getattr(args, "encoder", None),
        show_progress=progress_flag(args),
        exact=True if getattr(args, "exact", False) else None,
        **ranking_settings(args),
    )


def add_ranking_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--mode",
        choices=["hybrid", "dense", "lexical"],
        help="ranking channels (default: hybrid, or what the index was built with)",
    )
    p.add_argument("--weights", metavar="W", help="fusion weights, e.g. dense=0.5,char=0.35,bm25=0.15")
    p.add_argument("--fusion", choices=["convex", "rrf"], help="fusion method (default convex)")


def add_exact_option(p: argparse.ArgumentParser, *, building: bool = False) -> None:
    if building:
        p.add_argument(
            "--exact",
            action="store_true",
            help="store exact vectors only (no approximate FAISS index, whatever the size): "
            "every search ranks exhaustively",
        )
    else:
        p.add_argument(
            "--exact",
            action="store_true",
            help="rank exhaustively (every item scored), as the reference the default "
            "candidate path of large indexes is measured against",
        )


def add_common_options(p: argparse.ArgumentParser, *, reading: bool = True) -> None:
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    if reading:
        p.add_argument("--sheet", help="Excel sheet name (default: the first)")
        p.add_argument("--encoding", help="text encoding of CSV files (default: UTF-8)")
