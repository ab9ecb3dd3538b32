"""Command line: ``semantic-match index | update | compact | search | match | evaluate | event | ...``.

The top layer: a thin argparse front over the library that may import every
wing, and that nothing imports.
"""

from __future__ import annotations

from .app import build_parser, main

__all__ = ["main", "build_parser"]
