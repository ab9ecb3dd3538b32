"""Index folders on disk: the commit-point protocol (reader, writer), segment files, format 1.

Owns how bytes reach and leave the disk safely; knows nothing of ranking. The retrieval
core's :mod:`..persist` maps a Matcher to and from these folders. May import
:mod:`semantic_match.io`, :mod:`semantic_match.errors` and the lexical statistics types.
"""

from __future__ import annotations

from .reader import CURRENT, IndexChangedError, Snapshot, commit_checksum, is_index_folder, open_snapshot
from .writer import FolderWriter, InjectedCrash, check_target

__all__ = [
    "CURRENT",
    "IndexChangedError",
    "Snapshot",
    "commit_checksum",
    "is_index_folder",
    "open_snapshot",
    "FolderWriter",
    "InjectedCrash",
    "check_target",
]
