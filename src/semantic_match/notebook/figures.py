"""Making matplotlib figures without pyplot, and showing them in Jupyter anyway.

The plotting functions build a :class:`matplotlib.figure.Figure` directly, so
they never touch pyplot's global state or choose a backend. matplotlib is
imported here only when a figure is made: importing :mod:`semantic_match`
stays free of it.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["new_axes", "register_notebook_display"]


def new_axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    """``ax`` and its figure when given, else a new figure of ``figsize`` inches with one axes."""
    if ax is not None:
        return ax.figure, ax  # type: ignore[return-value]
    from matplotlib.figure import Figure

    register_notebook_display()
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot()


def register_notebook_display() -> None:
    """Let IPython show a bare Figure as PNG even when pyplot was never imported.

    matplotlib-inline registers this formatter only once pyplot loads its
    backend; figures made without pyplot would otherwise print as
    ``<Figure size 640x480 with 1 Axes>``. An existing formatter is kept.
    """
    if "IPython" not in sys.modules:
        return
    try:
        from IPython import get_ipython
        from matplotlib.figure import Figure
    except ImportError:  # pragma: no cover
        return
    shell = get_ipython()
    if shell is None:
        return
    png = shell.display_formatter.formatters.get("image/png")
    if png is None:
        return
    try:
        png.lookup_by_type(Figure)
    except KeyError:

        def to_png(fig: Figure) -> bytes:
            import io

            buf = io.BytesIO()
            fig.savefig(buf, format="png", bbox_inches="tight")
            return buf.getvalue()

        png.for_type(Figure, to_png)
