"""What an index commit records, and the checks a loader runs on it before trusting any field.

A commit (see :mod:`.storage`) is one JSON object: the settings :func:`index_manifest` gives,
plus ``stats``, ``segments`` and the checksums of every file. :func:`check_commit` refuses a
commit any field of which is missing or malformed, with a one-line reason; :func:`expected_files`
is the commit -> file-set rule that :func:`.storage.reader.open_snapshot` enforces.
"""

from __future__ import annotations

import datetime as _dt
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import IndexFormatError
from ..text.normalize import NORMALIZER_VERSION
from ..version import __version__
from .storage.reader import COMMIT_DATA_RE, SEGMENT_RE
from .storage.segments import segment_files, stats_files

if TYPE_CHECKING:  # pragma: no cover
    from .matcher import Matcher

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "RANKING_OVERRIDES",
    "encoder_differences",
    "index_manifest",
    "check_commit",
    "expected_files",
]

FORMAT = "semantic_match.index"
FORMAT_VERSION = 2
#: Ranking settings a caller may override when loading a saved index.
RANKING_OVERRIDES = ("mode", "weights", "fusion", "rrf_k", "calibration")
_TOMB_RE = re.compile(r"c-\d{6}/tomb-seg-\d{6}-[0-9a-f]{8}\.npy")


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
        "catalog": {
            "source": st.source,
            "id_col": st.id_col,
            "text_cols": list(st.text_cols),
            "meta_cols": list(st.meta_cols),
        },
        "normalizer_version": NORMALIZER_VERSION,
        "dense": {"metric": "inner_product", "ann_min_rows": m.ann_min_rows} if st.dim is not None else None,
        "lexical": m.lexical_settings(),
        "ranking": {"mode": m.mode, "fusion": m.fusion, "weights": m.weights_, "rrf_k": m.rrf_k},
        "calibration": m.calibration_.to_dict() if m.calibration_ is not None else None,
    }


def _need(cond: bool, folder: Path, what: str) -> None:
    if not cond:
        raise IndexFormatError(f"index '{folder}': its commit {what}; rebuild the index")


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def check_commit(folder: Path, c: dict) -> None:
    """Every field the loader relies on, with a one-line reason when one is off."""
    _need(c.get("format") == FORMAT, folder, "is not of format 'semantic_match.index'")
    _need(
        c.get("format_version") == FORMAT_VERSION,
        folder,
        f"has format version {c.get('format_version')!r}; this library ({__version__}) reads 1 and 2",
    )
    enc, dim, dense = c.get("encoder"), c.get("dim"), c.get("dense")
    _need(
        enc is None or (isinstance(enc, dict) and isinstance(enc.get("model"), str)),
        folder,
        "has a malformed 'encoder'",
    )
    _need(
        (enc is None and dim is None and dense is None)
        or (enc is not None and _is_int(dim) and dim > 0 and isinstance(dense, dict)),
        folder,
        "has inconsistent 'encoder', 'dim' and 'dense' entries",
    )
    cat = c.get("catalog")
    _need(
        isinstance(cat, dict)
        and isinstance(cat.get("id_col"), str)
        and isinstance(cat.get("text_cols"), list)
        and cat["text_cols"]
        and all(isinstance(t, str) for t in cat["text_cols"])
        and isinstance(cat.get("meta_cols"), list)
        and all(isinstance(t, str) for t in cat["meta_cols"]),
        folder,
        "has a malformed 'catalog'",
    )
    lex = c.get("lexical")
    _need(
        isinstance(lex, dict)
        and isinstance(lex.get("char_ngrams"), list)
        and len(lex["char_ngrams"]) == 2
        and all(_is_int(v) and v > 0 for v in lex["char_ngrams"])
        and isinstance(lex.get("stem"), bool)
        and all(isinstance(lex.get(k), (int, float)) for k in ("bm25_k1", "bm25_b")),
        folder,
        "has malformed 'lexical' settings",
    )
    rk = c.get("ranking")
    _need(
        isinstance(rk, dict)
        and isinstance(rk.get("mode"), str)
        and isinstance(rk.get("fusion"), str)
        and isinstance(rk.get("weights"), dict)
        and _is_int(rk.get("rrf_k")),
        folder,
        "has malformed 'ranking' settings",
    )
    _need(c.get("calibration") is None or isinstance(c["calibration"], dict), folder, "has a malformed 'calibration'")
    st = c.get("stats")
    _need(
        isinstance(st, dict)
        and isinstance(st.get("dir"), str)
        and COMMIT_DATA_RE.fullmatch(st["dir"])
        and _is_int(st.get("n_docs"))
        and isinstance(st.get("total_len"), (int, float)),
        folder,
        "has malformed 'stats'",
    )
    segs = c.get("segments")
    _need(isinstance(segs, list), folder, "has no list of segments")
    names = set()
    live = 0
    for s in segs:
        _need(
            isinstance(s, dict)
            and isinstance(s.get("name"), str)
            and SEGMENT_RE.fullmatch(s["name"])
            and _is_int(s.get("rows"))
            and s["rows"] >= 0
            and _is_int(s.get("deleted"))
            and 0 <= s["deleted"] <= s["rows"]
            and isinstance(s.get("char", True), bool)
            and isinstance(s.get("char_post", False), bool)
            and (s.get("ann") is None or isinstance(s["ann"], str)),
            folder,
            "has a malformed segment entry",
        )
        tomb = s.get("tombstones")
        _need(
            (tomb is None and s["deleted"] == 0)
            or (isinstance(tomb, str) and _TOMB_RE.fullmatch(tomb) and tomb.endswith(f"tomb-{s['name']}.npy")),
            folder,
            f"has malformed tombstones for segment {s['name']}",
        )
        _need(s["name"] not in names, folder, f"names segment {s['name']} twice")
        names.add(s["name"])
        live += s["rows"] - s["deleted"]
    _need(
        _is_int(c.get("n_items")) and c["n_items"] == live == st["n_docs"],
        folder,
        f"counts {c.get('n_items')!r} items but its segments hold {live} live rows and its statistics "
        f"{st.get('n_docs')!r}",
    )


def expected_files(folder: Path):
    """The commit -> file set rule :func:`open_snapshot` enforces."""

    def rule(commit: dict) -> set[str]:
        check_commit(folder, commit)
        files = stats_files(commit["stats"]["dir"])
        for s in commit["segments"]:
            files |= segment_files(s, dense=commit["encoder"] is not None)
            if s["tombstones"]:
                files.add(s["tombstones"])
        return files

    return rule
