"""Text: the Indonesian normaliser and word tokeniser shared by every channel and display.

Owns how raw procurement and product text becomes comparable text (HTML remnants,
Unicode, abbreviations, units glued to numbers) and the word tokens and stop
words of the lexical channels. Imports nothing from the package but
:mod:`semantic_match.errors`; everything else may import it.
"""

from __future__ import annotations

from .normalize import NORMALIZER_VERSION, normalize_text
from .tokens import STOPWORDS, tokenize

__all__ = ["normalize_text", "NORMALIZER_VERSION", "tokenize", "STOPWORDS"]
