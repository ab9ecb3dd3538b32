"""Indonesian text normalisation shared by every channel.

Procurement lines are short and messy: "Kertas HVS A4 80gr utk kantor dgn
kualitas baik", "Kabel NYA (Merah) 2,5mm", "Map&nbsp;Tapis<br>". The same
function normalises catalogue texts and queries so that both sides meet in the
same form.

Guarantees, each checked by a property test (``tests/text``):

- **Never raises** on any input; ``None``, NaN and ``pd.NA`` give ``""``.
- **Idempotent**: ``normalize_text(normalize_text(x)) == normalize_text(x)``.
- **Invisible characters count as nothing**: control characters (C0 and C1
  except white space, DEL), zero-width characters (U+200B–U+200D, U+2060–U+2064,
  U+180E, U+FEFF), the soft hyphen U+00AD and lone surrogates are removed, so a
  text made only of them is empty and fails the catalogue's emptiness check.
- **Linear time, bounded output**: every regular expression is free of nested
  backtracking (a 1 MB cell takes well under a second) and the output is cut to
  at most :data:`MAX_TEXT_CHARS` characters at a word boundary.

Why 2,000 characters: product and need texts are a name plus a description of a
few sentences; 2,000 characters is about 300 Indonesian words, already more than
the encoders read: multilingual-e5-small (and every sentence-transformers model
used here) truncates its input at 512 word-piece tokens, so text beyond roughly
1,500–2,500 characters never reaches the dense channel anyway. Cutting there also
bounds the lexical channels: one pasted 1 MB cell or a 10,000-word query would
otherwise cost minutes.
"""

from __future__ import annotations

import html
import re
import unicodedata

__all__ = [
    "normalize_text",
    "normalize_with_cap",
    "truncate_words",
    "ABBREVIATIONS",
    "NORMALIZER_VERSION",
    "MAX_TEXT_CHARS",
    "UNITS",
    "INVISIBLE_CHARS",
]

# Bump when the output of normalize_text changes: saved indexes record it.
# v2: invisible characters removed, entities decoded before tags are removed,
# texts capped at MAX_TEXT_CHARS.
NORMALIZER_VERSION = 2

#: Longest normalised text, in characters, of one item or need (see the module docstring).
MAX_TEXT_CHARS = 2000

# Raw characters read per text, as a multiple of the cap.
_RAW_FACTOR = 100

#: Characters removed before anything else: they are invisible, so a text made
#: only of them must count as empty, and they break words ("ko\u200bpi") and
#: exports (openpyxl refuses C0 controls). White-space controls (tab, line
#: breaks, U+001C–U+001F, NEL) are not listed: they become one space.
INVISIBLE_CHARS = (
    "\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f"  # C0, DEL and C1 controls that are not white space
    "\u00ad"  # soft hyphen
    "\u180e\u200b-\u200d\u2060-\u2064\ufeff"  # zero-width and invisible formatting characters
    "\ud800-\udfff"  # lone surrogates (from broken decoders; unencodable as UTF-8)
)
_INVISIBLE = re.compile(f"[{INVISIBLE_CHARS}]")

