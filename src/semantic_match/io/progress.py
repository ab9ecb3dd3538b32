"""Progress bars for long work (encoding, matching, building), shown on a terminal only."""

from __future__ import annotations

import sys

__all__ = ["progress_bar"]


def progress_bar(total: int, desc: str, show: bool | None, *, unit: str = "text"):
    """A tqdm bar of ``total`` steps; hidden unless ``show`` (default: stderr is a terminal).

    Use it as a context manager and call ``update(n)``.
    """
    from tqdm.auto import tqdm

    if show is None:
        show = sys.stderr.isatty()
    return tqdm(total=total, desc=desc, unit=unit, disable=not show, leave=False)
