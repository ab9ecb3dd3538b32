"""The index folder protocol: immutable files, commit points and one atomically swapped pointer.

Modelled on Lucene's segments and commit points (see docs/reliability.md)::

    INDEX/
      CURRENT                 one line: the live commit file's name
      commit-000007.json      the commit: settings, segments, the checksum and size of every
                              file it names, and a SHA-256 of itself
      seg-000007-1a2b3c4d/    a segment: immutable files written once
      c-000007/               the commit's own files (vocabularies, statistics, tombstones)
      .lock                   held by the one writer at a time (flock; released by the kernel on a crash)
      .tmp-<16 hex>/          a writer's scratch; removed by the next writer

Readers resolve ``CURRENT`` once, read that commit, and open every file it names with
``O_NOFOLLOW``: a regular file of the recorded size whose content hash is checked on the bytes
read from that open descriptor, which they keep (an open or mapped file survives its deletion).
Everything a search touches therefore comes from one commit; a writer never waits for readers.

Writers take the lock, write new files under fresh names in a scratch folder, fsync, rename them
into place, write the new commit file, fsync, and replace ``CURRENT`` (write-temp, fsync,
rename). A crash anywhere leaves the previous commit intact; the next writer removes scratch
folders and files no commit references. Only names of exactly our patterns are ever deleted,
so other files a user keeps in the folder are never touched.

File content hashes are XXH3-128 (xxhash: ~4 GB/s, so verifying a million-item index costs
about half a second); they detect corruption and stray edits. The commit protects itself
with a SHA-256 of its canonical JSON.
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import secrets
import shutil
import stat
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import xxhash

from ..errors import IndexFormatError, InputError
from ..io.files import umask_mode

__all__ = [
    "CURRENT", "LOCK", "COMMIT_RE", "SEGMENT_RE", "COMMIT_DATA_RE", "TMP_RE", "IndexChangedError",
    "VerifiedFile", "Snapshot", "FolderWriter", "open_snapshot", "read_current", "commit_checksum",
    "hash_bytes", "is_index_folder", "writer_lock", "fsync_dir", "clean_scratch", "open_regular",
    "verify_file", "check_target", "InjectedCrash",
]

CURRENT = "CURRENT"
LOCK = ".lock"
COMMIT_RE = re.compile(r"commit-(\d{6})\.json")
SEGMENT_RE = re.compile(r"seg-(\d{6})-[0-9a-f]{8}")
COMMIT_DATA_RE = re.compile(r"c-(\d{6})")
TMP_RE = re.compile(r"\.tmp-[0-9a-f]{16}")
#: Relative file names inside an index: one folder level, plain characters.
_REL_RE = re.compile(r"(seg-\d{6}-[0-9a-f]{8}|c-\d{6})/[A-Za-z0-9_.-]{1,100}")
_MAX_COMMIT_BYTES = 64 << 20
_HASH_BLOCK = 8 << 20


class IndexChangedError(IndexFormatError):
    """The index kept changing under a reader (a writer replaced it several times in a row).

    Retryable: open the index again.
    """


def hash_bytes(data: bytes | memoryview) -> str:
    """Content hash recorded for every index file: XXH3-128, hex."""
    return xxhash.xxh3_128_hexdigest(data)


def commit_checksum(commit: dict) -> str:
    """SHA-256 of a commit's canonical JSON without its own ``checksum`` field."""
    body = {k: v for k, v in commit.items() if k != "checksum"}
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def fsync_dir(path: Path) -> None:
    """Make a rename inside ``path`` durable."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def open_regular(name: str, dir_fd: int | None, where: str) -> int:
    """Open a regular file for reading without following a symlink or blocking on a FIFO."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(name, flags, dir_fd=dir_fd)
    except FileNotFoundError:
        raise
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise IndexFormatError(f"{where} is a symbolic link; index files must be regular files "
                                   f"(rebuild the index)") from None
        raise IndexFormatError(f"{where} cannot be opened ({exc.strerror}); rebuild the index") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        kind = "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file"
        raise IndexFormatError(f"{where} is {kind}; rebuild the index")
    if hasattr(os, "set_blocking"):
        os.set_blocking(fd, True)
    return fd


def _read_fd(fd: int, limit: int | None = None) -> bytes:
    chunks = []
    total = 0
    while True:
        block = os.read(fd, _HASH_BLOCK)
        if not block:
            break
        chunks.append(block)
        total += len(block)
        if limit is not None and total > limit:
            break
    os.lseek(fd, 0, os.SEEK_SET)
    return b"".join(chunks)


