"""Saving a built :class:`Matcher` to an index folder and loading it back.

What a commit records and how segments map to the matcher's items is decided here; the
crash- and concurrency-safe folder protocol is :mod:`.storage`'s job, the files of one segment
:mod:`.storage.segments`'.

A save publishes one new commit. Segments the matcher loaded from the same folder are reused as
they are (only their removed rows change, in new tombstone files); new segments are written.
If another writer published a commit since this matcher was loaded, the save is refused
(:class:`IndexConflictError`): reload and apply the change again.
"""
from __future__ import annotations

import datetime as _dt
import logging
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import EncoderMismatchError, IndexFormatError, InputError
from ..io.catalog import Catalog
from ..text.normalize import NORMALIZER_VERSION
from ..version import __version__
from .calibration import Calibration
from .encoders import Encoder, encoder_from_identity, get_encoder
from .lexical import LexicalIndex
from .state import ANN_MIN_ROWS, TEXT_COLUMN, IndexState, build_segment
from .storage.legacy import LEGACY_FILES, is_legacy_folder, read_legacy, read_legacy_manifest
from .storage.reader import (
    COMMIT_DATA_RE,
    SEGMENT_RE,
    IndexChangedError,
    Snapshot,
    is_index_folder,
    open_snapshot,
    read_current,
)
from .storage.segments import (
    read_segment,
    read_stats,
    read_tombstones,
    segment_entry,
    segment_files,
    stats_files,
    write_segment,
    write_stats,
    write_tombstones,
)
from .storage.writer import FolderWriter, check_target, clean_scratch, writer_lock

if TYPE_CHECKING:  # pragma: no cover
    from .matcher import Matcher

__all__ = ["FORMAT", "FORMAT_VERSION", "index_manifest", "save_index", "load_index", "read_info",
           "encoder_differences", "RANKING_OVERRIDES", "IndexConflictError"]

logger = logging.getLogger(__name__)

FORMAT = "semantic_match.index"
FORMAT_VERSION = 2
#: Ranking settings a caller may override when loading a saved index.
RANKING_OVERRIDES = ("mode", "weights", "fusion", "rrf_k", "calibration")
_TOMB_RE = re.compile(r"c-\d{6}/tomb-seg-\d{6}-[0-9a-f]{8}\.npy")


class IndexConflictError(IndexChangedError):
    """Another writer published a new commit since this matcher was loaded; reload and retry."""


def encoder_differences(saved: dict, current: dict) -> list[str]:
    """Keys whose values differ between two encoder identities (none: the same encoder)."""
    keys = sorted(set(saved) | set(current))
    diffs = [k for k in keys if saved.get(k) != current.get(k)]
    # A local model folder that moved keeps its fingerprint.
    if diffs == ["model"] and saved.get("fingerprint") and saved.get("fingerprint") == current.get("fingerprint"):
        return []
    return diffs


def index_manifest(m: Matcher) -> dict:
    """The settings a saved index records (its commit, without segments and checksums)."""
    st = m.state_
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "library_version": __version__,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "encoder": m.encoder_.identity() if m.encoder_ is not None else None,
        "dim": st.dim,
        "n_items": st.n_items,
        "catalog": {"source": st.source, "id_col": st.id_col, "text_cols": list(st.text_cols),
                    "meta_cols": list(st.meta_cols)},
        "normalizer_version": NORMALIZER_VERSION,
        "dense": {"metric": "inner_product", "ann_min_rows": m.ann_min_rows} if st.dim is not None else None,
        "lexical": m.lexical_settings(),
        "ranking": {"mode": m.mode, "fusion": m.fusion, "weights": m.weights_, "rrf_k": m.rrf_k},
        "calibration": m.calibration_.to_dict() if m.calibration_ is not None else None,
    }


def save_index(m: Matcher, folder: str | os.PathLike, *, overwrite: bool = True, crash_at: str | None = None) -> Path:
    """Publish a built matcher as a new commit of ``folder`` (see the module docstring)."""
    folder = Path(folder)
    check_target(folder, overwrite=overwrite)
    legacy = is_legacy_folder(folder)
    state = m.state_
    same = (getattr(m, "folder_", None) is not None and folder.exists()
            and os.path.samefile(m.folder_, folder) and getattr(m, "manifest_", None) is not None
            and not legacy)
    with FolderWriter.open(folder) as w:
        if same and w.previous != m.commit_name_:
            raise IndexConflictError(f"index '{folder}' was changed by another writer since it was loaded "
                                     f"({m.commit_name_} -> {w.previous}); load it again and repeat the change")
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
        commit = {**index_manifest(m),
                  "stats": {"dir": data_dir, "n_docs": state.stats.n_docs, "total_len": state.stats.total_len},
                  "segments": entries}
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


