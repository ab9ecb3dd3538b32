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
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path

import xxhash

from ...errors import IndexFormatError

__all__ = [
    "CURRENT",
    "LOCK",
    "COMMIT_RE",
    "SEGMENT_RE",
    "COMMIT_DATA_RE",
    "TMP_RE",
    "HASH_BLOCK",
    "IndexChangedError",
    "VerifiedFile",
    "Snapshot",
    "open_snapshot",
    "read_current",
    "commit_checksum",
    "hash_bytes",
    "is_index_folder",
    "fsync_dir",
    "open_regular",
    "verify_file",
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
HASH_BLOCK = 8 << 20


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
            raise IndexFormatError(
                f"{where} is a symbolic link; index files must be regular files (rebuild the index)"
            ) from None
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
        block = os.read(fd, HASH_BLOCK)
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
                raise IndexFormatError(
                    f"index folder part '{folder / parts[0]}' is not a plain folder ({exc.strerror}); rebuild the index"
                ) from None
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
        raise IndexFormatError(
            f"{where} has {size} bytes, its commit says {info['bytes']} (truncated or replaced); rebuild the index"
        )
    # Hash in blocks: a large file is verified without holding it in memory.
    h = xxhash.xxh3_128()
    kept: list[bytes] | None = [] if keep_bytes else None
    total = 0
    while True:
        block = os.read(fd, HASH_BLOCK)
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
    return VerifiedFile(
        name=rel, fd=fd, size=size, path=_fd_path(fd, folder / rel), data=b"".join(kept) if kept is not None else None
    )


def read_current(folder: Path, dir_fd: int | None = None) -> str | None:
    """The live commit file's name, or None when the folder has no ``CURRENT``."""
    try:
        fd = (
            open_regular(CURRENT, dir_fd, f"'{folder / CURRENT}'")
            if dir_fd is not None
            else open_regular(str(folder / CURRENT), None, f"'{folder / CURRENT}'")
        )
    except FileNotFoundError:
        return None
    try:
        text = _read_fd(fd, limit=256)[:257]
    finally:
        os.close(fd)
    name = text.decode("ascii", errors="replace").strip()
    if not COMMIT_RE.fullmatch(name):
        raise IndexFormatError(
            f"'{folder / CURRENT}' does not name a commit file (it holds {text[:60]!r}); rebuild the index"
        )
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
        raise IndexFormatError(
            f"index '{folder}': its commit names files outside the index layout {bad[:3]}; rebuild the index"
        )
    if listed != expected:
        missing, extra = sorted(expected - listed), sorted(listed - expected)
        raise IndexFormatError(
            f"index '{folder}': its commit's file list does not match its structure "
            f"(missing {missing[:3]}, unexpected {extra[:3]}); rebuild the index"
        )
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
                raise IndexFormatError(
                    f"commit '{folder / name}' is not valid JSON ({exc}); rebuild the index"
                ) from None
            if not isinstance(commit, dict) or commit.get("checksum") != commit_checksum(commit):
                raise IndexFormatError(
                    f"commit '{folder / name}' does not match its own checksum (corrupt or edited); rebuild the index"
                )
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
                raise IndexFormatError(
                    f"index '{folder}' is missing its file '{exc.filename or exc}'; rebuild the index"
                ) from None
            last = exc
            time.sleep(min(0.002 * (attempt + 1), 0.05))
        except BaseException:
            if snap is not None:
                snap.close()
            raise
        finally:
            os.close(dir_fd)
    raise IndexChangedError(
        f"index '{folder}' changed {attempts} times while it was being opened ({last}); open it again"
    )


def is_index_folder(folder: Path) -> bool:
    """True when ``folder`` holds a semantic_match index of any format."""
    if (folder / CURRENT).exists():
        return True
    try:
        data = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("format") == "semantic_match.index"
