"""Reading index folders of format 1 (semantic_match 0.1.0): flat files and ``manifest.json``.

Such a folder is read as one segment with no removed items: the items and vectors come from
its files, and the lexical channels are rebuilt from the items' stored normalised texts with
the saved settings, which gives exactly the 0.1.0 ranking. ``semantic-match upgrade DIR``
(or any save into the folder) rewrites it in the current format.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from ...errors import IndexFormatError
from .reader import open_regular

__all__ = ["MANIFEST", "LEGACY_FILES", "is_legacy_folder", "read_legacy_manifest", "read_legacy"]

MANIFEST = "manifest.json"
LEGACY_FORMAT_VERSION = 1
_LEXICAL = (
    "lexical_char_vocab.json",
    "lexical_char_idf.npy",
    "lexical_char_matrix.npz",
    "lexical_bm25_vocab.json",
    "lexical_bm25_idf.npy",
    "lexical_bm25_matrix.npz",
)
#: Every file name a format-1 folder may hold (what an upgrade may remove).
LEGACY_FILES = (MANIFEST, "items.parquet", "dense.faiss", *_LEXICAL)


def is_legacy_folder(folder: Path) -> bool:
    return (folder / MANIFEST).is_file() and not (folder / "CURRENT").exists()


def read_legacy_manifest(folder: Path) -> dict:
    """The manifest of a format-1 folder, checked for format and shape (not the files)."""
    fd = open_regular(str(folder / MANIFEST), None, f"'{folder / MANIFEST}'")
    try:
        raw = os.read(fd, 16 << 20)
    finally:
        os.close(fd)
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except ValueError as exc:
        raise IndexFormatError(f"'{folder / MANIFEST}' is not valid JSON ({exc}); rebuild the index") from None
    if not isinstance(manifest, dict) or manifest.get("format") != "semantic_match.index":
        raise IndexFormatError(f"'{folder}' is not a semantic_match index")
    if manifest.get("format_version") != LEGACY_FORMAT_VERSION:
        raise IndexFormatError(
            f"index '{folder}' has format version {manifest.get('format_version')!r}; this "
            f"library reads versions 1 and 2; rebuild the index with `semantic-match index`"
        )
    return manifest


def _verified(folder: Path, name: str, info: object) -> bytes:
    if not isinstance(info, dict) or not isinstance(info.get("sha256"), str) or not isinstance(info.get("bytes"), int):
        raise IndexFormatError(f"index '{folder}': the manifest's entry for '{name}' is malformed; rebuild the index")
    try:
        fd = open_regular(str(folder / name), None, f"index file '{folder / name}'")
    except FileNotFoundError:
        raise IndexFormatError(f"index '{folder}' is missing its file '{name}'; rebuild the index") from None
    try:
        chunks = []
        while True:
            block = os.read(fd, 8 << 20)
            if not block:
                break
            chunks.append(block)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) != info["bytes"] or hashlib.sha256(data).hexdigest() != info["sha256"]:
        raise IndexFormatError(
            f"index file '{folder / name}' does not match its checksum in the manifest "
            f"(corrupt or edited); rebuild the index"
        )
    return data


def read_legacy(folder: Path) -> tuple[dict, pd.DataFrame, np.ndarray | None]:
    """Manifest, item table (with its text column) and vectors of a format-1 folder, all verified."""
    manifest = read_legacy_manifest(folder)
    files = manifest.get("files")
    expected = {"items.parquet", *_LEXICAL} | ({"dense.faiss"} if manifest.get("encoder") else set())
    if not isinstance(files, dict) or set(files) != expected:
        listed = set(files) if isinstance(files, dict) else set()
        raise IndexFormatError(
            f"index '{folder}': its manifest's file list does not match its structure "
            f"(missing {sorted(expected - listed)[:3]}, unexpected {sorted(listed - expected)[:3]}); "
            f"rebuild the index"
        )
    data = {name: _verified(folder, name, files[name]) for name in sorted(expected)}
    try:
        items = pd.read_parquet(io.BytesIO(data["items.parquet"]))
    except (ValueError, OSError) as exc:
        raise IndexFormatError(f"index '{folder}': items.parquet is unreadable ({exc}); rebuild the index") from None
    vectors = None
    if "dense.faiss" in data:
        import faiss

        try:
            reader = faiss.VectorIOReader()
            faiss.copy_array_to_vector(np.frombuffer(data["dense.faiss"], dtype=np.uint8), reader.data)
            index = faiss.read_index(reader)
            vectors = index.reconstruct_n(0, index.ntotal).astype(np.float32)
        except (RuntimeError, ValueError) as exc:
            raise IndexFormatError(f"index '{folder}': dense.faiss is unreadable ({exc}); rebuild the index") from None
    return manifest, items, vectors
