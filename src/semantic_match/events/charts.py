"""The charts of the event report, as PNG ``data:`` URIs for a self-contained HTML page.

Figures are drawn with matplotlib's Agg canvas directly (no pyplot), so the
library never changes the caller's matplotlib backend or global state;
matplotlib is imported when the first chart is drawn. Colours come from the
package's palette (:mod:`semantic_match.io.html`): a weak match is drawn in
``LOW``, everything else in ``ACCENT``.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import numpy as np

from ..errors import InputError
from ..io.html import ACCENT, LOW, MUTED
from .compat import renamed_keywords

__all__ = ["confidence_histogram", "needs_per_supplier", "meetings_per_slot"]

_WEAK = LOW[0]  # the text colour of a weak match, strong enough for bars


def _figure(width: float = 7.0, height: float = 3.2):
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - matplotlib is a dependency
        raise InputError(
            "the HTML report draws its charts with matplotlib; install it "
            "(pip install matplotlib) or export without 'html'"
        ) from exc
    fig = Figure(figsize=(width, height), dpi=110)
    FigureCanvasAgg(fig)
    return fig


def _data_uri(fig) -> str:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", facecolor="white", metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


@renamed_keywords(threshold="min_confidence")
def confidence_histogram(confidence: Sequence[float] | np.ndarray, min_confidence: float) -> str:
    """Histogram of each need's best-match confidence with the "no good match" cut-off marked.

    Parameters
    ----------
    confidence : sequence of float
        Rank-1 confidence per need (NaN = no match, left out).
    min_confidence : float
        The cut-off (``threshold`` is its deprecated name).

    Returns
    -------
    str
        ``data:image/png;base64,…``
    """
    values = np.asarray(confidence, dtype=float)
    values = values[np.isfinite(values)]
    fig = _figure()
    ax = fig.add_subplot()
    bins = np.linspace(0.0, 1.0, 21)
    cut = min_confidence
    ax.hist(values[values < cut], bins=bins, color=_WEAK, alpha=0.8, label="unmet (below threshold)")
    ax.hist(values[values >= cut], bins=bins, color=ACCENT, alpha=0.8, label="served")
    ax.axvline(cut, color="black", linestyle="--", linewidth=1.2)
    ax.text(cut, ax.get_ylim()[1] * 0.95, f"  threshold {cut:.2f}", va="top", fontsize=8)
    ax.set_xlabel("confidence of the best product per need")
    ax.set_ylabel("needs")
    ax.set_xlim(0, 1)
    ax.legend(fontsize=8, frameon=False)
    return _data_uri(fig)


def needs_per_supplier(names: Sequence[str], counts: Sequence[int], *, limit: int = 25) -> str:
    """Horizontal bars: needs served per supplier (the ``limit`` largest)."""
    order = np.argsort(-np.asarray(counts, dtype=float), kind="stable")[:limit]
    labels = [str(names[i])[:40] for i in order][::-1]
    values = [counts[i] for i in order][::-1]
    fig = _figure(7.0, max(2.0, 0.22 * len(labels) + 0.8))
    ax = fig.add_subplot()
    ax.barh(range(len(values)), values, color=ACCENT)
    ax.set_yticks(range(len(values)), labels, fontsize=7)
    ax.set_xlabel("needs with a product at or above the threshold")
    if not values:
        ax.text(0.5, 0.5, "no supplier serves a need", ha="center", transform=ax.transAxes)
    return _data_uri(fig)


def meetings_per_slot(slots: Sequence[str], counts: Sequence[int], tables: int) -> str:
    """Bars: meetings per slot, with the number of tables as the ceiling."""
    fig = _figure()
    ax = fig.add_subplot()
    ax.bar(range(len(slots)), counts, color=ACCENT)
    ax.axhline(tables, color=MUTED, linestyle="--", linewidth=1)
    ax.text(len(slots) - 0.5, tables, f"{tables} tables", ha="right", va="bottom", fontsize=8, color=MUTED)
    ax.set_xticks(range(len(slots)), list(slots), rotation=45 if len(slots) > 8 else 0, fontsize=8)
    ax.set_ylabel("meetings")
    ax.set_ylim(0, max(tables, max(counts, default=0)) * 1.12 + 0.5)
    return _data_uri(fig)