#: Common abbreviations in Indonesian procurement and marketplace text (compiled into a
#: pattern at import: changes made later are not seen).
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
UNITS = {
    "g": "gram",
    "gr": "gram",
    "grm": "gram",
    "gram": "gram",
    "kg": "kg",
    "kgs": "kg",
    "mg": "mg",
    "ton": "ton",
    "l": "liter",
    "lt": "liter",
    "ltr": "liter",
    "liter": "liter",
    "litre": "liter",
    "ml": "ml",
    "mm": "mm",
    "cm": "cm",
    "m": "m",
    "mtr": "meter",
    "meter": "meter",
    "km": "km",
    "inch": "inch",
    "inci": "inch",
    "w": "watt",
    "watt": "watt",
    "kw": "kw",
    "kva": "kva",
    "hp": "hp",
    "pk": "pk",
    "v": "volt",
    "volt": "volt",
    "ah": "ah",
    "mah": "mah",
    "gb": "gb",
    "tb": "tb",
    "mb": "mb",
    "ghz": "ghz",
    "mhz": "mhz",
    "pcs": "pcs",
    "pc": "pcs",
    "lbr": "lembar",
    "rim": "rim",
    "btg": "batang",
    "rpm": "rpm",
    "cc": "cc",
    "mp": "mp",
}
_UNIT_ALT = "|".join(sorted((re.escape(u) for u in UNITS), key=len, reverse=True))
# A number is matched from the first digit of its run of digits and separators
# only: without "(?<!\d[.,])", every digit after a separator of "1.1.1.1…" would
# start a match that scans the rest of the run, quadratic time (40,000
# characters took 40 s). _unit then reproduces what the old pattern gave when
# the run follows a letter ("x4,5mtr" -> "x4,5 meter").
_NUMBER = r"(?<!\d)(?<!\d[.,])(\d+(?:[.,]\d+)*)"
# "5kg", "2,5mm", "1.000ml" -> number, space, unit. A trailing letter-digit
# sequence (e.g. "A4", "i5") is left alone because it must start with a digit.
_GLUED_UNIT = re.compile(rf"{_NUMBER}({_UNIT_ALT})(?![\w])")
# With a space between, only multi-letter units are respelled: "93 A" or
# "5 m" may be a model code or a size letter, "250 gr" is surely grams.
_SPACED_UNIT = re.compile(rf"{_NUMBER}\s+({'|'.join(u for u in UNITS if len(u) > 1)})(?![\w])")
_WORD = re.compile(r"\w")
_SEPARATOR = re.compile(r"[.,]")
_DIMENSION_X = re.compile(r"(?<=\d)\s*[x×*]\s*(?=\d)")
# No "<" inside a tag: a text of many "<" is then scanned once, not 200 times.
_TAG = re.compile(r"<[^<>]{0,200}>")
_ABBREVIATION_ALT = "|".join(sorted((re.escape(a) for a in ABBREVIATIONS), key=len, reverse=True))
# A whole-word abbreviation, with its period if one follows ("uk." -> "ukuran");
# "ltr/mnt" expands, "yg/" before a space does not. Matching only the listed
# words (not every word, then looking it up) makes this step three times faster.
_TOKEN = re.compile(rf"(?<![\w/])({_ABBREVIATION_ALT})(?:\.(?!\w)|(?!\w)(?!/(?!\w)))")
_SPACE = re.compile(r"\s+")
_REPEATED_PUNCT = re.compile(r"([!?.,;:\-_=*#~])\1{2,}")
# The last run of letters, of digits, or of other characters, of a text.
_LAST_RUN = re.compile(r"(?:[^\W\d_]+|\d+|_+|\W+)$")
# "&" that could start an HTML character reference.
_ENTITY_START = re.compile(r"&(?=[#0-9A-Za-z])")


def _expand(match: re.Match[str]) -> str:
    return ABBREVIATIONS[match.group(1)]


def _first_group(match: re.Match[str]) -> str:
    # A function, not the template r"\1": re parses a template on every call.
    return match.group(1)


def _unit(match: re.Match[str]) -> str:
    number, unit = match.group(1), UNITS[match.group(2)]
    start = match.start()
    if start and _WORD.match(match.string, start - 1):
        # After a letter ("x4,5mtr", "v1.5mm") the number counts from its second
        # part, as when every digit after a separator could start a number.
        sep = _SEPARATOR.search(number)
        if sep is None:
            return match.group(0)
        return f"{number[: sep.end()]}{number[sep.end() :]} {unit}"
    return f"{number} {unit}"


def _fold(text: str) -> str:
    # NFKC and lower() do not commute ("ᴬ" is lower case until NFKC makes it "A";
    # lower() can yield text NFKC changes again), so repeat until stable: usually
    # one pass and one check, never more than a few. ASCII is NFKC already, and its
    # lower case is ASCII: most procurement text takes this fast path.
    if text.isascii():
        return text.lower()
    for _ in range(4):
        folded = unicodedata.normalize("NFKC", text).lower()
        if folded == text:
            break
        text = folded
    return text


def _clean(text: str) -> str:
    """Invisible characters, entities, Unicode forms, case, tags and runs of punctuation."""
    if not text.isprintable():  # printable text holds no control or zero-width character
        text = _INVISIBLE.sub("", text)
    text = _fold(text)
    if "&" in text:
        # Entities may encode anything (invisible characters, full-width letters, tags).
        text = _fold(_INVISIBLE.sub("", html.unescape(text)))
    if "<" in text:
        text = _TAG.sub(" ", text)
    return _REPEATED_PUNCT.sub(_first_group, text)


def _rewrite(text: str) -> str:
    """Dimensions, units and abbreviations: the steps that read words and numbers."""
    text = _DIMENSION_X.sub(" x ", text)
    text = _GLUED_UNIT.sub(_unit, text)
    text = _SPACED_UNIT.sub(_unit, text)
    text = _TOKEN.sub(_expand, text)
    return _SPACE.sub(" ", text).strip()


def _settle(text: str) -> str:
    # Make the output a fixed point of the first steps, so that normalising twice
    # changes nothing: a doubly escaped "&amp;lt;" leaves an entity behind, nested
    # or shortened markup ("<a<b>>", "< 300 spaces >") leaves a tag, and an
    # expansion next to a combining mark ("u/" + U+0301) composes under NFKC.
    for _ in range(4):
        before = text
        if "&" in text and html.unescape(text) != text:
            text = _ENTITY_START.sub("& ", text)
        if "<" in text and _TAG.search(text):
            text = text.replace("<", " ").replace(">", " ")
        folded = _fold(text)
        if folded != text:
            text = _REPEATED_PUNCT.sub(_first_group, folded)
        if text == before:
            break
        text = _rewrite(text)
    return text


