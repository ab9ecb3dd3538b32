"""Property tests of the normaliser: never raises, idempotent, invisible characters count as nothing."""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from semantic_match.text.normalize import MAX_TEXT_CHARS, normalize_text, normalize_with_cap

# Pieces that exercise every step: markup and entities (also doubly escaped),
# units and numbers, abbreviations, runs of punctuation, invisible characters,
# compatibility forms that NFKC and lower() disagree on, and white space of every kind.
_PIECES = [
    "<",
    ">",
    "<b>",
    "</p>",
    "&",
    "&amp;",
    "&amp;lt;",
    "&lt;b&gt;",
    "&#8203;",
    "&#x41;",
    "&nbsp;",
    "&notes",
    "&gt",
    "1",
    "5",
    "2,5",
    "1.000",
    ".",
    ",",
    "x",
    "×",
    "*",
    "kg",
    "gr",
    "kgs",
    "l",
    "m",
    "mm",
    " gr",
    "ml",
    "yg",
    "dgn",
    "u/",
    "uk.",
    "dll",
    "lt",
    "pc",
    "kap.",
    "!!!",
    "...",
    "---",
    "~~~",
    " ",
    "  ",
    "\t",
    "\n",
    "\r\n",
    "\r",
    "\x00",
    "\x07",
    "\x1c",
    "\x7f",
    "\x85",
    "\x9b",
    "\u200b",
    "\u200d",
    "\u2060",
    "\ufeff",
    "\u00ad",
    "\u00a0",
    "\u3000",
    "\u2028",
    "Ｔ",
    "ａ",
    "ᴬ",
    "İ",
    "ß",
    "ẞ",
    "K",
    "Ω",
    "ﬁ",
    "①",
    "\u0301",
    "e",
    "A",
    "Tapis",
    "KOPI",
    "/",
    "\ud800",
    "=",
    "+",
    "-",
    "@",
    '"',
    "'",
    ";",
]
hostile_text = st.one_of(
    st.text(max_size=80),
    st.lists(st.sampled_from(_PIECES), max_size=40).map("".join),
    st.lists(st.one_of(st.sampled_from(_PIECES), st.text(max_size=3)), max_size=30).map("".join),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile_text)
@example("&amp;lt;b&amp;gt;")
@example("<a<b>>")
@example("1.1.1.1kg")
@example("&#xFF06;amp;")
@example("\u200b\u200c\u200d\ufeff\u00ad\u2060")
def test_normalize_is_idempotent_and_never_raises(text):
    once = normalize_text(text)
    assert isinstance(once, str)
    assert normalize_text(once) == once
    assert len(once) <= MAX_TEXT_CHARS


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.sampled_from(_PIECES + ["kopi", "tapis", "seminar"]), min_size=1, max_size=30).map("".join),
    st.integers(min_value=8, max_value=40),
)
def test_capped_output_is_idempotent_and_within_the_cap(text, cap):
    # Repeat the text so that the cap is reached, also inside one long word.
    long = text * (1 + 200 // max(len(text), 1))
    once, _ = normalize_with_cap(long, cap)
    assert len(once) <= cap
    assert normalize_with_cap(once, cap) == (once, False)


@given(st.text(alphabet="\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e \t\r\n\x00\x1f\x7f\x9f", max_size=20))
@settings(max_examples=50, deadline=None)
def test_invisible_only_text_is_empty(text):
    assert normalize_text(text) == ""


@given(st.from_type(object))
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_object_is_accepted(value):
    assert isinstance(normalize_text(value), str)
