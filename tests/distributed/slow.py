"""A test encoder slow enough for a worker to be killed while it works (workers import it by name)."""

from __future__ import annotations

import time

from tests.support import HashEncoder


class SlowHashEncoder(HashEncoder):
    """:class:`HashEncoder` (same identity, same vectors) that sleeps ``delay`` seconds per batch."""

    def __init__(self, delay: float = 0.05, **kwargs):
        super().__init__(**kwargs)
        self.delay = delay

    def _encode(self, texts, *, is_query):
        time.sleep(self.delay)
        return super()._encode(texts, is_query=is_query)
