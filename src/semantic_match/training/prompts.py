"""The e5 conventions both the converted and the adapted models follow.

One home for the base model's name and the e5 prefixes, so that conversion
(which stores them as the folder's prompts) and adaptation (which adds them
while training) cannot drift apart.
"""

from __future__ import annotations

from ..retrieval.encoders import DEFAULT_ENCODER

__all__ = ["BASE_MODEL", "QUERY_PROMPT", "DOCUMENT_PROMPT"]

#: The model the embedded 4-bit engine quantised, and the base of every conversion.
BASE_MODEL = DEFAULT_ENCODER
#: Prefix e5 models expect before a query (a need).
QUERY_PROMPT = "query: "
#: Prefix e5 models expect before a document (a catalogue item).
DOCUMENT_PROMPT = "passage: "