@dataclass
class VerifiedFile:
    """An index file opened once, checked (regular, size, hash) on the bytes of this descriptor.

    Read it only through this object: :meth:`read_bytes` returns the verified bytes, and
    :attr:`path` names the same open file (``/proc/self/fd/N`` on Linux), so memory maps and
    libraries that want a path see exactly what was verified even if the folder changes.
    """

    name: str
    fd: int
    size: int
    path: str
    data: bytes | None = None

    def read_bytes(self) -> bytes:
        if self.data is None:
            self.data = _read_fd(self.fd)
        return self.data

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        self.data = None


def _fd_path(fd: int, fallback: Path) -> str:
    proc = f"/proc/self/fd/{fd}"
    return proc if os.path.exists(proc) else str(fallback)


def verify_file(folder: Path, rel: str, dir_fd: int | None, info: object, *, keep_bytes: bool) -> VerifiedFile:
    """Open ``rel`` inside ``folder`` safely and check it against its commit entry."""
    where = f"index file '{folder / rel}'"
    if not isinstance(info, dict) or not isinstance(info.get("bytes"), int) or not isinstance(info.get("xxh3"), str):
        raise IndexFormatError(f"the commit's entry for '{rel}' is malformed; rebuild the index")
    parts = rel.split("/")
    sub_fd = None
    try:
        if len(parts) == 2:
            flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
            try:
                sub_fd = os.open(parts[0], flags, dir_fd=dir_fd)
            except OSError as exc:
                if exc.errno == errno.ENOENT:
                    raise FileNotFoundError(errno.ENOENT, "no such folder", rel) from None
                raise IndexFormatError(f"index folder part '{folder / parts[0]}' is not a plain folder "
                                       f"({exc.strerror}); rebuild the index") from None
        try:
            fd = open_regular(parts[-1], sub_fd if sub_fd is not None else dir_fd, where)
        except FileNotFoundError:
            raise FileNotFoundError(errno.ENOENT, "no such file", rel) from None
    finally:
        if sub_fd is not None:
            os.close(sub_fd)
    size = os.fstat(fd).st_size
    if size != info["bytes"]:
        os.close(fd)
        raise IndexFormatError(f"{where} has {size} bytes, its commit says {info['bytes']} (truncated or "
                               f"replaced); rebuild the index")
    # Hash in blocks: a large file is verified without holding it in memory.
    h = xxhash.xxh3_128()
    kept: list[bytes] | None = [] if keep_bytes else None
    total = 0
    while True:
        block = os.read(fd, _HASH_BLOCK)
        if not block:
            break
        h.update(block)
        total += len(block)
        if kept is not None:
            kept.append(block)
    os.lseek(fd, 0, os.SEEK_SET)
    if total != size or h.hexdigest() != info["xxh3"]:
        os.close(fd)
        raise IndexFormatError(f"{where} does not match its checksum (corrupt or edited); rebuild the index")
    return VerifiedFile(name=rel, fd=fd, size=size, path=_fd_path(fd, folder / rel),
                        data=b"".join(kept) if kept is not None else None)


def read_current(folder: Path, dir_fd: int | None = None) -> str | None:
    """The live commit file's name, or None when the folder has no ``CURRENT``."""
    try:
        fd = open_regular(CURRENT, dir_fd, f"'{folder / CURRENT}'") if dir_fd is not None else \
            open_regular(str(folder / CURRENT), None, f"'{folder / CURRENT}'")
    except FileNotFoundError:
        return None
    try:
        text = _read_fd(fd, limit=256)[:257]
    finally:
        os.close(fd)
    name = text.decode("ascii", errors="replace").strip()
    if not COMMIT_RE.fullmatch(name):
        raise IndexFormatError(f"'{folder / CURRENT}' does not name a commit file (it holds {text[:60]!r}); "
                               f"rebuild the index")
    return name


@dataclass
class Snapshot:
    """One commit of an index, its files opened and verified."""

    folder: Path
    commit_name: str
    commit: dict
    files: dict[str, VerifiedFile] = field(default_factory=dict)

    def file(self, rel: str) -> VerifiedFile:
        return self.files[rel]

    def close(self) -> None:
        for f in self.files.values():
            f.close()


def _validate_commit_files(folder: Path, commit: dict, expected: set[str]) -> dict:
    files = commit.get("files")
    if not isinstance(files, dict):
        raise IndexFormatError(f"index '{folder}': its commit has no 'files' table; rebuild the index")
    listed = set(files)
    bad = sorted(r for r in listed if not _REL_RE.fullmatch(r) or ".." in r)
    if bad:
        raise IndexFormatError(f"index '{folder}': its commit names files outside the index layout {bad[:3]}; "
                               f"rebuild the index")
    if listed != expected:
        missing, extra = sorted(expected - listed), sorted(listed - expected)
        raise IndexFormatError(f"index '{folder}': its commit's file list does not match its structure "
                               f"(missing {missing[:3]}, unexpected {extra[:3]}); rebuild the index")
    return files


