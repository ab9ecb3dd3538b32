"""Formatting of single values for tables and explanations: rupiah, percent, numbers, text.

Every function takes one cell as it comes from a catalogue or result frame
(number, text, ``None`` or NaN) and returns plain text; HTML escaping is left
to the caller, which knows whether the text goes into a page or a terminal.
"""

from __future__ import annotations

import html
import math
import re
import unicodedata

import pandas as pd

__all__ = ["is_missing", "format_rupiah", "format_percent", "format_number", "display_text", "clip", "MISSING"]

#: What a missing value shows as, in HTML and in text.
MISSING = "–"

_BREAK = re.compile(r"<\s*br\s*/?\s*>", re.IGNORECASE)
_WS = re.compile(r"\s+")


def is_missing(value: object) -> bool:
    """Whether a cell holds no value: ``None``, NaN, ``NaT`` or ``pd.NA``.

    Values pandas cannot judge (lists, arrays) count as present rather than
    raising, so one odd cell never breaks a whole table.

    Examples
    --------
    >>> is_missing(None), is_missing(float("nan")), is_missing(0), is_missing("")
    (True, True, False, False)
    """
    if value is None:
        return True
    try:
        return bool(pd.isna(value))  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return False


def format_rupiah(value: object) -> str:
    """Format an amount in rupiah with Indonesian thousands separators.

    Parameters
    ----------
    value : number or str
        Missing values give ``"–"``; text that is not a number is returned as is.

    Returns
    -------
    str

    Examples
    --------
    >>> format_rupiah(185000)
    'Rp 185.000'
    >>> format_rupiah(24_500_000.0)
    'Rp 24.500.000'
    """
    if is_missing(value):
        return MISSING
    try:
        amount = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(amount):
        return MISSING
    sign = "-" if amount < 0 else ""
    return f"{sign}Rp {abs(round(amount)):,}".replace(",", ".")


def format_percent(value: object) -> str:
    """Format a percentage (such as TKDN) with a decimal comma.

    Examples
    --------
    >>> format_percent(78.5)
    '78,5%'
    >>> format_percent(40)
    '40%'
    """
    if is_missing(value):
        return MISSING
    try:
        pct = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)
    text = f"{pct:.1f}".rstrip("0").rstrip(".")
    return text.replace(".", ",") + "%"


def format_number(value: object, digits: int) -> str:
    """A score with a fixed number of decimals (decimal point), ``"–"`` when missing.

    Examples
    --------
    >>> format_number(0.98765, 3), format_number(None, 3)
    ('0.988', '–')
    """
    if is_missing(value):
        return MISSING
    return f"{float(value):.{digits}f}"  # type: ignore[arg-type]


def display_text(value: object) -> str:
    """Catalogue text as a person should read it: entities decoded, ``<br>`` as a space.

    Other markup is left as text on purpose: it is escaped when rendered, so a
    product named ``<script>`` shows as exactly that.

    Examples
    --------
    >>> display_text("Tas &amp; map<br>tapis  ")
    'Tas & map tapis'
    """
    if is_missing(value):
        return ""
    text = _BREAK.sub(" ", str(value))
    if "&" in text:
        text = html.unescape(text)
    return _WS.sub(" ", unicodedata.normalize("NFC", text)).strip()


def clip(text: str, limit: int) -> str:
    """Shorten ``text`` to about ``limit`` characters at a word boundary, marked with ``" …"``.

    Examples
    --------
    >>> clip("Paket tas, map, blocknote bernuansa tapis", 20)
    'Paket tas, map …'
    """
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > limit // 2 else limit].rstrip(" ,;:") + " …"
