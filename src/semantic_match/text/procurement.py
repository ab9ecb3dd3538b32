"""Procurement-specific clean-up of need texts: the ranking levers of issue 13.

Indonesian procurement lines (RUP) carry words that are not evidence of a product:
boilerplate specifications ("sesuai KAK", "lihat spesifikasi terlampir", "-"), an item
name repeated inside its specification ("Printer; Printer A3"), generic modifiers
("sedang", "biasa", "generik", "setara", "standar") and bare figures ("80", "20 mg")
that pull unrelated items sharing the same number. Each function here removes one
kind, on :func:`~semantic_match.text.normalize.normalize_text` output, so that it can
be measured as an on/off lever (``benchmarks/levers_v2.py``, docs/quality.md).

Guarantees, each checked by a property test (``tests/text/test_procurement.py``):

- **Never raises** on any string.
- **Idempotent**: applying a function to its own output changes nothing.
- **Never empties a need**: a non-empty input gives a non-empty output (when the
  removal would leave nothing, the normalised input is returned unchanged).
- **Output is normalised**: ``normalize_text(f(x)) == f(x)``.

(:func:`weight_item` is the exception to idempotence: it repeats the item name on purpose.)

Imports nothing from the package but :mod:`semantic_match.text.normalize`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .normalize import MAX_TEXT_CHARS, UNITS, normalize_text, truncate_words

__all__ = [
    "BOILERPLATE",
    "GENERIC_MODIFIERS",
    "clean_fields",
    "clean_need",
    "drop_boilerplate",
    "drop_generic_modifiers",
    "drop_numbers",
    "drop_repeated_words",
    "weight_item",
]

#: Verbs that introduce a reference to another document instead of a specification.
_REFER = r"(?:sesuai|seperti|lihat|menyesuaikan|mengikuti|berdasarkan|mengacu|sebagaimana)"
#: What such a reference points at.
_DOCUMENT = (
    r"(?:kak|tor|rab|spesifikasi|spek|spec|dokumen|gambar|lampiran|kebutuhan|contoh|ketentuan|"
    r"permintaan|katalog|e-katalog|kontrak|usulan|pesanan)"
)
_TAIL = r"(?:\s+(?:teknis|terlampir|yang berlaku|yang ada|yang diminta|di atas|dibawah|di bawah|pada lampiran))*"

#: Boilerplate phrases of procurement specifications, as patterns over normalised text.
BOILERPLATE: tuple[str, ...] = (
    rf"{_REFER}(?:\s+(?:dengan|pada|di|ke))?(?:\s+(?:dokumen|daftar))?\s+{_DOCUMENT}{_TAIL}",
    r"(?:spesifikasi|spek|spec|rincian|daftar|data|detail)\s+terlampir",
    r"terlampir",
)
_BOILERPLATE = re.compile(r"(?<![\w-])(?:" + "|".join(BOILERPLATE) + r")(?![\w-])")
# What is left of a field once boilerplate is gone: nothing but punctuation and spaces.
_ONLY_PUNCT = re.compile(r"^[\W_]*$")
# Punctuation left dangling at the ends, or doubled where a phrase was cut out.
_EDGE_PUNCT = re.compile(r"^[\s,;:/\-.()]+|[\s,;:/\-(.]+$")
_DOUBLE_PUNCT = re.compile(r"([,;:/])(?:\s*[,;:/])+")
_EMPTY_BRACKETS = re.compile(r"\(\s*\)|\[\s*\]")

#: Generic modifiers: words that say "an ordinary one" rather than which product.
GENERIC_MODIFIERS = frozenset(
    """sedang biasa lainnya lain-lain generik generic setara standar standard umum dll dsb
    sejenis ekuivalen equivalent""".split()
)

_NUMBER = r"\d+(?:[.,]\d+)*(?:\s*-\s*\d+(?:[.,]\d+)*)?"
_UNIT_WORDS = sorted(set(UNITS) | set(UNITS.values()) | {"%", "x", "va", "a", "buah", "box", "set"}, key=len)
_UNIT_ALT = "|".join(re.escape(u) for u in reversed(_UNIT_WORDS))
# A number standing alone (not part of a code such as "a4", "ft4", "cuso4" or "2x2.5mm"'s
# letters), optionally followed by a unit word or "%", and a dimension "x" joining numbers.
_MEASURE = re.compile(rf"(?<![\w.,@/-]){_NUMBER}(?:\s*(?:{_UNIT_ALT})(?![\w]))?(?:\s+x\s+(?={_NUMBER}))?(?![\w])")
_BARE_NUMBER = re.compile(
    rf"(?<![\w.,@/-]){_NUMBER}(?!\s*(?:{_UNIT_ALT})(?![\w]))(?:\s+x(?=\s+\d))?(?![\w.,]|\s*-\s*\d)"
)
_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"[^\W_]+(?:-[^\W_]+)*")


def _tidy(text: str) -> str:
    text = _EMPTY_BRACKETS.sub(" ", text)
    text = _DOUBLE_PUNCT.sub(r"\1", text)
    text = _SPACE.sub(" ", text).strip()
    text = _EDGE_PUNCT.sub("", text).strip()
    return "" if _ONLY_PUNCT.match(text) else normalize_text(text)


def _fixed_point(step, text: str) -> str:
    # A removal can bring two pieces together that form a new match
    # ("sesuai sesuai kak kak"): repeat until nothing changes (few passes in practice).
    for _ in range(8):
        new = step(text)
        if new == text:
            break
        text = new
    return text


def _keep_nonempty(original: str, cleaned: str) -> str:
    return cleaned if cleaned.strip() else original


def drop_boilerplate(text: str) -> str:
    """``text`` (normalised) without procurement boilerplate ("sesuai KAK", "lihat spesifikasi", "-").

    May return ``""`` when the whole field is boilerplate: use it on a specification, or
    through :func:`clean_fields`, which keeps a need from becoming empty.

    >>> drop_boilerplate("Kertas HVS, sesuai spesifikasi terlampir")
    'kertas hvs'
    >>> drop_boilerplate("Lihat KAK")
    ''
    """
    norm = normalize_text(text)
    return _fixed_point(lambda t: _tidy(_BOILERPLATE.sub(" ", t)), norm)


def drop_repeated_words(text: str) -> str:
    """``text`` (normalised) with runs of the same word or phrase said twice in a row collapsed.

    >>> drop_repeated_words("piagam penghargaan penghargaan mitra")
    'piagam penghargaan mitra'
    """
    norm = normalize_text(text)

    def step(t: str) -> str:
        words = t.split(" ")
        for size in range(min(6, len(words) // 2), 0, -1):
            out: list[str] = []
            i = 0
            while i < len(words):
                chunk = words[i : i + size]
                if (
                    len(chunk) == size
                    and out[-size:] == chunk
                    and any(_WORD.fullmatch(w) and not w.isdigit() for w in chunk)
                ):
                    i += size
                    continue
                out.append(words[i])
                i += 1
            words = out
        return " ".join(words)

    return _keep_nonempty(norm, _fixed_point(step, norm))


def _drop_item_from_spec(item: str, spec: str) -> str:
    """The spec without the item name it repeats (all of it, or as its first words)."""
    if not item or not spec:
        return spec
    item_words = item.split(" ")
    spec_words = spec.split(" ")
    if spec_words[: len(item_words)] == item_words:
        spec = _tidy(" ".join(spec_words[len(item_words) :]))
        spec_words = spec.split(" ") if spec else []
    # Every word of the spec is already in the item ("obat batuk" / "batuk").
    core = {w.strip(",.;:()") for w in item_words}
    if all(w.strip(",.;:()") in core for w in spec_words):
        return ""
    return spec


def clean_fields(fields: Sequence[object]) -> list[str]:
    """Clean the text fields of one need: the first is its item name, the others its specification.

    Each field is normalised; boilerplate is removed from every field, words said twice
    in a row once, and a specification that repeats the item name loses it. If every
    field ends up empty, the normalised fields are returned unchanged (a need never
    loses all of its text).

    >>> clean_fields(["Printer", "Printer A3"])
    ['printer', 'a3']
    >>> clean_fields(["Kertas HVS", "sesuai KAK"])
    ['kertas hvs', '']
    """
    norm = [normalize_text(f) for f in fields]
    if not any(norm):
        return norm
    out = norm
    # Each step can expose more for another (a spec that loses the item name may be left
    # with boilerplate): repeat until nothing changes, so that cleaning twice changes nothing.
    for _ in range(8):
        new = [drop_repeated_words(drop_boilerplate(f)) if f else "" for f in out]
        new = new[:1] + [_drop_item_from_spec(new[0], f) for f in new[1:]]
        if new == out:
            break
        out = new
    return out if any(out) else norm


def clean_need(fields: Sequence[object]) -> str:
    """The cleaned need text, fields joined with ". " as :func:`~semantic_match.io.catalog.combine_texts` joins them.

    >>> clean_need(["Piagam Penghargaan", "Piagam Penghargaan Penghargaan Mitra Bhakti Husada"])
    'piagam penghargaan. mitra bhakti husada'
    """
    fields = clean_fields(fields)
    kept = [f.rstrip(" .") for f in fields if f]
    # A need of punctuation only ("." or "-") keeps it rather than become empty.
    return normalize_text(". ".join(kept)) or normalize_text(" ".join(fields))


def drop_generic_modifiers(text: str) -> str:
    """``text`` (normalised) without generic modifiers ("sedang", "biasa", "generik", "setara", "standar").

    >>> drop_generic_modifiers("lidokain inj 2% generik")
    'lidokain inj 2%'
    """
    norm = normalize_text(text)

    def step(t: str) -> str:
        words = [w for w in t.split(" ") if w.strip(",.;:()") not in GENERIC_MODIFIERS]
        return _tidy(" ".join(words))

    return _keep_nonempty(norm, _fixed_point(step, norm))


def drop_numbers(text: str, *, keep_measures: bool = False) -> str:
    """``text`` (normalised) without free-standing figures, so that "80" matches no item by itself.

    Removes numbers that stand alone (not codes like "a4" or "cuso4") together with the
    unit that follows them ("80 gram", "20 mg", "2%") and dimension "x"s. With
    ``keep_measures``, only bare numbers without a unit go.

    >>> drop_numbers("kertas hvs 80 gram a4 1 rim")
    'kertas hvs a4'
    >>> drop_numbers("kertas hvs 80 gram a4 isi 500", keep_measures=True)
    'kertas hvs 80 gram a4 isi'
    """
    norm = normalize_text(text)
    pattern = _BARE_NUMBER if keep_measures else _MEASURE
    return _keep_nonempty(norm, _fixed_point(lambda t: _tidy(pattern.sub(" ", t)), norm))


def weight_item(item: object, text: str) -> str:
    """A need text with its item name said twice: ``"item. text"``, weighting the item over the spec.

    ``text`` is the need's normalised text (item and specification joined with ". ", as
    :func:`~semantic_match.io.catalog.combine_texts` gives it). Every channel then counts the
    item name's words and n-grams twice as often as the specification's, which keeps a long or
    generic specification from outweighing what is bought (issue 13, lever d; the default of
    :func:`~semantic_match.io.needs.load_needs` for needs with several text columns). Without
    an item name the text is returned as it is; the result is cut to
    :data:`~semantic_match.text.normalize.MAX_TEXT_CHARS` at a word boundary.

    >>> weight_item("Printer", "printer. printer a3 laser")
    'printer. printer. printer a3 laser'
    >>> weight_item("", "kertas hvs")
    'kertas hvs'
    """
    name = normalize_text(item).rstrip(" .")
    if not name:
        return text
    if not text:
        return name
    return truncate_words(f"{name}. {text}", MAX_TEXT_CHARS)
