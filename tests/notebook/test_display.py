"""Rich display of results: HTML table with highlights and escaping, plain text, grouping."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from semantic_match import InputError, Matcher
from semantic_match.notebook.columns import key_columns
from semantic_match.notebook.format import format_percent, format_rupiah
from semantic_match.notebook.highlight import highlight_terms
from semantic_match.notebook.view import ResultView, show
from semantic_match.retrieval.calibration import Calibration
from tests.support import HashEncoder


def _calibration(threshold: float = 0.5) -> Calibration:
    # A confidence model for the test encoder, so results carry real confidences.
    return Calibration(
        coef=[0.0, 4.0, 4.0],
        intercept=-3.0,
        features=["dense", "char_cov", "term_cov"],
        threshold=threshold,
        encoder={"backend": "test-hash"},
    )


@pytest.fixture
def matcher(small_catalog):
    return Matcher.from_catalog(
        small_catalog,
        id_col="kode",
        text_cols=["nama", "deskripsi"],
        encoder=HashEncoder(),
        calibration=_calibration(),
        show_progress=False,
    )


def _marked(html: str) -> list[str]:
    return re.findall(r"<mark[^>]*>(.*?)</mark>", html)


def test_html_highlights_matched_terms_case_insensitively(matcher):
    res = matcher.search("seminar kit bernuansa TAPIS", k=3)
    html = show(res, matcher=matcher)._repr_html_()
    marked = _marked(html)
    assert "tapis" in marked and "Seminar" in marked and "kit" in marked and "bernuansa" in marked
    # Words outside the matched terms stay plain.
    assert "Lampung" not in marked and "motif" not in marked
    assert re.search(r"<mark[^>]*>Seminar</mark> <mark[^>]*>kit</mark> motif <mark[^>]*>tapis</mark>", html)


def test_highlight_terms_matches_normalized_words_and_prefixes():
    out = highlight_terms("Power Thresher Kap. 1 Ton/Jam, TAPISNYA kita", ["kapasitas", "ton", "tapis", "kit"])
    assert _marked(out) == ["Kap", "Ton", "TAPISNYA"]  # "kit" is too short to match "kita" as a prefix
    assert highlight_terms("Map & <b>", []) == "Map &amp; &lt;b&gt;"
    # HTML remnants of catalogues read as text: entities decoded, <br> as a space.
    assert highlight_terms("Tas &amp; map<br>tapis", ["tapis"]).startswith("Tas &amp; map <mark")


def test_html_escapes_everything_from_the_data(small_catalog):
    cat = small_catalog.copy()
    cat.loc[0, "nama"] = "<script>alert(1)</script> seminar kit"
    cat.loc[0, "deskripsi"] = 'Tas "premium" & map <img src=x onerror=alert(2)>'
    cat.loc[0, "supplier"] = "<b>Tapis</b> & Co"
    cat.loc[0, "region"] = "Metro'><script>"
    m = Matcher.from_catalog(
        cat, id_col="kode", text_cols=["nama", "deskripsi"], encoder=HashEncoder(), show_progress=False
    )
    res = m.search("seminar kit", k=3)
    assert res["item_id"].iloc[0] == "P01"
    html = show(res, query="<i>seminar kit</i>", matcher=m)._repr_html_()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script" not in html and "<img" not in html and "<i>" not in html and "<b>Tapis" not in html
    assert "&lt;b&gt;Tapis&lt;/b&gt; &amp; Co" in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html
    assert "&lt;i&gt;seminar kit&lt;/i&gt;" in html


def test_score_bars_and_confidence_badges(matcher):
    res = matcher.search("tas seminar tapis", k=4)
    html = show(res, matcher=matcher).to_html()
    assert html.count('class="sm-bar"') == 4
    widths = [float(w) for w in re.findall(r'class="sm-bar-fill" style="width:([0-9.]+)%', html)]
    np.testing.assert_allclose(widths, res["score"] * 100, atol=0.06)
    low = int((res["confidence"] < 0.5).sum())
    assert html.count("sm-conf-low") == low
    assert html.count("sm-conf-ok") == len(res) - low
    assert "<script" not in html and "javascript" not in html.lower()


def test_metadata_is_formatted_in_rupiah_and_percent(matcher):
    res = matcher.search("perontok padi", k=1)
    view = show(res, matcher=matcher)
    html = view.to_html()
    assert "Rp 25.000.000" in html and "38%" in html and "UD Tani" in html and "Pesawaran" in html
    assert format_rupiah(185000) == "Rp 185.000"
    assert format_rupiah(np.nan) == "–"
    assert format_percent(78.5) == "78,5%"
    assert key_columns(["kode", "nama", "penyedia", "wilayah", "harga", "tkdn"]) == {
        "supplier": "penyedia",
        "region": "wilayah",
        "category": None,
        "price": "harga",
        "unit": None,
        "tkdn": "tkdn",
    }


def test_frame_is_the_same_dataframe(matcher):
    res = matcher.search("kopi robusta", k=3)
    view = show(res)
    assert isinstance(view, ResultView)
    assert view.frame is res
    piped = res.pipe(show, query="kopi robusta")
    assert isinstance(piped, ResultView)
    pd.testing.assert_frame_equal(piped.frame, res)


def test_plain_text_is_readable(matcher):
    res = matcher.search("tas seminar tapis", k=3)
    text = str(show(res, query="tas seminar tapis", matcher=matcher))
    lines = text.splitlines()
    assert lines[0] == "query: tas seminar tapis"
    assert lines[1].split()[:4] == ["rank", "item_id", "score", "conf"]
    assert len([ln for ln in lines if re.match(r"\s+\d+\s+P0\d", ln)]) == 3
    assert "Rp " in text and "Tapis" in text
    assert repr(show(res)) == str(show(res))
    assert "<" not in text


def test_match_output_is_grouped_by_need(matcher):
    needs = pd.DataFrame(
        {
            "id": ["N1", "N2"],
            "need": ["tas seminar tapis", "mesin perontok padi"],
            "buyer": ["Dinas Koperasi", "Dinas Pertanian"],
        }
    )
    matches = matcher.match(needs, id_col="id", text_cols="need", k=2, keep_cols=["buyer"])
    view = show(matches, matcher=matcher)
    html = view.to_html()
    assert html.count('class="sm-need"') == 2
    first, second = html.index("<b>N1</b>"), html.index("<b>N2</b>")
    rows = [m.start() for m in re.finditer('class="sm-row"', html)]
    assert len(rows) == 4 and first < rows[0] < rows[1] < second < rows[2] < rows[3]
    assert "Dinas Pertanian" in html
    text = view.to_text()
    assert "── N1: tas seminar tapis (buyer: Dinas Koperasi)" in text
    assert text.index("── N1") < text.index("── N2")


def test_need_header_flags_no_good_match(matcher):
    matches = matcher.match(["tas seminar tapis", "laptop gaming"], k=2)
    html = show(matches, min_confidence=0.999).to_html()
    assert html.count('class="sm-flag"') == 2
    assert "NO GOOD MATCH" in show(matches, min_confidence=0.999).to_text()
    assert 'class="sm-flag"' not in show(matches, min_confidence=0.0).to_html()


def test_max_rows_notes_hidden_rows(matcher):
    matches = matcher.match(["tas seminar tapis", "kopi", "pompa air"], k=3)
    view = show(matches, max_rows=4)
    assert view.to_html().count('class="sm-row"') == 4
    assert "5 more rows" in view.to_html() and "5 more rows" in view.to_text()


def test_empty_results_and_bad_input(matcher):
    res = matcher.search("tapis", k=3)
    assert "(no results)" in show(res.iloc[:0]).to_html()
    assert "(no results)" in show(res.iloc[:0]).to_text()
    with pytest.raises(InputError, match="takes the DataFrame"):
        show(["P01"])
    with pytest.raises(
        InputError,
        match=r"the result frame is missing column 'rank'; columns are .*; show\(\) "
        r"takes the DataFrame returned by Matcher.search\(\)",
    ):
        show(res.drop(columns=["rank"]))
    with pytest.raises(
        InputError,
        match=r"the result frame is missing column 'wilayah'; columns are .*; columns= "
        r"may name only columns of the results",
    ):
        show(res, columns=["wilayah"])
    with pytest.raises(InputError, match=r"is missing column 'judul'.*text_cols= may name only columns"):
        show(res, text_cols=["judul"])
    with pytest.raises(InputError, match="max_rows must be a positive integer"):
        show(res, max_rows=0)
