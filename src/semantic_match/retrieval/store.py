"""Index folders on disk: a manifest, the FAISS index and a Parquet table.

Writes go to a temporary sibling folder that replaces the target only when
complete, so a crash mid-write never leaves a half-written index behind. No
pickle anywhere: JSON, FAISS's own format and Parquet.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Callable

from ..errors import IndexFormatError, InputError
from ..version import __version__
from ..io.files import make_temp_dir, replace_folder, sha256_file

__all__ = ["FORMAT", "FORMAT_VERSION", "MANIFEST", "write_folder", "read_manifest"]

FORMAT = "semantic_match.index"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"




def _is_index_folder(path: Path) -> bool:
    try:
        data = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("format") == FORMAT


def write_folder(target: str | os.PathLike, writers: dict[str, Callable[[Path], None]],
                 manifest: dict, *, overwrite: bool = True) -> Path:
    """Write an index folder atomically.

    Parameters
    ----------
    target : path
        Folder to create or replace.
    writers : dict
        File name -> function that writes that file at the given path.
    manifest : dict
        Manifest content; ``files`` (checksums and sizes) is added here.
    overwrite : bool
        Replace an existing index folder. A folder that exists, is not empty
        and is not an index is never replaced.
    """
    target = Path(target)
    if target.exists():
        if not target.is_dir():
            raise InputError(f"'{target}' exists and is a file; choose a folder path for the index")
        if any(target.iterdir()):
            if not _is_index_folder(target):
                raise InputError(f"'{target}' exists and is not a semantic_match index folder; "
                                 f"choose a new or empty folder")
            if not overwrite:
                raise InputError(f"'{target}' already holds an index; pass overwrite=True to replace it")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = make_temp_dir(target.parent, f".{target.name}.tmp-")
    try:
        files = {}
        for name, write in writers.items():
            write(tmp / name)
            files[name] = {"sha256": sha256_file(tmp / name), "bytes": (tmp / name).stat().st_size}
        manifest = {**manifest, "files": files}
        with open(tmp / MANIFEST, "w", encoding="utf-8") as fh:
            json.dump(manifest, fh, indent=2, ensure_ascii=False)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        replace_folder(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target




def read_manifest(folder: str | os.PathLike, *, verify: bool = True) -> dict:
    """Read and check an index folder's manifest (format, version, checksums)."""
    folder = Path(folder)
    if not folder.exists():
        raise FileNotFoundError(f"index folder not found: '{folder}'; build one with "
                                f"`semantic-match index` or Matcher.save()")
    path = folder / MANIFEST
    if not path.exists():
        raise IndexFormatError(f"'{folder}' is not a semantic_match index: it has no {MANIFEST}")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise IndexFormatError(f"'{path}' is not valid JSON ({exc}); rebuild the index") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise IndexFormatError(f"'{folder}' is not a semantic_match index (format "
                               f"{manifest.get('format') if isinstance(manifest, dict) else None!r})")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise IndexFormatError(
            f"index '{folder}' has format version {version}, this library (semantic_match "
            f"{__version__}) reads version {FORMAT_VERSION}; rebuild the index with "
            f"`semantic-match index`"
        )
    if verify:
        for name, info in manifest.get("files", {}).items():
            file = folder / name
            if not file.exists():
                raise IndexFormatError(f"index '{folder}' is missing its file '{name}'; rebuild the index")
            if sha256_file(file) != info.get("sha256"):
                raise IndexFormatError(f"index file '{file}' does not match its checksum in the "
                                       f"manifest (corrupt or edited); rebuild the index")
    return manifest




