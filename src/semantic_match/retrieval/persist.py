"""Saving a built :class:`Matcher` to an index folder and loading it back.

How segments map to the matcher's items is decided here; what a commit records and the checks
on it are :mod:`.commit`'s, the crash- and concurrency-safe folder protocol is :mod:`.storage`'s,
the files of one segment :mod:`.storage.segments`'.

A save publishes one new commit. Segments the matcher loaded from the same folder are reused as
they are (only their removed rows change, in new tombstone files); new segments are written.
If another writer published a commit since this matcher was loaded, the save is refused
(:class:`IndexConflictError`): reload and apply the change again.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from ..errors import EncoderMismatchError, IndexFormatError, InputError
from ..text.normalize import NORMALIZER_VERSION
from .calibration import Calibration
from .commit import FORMAT, FORMAT_VERSION, RANKING_OVERRIDES, encoder_differences, expected_files, index_manifest
from .encoders import Encoder, encoder_from_identity, get_encoder
from .lexical import LexicalIndex
from .state import ANN_MIN_ROWS, TEXT_COLUMN, IndexState, build_segment
from .storage.legacy import LEGACY_FILES, is_legacy_folder, read_legacy, read_legacy_manifest
from .storage.reader import (
    IndexChangedError,
    Snapshot,
    is_index_folder,
    open_snapshot,
)
from .storage.segments import (
    read_segment,
    read_stats,
    read_tombstones,
    segment_entry,
    write_segment,
    write_stats,
    write_tombstones,
)
from .storage.writer import FolderWriter, check_target, clean_scratch, writer_lock

if TYPE_CHECKING:  # pragma: no cover
    from .matcher import Matcher

__all__ = [
    "Persistent",
    "save_index",
    "load_index",
    "read_info",
    "IndexConflictError",
    # defined in .commit, kept importable from here
    "FORMAT",
    "FORMAT_VERSION",
    "index_manifest",
    "encoder_differences",
    "RANKING_OVERRIDES",
]

logger = logging.getLogger(__name__)


class IndexConflictError(IndexChangedError):
    """Another writer published a new commit since this matcher was loaded; reload and retry."""


def save_index(m: Matcher, folder: str | os.PathLike, *, overwrite: bool = True, crash_at: str | None = None) -> Path:
    """Publish a built matcher as a new commit of ``folder`` (see the module docstring)."""
    folder = Path(folder)
    check_target(folder, overwrite=overwrite)
    legacy = is_legacy_folder(folder)
    state = m.state_
    same = (
        getattr(m, "folder_", None) is not None
        and folder.exists()
        and os.path.samefile(m.folder_, folder)
        and getattr(m, "manifest_", None) is not None
        and not legacy
    )
    with FolderWriter.open(folder) as w:
        if same and w.previous != m.commit_name_:
            raise IndexConflictError(
                f"index '{folder}' was changed by another writer since it was loaded "
                f"({m.commit_name_} -> {w.previous}); load it again and repeat the change"
            )
        data_dir, data_path = w.commit_data()
        write_stats(data_path, state.stats)
        entries, reused = [], {}
        for seg in state.segments:
            if same and seg.name is not None and seg.files:
                reused.update(seg.files)
            else:
                seg.name, seg_path = w.new_segment()
                write_segment(seg_path, seg)
                seg.files = {}
            entry = segment_entry(seg)
            if seg.live is not None and not seg.live.all():
                entry["tombstones"] = f"{data_dir}/{write_tombstones(data_path, seg.name, seg.live)}"
            entries.append(entry)
        commit = {
            **index_manifest(m),
            "stats": {"dir": data_dir, "n_docs": state.stats.n_docs, "total_len": state.stats.total_len},
            "segments": entries,
        }
        name = w.publish(commit, reused=reused, crash_at=crash_at)
        if legacy:
            for legacy_name in LEGACY_FILES:  # the 0.1.0 files this library wrote; never anything else
                path = folder / legacy_name
                if path.is_file() and not path.is_symlink():
                    path.unlink()
    # Later saves reuse what is now on disk: remember each segment's file entries.
    written = _read_commit_files(folder / name)
    for seg in state.segments:
        seg.files = {r: e for r, e in written.items() if r.startswith(f"{seg.name}/")}
    m.commit_name_ = name
    return folder


def _read_commit_files(path: Path) -> dict:
    import json

    return json.loads(path.read_text(encoding="utf-8"))["files"]


def _keep_bytes(rel: str) -> bool:
    # Small files are parsed from the verified bytes; large ones are memory-mapped by descriptor.
    return rel.endswith((".json",)) or "/tomb-" in rel


def _check_encoder(folder: Path, saved: dict, encoder: str | os.PathLike | Encoder | None) -> Encoder:
    enc = encoder_from_identity(saved) if encoder is None else get_encoder(encoder)
    current = enc.identity()
    diffs = encoder_differences(saved, current)
    if diffs:
        detail = "; ".join(f"{k}: index {saved.get(k)!r} vs requested {current.get(k)!r}" for k in diffs)
        raise EncoderMismatchError(
            f"index '{folder}' was built with encoder {saved.get('model')!r} and cannot be "
            f"searched with {current.get('model')!r} ({detail}); load it without an encoder, or "
            f"rebuild it with `semantic-match index ... --encoder {current.get('model')}`"
        )
    return enc


def read_state(folder: Path, lexical: LexicalIndex | None = None) -> tuple[dict, IndexState, str]:
    """The live commit and its segments and statistics, verified; segment arrays memory-mapped."""
    snap: Snapshot = open_snapshot(folder, expected_files(folder), keep_bytes=_keep_bytes)
    try:
        c = snap.commit
        lex = lexical or LexicalIndex.from_settings(c["lexical"])
        stats = read_stats(snap, c["stats"]["dir"], c["stats"])
        cat = c["catalog"]
        segments = []
        for s in c["segments"]:
            seg = read_segment(snap, s, dim=c["dim"], stats=stats, text_col=TEXT_COLUMN, id_col=cat["id_col"])
            if s["tombstones"]:
                seg.live = read_tombstones(snap, s["tombstones"], s["rows"])
                if seg.rows - seg.n_live != s["deleted"]:
                    raise IndexFormatError(
                        f"index '{folder}': segment {s['name']} lists {s['deleted']} removed rows "
                        f"but its tombstones hold {seg.rows - seg.n_live}"
                    )
            segments.append(seg)
        missing = [
            col
            for col in [cat["id_col"], *cat["text_cols"], *cat["meta_cols"]]
            for seg in segments[:1]
            if col not in seg.table.column_names
        ]
        if missing:
            raise IndexFormatError(
                f"index '{folder}': the item table lacks the columns {missing[:5]} its commit names; rebuild the index"
            )
        state = IndexState(
            segments,
            stats,
            lex.set_stats(stats),
            id_col=cat["id_col"],
            text_cols=cat["text_cols"],
            meta_cols=cat["meta_cols"],
            source=cat.get("source"),
            dim=c["dim"],
        )
        return c, state, snap.commit_name
    finally:
        snap.close()


def read_info(folder: str | os.PathLike, *, verify: bool = True) -> dict:
    """An index's commit (format 2) or manifest (format 1), verified unless ``verify=False``."""
    folder = Path(folder)
    if not folder.exists():
        raise FileNotFoundError(
            f"index folder not found: '{folder}'; build one with `semantic-match index` or Matcher.save()"
        )
    if is_legacy_folder(folder):
        return read_legacy(folder)[0] if verify else read_legacy_manifest(folder)
    if not is_index_folder(folder):
        raise IndexFormatError(f"'{folder}' is not a semantic_match index: it has no CURRENT file")
    if verify:
        return read_state(folder)[0]
    snap = open_snapshot(folder, lambda c: set(c.get("files", {})), keep_bytes=lambda rel: False)
    snap.close()
    return snap.commit


