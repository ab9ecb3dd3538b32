"""Writing files and folders safely: checksums, atomic file writes, atomic folder replacement.

Every writer in the package goes through here, so that a crash mid-write never
leaves a half-written file or folder behind, and what is written gets the
permissions the user's umask allows (temporary files are created private).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["sha256_file", "sha256_bytes", "atomic_write", "replace_folder", "make_temp_dir", "umask_mode"]


def umask_mode(mode: int = 0o777) -> int:
    """``mode`` with the process's umask applied, as ``open``/``mkdir`` would give."""
    umask = os.umask(0)
    os.umask(umask)
    return mode & ~umask


def make_temp_dir(parent: Path, prefix: str) -> Path:
    """A new scratch folder beside its final place, with the permissions of an ordinary folder.

    ``tempfile.mkdtemp`` creates folders readable by their owner only (0700);
    renamed into place such a folder would hide a saved index or model from
    other users and services, so the usual umask-based mode is restored.
    """
    tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    os.chmod(tmp, umask_mode(0o777))
    return tmp


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of a byte string."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def replace_folder(tmp: Path, target: Path) -> None:
    """Move a completely written folder into place, replacing ``target`` if it exists.

    The old folder is renamed aside first, so ``target`` is never half old, half new.
    """
    backup = None
    if target.exists():
        backup = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.rename(target, backup)
    os.rename(tmp, target)
    if backup is not None:
        shutil.rmtree(backup, ignore_errors=True)


def atomic_write(path: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Write a file through a temporary sibling and rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    # mkstemp creates 0600; give the final file the usual permissions (umask applies).
    os.chmod(tmp, umask_mode(0o666))
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
