"""Procurement clean-up of need texts (issue 13 levers): examples and properties.

Properties, for every function: never raises, idempotent, output normalised, a non-empty
need never becomes empty.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from semantic_match.text.normalize import normalize_text
from semantic_match.text.procurement import (
    clean_fields,
    clean_need,
    drop_boilerplate,
    drop_generic_modifiers,
    drop_numbers,
    drop_repeated_words,
)

# Pieces of real procurement lines: boilerplate, generic words, numbers with and without
# units, codes with digits, punctuation and brackets, and repeated words.
_PIECES = [
    "sesuai",
    "KAK",
    "lihat",
    "spesifikasi",
    "terlampir",
    "sesuai dengan",
    "dokumen",
    "-",
    "--",
    ",",
    ".",
    ";",
    "(",
    ")",
    "( )",
    "/",
    "@100/box",
    "generik",
    "setara",
    "standar",
    "dll",
    "sedang",
    "80",
    "80 gram",
    "20mg",
    "2,5",
    "1.000",
    "15-20kg",
    "2%",
    "x",
    "70x100cm",
    "A4",
    "CuSO4",
    "kertas",
    "HVS",
    "printer",
    "printer",
    "obat",
    "batuk",
    " ",
    "  ",
    "é",
    "&amp;",
    "<b>",
]
texts = st.lists(st.sampled_from(_PIECES), max_size=12).map(" ".join) | st.text(max_size=60)
FUNCTIONS = {
    "drop_boilerplate": drop_boilerplate,
    "drop_repeated_words": drop_repeated_words,
    "drop_generic_modifiers": drop_generic_modifiers,
    "drop_numbers": drop_numbers,
    "drop_numbers(keep_measures)": lambda t: drop_numbers(t, keep_measures=True),
    "clean_need (one field)": lambda t: clean_need([t]),
}
# drop_boilerplate alone may empty a field (it is for specifications); the others never empty a need.
NEVER_EMPTY = [name for name in FUNCTIONS if name != "drop_boilerplate"]


@pytest.mark.parametrize("name", list(FUNCTIONS))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=texts)
def test_never_raises_is_idempotent_and_normalised(name, text):
    fn = FUNCTIONS[name]
    once = fn(text)
    assert isinstance(once, str)
    assert fn(once) == once
    assert normalize_text(once) == once


@pytest.mark.parametrize("name", NEVER_EMPTY)
@settings(max_examples=150, deadline=None)
@given(text=texts)
def test_a_need_with_text_keeps_text(name, text):
    if normalize_text(text):
        assert FUNCTIONS[name](text)


@settings(max_examples=150, deadline=None)
@given(item=texts, spec=texts)
def test_clean_fields_is_idempotent_and_keeps_some_text(item, spec):
    once = clean_fields([item, spec])
    assert len(once) == 2
    assert clean_fields(once) == once
    if normalize_text(item) or normalize_text(spec):
        assert any(once)
    assert clean_need(once) == clean_need([item, spec])


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Sesuai KAK", ""),
        ("lihat spesifikasi terlampir", ""),
        ("Spesifikasi terlampir", ""),
        ("Kertas HVS, sesuai spesifikasi", "kertas hvs"),
        ("Besi hollow (sesuai gambar)", "besi hollow"),
        ("sesuai dengan dokumen kontrak; warna hitam", "warna hitam"),
        ("-", ""),
        # not boilerplate: the words stand for a product property
        ("Sesuaikan ukuran", "sesuaikan ukuran"),
        ("kakao bubuk", "kakao bubuk"),
    ],
)
def test_drop_boilerplate(text, expected):
    assert drop_boilerplate(text) == expected


@pytest.mark.parametrize(
    "fields, expected",
    [
        (["Printer", "Printer A3"], ["printer", "a3"]),
        (["Pensil", "Pensil"], ["pensil", ""]),
        (["Obat Batuk", "batuk"], ["obat batuk", ""]),
        (["Piagam Penghargaan", "Piagam Penghargaan Penghargaan Mitra"], ["piagam penghargaan", "mitra"]),
        (["Kertas HVS", "sesuai KAK"], ["kertas hvs", ""]),
        (["Sesuai KAK", "Kertas HVS 80 gram"], ["", "kertas hvs 80 gram"]),
        # everything boilerplate: the need keeps its text
        (["-", "sesuai KAK"], ["-", "sesuai kak"]),
        (["Bawang Merah", "label biru"], ["bawang merah", "label biru"]),
    ],
)
def test_clean_fields(fields, expected):
    assert clean_fields(fields) == expected


def test_clean_need_joins_like_combine_texts():
    assert clean_need(["Printer", "Printer A3"]) == "printer. a3"
    assert clean_need(["Spidol", ""]) == "spidol"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Lidokain inj 2% Generik", "lidokain inj 2%"),
        ("Spidol Logam Standar", "spidol logam"),
        ("meja biasa ukuran sedang", "meja ukuran"),
        ("Toner setara HP 85A", "toner hp 85a"),
        ("Generik", "generik"),  # nothing else: kept
    ],
)
def test_drop_generic_modifiers(text, expected):
    assert drop_generic_modifiers(text) == expected


@pytest.mark.parametrize(
    "text, expected, expected_keep",
    [
        ("Kertas HVS 80 gram A4 1 rim", "kertas hvs a4", "kertas hvs 80 gram a4 1 rim"),
        ("Yeast Extract Ukuran 500 g", "yeast extract ukuran", "yeast extract ukuran 500 g"),
        ("Teralis besi 7 x 150 cm", "teralis besi", "teralis besi 7 x 150 cm"),
        ("Sapi jantan 15-20kg", "sapi jantan", "sapi jantan 15-20 kg"),
        ("CuSO4 pa", "cuso4 pa", "cuso4 pa"),  # a formula, not a figure
        ("isi 500", "isi", "isi"),
        ("2024", "2024", "2024"),  # nothing else: kept
    ],
)
def test_drop_numbers(text, expected, expected_keep):
    assert drop_numbers(text) == expected
    assert drop_numbers(text, keep_measures=True) == expected_keep


def test_drop_repeated_words_keeps_repeated_figures():
    assert drop_repeated_words("kabel kabel nym 2 x 2") == "kabel nym 2 x 2"
    assert drop_repeated_words("map map map") == "map"