# ------------------------------------------------------------------ reading
def _need(cond: bool, folder: Path, what: str) -> None:
    if not cond:
        raise IndexFormatError(f"index '{folder}': its commit {what}; rebuild the index")


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _check_commit(folder: Path, c: dict) -> None:
    """Every field the loader relies on, with a one-line reason when one is off."""
    _need(c.get("format") == FORMAT, folder, "is not of format 'semantic_match.index'")
    _need(c.get("format_version") == FORMAT_VERSION, folder,
          f"has format version {c.get('format_version')!r}; this library ({__version__}) reads 1 and 2")
    enc, dim, dense = c.get("encoder"), c.get("dim"), c.get("dense")
    _need(enc is None or (isinstance(enc, dict) and isinstance(enc.get("model"), str)), folder,
          "has a malformed 'encoder'")
    _need((enc is None and dim is None and dense is None)
          or (enc is not None and _is_int(dim) and dim > 0 and isinstance(dense, dict)), folder,
          "has inconsistent 'encoder', 'dim' and 'dense' entries")
    cat = c.get("catalog")
    _need(isinstance(cat, dict) and isinstance(cat.get("id_col"), str)
          and isinstance(cat.get("text_cols"), list) and cat["text_cols"]
          and all(isinstance(t, str) for t in cat["text_cols"])
          and isinstance(cat.get("meta_cols"), list) and all(isinstance(t, str) for t in cat["meta_cols"]),
          folder, "has a malformed 'catalog'")
    lex = c.get("lexical")
    _need(isinstance(lex, dict) and isinstance(lex.get("char_ngrams"), list) and len(lex["char_ngrams"]) == 2
          and all(_is_int(v) and v > 0 for v in lex["char_ngrams"]) and isinstance(lex.get("stem"), bool)
          and all(isinstance(lex.get(k), (int, float)) for k in ("bm25_k1", "bm25_b")), folder,
          "has malformed 'lexical' settings")
    rk = c.get("ranking")
    _need(isinstance(rk, dict) and isinstance(rk.get("mode"), str) and isinstance(rk.get("fusion"), str)
          and isinstance(rk.get("weights"), dict) and _is_int(rk.get("rrf_k")), folder,
          "has malformed 'ranking' settings")
    _need(c.get("calibration") is None or isinstance(c["calibration"], dict), folder, "has a malformed 'calibration'")
    st = c.get("stats")
    _need(isinstance(st, dict) and isinstance(st.get("dir"), str) and COMMIT_DATA_RE.fullmatch(st["dir"])
          and _is_int(st.get("n_docs")) and isinstance(st.get("total_len"), (int, float)), folder,
          "has malformed 'stats'")
    segs = c.get("segments")
    _need(isinstance(segs, list), folder, "has no list of segments")
    names = set()
    live = 0
    for s in segs:
        _need(isinstance(s, dict) and isinstance(s.get("name"), str) and SEGMENT_RE.fullmatch(s["name"])
              and _is_int(s.get("rows")) and s["rows"] >= 0 and _is_int(s.get("deleted"))
              and 0 <= s["deleted"] <= s["rows"] and isinstance(s.get("char", True), bool)
              and (s.get("ann") is None or isinstance(s["ann"], str)), folder, "has a malformed segment entry")
        tomb = s.get("tombstones")
        _need((tomb is None and s["deleted"] == 0) or (isinstance(tomb, str) and _TOMB_RE.fullmatch(tomb)
                                                        and tomb.endswith(f"tomb-{s['name']}.npy")),
              folder, f"has malformed tombstones for segment {s['name']}")
        _need(s["name"] not in names, folder, f"names segment {s['name']} twice")
        names.add(s["name"])
        live += s["rows"] - s["deleted"]
    _need(_is_int(c.get("n_items")) and c["n_items"] == live == st["n_docs"], folder,
          f"counts {c.get('n_items')!r} items but its segments hold {live} live rows and its statistics "
          f"{st.get('n_docs')!r}")


