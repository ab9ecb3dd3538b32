"""Commands that write or read an index folder: ``index``, ``update``, ``compact``, ``upgrade``, ``info``.

Every write is one atomic commit of the folder (see docs/reliability.md): a crash at any moment
leaves the previous index, and readers never see a mix.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from ..distributed.partitions import load_catalog_parts
from ..errors import InputError
from ..io.catalog import load_catalog, read_table
from ..retrieval.matcher import Matcher
from ..retrieval.persist import read_info
from ..retrieval.storage.writer import check_target
from ..retrieval.updates import needs_compaction
from .distributed import add_cluster_options, cluster_client
from .options import add_common_options, add_exact_option, add_ranking_options, progress_flag, ranking_settings

__all__ = [
    "add_folder_parsers",
    "add_maintenance_parsers",
    "cmd_index",
    "cmd_update",
    "cmd_compact",
    "cmd_upgrade",
    "cmd_info",
]


def cmd_index(args) -> int:
    t0 = time.perf_counter()
    # Refuse an unusable --out before spending minutes encoding.
    check_target(Path(args.out), overwrite=True)
    # The catalogue may be a glob or a folder of parts; encoding may run on a Dask cluster.
    catalog = load_catalog_parts(
        args.catalog,
        id_col=args.id_col,
        text_cols=args.text_col,
        meta_cols=args.meta_col or None,
        sheet=args.sheet,
        encoding=args.encoding,
    )
    with cluster_client(args) as client:
        matcher = Matcher(
            encoder=args.encoder,
            batch_size=args.batch_size,
            show_progress=progress_flag(args),
            stem=args.stem,
            index_factory="Flat" if args.exact else "auto",
            **ranking_settings(args),
        ).fit(catalog, client=client)
    out = matcher.save(args.out)
    cat = matcher.catalog_
    print(f"indexed {matcher.n_items} items from '{args.catalog}' in {time.perf_counter() - t0:.1f} s -> {out}")
    if matcher.encoder_ is not None:
        print(f"  encoder: {matcher.encoder_.identity()['model']} (dim {matcher.encoder_.dim})")
    weights = ", ".join(f"{k} {v:g}" for k, v in matcher.weights_.items())
    print(f"  ranking: {matcher.mode} ({matcher.fusion}: {weights})")
    print(f"  text: {', '.join(cat.text_cols)}; metadata: {', '.join(map(str, cat.meta_cols)) or '-'}")
    return 0


def _ids_to_remove(path: str, id_col: str, args) -> list[str]:
    """Ids from a plain text file (one per line) or from the id column of a table."""
    file = Path(path)
    if file.suffix.lower() in ("", ".txt", ".ids"):
        if not file.is_file():
            raise FileNotFoundError(f"--remove file not found: '{file}'")
        lines = file.read_text(encoding=args.encoding or "utf-8-sig").splitlines()
        return [line.strip() for line in lines if line.strip()]
    frame = read_table(file, dtype=str, sheet=args.sheet, encoding=args.encoding)
    if id_col not in frame.columns:
        raise InputError(
            f"--remove file '{file}' has no column {id_col!r} (the index's id column); its columns "
            f"are {list(frame.columns)}; or give a .txt file with one id per line"
        )
    return frame[id_col].dropna().astype(str).str.strip().tolist()


def cmd_update(args) -> int:
    t0 = time.perf_counter()
    if not args.changes and not args.remove:
        raise InputError("nothing to do: give a CHANGES file of items to add or replace, --remove IDS_FILE, or both")
    matcher = Matcher.load(args.index, show_progress=progress_flag(args))
    st = matcher.state_
    # Read everything before changing anything: a bad row costs nothing.
    changes = None
    if args.changes:
        meta = args.meta_col if args.meta_col is not None else list(st.meta_cols)
        changes = load_catalog(
            args.changes,
            id_col=args.id_col or st.id_col,
            text_cols=args.text_col or list(st.text_cols),
            meta_cols=meta,
            sheet=args.sheet,
            encoding=args.encoding,
            what="changes",
        )
    removed_ids = _ids_to_remove(args.remove, st.id_col, args) if args.remove else []
    removed = matcher.remove(removed_ids, missing="ignore" if args.ignore_missing else "error")
    replaced = added = 0
    if changes is not None:
        replaced, added = matcher.upsert(changes)
    compacted = args.compact or (args.auto_compact and needs_compaction(matcher.state_))
    if compacted:
        matcher.compact()
    matcher.save(args.index)
    print(
        f"updated '{args.index}' in {time.perf_counter() - t0:.1f} s: {added} added, {replaced} replaced, "
        f"{removed} removed -> {matcher.n_items} items in {len(matcher.state_.segments)} segment(s)"
        + (" (compacted)" if compacted else "")
    )
    if not compacted and needs_compaction(matcher.state_):
        print(f"  many removed rows or segments: run `semantic-match compact {args.index}`")
    return 0


def cmd_compact(args) -> int:
    t0 = time.perf_counter()
    matcher = Matcher.load(args.index, show_progress=progress_flag(args))
    before = len(matcher.state_.segments), sum(s.rows for s in matcher.state_.segments)
    matcher.compact().save(args.index)
    print(
        f"compacted '{args.index}' in {time.perf_counter() - t0:.1f} s: {before[0]} segment(s) of {before[1]} "
        f"rows -> 1 segment of {matcher.n_items} items"
    )
    return 0


def cmd_info(args) -> int:
    manifest = read_info(args.index, verify=not args.no_verify)
    print(json.dumps(manifest, indent=2, ensure_ascii=False))
    return 0


def cmd_upgrade(args) -> int:
    t0 = time.perf_counter()
    matcher = Matcher.load(args.index, show_progress=progress_flag(args))
    matcher.save(args.index)
    print(
        f"upgraded '{args.index}' ({matcher.n_items} items) to index format {read_info(args.index)['format_version']} "
        f"in {time.perf_counter() - t0:.1f} s"
    )
    return 0


def add_folder_parsers(sub) -> None:
    p = sub.add_parser(
        "index",
        help="build an index folder from a catalogue file",
        description="Encode a catalogue and save its index to a folder.",
    )
    p.add_argument(
        "catalog", help="catalogue file (.csv, .tsv, .xlsx, .parquet or .jsonl), a glob or a folder of parts"
    )
    p.add_argument("--out", required=True, help="index folder to create (replaced if it is an index)")
    p.add_argument("--id-col", required=True, help="column with a unique product id")
    p.add_argument(
        "--text-col",
        required=True,
        action="append",
        help="column with product text; repeat for several (name, description, ...)",
    )
    p.add_argument("--meta-col", action="append", help="metadata column to keep; repeat; default: every other column")
    p.add_argument(
        "--encoder",
        default=None,
        help="encoder: 'default' (embedded multilingual-e5-small) or a sentence-transformers model name or folder",
    )
    p.add_argument("--batch-size", type=int, default=64, help="texts per encoder batch (default 64)")
    p.add_argument("--stem", action="store_true", help="stem words with PySastrawi in the BM25 channel")
    add_exact_option(p, building=True)
    add_ranking_options(p)
    add_common_options(p)
    add_cluster_options(p, what="the encoding")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser(
        "update",
        help="add, replace and remove items of an index folder",
        description="Apply changes to an index folder as one atomic commit: the items of CHANGES "
        "are added (new ids) or replace the items with their ids; --remove drops ids. "
        "The lexical statistics stay exact (docs/scale.md).",
    )
    p.add_argument("index", help="index folder made by `semantic-match index`")
    p.add_argument("changes", nargs="?", help="file of new or changed items (same columns as the catalogue)")
    p.add_argument("--id-col", help="id column of CHANGES (default: the index's)")
    p.add_argument("--text-col", action="append", help="text column of CHANGES; repeat (default: the index's)")
    p.add_argument("--meta-col", action="append", help="metadata column of CHANGES; repeat (default: the index's)")
    p.add_argument(
        "--remove",
        metavar="IDS_FILE",
        help="ids to remove: a .txt file with one id per line, or a table with the id column",
    )
    p.add_argument("--ignore-missing", action="store_true", help="skip ids to remove that are not in the index")
    p.add_argument("--compact", action="store_true", help="compact the index after the update")
    p.add_argument(
        "--no-auto-compact",
        dest="auto_compact",
        action="store_false",
        help="do not compact when removed rows or segments pile up (default: compact then)",
    )
    add_common_options(p)
    p.set_defaults(func=cmd_update)

    p = sub.add_parser(
        "compact",
        help="rewrite an index folder's segments into one",
        description="Rewrite every live item of an index folder into one segment: drops removed "
        "rows and rebuilds the dense index; one atomic commit.",
    )
    p.add_argument("index", help="index folder")
    add_common_options(p, reading=False)
    p.set_defaults(func=cmd_compact)


def add_maintenance_parsers(sub) -> None:
    p = sub.add_parser(
        "upgrade",
        help="rewrite an index folder of an older format in the current one",
        description="Rewrite an index folder saved by an older semantic_match (format 1) in the "
        "current format, in place and atomically; its ranking is unchanged.",
    )
    p.add_argument("index", help="index folder")
    add_common_options(p, reading=False)
    p.set_defaults(func=cmd_upgrade)

    p = sub.add_parser("info", help="show an index's manifest")
    p.add_argument("index", help="index folder")
    p.add_argument("--no-verify", action="store_true", help="skip the checksum verification")
    p.set_defaults(func=cmd_info)
