"""Indonesian text normalisation shared by every channel.

Procurement lines are short and messy: "Kertas HVS A4 80gr utk kantor dgn
kualitas baik", "Kabel NYA (Merah) 2,5mm", "Map&nbsp;Tapis<br>". The same
function normalises catalogue texts and queries so that both sides meet in the
same form.
"""
from __future__ import annotations

import html
import re
import unicodedata

__all__ = ["normalize_text", "ABBREVIATIONS", "NORMALIZER_VERSION"]

# Bump when the output of normalize_text changes: saved indexes record it.
NORMALIZER_VERSION = 1

#: Common abbreviations in Indonesian procurement and marketplace text.
ABBREVIATIONS: dict[str, str] = {
    "yg": "yang",
    "dgn": "dengan",
    "dg": "dengan",
    "utk": "untuk",
    "u/": "untuk",
    "bh": "buah",
    "dll": "dan lain-lain",
    "dsb": "dan sebagainya",
    "uk": "ukuran",
    "tdk": "tidak",
    "sdh": "sudah",
    "blm": "belum",
    "krn": "karena",
    "thd": "terhadap",
    "spt": "seperti",
    "jml": "jumlah",
    "kap": "kapasitas",
    "kaps": "kapasitas",
    "pnjg": "panjang",
    "lbr": "lebar",
    "tgi": "tinggi",
    "bks": "bungkus",
    "btl": "botol",
    "ktk": "kotak",
    "klg": "kaleng",
    "psg": "pasang",
    "unt": "unit",
    "kbl": "kabel",
    "mtr": "meter",
    "ltr": "liter",
    "lt": "liter",
    "gr": "gram",
    "grm": "gram",
    "kgs": "kg",
    "pc": "pcs",
}

# Unit spellings after a number; single letters only count right after a digit.
_UNITS = {
    "g": "gram", "gr": "gram", "grm": "gram", "gram": "gram",
    "kg": "kg", "kgs": "kg", "mg": "mg", "ton": "ton",
    "l": "liter", "lt": "liter", "ltr": "liter", "liter": "liter", "litre": "liter", "ml": "ml",
    "mm": "mm", "cm": "cm", "m": "m", "mtr": "meter", "meter": "meter", "km": "km",
    "inch": "inch", "inci": "inch",
    "w": "watt", "watt": "watt", "kw": "kw", "kva": "kva", "hp": "hp", "pk": "pk",
    "v": "volt", "volt": "volt", "ah": "ah", "mah": "mah",
    "gb": "gb", "tb": "tb", "mb": "mb", "ghz": "ghz", "mhz": "mhz",
    "pcs": "pcs", "pc": "pcs", "lbr": "lembar", "rim": "rim", "btg": "batang",
    "rpm": "rpm", "cc": "cc", "mp": "mp",
}
_UNIT_ALT = "|".join(sorted((re.escape(u) for u in _UNITS), key=len, reverse=True))
# "5kg", "2,5mm", "1.000ml" -> number, space, unit. A trailing letter-digit
# sequence (e.g. "A4", "i5") is left alone because it must start with a digit.
_GLUED_UNIT = re.compile(rf"(?<![\w])(\d+(?:[.,]\d+)*)({_UNIT_ALT})(?![\w])")
# With a space between, only multi-letter units are respelled: "93 A" or
# "5 m" may be a model code or a size letter, "250 gr" is surely grams.
_SPACED_UNIT = re.compile(
    rf"(?<![\w])(\d+(?:[.,]\d+)*)\s+({'|'.join(u for u in _UNITS if len(u) > 1)})(?![\w])"
)
_DIMENSION_X = re.compile(r"(?<=\d)\s*[x×*]\s*(?=\d)")
_TAG = re.compile(r"<[^>]{0,200}>")
_TOKEN = re.compile(r"(?<![\w/])([a-z]+/?)(\.)?(?![\w])")
_SPACE = re.compile(r"\s+")
_REPEATED_PUNCT = re.compile(r"([!?.,;:\-_=*#~])\1{2,}")


def _expand(match: re.Match[str]) -> str:
    word = match.group(1)
    repl = ABBREVIATIONS.get(word)
    if repl is None:
        return match.group(0)
    return repl


def _unit(match: re.Match[str]) -> str:
    return f"{match.group(1)} {_UNITS[match.group(2)]}"


def normalize_text(text: object) -> str:
    """Normalise one Indonesian product or need text.

    Steps, in order: HTML entities and tags removed, Unicode NFKC, lower case,
    numbers glued to units split and the unit spelled canonically
    ("5kg" -> "5 kg", "250gr" -> "250 gram", "2,5mm" -> "2,5 mm"), dimensions
    spaced ("70x100cm" -> "70 x 100 cm"), common abbreviations expanded
    ("yg", "dgn", "utk", "bh", "dll", "uk."), whitespace collapsed.
    Decimal commas are kept: "2,5" stays "2,5".

    Parameters
    ----------
    text : object
        A string; ``None`` and NaN give ``""``, other objects are ``str()``-ed.

    Returns
    -------
    str

    Examples
    --------
    >>> normalize_text("Tas Seminar Kit  TAPIS uk. 30x40cm utk peserta")
    'tas seminar kit tapis ukuran 30 x 40 cm untuk peserta'
    >>> normalize_text("Kopi Robusta 250gr &amp; gula 1kg<br>")
    'kopi robusta 250 gram & gula 1 kg'
    """
    if text is None:
        return ""
    if isinstance(text, float) and text != text:  # NaN from pandas
        return ""
    if not isinstance(text, str):
        text = str(text)
    if "<" in text:
        text = _TAG.sub(" ", text)
    if "&" in text:
        text = html.unescape(text)
    text = unicodedata.normalize("NFKC", text).lower()
    text = _REPEATED_PUNCT.sub(r"\1", text)
    text = _DIMENSION_X.sub(" x ", text)
    text = _GLUED_UNIT.sub(_unit, text)
    text = _SPACED_UNIT.sub(_unit, text)
    text = _TOKEN.sub(_expand, text)
    return _SPACE.sub(" ", text).strip()