def _legacy_state(folder: Path) -> tuple[dict, IndexState]:
    manifest, items, vectors = read_legacy(folder)
    lex = LexicalIndex.from_settings(manifest["lexical"])
    cat = manifest["catalog"]
    texts = items.pop(TEXT_COLUMN).astype(str).tolist()
    cols = [cat["id_col"], *cat["text_cols"], *cat["meta_cols"]]
    from .lexical import LexicalStats

    stats = LexicalStats()
    seg = build_segment(items[cols], texts, vectors, stats, lex)
    state = IndexState(
        [seg],
        stats,
        lex.set_stats(stats),
        id_col=cat["id_col"],
        text_cols=cat["text_cols"],
        meta_cols=cat["meta_cols"],
        source=cat.get("source"),
        dim=manifest.get("dim"),
    )
    return manifest, state


def load_index(
    cls: type[Matcher],
    folder: str | os.PathLike,
    *,
    encoder: str | os.PathLike | Encoder | None = None,
    show_progress: bool | None = None,
    batch_size: int = 64,
    exact: bool | None = None,
    **ranking,
) -> Matcher:
    """Read an index folder into a new matcher of class ``cls`` (see :meth:`Matcher.load`)."""
    unknown = sorted(set(ranking) - set(RANKING_OVERRIDES))
    if unknown:
        raise InputError(
            f"unexpected argument(s) {unknown} for Matcher.load; ranking settings that can be "
            f"overridden are {list(RANKING_OVERRIDES)}"
        )
    folder = Path(folder)
    if not folder.exists():
        raise FileNotFoundError(
            f"index folder not found: '{folder}'; build one with `semantic-match index` or Matcher.save()"
        )
    commit_name = None
    if is_legacy_folder(folder):
        manifest, state = _legacy_state(folder)
    else:
        if not is_index_folder(folder):
            raise IndexFormatError(f"'{folder}' is not a semantic_match index: it has no CURRENT file")
        manifest, state, commit_name = read_state(folder)
    enc = None
    if manifest.get("encoder") is not None:
        enc = _check_encoder(folder, manifest["encoder"], encoder)
        if enc.dim != manifest["dim"]:
            raise IndexFormatError(
                f"index '{folder}' holds vectors of dim {manifest['dim']}, its encoder gives "
                f"{enc.dim}; rebuild the index"
            )
    if manifest.get("normalizer_version") != NORMALIZER_VERSION:
        logger.warning(
            "index '%s' was built with text normaliser v%s, this library has v%s; rebuild it for identical ranking",
            folder,
            manifest.get("normalizer_version"),
            NORMALIZER_VERSION,
        )
    rk = manifest["ranking"]
    cal = ranking.get("calibration")
    if cal is None and manifest.get("calibration"):
        try:
            cal = Calibration.from_dict(manifest["calibration"])
        except (KeyError, TypeError, ValueError) as exc:
            raise IndexFormatError(
                f"index '{folder}': its calibration is malformed ({exc}); rebuild the index"
            ) from None
    dense = manifest.get("dense") or {}
    obj = cls(
        encoder=enc,
        mode=ranking.get("mode", rk["mode"]),
        weights=ranking.get("weights", rk["weights"]),
        fusion=ranking.get("fusion", rk["fusion"]),
        rrf_k=ranking.get("rrf_k", rk["rrf_k"]),
        char_ngrams=state.lexical.char_ngrams,
        stem=state.lexical.stem,
        calibration=cal,
        batch_size=batch_size,
        show_progress=show_progress,
        exact=exact,
        ann_min_rows=dense.get("ann_min_rows", ANN_MIN_ROWS),
    )
    if obj.mode != "lexical" and enc is None:
        raise InputError(
            f"index '{folder}' was built without an encoder (lexical mode); it cannot rank in mode {obj.mode!r}"
        )
    obj.set_state(state, encoder=enc)
    obj.manifest_ = manifest
    obj.folder_ = folder
    obj.commit_name_ = commit_name
    _clean_after_crash(folder)
    return obj


