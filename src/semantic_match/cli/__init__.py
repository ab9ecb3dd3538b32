"""Command line: ``semantic-match index | search | match | evaluate | info | event | adapt | convert``.

The top layer: a thin argparse front over the library that may import every
wing, and that nothing imports.
"""
from __future__ import annotations

from .app import build_parser, main

__all__ = ["main", "build_parser"]
