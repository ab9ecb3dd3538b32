"""Writing index folders: the writer lock, scratch folders, publishing a commit, collecting garbage.

See :mod:`.reader` for the folder layout and the readers' side of the protocol.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import xxhash

from ...errors import InputError
from ...io.files import umask_mode
from .reader import (
    COMMIT_DATA_RE,
    COMMIT_RE,
    CURRENT,
    HASH_BLOCK,
    LOCK,
    SEGMENT_RE,
    TMP_RE,
    commit_checksum,
    fsync_dir,
    is_index_folder,
    read_current,
)

__all__ = ["FolderWriter", "InjectedCrash", "writer_lock", "clean_scratch", "check_target"]


@contextmanager
def writer_lock(folder: Path, *, blocking: bool = True) -> Iterator[bool]:
    """Hold the folder's writer lock (one writer at a time; readers never take it)."""
    import fcntl

    fd = os.open(
        folder / LOCK,
        os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0),
        umask_mode(0o666),
    )
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)  # releases the lock


def clean_scratch(folder: Path) -> list[str]:
    """Remove writers' scratch folders (call while holding the writer lock)."""
    removed = []
    for entry in os.scandir(folder):
        if TMP_RE.fullmatch(entry.name) and entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(entry.name)
    return removed


def _write_durable(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), umask_mode(0o666))
    try:
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        os.fsync(fd)
    finally:
        os.close(fd)


