"""Helpers shared by the training tests."""

from __future__ import annotations

import os
import stat
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def umask(mask: int):
    """Run the block under ``mask``, then restore the process's umask."""
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def modes(folder: Path) -> dict[str, int]:
    """Permission bits of ``folder`` ("." ) and of everything inside it, by relative path."""
    out = {".": stat.S_IMODE(folder.stat().st_mode)}
    for path in sorted(folder.rglob("*")):
        out[path.relative_to(folder).as_posix()] = stat.S_IMODE(path.stat().st_mode)
    return out


def assert_readable_by_others(folder: Path) -> None:
    """Under umask 022: folders 0755 and files 0644, whatever mode their writer chose."""
    found = modes(folder)
    wrong = {
        name: oct(mode)
        for name, mode in found.items()
        if mode != (0o755 if name == "." or (folder / name).is_dir() else 0o644)
    }
    assert not wrong, f"not the modes umask 022 gives (0755 folders, 0644 files): {wrong}"
