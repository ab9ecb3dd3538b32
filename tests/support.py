"""Test support shared by every suite: paths and a small deterministic encoder."""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np

from semantic_match.retrieval.encoders import Encoder

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
SHARED = ROOT.parent / "shared" / "data"


class HashEncoder(Encoder):
    """Deterministic character-trigram hashing encoder for fast unit tests.

    Not a mock of a language model: it really embeds text (texts sharing
    trigrams get similar vectors), so ranking tests stay meaningful.
    """

    def __init__(self, dim: int = 256, salt: str = ""):
        self._dim = dim
        self.salt = salt
        self.batch_size = 16

    @property
    def dim(self) -> int:
        return self._dim

    def identity(self) -> dict:
        return {"backend": "test-hash", "model": f"hash-{self._dim}{self.salt}", "dim": self._dim}

    def _encode(self, texts, *, is_query):
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for i, text in enumerate(texts):
            padded = f"  {text} "
            for j in range(len(padded) - 2):
                h = zlib.crc32((self.salt + padded[j : j + 3]).encode())
                out[i, h % self._dim] += 1.0
        return out