def truncate_words(text: str, max_chars: int) -> str:
    """``text`` cut to at most ``max_chars`` characters at the last space, or hard when one word is longer.

    >>> truncate_words("kopi robusta bubuk", 14)
    'kopi robusta'
    """
    if len(text) <= max_chars:
        return text
    cut = text.rfind(" ", 0, max_chars + 1)
    if cut > 0:
        return text[:cut].rstrip()
    return text[:max_chars]


def _cut_long_word(text: str, max_chars: int) -> str:
    # One "word" longer than the cap is cut inside, and its cut end may read
    # differently ("…<u/" becomes "untuk", "…1mm" a number and a unit). Drop
    # trailing runs until the piece normalises to itself, so that normalising
    # twice still changes nothing; a few tries suffice for any real text.
    piece = text[:max_chars]
    for _ in range(50):
        if not piece or _settle(_rewrite(_clean(piece))) == piece:
            return piece
        last = _LAST_RUN.search(piece)
        piece = piece[: last.start()] if last else ""
    return ""


def normalize_with_cap(text: object, max_chars: int | None = MAX_TEXT_CHARS) -> tuple[str, bool]:
    """:func:`normalize_text` and whether the text was cut to ``max_chars``.

    Parameters
    ----------
    text : object
        As for :func:`normalize_text`.
    max_chars : int or None
        Longest output; ``None`` keeps everything (the work is still linear).

    Returns
    -------
    text : str
    truncated : bool
    """
    if text is None or (isinstance(text, float) and text != text):  # NaN from pandas
        return "", False
    if not isinstance(text, str):
        if type(text).__name__ in ("NAType", "NaTType"):  # pd.NA, pd.NaT without importing pandas
            return "", False
        try:
            text = str(text)
        except Exception:  # noqa: BLE001 - a broken __str__ must not stop a whole catalogue
            return "", False
    truncated = False
    if max_chars is not None and len(text) > _RAW_FACTOR * max_chars:
        # Even markup and entities do not shrink a text a hundredfold; reading
        # no further bounds the work on a pasted megabyte to a few milliseconds.
        text, truncated = text[: _RAW_FACTOR * max_chars], True
    text = _clean(text)
    if max_chars is not None and len(text) > 2 * max_chars:
        text = _SPACE.sub(" ", text).strip()
    if max_chars is not None and len(text) > 2 * max_chars:
        # The word steps below only lengthen text (or shorten it by a little,
        # "kgs" -> "kg"), so twice the cap is enough and bounds their work.
        text, truncated = truncate_words(text, 2 * max_chars), True
    text = _settle(_rewrite(text))
    if max_chars is not None and len(text) > max_chars:
        truncated = True
        if " " in text[: max_chars + 1]:
            # A prefix ending at a space of a normalised text is normalised.
            text = truncate_words(text, max_chars)
        else:
            text = _cut_long_word(text, max_chars)
    return text, truncated


def normalize_text(text: object, max_chars: int | None = MAX_TEXT_CHARS) -> str:
    """Normalise one Indonesian product or need text.

    Steps, in order: invisible characters removed (controls, zero-width
    characters, soft hyphens), HTML entities decoded and tags removed, Unicode
    NFKC, lower case, runs of punctuation shortened, numbers glued to units split
    and the unit spelled canonically ("5kg" -> "5 kg", "250gr" -> "250 gram",
    "2,5mm" -> "2,5 mm"), dimensions spaced ("70x100cm" -> "70 x 100 cm"), common
    abbreviations expanded ("yg", "dgn", "utk", "bh", "dll", "uk."), white space
    collapsed, and the result cut at a word boundary to ``max_chars``.
    Decimal commas are kept: "2,5" stays "2,5". Idempotent, linear in the length
    of the text, and never raises.

    Parameters
    ----------
    text : object
        A string; ``None``, NaN and ``pd.NA`` give ``""``, other objects are ``str()``-ed.
    max_chars : int or None
        Longest output, default :data:`MAX_TEXT_CHARS`; ``None`` keeps everything.

    Returns
    -------
    str

    Examples
    --------
    >>> normalize_text("Tas Seminar Kit  TAPIS uk. 30x40cm utk peserta")
    'tas seminar kit tapis ukuran 30 x 40 cm untuk peserta'
    >>> normalize_text("Kopi Robusta 250gr &amp; gula 1kg<br>")
    'kopi robusta 250 gram & gula 1 kg'
    >>> normalize_text("\\u200b\\u200b")
    ''
    """
    return normalize_with_cap(text, max_chars)[0]
