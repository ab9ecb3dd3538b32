"""Matches written as a folder of Parquet parts that a stopped job resumes.

::

    OUT/
      _manifest.json       the needs (files, fingerprint, rows), the index fingerprint, the settings,
                           and for every finished part its needs, rows, size and XXH3 hash
      part-00000.parquet   the matches of needs 0 … 2047, as Matcher.match gives them
      part-00001.parquet   …

Parts are written atomically by the task that computes them, under a name fixed by the
partition, so a task run twice (a lost worker) writes the same file twice and never a second
copy. The driver records each finished part in the manifest. Run again with the same needs,
index and settings, the job verifies every recorded part (size, hash, row count) and computes
only the others; with other inputs or settings it discards the folder's parts and starts over:
a part is never reused for inputs it was not computed from. Read the result back with
:func:`read_match_folder`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import InputError
from ..io.catalog import TableSource
from ..io.files import atomic_write
from ..retrieval.filters import Filters
from ..retrieval.storage import CURRENT
from .cluster import total_threads
from .match import concat_parts, index_spec, plan_match
from .partitions import frame_fingerprint, input_files
from .tasks import RETRIES, run_partitions
from .worker import file_digest, matcher_signature, write_match_partition, write_part

if TYPE_CHECKING:  # pragma: no cover
    from distributed import Client

    from ..retrieval.matcher import Matcher

__all__ = ["MANIFEST", "FolderResult", "match_to_folder", "read_match_folder", "is_folder_output", "part_name"]

logger = logging.getLogger(__name__)

MANIFEST = "_manifest.json"
_FORMAT = "semantic_match.match_folder"
_VERSION = 1
_PART_RE = re.compile(r"part-\d{5}\.parquet")
#: A part being written (io.files.atomic_write's temporary name); left behind by a killed worker.
_TEMP_RE = re.compile(r"\.part-\d{5}\.parquet\..+")
#: Seconds between manifest rewrites while parts finish (a stopped job recomputes at most that much).
_SAVE_EVERY = 1.0


def part_name(i: int) -> str:
    return f"part-{i:05d}.parquet"


def is_folder_output(out: str | os.PathLike) -> bool:
    """True when ``out`` names a folder: it ends with a slash or is an existing folder."""
    text = os.fspath(out)
    return text.endswith(("/", os.sep)) or Path(text).is_dir()


@dataclass
class FolderResult:
    """What :func:`match_to_folder` wrote.

    Attributes
    ----------
    folder : Path
    parts : list of Path
        Every part, in need order.
    needs, rows : int
        Needs matched and result rows over all parts.
    computed, skipped : list of int
        Partitions computed by this run, and those reused from an earlier run of the same job.
    """

    folder: Path
    parts: list[Path]
    needs: int
    rows: int
    computed: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)


def _saved_content(matcher: Matcher) -> list[str] | None:
    """The content hashes of the commit the matcher was loaded from or saved as, if still the live one."""
    folder, commit = getattr(matcher, "folder_", None), getattr(matcher, "commit_name_", None)
    if folder is None or commit is None:
        return None
    try:
        if (Path(folder) / CURRENT).read_text(encoding="ascii").strip() != commit:
            return None
        files = json.loads((Path(folder) / commit).read_text(encoding="utf-8")).get("files", {})
    except (OSError, ValueError):
        return None
    # Segment names are random; their files' sizes and hashes are what the index holds.
    return sorted(json.dumps(v, sort_keys=True) for v in files.values())


def _index_fingerprint(matcher: Matcher) -> str:
    """What makes the matcher rank as it does: settings, item ids and the saved files (or texts and vectors)."""
    manifest = matcher.manifest()
    for volatile in ("created", "library_version"):
        manifest.pop(volatile, None)
    manifest.get("catalog", {}).pop("source", None)
    h = hashlib.sha256(json.dumps(manifest, sort_keys=True, default=str).encode())
    h.update(matcher_signature(matcher).encode())
    saved = _saved_content(matcher)
    if saved is not None:
        h.update(json.dumps(saved).encode())
    else:  # never saved (a folder job in this process): hash what the index holds
        h.update("\x1f".join(matcher.texts).encode("utf-8"))
        vectors = matcher.item_vectors()
        if vectors is not None:
            h.update(np.ascontiguousarray(vectors).tobytes())
    return h.hexdigest()


class _Record:
    """The manifest of a match folder, kept on the driver and saved atomically."""

    def __init__(self, folder: Path, expected: dict):
        self.folder = folder
        self.path = folder / MANIFEST
        self.record = {**expected, "complete": False, "parts": {}}
        self.saved_at = 0.0
        saved = self._read()
        same = saved is not None and all(
            saved.get(key) == expected.get(key) for key in ("format", "version", "needs", "index", "settings")
        )
        if same:
            self.record["parts"] = saved.get("parts", {})
        else:
            if saved is not None:
                logger.warning("'%s' holds matches of other needs, index or settings; they are replaced", folder)
            self._clear()
        self.save()

    def _read(self) -> dict | None:
        if not self.folder.exists():
            return None
        if not self.folder.is_dir():
            raise InputError(f"'{self.folder}' is a file; give a folder (ending in '/') for partitioned output")
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            if any(True for _ in os.scandir(self.folder)):
                raise InputError(
                    f"'{self.folder}' is not empty and holds no {MANIFEST} of a match job; choose a new or empty folder"
                ) from None
            return None
        except (OSError, ValueError):
            return {}  # unreadable: start over
        return data if isinstance(data, dict) and data.get("format") == _FORMAT else {}

    def _clear(self, pattern: re.Pattern = _PART_RE) -> None:
        # Only our own names are ever deleted: a user's other files stay.
        for entry in os.scandir(self.folder) if self.folder.exists() else ():
            if pattern.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)

    def done(self, i: int) -> bool:
        info = self.record["parts"].get(str(i))
        if not isinstance(info, dict):
            return False
        path = self.folder / part_name(i)
        try:
            ok = file_digest(path) == {"bytes": info.get("bytes"), "xxh3": info.get("xxh3")}
            if ok:
                import pyarrow.parquet as pq

                ok = pq.read_metadata(path).num_rows == info.get("rows")
        except (OSError, ValueError) as exc:
            logger.info("part %s cannot be verified (%s)", path, exc)
            ok = False
        if not ok:
            logger.warning("part '%s' is missing or does not match the manifest; matching it again", path)
            self.record["parts"].pop(str(i), None)
        return ok

    def add(self, i: int, needs: tuple[int, int], info: dict) -> None:
        self.record["parts"][str(i)] = {"file": part_name(i), "needs": list(needs), **info}
        if time.monotonic() - self.saved_at >= _SAVE_EVERY:
            self.save()

    def save(self, *, complete: bool = False) -> None:
        self.record["complete"] = complete
        if complete:
            self._clear(_TEMP_RE)  # every task has ended: what is half-written now is a killed worker's
        text = json.dumps(self.record, indent=1, ensure_ascii=False, sort_keys=False, default=str) + "\n"
        atomic_write(self.path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
        self.saved_at = time.monotonic()


def match_to_folder(
    matcher: Matcher,
    needs: TableSource | Sequence[str],
    out: str | os.PathLike,
    *,
    client: Client | None = None,
    text_cols: Sequence[str] | str | None = None,
    id_col: str | None = None,
    k: int = 10,
    filters: Filters | None = None,
    keep_cols: Sequence[str] = (),
    sheet: str | int | None = None,
    encoding: str | None = None,
    partition_rows: int | None = None,
    resources: dict | None = None,
    retries: int = RETRIES,
    show_progress: bool | None = None,
    on_partition: Callable[[int, int], object] | None = None,
    threads: int | None = None,
) -> FolderResult:
    """Match every need and write the result as a resumable folder of Parquet parts.

    Parameters
    ----------
    matcher : Matcher
        With a client: saved to, or loaded from, a folder every worker can read.
    needs, text_cols, id_col, k, filters, keep_cols, sheet, encoding, threads
        As for :meth:`Matcher.match`; ``needs`` may also be a glob or a folder of table files;
        ``threads`` applies without a client (a cluster's workers run partitions side by side).
    out : path
        The output folder (created; it must be new, empty or an earlier output of this function,
        and with a client on storage every worker can write).
    client : distributed.Client, optional
        Match on the cluster; without one the parts are matched here, one after the other.
    partition_rows : int, optional
        Needs per part (see :func:`~semantic_match.distributed.match_on_cluster`).
    show_progress : bool, optional
        A bar over parts; default the matcher's setting.

    Returns
    -------
    FolderResult

    Examples
    --------
    >>> res = match_to_folder(m, "rup.parquet", "build/matches/", text_cols=["item", "spec"],
    ...                       client=client)                                   # doctest: +SKIP
    >>> read_match_folder(res.folder).head()                                   # doctest: +SKIP
    """
    spec = index_spec(matcher) if client is not None else None
    plan = plan_match(
        matcher,
        needs,
        slots=total_threads(client) if client is not None else 1,
        text_cols=text_cols,
        id_col=id_col,
        k=k,
        filters=filters,
        keep_cols=keep_cols,
        sheet=sheet,
        encoding=encoding,
        partition_rows=partition_rows,
    )
    folder = Path(os.path.abspath(out))
    req = plan.request
    table = plan.needs
    sources = [str(p) for p in input_files(needs)] if isinstance(needs, (str, os.PathLike)) else None
    expected = {
        "format": _FORMAT,
        "version": _VERSION,
        "needs": {"fingerprint": frame_fingerprint(table.items), "rows": len(table)},
        "index": {"fingerprint": _index_fingerprint(matcher)},
        "settings": {
            "k": req.k,
            "filters": json.loads(json.dumps(req.filters, sort_keys=True, default=str)),
            "id_col": req.id_col,
            "text_cols": list(req.text_cols),
            "keep_cols": list(req.keep_cols),
            "exact": matcher.exact,
            "partition_rows": plan.bounds[0][1] - plan.bounds[0][0],
            "n_parts": len(plan.bounds),
        },
        "sources": {"needs": sources, "index": getattr(matcher, "folder_", None) and str(matcher.folder_)},
    }
    # "sources" is for people; whether parts are reused is decided by the fingerprints and settings.
    record = _Record(folder, expected)
    todo = [i for i in range(len(plan.bounds)) if not record.done(i)]
    skipped = sorted(set(range(len(plan.bounds))) - set(todo))
    if skipped:
        logger.info("resuming '%s': %d of %d parts are already written", folder, len(skipped), len(plan.bounds))
    show = matcher.show_progress if show_progress is None else show_progress
    threads = matcher._check_threads(threads, client)
    if client is not None:
        tasks = ((i, (spec, plan.partition(i), req, str(folder / part_name(i)))) for i in todo)
        for i, info in run_partitions(
            client,
            write_match_partition,
            tasks,
            total=len(todo),
            name="match-part",
            desc="matching needs",
            show_progress=show,
            resources=resources,
            retries=retries,
            on_partition=on_partition,
        ):
            record.add(i, plan.bounds[i], info)
    else:
        saved_flag, matcher.show_progress = matcher.show_progress, False
        try:
            for done, i in enumerate(todo, 1):
                part = write_part(matcher, plan.partition(i), req, str(folder / part_name(i)), threads=threads)
                record.add(i, plan.bounds[i], part)
                if on_partition is not None:
                    on_partition(done, len(todo))
        finally:
            matcher.show_progress = saved_flag
    record.save(complete=True)
    parts = record.record["parts"]
    return FolderResult(
        folder=folder,
        parts=[folder / part_name(i) for i in range(len(plan.bounds))],
        needs=len(table),
        rows=sum(int(parts[str(i)]["rows"]) for i in range(len(plan.bounds))),
        computed=todo,
        skipped=skipped,
    )


def read_match_folder(folder: str | os.PathLike, *, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """The matches of a folder written by :func:`match_to_folder`, parts in need order.

    Raises
    ------
    InputError
        No manifest, or a job that has not finished.
    """
    folder = Path(folder)
    try:
        record = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"'{folder}' is not a match folder: its {MANIFEST} cannot be read ({exc})") from None
    if record.get("format") != _FORMAT or not record.get("complete"):
        raise InputError(f"'{folder}' holds an unfinished match job; run it again to complete it")
    n = record["settings"]["n_parts"]
    return concat_parts(
        [pd.read_parquet(folder / part_name(i), columns=list(columns) if columns else None) for i in range(n)]
    )
