"""explain_match: scores agree with search(), terms, alternatives, errors."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from semantic_match import InputError, Matcher
from semantic_match.notebook.explain import Explanation, RelatedTerm, explain_match
from semantic_match.retrieval.calibration import Calibration
from tests.support import DATA, HashEncoder


def _calibration() -> Calibration:
    return Calibration(
        coef=[0.0, 4.0, 4.0],
        intercept=-3.0,
        features=["dense", "char_cov", "term_cov"],
        threshold=0.5,
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


@pytest.mark.parametrize(
    "query, item_id",
    [("tas seminar tapis kulit", "P02"), ("tas seminar tapis kulit", "P05"), ("mesin perontok padi", "P08")],
)
def test_scores_equal_those_of_search(matcher, query, item_id):
    ex = explain_match(matcher, query, item_id)
    assert isinstance(ex, Explanation)
    row = matcher.search(query, k=matcher.n_items).set_index("item_id").loc[item_id]
    assert ex.rank == row["rank"]
    assert ex.n_ranked == matcher.n_items
    assert ex.score == pytest.approx(row["score"], abs=1e-5)
    assert ex.confidence == pytest.approx(row["confidence"], abs=1e-4)
    assert ex.dense_score == pytest.approx(row["dense_score"], abs=1e-5)
    assert ex.char_score == pytest.approx(row["char_score"], abs=1e-5)
    assert ex.bm25_score == pytest.approx(row["bm25_score"], abs=1e-3)
    assert ex.shared_terms == row["matched_terms"].split()
    # The channels' parts add up to the ranking score.
    assert sum(ex.contributions.values()) == pytest.approx(ex.score, abs=1e-5)
    assert set(ex.contributions) == {"dense", "char", "bm25"}


def test_rank_and_scores_under_filters_and_rrf(small_catalog):
    import semantic_match.retrieval.matcher as matcher_module

    real = matcher_module.default_calibration
    matcher_module.default_calibration = lambda ident=None: None  # a matcher without calibration
    try:
        m = Matcher.from_catalog(
            small_catalog,
            id_col="kode",
            text_cols=["nama", "deskripsi"],
            encoder=HashEncoder(),
            fusion="rrf",
            show_progress=False,
        )
    finally:
        matcher_module.default_calibration = real
    filters = {"harga": {"<=": 200000}}
    res = m.search("tapis", k=8, filters=filters).set_index("item_id")
    ex = explain_match(m, "tapis", "P05", filters=filters)
    assert ex.rank == res.loc["P05", "rank"] and ex.n_ranked == len(res)
    assert ex.score == pytest.approx(res.loc["P05", "score"], abs=1e-6)
    assert sum(ex.contributions.values()) == pytest.approx(ex.score, abs=1e-6)
    assert math.isnan(ex.confidence) and ex.threshold is None and ex.verdict == "no calibration"
    with pytest.raises(InputError, match="item 'P03' does not pass the filters"):
        explain_match(m, "tapis", "P03", filters=filters)


def test_shared_and_related_terms_on_a_hand_made_example():
    cat = pd.DataFrame(
        {
            "kode": ["A1", "A2", "A3"],
            "nama": ["Mesin Perontok Padi Diesel", "Kopi Robusta Bubuk", "Pompa Air Irigasi"],
            "deskripsi": ["Power thresher 1 ton/jam", "Kopi Lampung Barat 250gr", "Pompa 3 inch bensin"],
        }
    )
    m = Matcher.from_catalog(cat, id_col="kode", text_cols=["nama", "deskripsi"], mode="lexical")
    ex = explain_match(m, "Mesin PERONTOKAN padi untuk gabah, kapasitas 1 ton/jam", "A1")
    assert ex.need_normalized == "mesin perontokan padi untuk gabah, kapasitas 1 ton/jam"
    assert ex.shared_terms == ["mesin", "padi", "1", "ton", "jam"]
    assert [r.term for r in ex.related_terms] == ["perontokan", "gabah", "kapasitas"]
    perontokan = ex.related_terms[0]
    assert perontokan.similar[0][0] == "perontok" and perontokan.similar[0][1] > 0.8
    assert ex.missing_terms == ["gabah", "kapasitas"]
    assert str(perontokan).startswith("perontokan ~ perontok (0.")
    assert str(RelatedTerm("gabah")) == "gabah (no similar word)"
    assert "dense" not in ex.contributions and math.isnan(ex.dense_score)


def test_alternatives_exclude_the_item_and_are_sorted(matcher):
    ex = explain_match(matcher, "tas seminar tapis", "P01", alternatives=3)
    alt = ex.alternatives
    assert len(alt) == 3 and "P01" not in set(alt["item_id"])
    assert alt["score"].is_monotonic_decreasing
    top = matcher.search("tas seminar tapis", k=4)
    assert alt["item_id"].tolist() == [i for i in top["item_id"] if i != "P01"][:3]
    assert len(explain_match(matcher, "tas seminar tapis", "P01", alternatives=0).alternatives) == 0


def test_unknown_item_id_names_it(matcher):
    with pytest.raises(
        InputError,
        match=r"unknown item_id 'P9': no product in the catalogue \(8 items, id "
        r"column 'kode'\) has it",
    ):
        explain_match(matcher, "tapis", "P9")
    with pytest.raises(InputError, match=r"unknown item_id 'P010'.*did you mean \['P01'"):
        explain_match(matcher, "tapis", "P010")
    with pytest.raises(InputError, match=r"unknown item_id 'X'.*ids look like \['P01', 'P02', 'P03'\]"):
        explain_match(matcher, "tapis", "X")
    with pytest.raises(InputError, match="need is empty"):
        explain_match(matcher, "  ", "P01")
    with pytest.raises(InputError, match="alternatives must be an integer >= 0"):
        explain_match(matcher, "tapis", "P01", alternatives=-1)


def test_html_and_text_renderings(matcher, small_catalog):
    ex = explain_match(matcher, "tas seminar tapis", "P02")
    html = ex._repr_html_()
    assert "<mark" in html and "P02" in html and "nearest alternatives" in html and "Rp 150.000" in html
    text = str(ex)
    assert text.startswith('Why P02 "Tas seminar tapis kulit sintetis" for the need "tas seminar tapis"')
    assert f"rank {ex.rank} of 8" in text and "shared terms: tas seminar tapis" in text
    assert "<" not in text
    cat = small_catalog.assign(
        nama=small_catalog["nama"].where(small_catalog["kode"] != "P02", "<script>alert(1)</script> tas")
    )
    m = Matcher.from_catalog(cat, id_col="kode", text_cols=["nama", "deskripsi"], mode="lexical")
    html = explain_match(m, "<b>tas</b>", "P02")._repr_html_()
    assert "<script" not in html and "&lt;script&gt;" in html and "<b>tas</b>" not in html


@pytest.mark.slow
def test_explain_and_show_with_the_real_encoder(e5_encoder):
    from semantic_match.notebook.view import show

    m = Matcher.from_catalog(
        DATA / "catalog_lampung.csv",
        id_col="product_id",
        text_cols=["name", "description"],
        encoder=e5_encoder,
        show_progress=False,
    )
    need = "mesin perontok padi kapasitas 1 ton/jam"
    res = m.search(need, k=5)
    top = res.iloc[0]
    ex = explain_match(m, need, top["item_id"])
    assert ex.rank == 1 and ex.score == pytest.approx(top["score"], abs=1e-5)
    assert ex.confidence == pytest.approx(top["confidence"], abs=1e-4) and ex.confidence > ex.threshold
    assert ex.verdict == "good match"
    assert {"mesin", "perontok", "padi"} <= set(ex.shared_terms)
    html = show(m.search("seminar kit bernuansa tapis", k=5), matcher=m).to_html()
    assert "<mark" in html and ">Tapis</mark>" in html and "Rp " in html
