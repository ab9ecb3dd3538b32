"""Saving a built :class:`Matcher` to an index folder and loading it back.

What goes into the folder (manifest settings, the dense index, the lexical
channels, the item table) is decided here; how a folder is written and read
safely is :mod:`.store`'s job.
"""
from __future__ import annotations

import datetime as _dt
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ..errors import EncoderMismatchError, IndexFormatError, InputError
from ..io.catalog import Catalog
from ..io.frames import parquet_safe
from ..text.normalize import NORMALIZER_VERSION
from ..version import __version__
from .calibration import Calibration
from .dense import DenseIndex
from .encoders import Encoder, encoder_from_identity, get_encoder
from .lexical import LexicalIndex
from .store import FORMAT, FORMAT_VERSION, read_manifest, write_folder

if TYPE_CHECKING:  # pragma: no cover
    from .matcher import Matcher

__all__ = ["index_manifest", "save_index", "load_index", "encoder_differences", "TEXT_COLUMN",
           "RANKING_OVERRIDES"]

logger = logging.getLogger(__name__)

#: Column of items.parquet holding each item's normalised text.
TEXT_COLUMN = "__text__"
#: Ranking settings a caller may override when loading a saved index.
RANKING_OVERRIDES = ("mode", "weights", "fusion", "rrf_k", "calibration")


def encoder_differences(saved: dict, current: dict) -> list[str]:
    """Keys whose values differ between two encoder identities (none: the same encoder)."""
    keys = sorted(set(saved) | set(current))
    diffs = [k for k in keys if saved.get(k) != current.get(k)]
    # A local model folder that moved keeps its fingerprint.
    if diffs == ["model"] and saved.get("fingerprint") and saved.get("fingerprint") == current.get("fingerprint"):
        return []
    return diffs


def index_manifest(m: Matcher) -> dict:
    """The settings a saved index records (without file checksums)."""
    cat = m.catalog_
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "library_version": __version__,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "encoder": m.encoder_.identity() if m.encoder_ is not None else None,
        "dim": m.dense_.dim if m.dense_ is not None else None,
        "n_items": m.n_items,
        "catalog": {
            "source": cat.source,
            "id_col": cat.id_col,
            "text_cols": list(cat.text_cols),
            "meta_cols": list(cat.meta_cols),
        },
        "normalizer_version": NORMALIZER_VERSION,
        "dense": {"factory": m.dense_.factory, "metric": "inner_product"} if m.dense_ is not None else None,
        "lexical": m.lexical_.settings(),
        "ranking": {"mode": m.mode, "fusion": m.fusion, "weights": m.weights_, "rrf_k": m.rrf_k},
        "calibration": m.calibration_.to_dict() if m.calibration_ is not None else None,
    }


def save_index(m: Matcher, folder: str | os.PathLike, *, overwrite: bool = True) -> Path:
    """Write a built matcher's index folder atomically (see :meth:`Matcher.save`)."""
    items = m.catalog_.items.copy()
    items[TEXT_COLUMN] = m.catalog_.texts
    items = parquet_safe(items)

    def write_items(path: Path) -> None:
        items.to_parquet(path, index=False)

    writers = {"items.parquet": write_items}
    if m.dense_ is not None:
        writers["dense.faiss"] = m.dense_.save
    writers.update(m.lexical_.writers())
    return write_folder(folder, writers, index_manifest(m), overwrite=overwrite)


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


def load_index(cls: type[Matcher], folder: str | os.PathLike, *, encoder: str | os.PathLike | Encoder | None = None,
               show_progress: bool | None = None, batch_size: int = 64, **ranking) -> Matcher:
    """Read an index folder into a new matcher of class ``cls`` (see :meth:`Matcher.load`)."""
    unknown = sorted(set(ranking) - set(RANKING_OVERRIDES))
    if unknown:
        raise InputError(f"unexpected argument(s) {unknown} for Matcher.load; ranking settings that can be "
                         f"overridden are {list(RANKING_OVERRIDES)}")
    folder = Path(folder)
    manifest = read_manifest(folder)
    saved = manifest["encoder"]
    enc = dense = None
    if saved is not None:
        enc = _check_encoder(folder, saved, encoder)
        dense = DenseIndex.load(folder / "dense.faiss", factory=manifest["dense"]["factory"])
    items = pd.read_parquet(folder / "items.parquet")
    n = manifest["n_items"]
    if len(items) != n or (dense is not None and (dense.ntotal != n or dense.dim != manifest["dim"]
                                                  or enc.dim != dense.dim)):
        raise IndexFormatError(f"index '{folder}' is inconsistent: manifest says {n} items of dim "
                               f"{manifest['dim']}, files hold {len(items)} rows"
                               + (f" and {dense.ntotal} vectors of dim {dense.dim}" if dense else "")
                               + "; rebuild the index")
    if manifest.get("normalizer_version") != NORMALIZER_VERSION:
        logger.warning("index '%s' was built with text normaliser v%s, this library has v%s; "
                       "rebuild it for identical ranking", folder, manifest.get("normalizer_version"),
                       NORMALIZER_VERSION)
    cat_info = manifest["catalog"]
    texts = items.pop(TEXT_COLUMN).tolist()
    catalog = Catalog(items=items, id_col=cat_info["id_col"], text_cols=tuple(cat_info["text_cols"]),
                      meta_cols=tuple(cat_info["meta_cols"]), texts=texts, source=cat_info.get("source"))
    rk = manifest["ranking"]
    lex = manifest["lexical"]
    cal = ranking.get("calibration")
    if cal is None and manifest.get("calibration"):
        cal = Calibration.from_dict(manifest["calibration"])
    obj = cls(encoder=enc, mode=ranking.get("mode", rk["mode"]),
              weights=ranking.get("weights", rk["weights"]), fusion=ranking.get("fusion", rk["fusion"]),
              rrf_k=ranking.get("rrf_k", rk["rrf_k"]), char_ngrams=tuple(lex["char_ngrams"]),
              stem=lex["stem"], calibration=cal, batch_size=batch_size, show_progress=show_progress,
              index_factory=manifest["dense"]["factory"] if manifest.get("dense") else "Flat")
    if obj.mode != "lexical" and enc is None:
        raise InputError(f"index '{folder}' was built without an encoder (lexical mode); it cannot "
                         f"rank in mode {obj.mode!r}")
    obj.set_index(catalog=catalog, encoder=enc, dense=dense, lexical=LexicalIndex.load(folder, lex))
    obj.manifest_ = manifest
    return obj
