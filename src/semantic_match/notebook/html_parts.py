"""Small HTML pieces shared by the results table and the explanations: score bars and badges.

Each returns a self-contained fragment with inline CSS in the colours of
:mod:`semantic_match.io.html`, so a green badge or a blue bar means the same
in a table, an explanation and the event report.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..io.html import ACCENT, GREY_BG, LOW, NEUTRAL, OK, escape
from .format import format_number, is_missing

__all__ = ["bar_html", "badge_html", "confidence_html", "score_scale"]


def bar_html(value: float, fraction: float, *, digits: int = 3, title: str = "") -> str:
    """A horizontal bar filled to ``fraction`` (clipped to [0, 1]) followed by ``value``.

    Parameters
    ----------
    value : float
        The number printed after the bar.
    fraction : float
        How full the bar is; NaN draws an empty bar.
    digits : int
        Decimals of the printed value.
    title : str
        Tooltip.
    """
    width = 0.0 if not math.isfinite(fraction) else min(max(fraction, 0.0), 1.0) * 100
    return (
        f'<div class="sm-bar" title="{escape(title)}" style="display:flex;align-items:center;gap:6px">'
        f'<div style="width:72px;height:8px;background:{GREY_BG};border-radius:4px;overflow:hidden">'
        f'<div class="sm-bar-fill" style="width:{width:.1f}%;height:100%;background:{ACCENT}"></div></div>'
        f'<span style="font-variant-numeric:tabular-nums">{format_number(value, digits)}</span></div>'
    )


def badge_html(text: str, colors: tuple[str, str], *, css_class: str, title: str) -> str:
    """A rounded label; ``colors`` is a (text, background) pair such as :data:`~semantic_match.io.html.OK`."""
    fg, bg = colors
    return (
        f'<span class="{css_class}" title="{escape(title)}" style="display:inline-block;'
        f"padding:1px 7px;border-radius:9px;font-size:12px;font-weight:600;color:{fg};background:{bg};"
        f'font-variant-numeric:tabular-nums;white-space:nowrap">{escape(text)}</span>'
    )


def confidence_html(value: object, min_confidence: float | None) -> str:
    """A confidence badge: green at or above ``min_confidence``, red below, grey without a cut-off.

    A missing confidence (the encoder has no calibration) shows as ``–``.
    """
    if is_missing(value):
        return badge_html(
            "–", NEUTRAL, css_class="sm-conf sm-conf-na", title="no confidence: no calibration for this encoder"
        )
    conf = float(value)  # type: ignore[arg-type]
    if min_confidence is None:
        return badge_html(
            f"{conf:.2f}", NEUTRAL, css_class="sm-conf", title="calibrated probability that the product is relevant"
        )
    low = conf < min_confidence
    return badge_html(
        f"{conf:.2f}",
        LOW if low else OK,
        css_class="sm-conf sm-conf-low" if low else "sm-conf sm-conf-ok",
        title=f"calibrated probability that the product is relevant; "
        f"{'below' if low else 'at or above'} the no-good-match threshold "
        f"{min_confidence:.2f}",
    )


def score_scale(scores: pd.Series) -> float:
    """Divide scores by this to draw bars: 1 for fused scores in [0, 1], else the best score."""
    finite = scores[np.isfinite(scores.to_numpy(dtype=np.float64))]
    if finite.empty:
        return 1.0
    lo, hi = float(finite.min()), float(finite.max())
    # Reciprocal-rank scores (~0.03) would all draw as empty bars on an absolute
    # scale; draw such scores relative to the need's best result instead.
    if lo >= 0 and 0.25 <= hi <= 1.0:
        return 1.0
    return hi if hi > 0 else 1.0
