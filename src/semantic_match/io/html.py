"""The one colour palette and the inline styles shared by every HTML and chart we render.

Notebook tables, plots, the event report and its charts use these names so a
colour means the same thing everywhere: ``OK`` a good match, ``LOW`` a weak one,
``ACCENT`` a rank-1 or a highlight. Colours are readable on light and dark
notebook themes (Tailwind palette).
"""

from __future__ import annotations

import html

__all__ = [
    "ACCENT",
    "ACCENT_LIGHT",
    "MUTED",
    "GREY_BG",
    "GRID",
    "INK",
    "OK",
    "LOW",
    "NEUTRAL",
    "WARN",
    "MARK_STYLE",
    "RELATED_STYLE",
    "TABLE_STYLE",
    "TH_STYLE",
    "TD_STYLE",
    "NUM_STYLE",
    "escape",
]

ACCENT = "#2563eb"  # bars, links, rank-1 items
ACCENT_LIGHT = "#93c5fd"  # other top-k items
MUTED = "#6b7280"  # secondary text
GREY_BG = "#e5e7eb"  # bar backgrounds, rules
GRID = "#9ca3af"  # points of the catalogue map, header rules
INK = "#111827"  # outlines
WARN = "#d97706"  # related (not identical) terms
OK = ("#166534", "#dcfce7")  # (text, background) of a confident match
LOW = ("#991b1b", "#fee2e2")  # (text, background) of a weak match
NEUTRAL = ("#334155", "#e2e8f0")  # (text, background) without a calibration

MARK_STYLE = "background:#fde68a;color:inherit;padding:0 1px;border-radius:2px"
RELATED_STYLE = f"text-decoration:underline dotted {WARN} 2px;text-underline-offset:2px"
TABLE_STYLE = (
    "border-collapse:collapse;font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;"
    "font-size:13px;line-height:1.35;text-align:left;color:inherit;min-width:640px"
)
TH_STYLE = (
    f"padding:6px 8px;border-bottom:2px solid {GRID};font-weight:600;text-align:left;"
    "white-space:nowrap;vertical-align:bottom"
)
TD_STYLE = f"padding:6px 8px;border-bottom:1px solid {GREY_BG};vertical-align:top;text-align:left"
NUM_STYLE = TD_STYLE + ";text-align:right;white-space:nowrap"


def escape(value: object) -> str:
    """HTML-escape any value's text, quotes included (safe in attributes too)."""
    return html.escape("" if value is None else str(value), quote=True)
