"""Stage 2 of an event, matching: every need against the catalogue, in chunks, resumable.

:func:`match_needs` takes the checked inputs (:class:`~semantic_match.events.inputs.EventInputs`)
and returns one row per need × ranked product with the need's buyer and the
product's supplier added. Underneath, :func:`match_in_chunks` matches any
validated table of needs chunk by chunk. With a work folder, every finished chunk is written atomically as
``part-00000.parquet`` … next to ``progress.json``, which records what was
matched against what: fingerprints of the needs, of the index and of the
settings (k, filters, columns, chunk size), and the checksum of every part. A
re-run with the same inputs skips the finished chunks; with other inputs it
refuses (or starts over when told to), so parts of two different runs are
never mixed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ..errors import InputError
from ..io.catalog import Catalog
from ..io.files import atomic_write, sha256_file
from ..io.frames import parquet_safe
from ..io.output import write_table
from ..io.progress import progress_bar
from .inputs import EventInputs

if TYPE_CHECKING:
    from ..retrieval.matcher import Matcher

__all__ = [
    "match_needs",
    "match_in_chunks",
    "table_fingerprint",
    "matcher_fingerprint",
    "PROGRESS_FILE",
    "MATCH_COLUMNS",
]

logger = logging.getLogger(__name__)

PROGRESS_FILE = "progress.json"
#: Names of the part files this module writes (and the only files ``--restart`` removes).
PART_RE = re.compile(r"part-\d{5}\.parquet")
_FORMAT = "semantic_match.match_parts"
_VERSION = 1


def table_fingerprint(frame: pd.DataFrame) -> str:
    """SHA-256 of a table's column names and cell values (as text), row order included.

    Examples
    --------
    >>> table_fingerprint(pd.DataFrame({"need": ["Seminar kit tapis"]}))[:12]  # doctest: +SKIP
    """
    h = hashlib.sha256(json.dumps([str(c) for c in frame.columns]).encode())
    text = frame.astype(str).where(frame.notna(), "\x00")  # NaN differs from the text "nan"
    h.update(pd.util.hash_pandas_object(text, index=False).to_numpy().tobytes())
    return h.hexdigest()


def matcher_fingerprint(matcher: Matcher) -> str:
    """SHA-256 of what makes a matcher rank as it does: settings, encoder, calibration and items.

    Equal for an index folder loaded twice, and for a catalogue indexed twice
    with the same encoder and settings.
    """
    manifest = matcher.manifest()
    manifest.pop("created", None)
    manifest.pop("library_version", None)
    manifest.get("catalog", {}).pop("source", None)
    h = hashlib.sha256(json.dumps(manifest, sort_keys=True, default=str).encode())
    h.update(table_fingerprint(matcher.items).encode())
    h.update(hashlib.sha256("\n".join(matcher.catalog_.texts).encode()).digest())
    return h.hexdigest()


def _chunk_file(i: int) -> str:
    return f"part-{i:05d}.parquet"


class _Progress:
    """The progress record of a work folder."""

    def __init__(self, folder: Path, expected: dict, *, restart: bool):
        self.folder = folder
        self.path = folder / PROGRESS_FILE
        self.record = {"format": _FORMAT, "version": _VERSION, **expected, "chunks": {}}
        if not self.path.exists():
            return
        try:
            saved = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(
                f"cannot read the progress record '{self.path}' ({exc}); delete the folder "
                f"'{folder}' or pass restart=True (--restart) to match again"
            ) from exc
        if restart:
            self._clear(saved)
            return
        diffs = [
            key for key in ("format", "version", "needs", "index", "settings") if saved.get(key) != self.record.get(key)
        ]
        if diffs:
            what = {
                "needs": "the needs table changed",
                "index": "the index/catalogue changed",
                "settings": f"the settings changed (saved {saved.get('settings')}, now {self.record['settings']})",
                "format": "another format",
                "version": "another format version",
            }
            raise InputError(
                f"'{folder}' holds partial matches of another run: "
                + "; ".join(what[d] for d in diffs)
                + "; pass restart=True (--restart) to discard them and match again, or "
                "choose another output folder"
            )
        self.record["chunks"] = saved.get("chunks", {})

    def _clear(self, saved: dict) -> None:
        # Only files named like our parts, directly in this folder: names recorded in
        # progress.json are never trusted (a crafted record could point anywhere).
        for stray in self.folder.iterdir():
            if PART_RE.fullmatch(stray.name) and stray.is_file() and not stray.is_symlink():
                stray.unlink()
        self.path.unlink()
        logger.info("restart: discarded the partial matches in '%s'", self.folder)

    def done(self, i: int) -> bool:
        info = self.record["chunks"].get(str(i))
        if not isinstance(info, dict) or info.get("file") != _chunk_file(i):
            return False
        file = self.folder / _chunk_file(i)
        if not file.exists() or sha256_file(file) != info["sha256"]:
            logger.warning("part '%s' is missing or corrupt; matching chunk %d again", file, i)
            return False
        return True

    def add(self, i: int, file: Path, rows: int) -> None:
        self.record["chunks"][str(i)] = {"file": file.name, "rows": rows, "sha256": sha256_file(file)}

        def write(tmp: Path) -> None:
            tmp.write_text(json.dumps(self.record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

        atomic_write(self.path, write)


def match_in_chunks(
    matcher: Matcher,
    needs: Catalog,
    *,
    k: int = 10,
    filters=None,
    keep_cols: Sequence[str] = (),
    chunk_size: int = 512,
    work_dir: str | os.PathLike | None = None,
    restart: bool = False,
    show_progress: bool | None = None,
    on_chunk: Callable[[int, int], None] | None = None,
) -> tuple[pd.DataFrame, dict]:
    """Match every need of a validated needs table, chunk by chunk.

    Parameters
    ----------
    matcher : Matcher
        A built or loaded matcher.
    needs : Catalog
        The needs, validated by :func:`semantic_match.load_catalog` (``what="needs"``).
    k, filters, keep_cols
        As for :meth:`Matcher.match`.
    chunk_size : int
        Needs per chunk; memory grows with ``chunk_size × n_items``.
    work_dir : path, optional
        Folder for the part files and ``progress.json``; without it nothing is
        written and nothing can be resumed.
    restart : bool
        Discard the parts of another run found in ``work_dir`` instead of refusing.
    show_progress : bool, optional
        A progress bar over the needs; default when stderr is a terminal.
    on_chunk : callable, optional
        Called as ``on_chunk(chunk_index, n_chunks)`` after each chunk is saved.

    Returns
    -------
    matches : DataFrame
        As :meth:`Matcher.match` returns, for all needs in input order.
    timings : dict of str to float
        Seconds per stage, summed over the chunks (``encode``, ``score``, …, ``io``).

    Raises
    ------
    InputError
        ``work_dir`` holds parts of a run with other needs, index or settings.

    Examples
    --------
    >>> from semantic_match import load_catalog
    >>> needs = load_catalog("data/needs_lampung.csv", id_col="need_id", text_cols=["need", "spec"],
    ...                      meta_cols=["buyer"], what="needs")
    >>> matches, _ = match_in_chunks(m, needs, k=5, work_dir="build/event/matches_parts")  # doctest: +SKIP
    """
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise InputError(f"chunk_size must be a whole number >= 1; got {chunk_size!r}")
    frame = needs.items
    n = len(frame)
    n_chunks = (n + chunk_size - 1) // chunk_size
    settings = {
        "k": int(k),
        "filters": json.loads(json.dumps(filters, sort_keys=True, default=str)),
        "id_col": needs.id_col,
        "text_cols": list(needs.text_cols),
        "keep_cols": list(keep_cols),
        "chunk_size": chunk_size,
    }
    progress = None
    if work_dir is not None:
        folder = Path(work_dir)
        expected = {
            "needs": table_fingerprint(frame[[needs.id_col, *needs.text_cols, *keep_cols]]),
            "index": matcher_fingerprint(matcher),
            "settings": settings,
            "n_needs": n,
            "n_chunks": n_chunks,
        }
        if folder.exists() and not folder.is_dir():
            raise InputError(f"'{folder}' is a file; the matches need a folder")
        # The folder appears with the first finished chunk: an error before it leaves nothing behind.
        progress = _Progress(folder, expected, restart=restart)
    timings: dict[str, float] = {}
    parts: list[pd.DataFrame] = []
    saved_flag = matcher.show_progress
    matcher.show_progress = False  # one bar over all needs, not one per chunk
    skipped = 0
    try:
        with progress_bar(n, "matching needs", show_progress, unit="need") as bar:
            for i in range(n_chunks):
                chunk = frame.iloc[i * chunk_size : (i + 1) * chunk_size]
                if progress is not None and progress.done(i):
                    skipped += 1
                    bar.update(len(chunk))
                    continue
                out = matcher.match(
                    chunk,
                    text_cols=list(needs.text_cols),
                    id_col=needs.id_col,
                    k=k,
                    filters=filters,
                    keep_cols=list(keep_cols),
                )
                for stage, sec in matcher.timings_.items():
                    timings[stage] = timings.get(stage, 0.0) + sec
                if progress is not None:
                    clock = time.perf_counter()
                    file = write_table(parquet_safe(out), progress.folder / _chunk_file(i))
                    progress.add(i, file, len(out))
                    timings["io"] = timings.get("io", 0.0) + time.perf_counter() - clock
                else:
                    parts.append(out)
                bar.update(len(chunk))
                if on_chunk is not None:
                    on_chunk(i, n_chunks)
    finally:
        matcher.show_progress = saved_flag
    if skipped:
        logger.info("resumed: %d of %d chunks were already matched in '%s'", skipped, n_chunks, work_dir)
    if progress is not None:
        clock = time.perf_counter()
        # Read every part back, so a resumed run returns exactly what an uninterrupted one does.
        parts = [pd.read_parquet(progress.folder / _chunk_file(i)) for i in range(n_chunks)]
        timings["io"] = timings.get("io", 0.0) + time.perf_counter() - clock
    parts = [p for p in parts if len(p)] or parts[:1]
    matches = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    return matches, timings


#: Columns of an empty match table (no need had a ranked product).
MATCH_COLUMNS = ["need_id", "need_text", "buyer_id", "rank", "item_id", "confidence", "supplier_id"]


def match_needs(
    inputs: EventInputs,
    matcher: Matcher,
    *,
    k: int = 10,
    filters: dict | None = None,
    chunk_size: int = 512,
    work_dir: str | os.PathLike | None = None,
    restart: bool = False,
    show_progress: bool | None = None,
    on_chunk: Callable[[int, int], None] | None = None,
) -> tuple[pd.DataFrame, dict]:
    """Match every need of an event and name the buyer and supplier of each match.

    Parameters
    ----------
    inputs : EventInputs
        The checked inputs (stage 1).
    matcher : Matcher
        The index of the catalogue the inputs were read against.
    k, filters, chunk_size, work_dir, restart, show_progress, on_chunk
        As for :func:`match_in_chunks`.

    Returns
    -------
    matches : DataFrame
        :meth:`Matcher.match` columns with ``buyer_id`` (third) and ``supplier_id``
        (last) added; one row per need × ranked product.
    timings : dict of str to float
        Seconds per matching stage, summed over the chunks.
    """
    matches, timings = match_in_chunks(
        matcher,
        inputs.needs,
        k=k,
        filters=filters,
        keep_cols=[],
        chunk_size=chunk_size,
        work_dir=work_dir,
        restart=restart,
        show_progress=show_progress,
        on_chunk=on_chunk,
    )
    if not len(matches):
        return pd.DataFrame(columns=MATCH_COLUMNS), timings
    buyer_of = dict(zip(inputs.need_table["need_id"], inputs.need_table["buyer_id"]))
    matches = matches.drop(columns=[c for c in ("buyer_id",) if c in matches.columns])
    matches.insert(2, "buyer_id", matches["need_id"].map(buyer_of))
    matches["supplier_id"] = matches["item_id"].astype(str).map(inputs.supplier_of_item)
    return matches, timings