class FolderWriter:
    """Publishes one new commit of an index folder; use :meth:`open` as a context manager.

    >>> with FolderWriter.open(folder) as w:                       # doctest: +SKIP
    ...     seg = w.new_segment()                                  # a scratch folder to fill
    ...     ...
    ...     w.publish(commit_without_files)
    """

    def __init__(self, folder: Path, previous: str | None, number: int, lock_cm):
        self.folder = folder
        self.previous = previous
        self.number = number
        self._lock_cm = lock_cm
        self.scratch = folder / f".tmp-{secrets.token_hex(8)}"
        os.mkdir(self.scratch, umask_mode(0o777))
        self._staged: list[str] = []

    @classmethod
    @contextmanager
    def open(cls, folder: Path) -> Iterator[FolderWriter]:
        folder.mkdir(parents=True, exist_ok=True)
        lock = writer_lock(folder)
        lock.__enter__()
        try:
            clean_scratch(folder)
            previous = read_current(folder)
            number = int(COMMIT_RE.fullmatch(previous).group(1)) + 1 if previous else 1
            # Never reuse a number a crashed writer may have left behind.
            for entry in os.listdir(folder):
                m = COMMIT_RE.fullmatch(entry) or COMMIT_DATA_RE.fullmatch(entry) or SEGMENT_RE.fullmatch(entry)
                if m:
                    number = max(number, int(m.group(1)) + 1)
            writer = cls(folder, previous, number, lock)
            try:
                yield writer
            finally:
                shutil.rmtree(writer.scratch, ignore_errors=True)
        finally:
            lock.__exit__(None, None, None)

    # ------------------------------------------------------------ staging
    def new_segment(self) -> tuple[str, Path]:
        """A fresh segment name and its scratch folder to write files into."""
        name = f"seg-{self.number:06d}-{secrets.token_hex(4)}"
        path = self.scratch / name
        os.mkdir(path, umask_mode(0o777))
        self._staged.append(name)
        return name, path

    def commit_data(self) -> tuple[str, Path]:
        """This commit's own folder (statistics, vocabularies, tombstones) in scratch."""
        name = f"c-{self.number:06d}"
        path = self.scratch / name
        if name not in self._staged:
            os.mkdir(path, umask_mode(0o777))
            self._staged.append(name)
        return name, path

    def _describe(self, rel: str, path: Path) -> dict:
        h = xxhash.xxh3_128()
        size = 0
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(HASH_BLOCK), b""):
                h.update(block)
                size += len(block)
        return {"bytes": size, "xxh3": h.hexdigest()}

    def publish(self, commit: dict, reused: dict[str, dict] | None = None, *, crash_at: str | None = None) -> str:
        """Move staged folders into place and make ``commit`` the live one.

        Parameters
        ----------
        commit : dict
            The commit without ``files``, ``checksum``, ``commit`` and ``previous``.
        reused : dict, optional
            Entries of files from earlier commits that this commit still names.
        crash_at : str, optional
            For crash tests only: stop (as a kill would) before the named step.
        """
        files = dict(reused or {})
        for name in self._staged:
            for root, _dirs, names in os.walk(self.scratch / name):
                for fname in names:
                    path = Path(root) / fname
                    rel = path.relative_to(self.scratch).as_posix()
                    with open(path, "rb+") as fh:
                        os.fsync(fh.fileno())
                    files[rel] = self._describe(rel, path)
            fsync_dir(self.scratch / name)
        _crash(crash_at, "rename")
        for name in self._staged:
            os.rename(self.scratch / name, self.folder / name)
        fsync_dir(self.folder)
        commit = {**commit, "commit": self.number, "previous": self.previous, "files": dict(sorted(files.items()))}
        commit["checksum"] = commit_checksum(commit)
        commit_name = f"commit-{self.number:06d}.json"
        text = json.dumps(commit, indent=1, ensure_ascii=False, allow_nan=False).encode("utf-8") + b"\n"
        _crash(crash_at, "commit")
        tmp = self.scratch / f"{commit_name}.tmp"
        _write_durable(tmp, text)
        os.rename(tmp, self.folder / commit_name)
        fsync_dir(self.folder)  # the commit's folder entry is durable before CURRENT names it
        _crash(crash_at, "current")
        tmp = self.scratch / "CURRENT.tmp"
        _write_durable(tmp, (commit_name + "\n").encode("ascii"))
        os.replace(tmp, self.folder / CURRENT)
        fsync_dir(self.folder)
        _crash(crash_at, "gc")
        self.collect_garbage(commit_name)
        return commit_name

    def collect_garbage(self, live: str) -> list[str]:
        """Delete our files that neither the live commit nor its predecessor references.

        The predecessor is kept so a reader that resolved ``CURRENT`` a moment ago can still
        open it; a reader that loses the race retries (see :func:`open_snapshot`).
        """
        keep_commits = {live}
        keep_dirs: set[str] = set()
        for name in (live, self._previous_of(live)):
            if not name:
                continue
            keep_commits.add(name)
            try:
                data = json.loads((self.folder / name).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            for rel in data.get("files", {}):
                keep_dirs.add(rel.split("/")[0])
        removed = []
        for entry in os.scandir(self.folder):
            name = entry.name
            if COMMIT_RE.fullmatch(name) and name not in keep_commits and entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
                removed.append(name)
            elif (
                (SEGMENT_RE.fullmatch(name) or COMMIT_DATA_RE.fullmatch(name))
                and name not in keep_dirs
                and entry.is_dir(follow_symlinks=False)
            ):
                shutil.rmtree(entry.path, ignore_errors=True)
                removed.append(name)
        return removed

    def _previous_of(self, name: str) -> str | None:
        try:
            prev = json.loads((self.folder / name).read_text(encoding="utf-8")).get("previous")
        except (OSError, ValueError):
            return None
        return prev if isinstance(prev, str) and COMMIT_RE.fullmatch(prev) else None


class InjectedCrash(BaseException):
    """Raised by crash tests at an injected point; a BaseException so no handler swallows it."""


def _crash(at: str | None, step: str) -> None:
    if at == step:
        raise InjectedCrash(step)


def check_target(folder: Path, *, overwrite: bool) -> None:
    """Refuse, before any work, to write an index where it would clobber something.

    An existing file, a non-empty folder that is not an index, or (without ``overwrite``) an
    existing index are refused. A symbolic link to a folder is written through.
    """
    if folder.exists() or folder.is_symlink():
        if not folder.is_dir():
            raise InputError(f"'{folder}' exists and is not a folder; choose a folder path for the index")
        if any(True for _ in os.scandir(folder)):
            if not is_index_folder(folder):
                raise InputError(
                    f"'{folder}' exists and is not a semantic_match index folder; choose a new or empty folder"
                )
            if not overwrite:
                raise InputError(f"'{folder}' already holds an index; pass overwrite=True to replace it")
    parent = folder.resolve().parent if folder.exists() else folder.absolute().parent
    probe = folder if folder.exists() else parent
    while not probe.exists():
        probe = probe.parent
    if not os.access(probe, os.W_OK | os.X_OK):
        raise InputError(f"cannot write the index to '{folder}': '{probe}' is not writable")
