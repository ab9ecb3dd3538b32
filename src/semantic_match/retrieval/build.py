"""Building an index from a catalogue: encode every item (here or on a Dask cluster), count its
words and character n-grams, and assemble the first segment. :meth:`Matcher.fit` calls it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..io.catalog import Catalog
from .encoders import Encoder, get_encoder
from .lexical import LexicalIndex, LexicalStats
from .state import IndexState, build_segment

if TYPE_CHECKING:  # pragma: no cover
    from .matcher import Matcher

__all__ = ["encode_catalog", "build_state"]


def encode_catalog(
    encoder: Encoder, texts: list[str], *, batch_size: int, show_progress: bool | None, client=None
) -> np.ndarray:
    """Document vectors of ``texts`` (one row each, float32), on ``client``'s cluster when given."""
    if client is not None:
        from ..distributed import encode_documents

        return encode_documents(client, encoder, texts, batch_size=batch_size, show_progress=show_progress)
    # Filled in place: stacking the batches at the end would hold every vector twice.
    out = np.empty((len(texts), encoder.dim), dtype=np.float32)
    at = 0
    for batch in encoder.iter_document_batches(texts, batch_size=batch_size, show_progress=show_progress):
        out[at : at + len(batch)] = batch
        at += len(batch)
    if at != len(texts):
        raise RuntimeError(f"the encoder returned {at} vectors for {len(texts)} texts")
    return out


def build_state(m: Matcher, catalog: Catalog, *, client=None) -> tuple[IndexState, Encoder | None]:
    """The index of ``catalog`` with ``m``'s settings, and the encoder that built it (None: lexical)."""
    encoder = vectors = None
    if m.mode != "lexical":
        encoder = get_encoder(m.encoder)
        vectors = encode_catalog(
            encoder, catalog.texts, batch_size=m.batch_size, show_progress=m.show_progress, client=client
        )
    lexical = LexicalIndex(char_ngrams=m.char_ngrams, stem=m.stem)
    stats = LexicalStats()
    factory = m.segment_factory(len(catalog)) if vectors is not None else None
    segment = build_segment(catalog.items, catalog.texts, vectors, stats, lexical, ann_factory=factory)
    state = IndexState(
        [segment],
        stats,
        lexical.set_stats(stats),
        id_col=catalog.id_col,
        text_cols=catalog.text_cols,
        meta_cols=catalog.meta_cols,
        source=catalog.source,
        dim=None if encoder is None else encoder.dim,
        catalog=catalog,
    )
    return state, encoder
