"""The sub-linear candidate path agrees with exhaustive ranking; updates equal a fresh build.

Small sizes so it runs in seconds; benchmarks/bench_scale.py measures the same at 1,000,000 items.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from semantic_match import Matcher
from tests.support import DATA, HashEncoder

QUERIES = [
    "seminar kit bernuansa tapis",
    "mesin perontok padi kapasitas 1 ton/jam",
    "kopi robusta bubuk",
    "tas laptop motif tapis",
    "keripik pisang",
    "traktor roda dua",
    "map dokumen",
    "pompa air",
]


@pytest.fixture(scope="module")
def catalog() -> pd.DataFrame:
    return pd.read_csv(DATA / "catalog_lampung.csv", dtype={"product_id": str})


def _build(frame, **kw) -> Matcher:
    return Matcher.from_catalog(
        frame, id_col="product_id", text_cols=["name", "description"], encoder=HashEncoder(), show_progress=False, **kw
    )


def _recall(approx: pd.DataFrame, exact: pd.DataFrame, k: int) -> float:
    return len(set(approx["item_id"].head(k)) & set(exact["item_id"].head(k))) / k


@pytest.mark.parametrize("ann_min_rows", [10**9, 50])
def test_candidate_path_agrees_with_exhaustive_ranking(catalog, ann_min_rows):
    m = _build(catalog, ann_min_rows=ann_min_rows)
    assert m.state_.approximate == (ann_min_rows == 50)
    exact = Matcher.__new__(Matcher)
    exact.__dict__.update(m.__dict__)
    exact.exact = True
    m.exact = False
    recalls = []
    for q in QUERIES:
        a, e = m.search(q, k=10), exact.search(q, k=10)
        recalls.append(_recall(a, e, 10))
        # The candidates' channel scores are the exhaustive ones (exact rescoring).
        both = a.merge(e, on="item_id", suffixes=("_a", "_e"))
        np.testing.assert_allclose(both["char_score_a"], both["char_score_e"], atol=1e-5)
        np.testing.assert_allclose(both["bm25_score_a"], both["bm25_score_e"], atol=1e-3)
        tol = 1e-5 if ann_min_rows > 10**6 else 2e-3  # float16 storage of the approximate index
        np.testing.assert_allclose(both["dense_score_a"], both["dense_score_e"], atol=tol)
        # The confidence of an item does not depend on the path that ranked it.
        np.testing.assert_allclose(both["confidence_a"], both["confidence_e"], atol=5e-3)
    assert np.mean(recalls) >= 0.9, recalls


@pytest.mark.parametrize("query", ["oftalmoskopi indirek", "ENROFLOXACIN ERYTHROMYCIN", "perontokan gabahnya"])
def test_items_sharing_no_word_with_the_need_are_char_candidates(catalog, query):
    # Items that only look alike ("mikroskop" / "oftalmoskopi", "erythromycin" / "eritromisin" ...)
    # reach the candidate path through the vocabulary words closest to the need by character n-grams.
    extra = pd.DataFrame(
        {
            "product_id": ["X1", "X2", "X3"],
            "name": ["Mikroskop stereoskopik binokuler", "Antibiotik erythromycine sirup", "Perontok gabah mini"],
            "description": ["alat laboratorium", "obat hewan", "mesin pertanian"],
        }
    )
    frame = pd.concat([catalog, extra], ignore_index=True)
    m = Matcher.from_catalog(frame, id_col="product_id", text_cols=["name", "description"], mode="lexical", exact=False)
    exact = Matcher.from_catalog(frame, id_col="product_id", text_cols=["name", "description"], mode="lexical")
    want = exact.search(query, k=5)
    got = m.search(query, k=5)
    assert want["item_id"].iloc[0] in {"X1", "X2", "X3"}
    # (the weak matches below it may differ: without a dense channel there are few candidates)
    assert got["item_id"].iloc[0] == want["item_id"].iloc[0]


def test_selective_filters_still_return_k_on_the_candidate_path(catalog):
    m = _build(catalog, ann_min_rows=50, exact=False)
    region = catalog["region"].value_counts().index[-1]
    n_region = int((catalog["region"] == region).sum())
    res = m.search("seminar kit tapis", k=n_region + 5, filters={"region": region})
    assert len(res) == n_region and set(res["region"]) == {region}
    res = m.search("kopi", k=5, filters={"tkdn": {">=": 40}, "price": {"<=": 100000}})
    expected = catalog[(catalog["tkdn"] >= 40) & (catalog["price"] <= 100000)]
    assert len(res) == min(5, len(expected)) and (res["tkdn"] >= 40).all() and (res["price"] <= 100000).all()


@pytest.mark.parametrize("mode", ["hybrid", "dense"])
@pytest.mark.parametrize(
    "filters",
    [{"region": "Metro"}, {"tkdn": {">=": 80}}, {"region": {"!=": "Bandar Lampung"}, "price": {"<=": 200000}}],
)
def test_the_approximate_index_applies_the_filter_to_every_result(catalog, monkeypatch, mode, filters):
    """A filter leaving more than SELECTIVE_ROWS rows is applied inside the FAISS (IVF) search.

    335 items are far below SELECTIVE_ROWS, so the threshold is lowered to send these filters
    down the approximate branch; every row returned must pass, also in the batch ``match``.
    """
    from semantic_match.retrieval import candidates
    from semantic_match.retrieval.filters import build_mask

    monkeypatch.setattr(candidates, "SELECTIVE_ROWS", 0)
    m = _build(catalog, ann_min_rows=50, exact=False, mode=mode)
    assert m.state_.approximate and m.state_.segments[0].ann is not None
    allowed = set(catalog.loc[build_mask(catalog, filters), "product_id"])
    assert 0 < len(allowed) < len(catalog)
    calls = []
    search = type(m.state_.segments[0].ann).search

    def spy(self, queries, k, *, allowed=None, nprobe_share=1.0):
        calls.append(allowed is not None)
        return search(self, queries, k, allowed=allowed, nprobe_share=nprobe_share)

    monkeypatch.setattr(type(m.state_.segments[0].ann), "search", spy)
    for q in QUERIES:
        res = m.search(q, k=20, filters=filters)
        # (fewer than k may come back: the probed lists hold few rows of a selective filter, which is why
        # such filters normally take the exact branch)
        assert len(res) and set(res["item_id"]) <= allowed, q
    assert calls and all(calls)  # the FAISS branch ran, with the filter
    matched = m.match(QUERIES, k=20, filters=filters)
    assert set(matched["item_id"]) <= allowed


def _same_ranking(a: Matcher, b: Matcher) -> None:
    for q in QUERIES:
        ra, rb = a.search(q, k=10), b.search(q, k=10)
        # Equal scores; ids equal up to ties (items with identical texts may swap).
        np.testing.assert_allclose(ra["score"], rb["score"], atol=1e-5, err_msg=q)
        # Ids equal up to ties: every item scoring clearly above the last kept score is in both.
        cut = ra["score"].min() + 1e-5
        assert set(ra.loc[ra["score"] > cut, "item_id"]) == set(rb.loc[rb["score"] > cut, "item_id"]), q
        np.testing.assert_allclose(ra["confidence"], rb["confidence"], atol=1e-4, err_msg=q)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["add", "remove", "upsert"]), st.integers(0, 10**6)), min_size=1, max_size=5))
def test_random_updates_equal_a_fresh_build(catalog, tmp_path_factory, ops):
    rng = np.random.default_rng(len(ops))
    pool = catalog.sample(frac=1.0, random_state=0).reset_index(drop=True)
    current = pool.iloc[:120].copy()
    rest = pool.iloc[120:].copy()
    m = _build(current)
    folder = tmp_path_factory.mktemp("upd") / "idx"
    m.save(folder)
    m = Matcher.load(folder, encoder=HashEncoder())
    for op, seed in ops:
        r = np.random.default_rng(seed)
        if op == "add" and len(rest):
            new = rest.iloc[: int(r.integers(1, 20))]
            rest = rest.iloc[len(new) :]
            m.add(new)
            current = pd.concat([current, new], ignore_index=True)
        elif op == "remove" and len(current) > 10:
            gone = current["product_id"].sample(int(r.integers(1, 10)), random_state=int(seed % 1000)).tolist()
            m.remove(gone)
            current = current[~current["product_id"].isin(gone)]
        elif op == "upsert":
            old = current.sample(min(5, len(current)), random_state=int(seed % 1000)).copy()
            old["name"] = old["name"] + " edisi baru"
            new = rest.iloc[:3]
            rest = rest.iloc[3:]
            m.upsert(pd.concat([old, new], ignore_index=True))
            current = pd.concat([current[~current["product_id"].isin(old["product_id"])], old, new], ignore_index=True)
        if rng.random() < 0.5:  # sometimes through the disk: only the change is written
            m.save(folder)
            m = Matcher.load(folder, encoder=HashEncoder())
    fresh = _build(current)
    assert m.n_items == len(current) and set(m.items["product_id"]) == set(current["product_id"])
    _same_ranking(m, fresh)
    m.compact()
    assert len(m.state_.segments) == 1 and m.state_.segments[0].live is None
    _same_ranking(m, fresh)


def test_a_crash_during_update_leaves_the_previous_index(catalog, tmp_path):
    from semantic_match.retrieval import persist
    from semantic_match.retrieval.storage.writer import InjectedCrash

    m = _build(catalog.iloc[:100])
    folder = m.save(tmp_path / "idx")
    m = Matcher.load(folder, encoder=HashEncoder())
    m.add(catalog.iloc[100:130])
    m.remove(catalog["product_id"].iloc[:5].tolist())
    with pytest.raises(InjectedCrash):
        persist.save_index(m, folder, crash_at="current")
    back = Matcher.load(folder, encoder=HashEncoder())
    assert back.n_items == 100 and set(back.items["product_id"]) == set(catalog["product_id"].iloc[:100])
    m.save(folder)  # the same change again, after the crash: nothing left behind is reused wrongly
    again = Matcher.load(folder, encoder=HashEncoder())
    assert again.n_items == 125


def test_a_save_on_a_changed_index_is_refused(catalog, tmp_path):
    from semantic_match.retrieval.persist import IndexConflictError

    folder = _build(catalog.iloc[:50]).save(tmp_path / "idx")
    a = Matcher.load(folder, encoder=HashEncoder())
    b = Matcher.load(folder, encoder=HashEncoder())
    a.add(catalog.iloc[50:60])
    a.save(folder)
    b.remove([catalog["product_id"].iloc[0]])
    with pytest.raises(IndexConflictError, match="changed by another writer"):
        b.save(folder)


def test_updates_refuse_bad_input(catalog):
    from semantic_match import InputError

    m = _build(catalog.iloc[:50])
    with pytest.raises(InputError, match="already in the index"):
        m.add(catalog.iloc[:3])
    with pytest.raises(InputError, match="not in the index"):
        m.remove(["nope"])
    assert m.remove(["nope"], missing="ignore") == 0


@pytest.mark.parametrize(
    "query, expected",
    [("belanja pertamax", "X1"), ("alat-alat pel", "X2"), ("untuk dari kepada", "X3")],
)
def test_items_alike_only_in_stop_words_or_hyphenated_forms_are_char_candidates(catalog, query, expected):
    # The char channel sees stop words ("belanja", "untuk") and hyphenated forms ("alat-alat")
    # that BM25's vocabulary lacks; the rare n-gram index proposes the items holding them.
    extra = pd.DataFrame(
        {
            "product_id": ["X1", "X2", "X3"],
            "name": ["tas belanja kain tapis", "alat-alat dapur kayu", "kain untuk dari kepada"],
            "description": ["", "", ""],
        }
    )
    frame = pd.concat([catalog, extra], ignore_index=True)
    m = _build(frame, ann_min_rows=50, weights={"dense": 0.0, "char": 1.0, "bm25": 0.0})
    assert m.state_.approximate and m.state_.segments[0].char_post is not None
    exact = Matcher.__new__(Matcher)
    exact.__dict__.update(m.__dict__)
    exact.exact = True
    assert exact.search(query, k=1)["item_id"].tolist() == [expected]
    assert m.search(query, k=1)["item_id"].tolist() == [expected]


def test_result_frames_read_from_segments_equal_those_of_the_exhaustive_view(catalog, tmp_path):
    # A loaded index serves result rows from its segments (several after an update); once its
    # exhaustive view exists they come from the view. Both frames must be the same: values,
    # column order and dtypes, a catalogue column named like a result column renamed.
    frame = catalog.assign(
        score=np.arange(len(catalog), dtype=np.int64) % 5,
        price=np.linspace(1, 2, len(catalog)),
        grade=pd.Categorical(np.where(np.arange(len(catalog)) % 3, "A", "B")),
    )
    m = _build(frame.iloc[:150], ann_min_rows=50)
    m.save(tmp_path / "idx")
    m = Matcher.load(tmp_path / "idx", encoder=HashEncoder())
    m.add(frame.iloc[150:])  # a second segment: results span both
    queries = QUERIES + ["zzzz qqqq"]
    stored = {q: m.search(q, k=12) for q in queries}
    assert not m.state_.has_view and any(
        len(set(f["item_id"]) & set(frame["product_id"].iloc[150:])) for f in stored.values()
    )
    assert m.items is not None and m.state_.has_view
    for q in queries:
        got = stored[q]
        assert list(got.columns[:8]) == [
            "rank",
            "item_id",
            "score",
            "confidence",
            "dense_score",
            "char_score",
            "bm25_score",
            "matched_terms",
        ]
        assert "item_score" in got.columns
        pd.testing.assert_frame_equal(got, m.search(q, k=12), obj=q)
        assert got["grade"].dtype == m.items["grade"].dtype == "category"


def test_matching_in_threads_gives_the_rows_of_one_thread(catalog, monkeypatch):
    # Batches ranked side by side (the candidate path's scratch arrays are per thread) must not
    # change a single row.
    from semantic_match.retrieval import batch

    m = _build(catalog, ann_min_rows=50)
    assert m.uses_candidates
    needs = pd.DataFrame({"need": [*QUERIES, "KOPI robusta  bubuk", *QUERIES[:3]] * 3})
    needs["need_id"] = [f"N{i}" for i in range(len(needs))]
    monkeypatch.setattr(batch, "NEEDS_PER_BATCH", 5)  # many small batches: threads interleave
    one = m.match(needs, text_cols="need", id_col="need_id", k=7, threads=1)
    for threads in (2, 3, None):
        pd.testing.assert_frame_equal(m.match(needs, text_cols="need", id_col="need_id", k=7, threads=threads), one)
    # Each need's rows are those of its own search.
    for need_id, text in zip(needs["need_id"], needs["need"]):
        got = one[one["need_id"] == need_id].reset_index(drop=True)
        alone = m.search(text, k=7)
        assert got["item_id"].tolist() == alone["item_id"].tolist(), text
        np.testing.assert_allclose(got["score"], alone["score"], atol=1e-6)


@pytest.mark.parametrize("threads", [0, -1, 1.5, True, "2"])
def test_bad_thread_counts_are_refused(catalog, threads):
    from semantic_match.errors import InputError

    m = _build(catalog.iloc[:60])
    with pytest.raises(InputError, match="threads must be a positive integer"):
        m.match(["kopi"], threads=threads)


def test_overlapped_dense_search_gives_the_sequential_results(catalog, monkeypatch):
    # A search runs its approximate dense search in another thread while it finds the lexical
    # candidates: the results must be those of the sequential order, and an error there surfaces.
    from semantic_match.retrieval import candidates

    m = _build(catalog, ann_min_rows=50)
    assert m.uses_candidates and m.state_.approximate
    monkeypatch.setattr(candidates, "OVERLAP_QUERIES", 0)
    sequential = [m.search(q, k=10) for q in QUERIES]
    batch = m.rank(QUERIES[:5], k=10)
    monkeypatch.setattr(candidates, "OVERLAP_QUERIES", 8)
    submitted = []
    pool = candidates._dense_pool()
    monkeypatch.setattr(pool, "submit", lambda fn, *a: submitted.append(fn) or type(pool).submit(pool, fn, *a))
    for q, want in zip(QUERIES, sequential):
        pd.testing.assert_frame_equal(m.search(q, k=10), want, obj=q)
    got = m.rank(QUERIES[:5], k=10)
    for a, b in zip(got, batch):
        np.testing.assert_array_equal(a, b)
    assert len(submitted) == len(QUERIES) + 1  # every search and the small batch overlapped

    def broken(*args, **kwargs):
        raise RuntimeError("dense search failed")

    monkeypatch.setattr(candidates, "_dense_batch", broken)
    with pytest.raises(RuntimeError, match="dense search failed"):
        m.search(QUERIES[0], k=10)


def test_ranking_threads_share_the_cores_for_faiss_and_leave_the_caller_alone(catalog, monkeypatch):
    import faiss

    from semantic_match.retrieval import batch
    from semantic_match.retrieval.ranking import usable_cores

    m = _build(catalog.iloc[:80], ann_min_rows=50)
    seen: list[int] = []
    real = batch.rank_candidates

    def recording(*args, **kwargs):
        seen.append(faiss.omp_get_max_threads())
        return real(*args, **kwargs)

    monkeypatch.setattr(batch, "rank_candidates", recording)
    monkeypatch.setattr(batch, "NEEDS_PER_BATCH", 2)
    before = faiss.omp_get_max_threads()
    m.match(QUERIES, k=3, threads=2)
    assert seen and set(seen) == {max(1, usable_cores() // 2)}
    assert faiss.omp_get_max_threads() == before