def expected_files(folder: Path):
    """The commit -> file set rule :func:`open_snapshot` enforces."""
    def rule(commit: dict) -> set[str]:
        _check_commit(folder, commit)
        files = stats_files(commit["stats"]["dir"])
        for s in commit["segments"]:
            files |= segment_files(s, dense=commit["encoder"] is not None)
            if s["tombstones"]:
                files.add(s["tombstones"])
        return files
    return rule


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
                    raise IndexFormatError(f"index '{folder}': segment {s['name']} lists {s['deleted']} removed rows "
                                           f"but its tombstones hold {seg.rows - seg.n_live}")
            segments.append(seg)
        missing = [col for col in [cat["id_col"], *cat["text_cols"], *cat["meta_cols"]]
                   for seg in segments[:1] if col not in seg.table.column_names]
        if missing:
            raise IndexFormatError(f"index '{folder}': the item table lacks the columns {missing[:5]} its commit "
                                   f"names; rebuild the index")
        state = IndexState(segments, stats, lex.set_stats(stats), id_col=cat["id_col"], text_cols=cat["text_cols"],
                           meta_cols=cat["meta_cols"], source=cat.get("source"), dim=c["dim"])
        return c, state, snap.commit_name
    finally:
        snap.close()


def read_info(folder: str | os.PathLike, *, verify: bool = True) -> dict:
    """An index's commit (format 2) or manifest (format 1), verified unless ``verify=False``."""
    folder = Path(folder)
    if not folder.exists():
        raise FileNotFoundError(f"index folder not found: '{folder}'; build one with `semantic-match index` "
                                f"or Matcher.save()")
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
    state = IndexState([seg], stats, lex.set_stats(stats), id_col=cat["id_col"], text_cols=cat["text_cols"],
                       meta_cols=cat["meta_cols"], source=cat.get("source"), dim=manifest.get("dim"))
    return manifest, state


def load_index(cls: type[Matcher], folder: str | os.PathLike, *, encoder: str | os.PathLike | Encoder | None = None,
               show_progress: bool | None = None, batch_size: int = 64, exact: bool | None = None,
               **ranking) -> Matcher:
    """Read an index folder into a new matcher of class ``cls`` (see :meth:`Matcher.load`)."""
    unknown = sorted(set(ranking) - set(RANKING_OVERRIDES))
    if unknown:
        raise InputError(f"unexpected argument(s) {unknown} for Matcher.load; ranking settings that can be "
                         f"overridden are {list(RANKING_OVERRIDES)}")
    folder = Path(folder)
    if not folder.exists():
        raise FileNotFoundError(f"index folder not found: '{folder}'; build one with `semantic-match index` "
                                f"or Matcher.save()")
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
            raise IndexFormatError(f"index '{folder}' holds vectors of dim {manifest['dim']}, its encoder gives "
                                   f"{enc.dim}; rebuild the index")
    if manifest.get("normalizer_version") != NORMALIZER_VERSION:
        logger.warning("index '%s' was built with text normaliser v%s, this library has v%s; "
                       "rebuild it for identical ranking", folder, manifest.get("normalizer_version"),
                       NORMALIZER_VERSION)
    rk = manifest["ranking"]
    cal = ranking.get("calibration")
    if cal is None and manifest.get("calibration"):
        try:
            cal = Calibration.from_dict(manifest["calibration"])
        except (KeyError, TypeError, ValueError) as exc:
            raise IndexFormatError(f"index '{folder}': its calibration is malformed ({exc}); rebuild the index") from None
    dense = manifest.get("dense") or {}
    obj = cls(encoder=enc, mode=ranking.get("mode", rk["mode"]),
              weights=ranking.get("weights", rk["weights"]), fusion=ranking.get("fusion", rk["fusion"]),
              rrf_k=ranking.get("rrf_k", rk["rrf_k"]), char_ngrams=state.lexical.char_ngrams,
              stem=state.lexical.stem, calibration=cal, batch_size=batch_size, show_progress=show_progress,
              exact=exact, ann_min_rows=dense.get("ann_min_rows", ANN_MIN_ROWS))
    if obj.mode != "lexical" and enc is None:
        raise InputError(f"index '{folder}' was built without an encoder (lexical mode); it cannot "
                         f"rank in mode {obj.mode!r}")
    obj.set_state(state, encoder=enc)
    obj.manifest_ = manifest
    obj.folder_ = folder
    obj.commit_name_ = commit_name
    _clean_after_crash(folder)
    return obj


def current_commit(folder: Path) -> str | None:
    return read_current(folder)


def _clean_after_crash(folder: Path) -> None:
    """Best effort: a reader that finds no writer active removes scratch left by a crashed one."""
    try:
        with writer_lock(folder, blocking=False) as got:
            if got:
                clean_scratch(folder)
    except OSError:  # a read-only folder: leave it to the next writer
        pass


def catalog_of(state: IndexState) -> Catalog:
    return state.exhaustive().catalog