def _clean_after_crash(folder: Path) -> None:
    """Best effort: a reader that finds no writer active removes scratch left by a crashed one."""
    try:
        with writer_lock(folder, blocking=False) as got:
            if got:
                clean_scratch(folder)
    except OSError:  # a read-only folder: leave it to the next writer
        pass


_M = TypeVar("_M", bound="Persistent")


class Persistent:
    """The folder methods of :class:`~semantic_match.retrieval.matcher.Matcher` (a mixin)."""

    #: The folder this matcher was last saved to or loaded from, and that folder's commit then.
    folder_: Path | None
    commit_name_: str | None

    def manifest(self) -> dict:
        """The settings a saved index records (without file checksums)."""
        self.check_built()  # type: ignore[attr-defined]
        return index_manifest(self)  # type: ignore[arg-type]

    def save(self, folder: str | os.PathLike, *, overwrite: bool = True) -> Path:
        """Save the index to a folder as one new commit (see :mod:`.persist`, docs/reliability.md).

        Only segments the folder does not hold yet are written, into a scratch folder, fsynced and
        renamed in; the commit file (settings, encoder identity, checksums) is published last by
        swapping ``CURRENT``. Readers see the old commit or the new one, never a mix; a crash at
        any moment leaves the old one. ``overwrite=False`` refuses an existing index folder.
        """
        self.check_built()  # type: ignore[attr-defined]
        out = save_index(self, folder, overwrite=overwrite)  # type: ignore[arg-type]
        self.folder_ = out
        return out

    @classmethod
    def load(
        cls: type[_M],
        folder: str | os.PathLike,
        *,
        encoder: str | os.PathLike | Encoder | None = None,
        show_progress: bool | None = None,
        batch_size: int = 64,
        exact: bool | None = None,
        **ranking,
    ) -> _M:
        """Load an index saved by :meth:`save`; it ranks exactly as when saved.

        Parameters
        ----------
        folder : path
        encoder : str, path or Encoder, optional
            Default: recreate the encoder the manifest names. When given, it
            must be the same encoder the index was built with.
        exact : bool, optional
            Force exhaustive ranking (``True``) or the candidate path (``False``); default by
            index size (see :class:`Matcher`).
        **ranking
            Override saved ranking settings for this session: ``mode``,
            ``weights``, ``fusion``, ``rrf_k``, ``calibration``.

        Raises
        ------
        IndexFormatError
            Not an index, another format version, or files that fail their checksum.
        EncoderMismatchError
            ``encoder`` differs from the one that built the index.
        """
        return load_index(
            cls, folder, encoder=encoder, show_progress=show_progress, batch_size=batch_size, exact=exact, **ranking
        )
