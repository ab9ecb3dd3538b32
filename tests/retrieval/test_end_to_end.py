"""The real default encoder on real text: the sample catalogue and the shared KBKI/RUP data."""

import pandas as pd
import pytest

from semantic_match import Matcher
from tests.support import DATA

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sample_matcher(e5_encoder):
    return Matcher.from_catalog(
        DATA / "catalog_lampung.csv",
        id_col="product_id",
        text_cols=["name", "description"],
        encoder=e5_encoder,
        show_progress=False,
    )


def test_seminar_kit_tapis_on_top(sample_matcher):
    res = sample_matcher.search("seminar kit bernuansa tapis", k=5)
    names = res["name"].str.lower()
    assert names.str.contains("seminar kit").all() and names.str.contains("tapis").all()
    assert (res["category"] == "Tapis & Seminar Kit").all()


def test_thresher_with_tkdn_filter(sample_matcher):
    res = sample_matcher.search("mesin perontok padi kapasitas 1 ton/jam", k=3, filters={"tkdn": {">=": 40}})
    assert len(res) == 3 and (res["tkdn"] >= 40).all()
    top = res.iloc[0]
    assert "thresher" in top["name"].lower() or "perontok" in top["name"].lower()


def test_filters_on_real_catalogue_return_k(sample_matcher):
    res = sample_matcher.search(
        "kopi robusta bubuk", k=10, filters={"region": ["Lampung Barat", "Tanggamus"], "price": {"<=": 100000}}
    )
    assert len(res) == 10
    assert set(res["region"]) <= {"Lampung Barat", "Tanggamus"} and (res["price"] <= 100000).all()
    assert res["category"].iloc[0] == "Kopi"


def test_match_sample_needs(sample_matcher, tmp_path):
    needs = pd.read_csv(DATA / "needs_lampung.csv")
    out = sample_matcher.match(needs, text_cols=["need", "spec"], id_col="need_id", k=3, keep_cols=["buyer"])
    assert len(out) == 3 * len(needs)
    assert out.groupby("need_id")["rank"].apply(list).map(lambda r: r == [1, 2, 3]).all()
    coffee = needs.loc[needs["need"].str.lower().str.startswith("kopi bubuk"), "need_id"]
    assert len(coffee) >= 1
    for need_id in coffee:
        assert out.loc[(out.need_id == need_id) & (out["rank"] == 1), "category"].iloc[0] == "Kopi"


def test_save_load_real_encoder_identical(sample_matcher, tmp_path):
    sample_matcher.save(tmp_path / "idx")
    again = Matcher.load(tmp_path / "idx")  # recreates the embedded encoder from the manifest
    q = "souvenir gantungan kunci tapis untuk tamu"
    pd.testing.assert_frame_equal(sample_matcher.search(q, k=10), again.search(q, k=10))


@pytest.fixture(scope="module")
def kbki(shared_data):
    df = pd.read_csv(shared_data / "kbki_2012_barang.csv", dtype=str)
    return df[df["kode"].str.len() == 10]


def test_kbki_commodities_for_real_rup_needs(kbki, e5_encoder):
    # ~1,000 commodities around agricultural machinery, stationery and food keep this fast.
    subset = kbki[
        kbki["kode"].str[:3].isin(["445", "321", "239", "271"])
        | kbki["judul"].str.contains("kopi|tapis|tas ", case=False)
    ]
    m = Matcher.from_catalog(subset, id_col="kode", text_cols=["judul"], encoder=e5_encoder, show_progress=False)
    res = m.search("Power Thresher mesin perontok padi", k=5)
    assert res["judul"].str.contains("perontok", case=False).any()
    assert res["judul"].iloc[0].lower().startswith("mesin perontok")
