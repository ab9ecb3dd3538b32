import pytest

from semantic_match import normalize_text


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Tas Seminar Kit  TAPIS", "tas seminar kit tapis"),
        ("kertas yg bagus dgn map utk kantor", "kertas yang bagus dengan map untuk kantor"),
        ("10 bh map, pulpen dll", "10 buah map, pulpen dan lain-lain"),
        ("Sepatu PDH uk. 42", "sepatu pdh ukuran 42"),
        ("Beras 5kg", "beras 5 kg"),
        ("Kabel NYA 2,5mm merah", "kabel nya 2,5 mm merah"),
        ("Kopi bubuk 250gr", "kopi bubuk 250 gram"),
        ("Kopi bubuk 250 gr", "kopi bubuk 250 gram"),
        ("Air mineral 600ml", "air mineral 600 ml"),
        ("Oli 1ltr", "oli 1 liter"),
        ("Flip chart 70x100cm", "flip chart 70 x 100 cm"),
        ("Mesin 1ton/jam", "mesin 1 ton/jam"),
    ],
)
def test_abbreviations_and_units(raw, expected):
    assert normalize_text(raw) == expected


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Map&nbsp;Tapis<br>Lampung", "map tapis lampung"),
        ("Kopi &amp; Gula", "kopi & gula"),
        ("<p>Tas <b>Tapis</b></p>", "tas tapis"),
    ],
)
def test_html_remnants_removed(raw, expected):
    assert normalize_text(raw) == expected


def test_unicode_nfkc_and_whitespace():
    # Full-width letters and digits, non-breaking and ideographic spaces.
    assert normalize_text("Ｔａｐｉｓ\u00a0 ２\u3000bh\n\t") == "tapis 2 buah"


def test_model_codes_and_single_letters_are_not_units():
    # "93 A" is a toner model, "A4" a paper size, "i5" a processor.
    assert normalize_text("Toner HP 93 A Black") == "toner hp 93 a black"
    assert normalize_text("Kertas A4 80gr") == "kertas a4 80 gram"
    assert normalize_text("Laptop Core i5 RAM 8GB") == "laptop core i5 ram 8 gb"


def test_abbreviations_only_as_whole_words():
    assert normalize_text("yogya kudus") == "yogya kudus"
    assert normalize_text("utkarsa") == "utkarsa"


@pytest.mark.parametrize("value", [None, float("nan"), ""])
def test_missing_values_give_empty_text(value):
    assert normalize_text(value) == ""


def test_non_strings_are_stringified():
    assert normalize_text(12345) == "12345"


def test_idempotent_on_normalised_text():
    once = normalize_text("Seminar Kit TAPIS uk. 30x40cm utk 5kg dgn <br> &amp;")
    assert normalize_text(once) == once