def open_snapshot(folder: Path, expected_files, *, keep_bytes=lambda rel: True, attempts: int = 20) -> Snapshot:
    """Open the live commit of a format-2 index folder and verify every file it names.

    Parameters
    ----------
    folder : Path
    expected_files : callable
        ``commit -> set of relative file names`` the commit's structure requires; the commit
        must list exactly these (a missing or extra entry is an error, so checks cannot be
        switched off by editing the list).
    keep_bytes : callable
        ``rel -> bool``: keep the verified bytes in memory (small files parsed right away).
    attempts : int
        A writer may publish new commits and remove old files while we open; we retry from
        ``CURRENT`` this many times before raising :class:`IndexChangedError`.
    """
    last: Exception | None = None
    for attempt in range(attempts):
        dir_fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        snap = None
        name = None
        try:
            name = read_current(folder, dir_fd)
            if name is None:
                raise IndexFormatError(f"'{folder}' is not a semantic_match index: it has no {CURRENT} file")
            fd = open_regular(name, dir_fd, f"commit '{folder / name}'")
            try:
                raw = _read_fd(fd, limit=_MAX_COMMIT_BYTES)
            finally:
                os.close(fd)
            if len(raw) > _MAX_COMMIT_BYTES:
                raise IndexFormatError(f"commit '{folder / name}' is larger than {_MAX_COMMIT_BYTES} bytes")
            try:
                commit = json.loads(raw.decode("utf-8"))
            except ValueError as exc:
                raise IndexFormatError(f"commit '{folder / name}' is not valid JSON ({exc}); rebuild the index") from None
            if not isinstance(commit, dict) or commit.get("checksum") != commit_checksum(commit):
                raise IndexFormatError(f"commit '{folder / name}' does not match its own checksum (corrupt or "
                                       f"edited); rebuild the index")
            expected = expected_files(commit)
            files = _validate_commit_files(folder, commit, expected)
            snap = Snapshot(folder=folder, commit_name=name, commit=commit)
            for rel in sorted(files):
                snap.files[rel] = verify_file(folder, rel, dir_fd, files[rel], keep_bytes=keep_bytes(rel))
            return snap
        except FileNotFoundError as exc:
            if snap is not None:
                snap.close()
            # A writer may have removed an older commit's files between our reading CURRENT and opening
            # them: then CURRENT has moved on and we start over. If it has not, the file is just missing.
            try:
                moved = read_current(folder) != name
            except (IndexFormatError, OSError):
                moved = True
            if not moved:
                raise IndexFormatError(f"index '{folder}' is missing its file '{exc.filename or exc}'; "
                                       f"rebuild the index") from None
            last = exc
            time.sleep(min(0.002 * (attempt + 1), 0.05))
        except BaseException:
            if snap is not None:
                snap.close()
            raise
        finally:
            os.close(dir_fd)
    raise IndexChangedError(f"index '{folder}' changed {attempts} times while it was being opened ({last}); "
                            f"open it again")


def is_index_folder(folder: Path) -> bool:
    """True when ``folder`` holds a semantic_match index of any format."""
    if (folder / CURRENT).exists():
        return True
    try:
        data = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("format") == "semantic_match.index"


@contextmanager
def writer_lock(folder: Path, *, blocking: bool = True) -> Iterator[bool]:
    """Hold the folder's writer lock (one writer at a time; readers never take it)."""
    import fcntl

    fd = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0),
                 umask_mode(0o666))
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
            for block in iter(lambda: fh.read(_HASH_BLOCK), b""):
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
            elif (SEGMENT_RE.fullmatch(name) or COMMIT_DATA_RE.fullmatch(name)) and name not in keep_dirs \
                    and entry.is_dir(follow_symlinks=False):
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
                raise InputError(f"'{folder}' exists and is not a semantic_match index folder; choose a new or "
                                 f"empty folder")
            if not overwrite:
                raise InputError(f"'{folder}' already holds an index; pass overwrite=True to replace it")
    parent = folder.resolve().parent if folder.exists() else folder.absolute().parent
    probe = folder if folder.exists() else parent
    while not probe.exists():
        probe = probe.parent
    if not os.access(probe, os.W_OK | os.X_OK):
        raise InputError(f"cannot write the index to '{folder}': '{probe}' is not writable")
