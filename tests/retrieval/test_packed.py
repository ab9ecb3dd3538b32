"""Compact character counts of large segments: same rows as scipy, saved compactly, read mapped."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from semantic_match import Matcher
from semantic_match.retrieval.packed import PackedRows, compact_dtypes, rare_postings
from tests.support import DATA, HashEncoder


@st.composite
def count_blocks(draw):
    width = draw(st.sampled_from([5, 300, 70_000]))
    blocks = []
    for _ in range(draw(st.integers(1, 3))):
        rows = draw(st.integers(0, 6))
        dense = np.zeros((rows, width), np.float32)
        for r in range(rows):
            for _ in range(draw(st.integers(0, 4))):
                dense[r, draw(st.integers(0, width - 1))] = draw(st.sampled_from([1, 2, 7, 255, 300, 1.5]))
        blocks.append(sp.csr_matrix(dense))
    return width, blocks


@settings(max_examples=60, deadline=None)
@given(count_blocks(), st.data())
def test_packed_rows_give_back_exactly_the_counts_in_any_row_order(case, data):
    width, blocks = case
    whole = sp.vstack(blocks).tocsr() if blocks else sp.csr_matrix((0, width))
    packed = PackedRows.from_parts(blocks, width)
    assert packed.shape == whole.shape and packed.nnz == whole.nnz
    if whole.shape[0]:
        rows = np.asarray(data.draw(st.lists(st.integers(0, whole.shape[0] - 1), max_size=12)), dtype=np.int64)
    else:
        rows = np.zeros(0, np.int64)
    got = packed.take(rows)
    assert got.dtype == np.float32 and got.shape == (len(rows), width)
    np.testing.assert_array_equal(got.toarray(), whole[rows].toarray())
    # The smallest dtypes that hold them: uint8 only for integral counts up to 255.
    big = whole.nnz and (whole.data.max() > 255 or np.any(whole.data % 1))
    assert packed.data.dtype == (np.float32 if big else np.uint8)
    assert packed.indices.dtype == (np.uint16 if width <= 65_536 else np.int32)


def test_compact_dtypes_switch_at_the_limits():
    assert compact_dtypes(65_536, 255) == (np.uint16, np.uint8)
    assert compact_dtypes(65_537, 256) == (np.int32, np.float32)
    assert compact_dtypes(10, 2.5)[1] == np.float32


@pytest.fixture(scope="module")
def approx_index(tmp_path_factory):
    frame = pd.read_csv(DATA / "catalog_lampung.csv", dtype={"product_id": str})
    m = Matcher.from_catalog(
        frame,
        id_col="product_id",
        text_cols=["name", "description"],
        encoder=HashEncoder(),
        show_progress=False,
        ann_min_rows=50,
    )
    folder = tmp_path_factory.mktemp("idx") / "index"
    m.save(folder)
    return m, folder


def test_a_large_segment_saves_its_char_counts_compactly_and_loads_them_back(approx_index):
    m, folder = approx_index
    seg = m.state_.segments[0]
    assert isinstance(seg.char_counts, PackedRows)
    commit = json.loads((folder / (folder / "CURRENT").read_text().strip()).read_text())
    name = commit["segments"][0]["name"]
    assert commit["segments"][0]["char"] is True
    assert np.load(folder / name / "char_indices.npy").dtype == np.uint16
    assert np.load(folder / name / "char_data.npy").dtype == np.uint8
    loaded = Matcher.load(folder, encoder=HashEncoder(), show_progress=False)
    lseg = loaded.state_.segments[0]
    assert isinstance(lseg.char_counts, PackedRows)
    rows = np.arange(lseg.rows)[::-3]
    lex = loaded.state_.lexical
    # The stored counts are the counts of the text (what the recount path would give).
    lseg_recount = type(lseg)(**{**lseg.__dict__, "char_counts": None})
    np.testing.assert_array_equal(
        lseg.char_counts_of(rows, lex.stats_, lex.char_ngrams).toarray(),
        lseg_recount.char_counts_of(rows, lex.stats_, lex.char_ngrams).toarray(),
    )
    q = "seminar kit bernuansa tapis"
    pd.testing.assert_frame_equal(m.search(q, k=10), loaded.search(q, k=10))


@settings(max_examples=60, deadline=None)
@given(count_blocks(), st.integers(1, 8), st.integers(1, 5), st.booleans())
def test_rare_postings_list_exactly_the_rows_of_each_rare_column(case, max_df, chunk, by_impact):
    width, blocks = case
    whole = sp.vstack(blocks).tocsr()
    norms = np.linspace(1, 3, whole.shape[0]).astype(np.float32)[::-1].copy() if by_impact else None
    post = rare_postings(PackedRows.from_parts(blocks, width), max_df, chunk=chunk, norms=norms)
    assert post.shape == (width, whole.shape[0])
    by_col = whole.tocsc()
    for c in np.unique(whole.indices):
        rows = by_col.indices[by_col.indptr[c] : by_col.indptr[c + 1]]
        got = post.take(np.array([c])).toarray().ravel()
        if len(rows) <= max_df:  # the column's rows, ascending, with their counts
            listed = np.asarray(post.indices[post.indptr[c] : post.indptr[c + 1]])
            assert sorted(listed.tolist()) == sorted(rows.tolist())
            if by_impact:  # largest (1 + log count) / norm first, ties by row
                tf = np.asarray(post.data[post.indptr[c] : post.indptr[c + 1]], dtype=np.float64)
                key = [(-(np.log(t) + 1) / norms[r], r) for r, t in zip(listed.tolist(), tf.tolist())]
                assert key == sorted(key)
            else:
                assert listed.tolist() == sorted(rows.tolist())
            np.testing.assert_array_equal(got, whole[:, c].toarray().ravel())
        else:  # common columns are left out
            assert not got.any()


def test_char_norms_are_the_norms_of_the_unnormalised_tfidf_rows(approx_index):
    m, _ = approx_index
    seg, lex = m.state_.segments[0], m.state_.lexical
    counts = seg.char_counts.take(np.arange(seg.rows))
    x = counts.copy()
    x.data = (np.log(x.data) + 1) * lex.char_idf_[x.indices]
    np.testing.assert_allclose(lex.char_norms(seg.char_counts), np.sqrt(x.multiply(x).sum(axis=1)).A1, rtol=1e-5)
    np.testing.assert_allclose(lex.char_norms(counts), lex.char_norms(seg.char_counts), rtol=1e-6)
    # The stored norms are those of the build's statistics (here: still the current ones).
    np.testing.assert_allclose(seg.char_norm, lex.char_norms(seg.char_counts), rtol=1e-5)


@settings(max_examples=40, deadline=None)
@given(count_blocks())
def test_stacked_blocks_equal_the_blocks_one_after_another(case):
    width, blocks = case
    stacked = PackedRows.stack([PackedRows.from_parts([b], width) for b in blocks], width)
    whole = sp.vstack(blocks).tocsr()
    np.testing.assert_array_equal(stacked.take(np.arange(whole.shape[0])).toarray(), whole.toarray())


@settings(max_examples=80, deadline=None)
@given(
    st.integers(1, 50).flatmap(
        lambda n: st.tuples(
            st.just(n),
            st.lists(st.tuples(st.integers(0, n - 1), st.floats(0.01, 5)), max_size=40),
            st.lists(st.integers(0, n - 1), max_size=10),
        )
    )
)
def test_row_sums_equal_a_bincount_and_leave_the_scratch_buffer_clean(case):
    from semantic_match.retrieval.proposals import RowSums, scratch_buffers

    n, entries, probe = case
    rows = np.array([r for r, _ in entries], dtype=np.int64)
    weights = np.array([w for _, w in entries], dtype=np.float32)
    expected = np.bincount(rows, weights=weights, minlength=n)
    sums = RowSums(rows, weights, n)
    assert sorted(sums.rows.tolist()) == sorted(set(rows.tolist()))
    np.testing.assert_allclose(sums.values, expected[sums.rows], rtol=1e-6)
    np.testing.assert_allclose(sums.at(np.array(probe, dtype=np.int64)), expected[probe], rtol=1e-6)
    assert not scratch_buffers(n)[0].any()  # the next query starts from zeros


def test_a_small_segment_added_to_an_approximate_index_gets_the_candidate_index_too(approx_index, tmp_path):
    m, folder = approx_index
    m = Matcher.load(folder, encoder=HashEncoder(), show_progress=False)
    frame = pd.read_csv(DATA / "catalog_lampung.csv", dtype={"product_id": str})
    new = frame.head(2).assign(product_id=["N1", "N2"], name=["tas belanja anyaman", "alat-alat tulis"])
    m.add(new)
    seg = m.state_.segments[-1]
    assert seg.ann is None and seg.char_post is not None and seg.char_norm is not None
    m.save(tmp_path / "copy")
    loaded = Matcher.load(tmp_path / "copy", encoder=HashEncoder(), show_progress=False)
    assert loaded.state_.segments[-1].char_post is not None
    for q in ("tas belanja", "alat-alat"):
        pd.testing.assert_frame_equal(m.search(q, k=5), loaded.search(q, k=5))


def test_a_loaded_large_index_saved_to_another_folder_still_searches(approx_index, tmp_path):
    # FAISS writes a memory-mapped IVF index truncated (its lists left out), and searching the
    # copy crashed the process: a loaded index is copied from the file it was read from.
    m, folder = approx_index
    loaded = Matcher.load(folder, encoder=HashEncoder(), show_progress=False)
    src = folder / loaded.state_.segments[0].name / "dense.faiss"
    loaded.save(tmp_path / "copy")
    copy = Matcher.load(tmp_path / "copy", encoder=HashEncoder(), show_progress=False)
    dst = tmp_path / "copy" / copy.state_.segments[0].name / "dense.faiss"
    assert dst.read_bytes() == src.read_bytes()
    q = "kopi robusta bubuk"
    pd.testing.assert_frame_equal(copy.search(q, k=10), m.search(q, k=10))


@pytest.mark.parametrize(
    "edit",
    [
        lambda s: s.update(char_post="yes"),
        lambda s: s.update(char_post_grams=-1),
        lambda s: s.update(char_post_grams=10**9),
        lambda s: s.update(char_post_grams=None),
    ],
)
def test_a_malformed_candidate_index_entry_is_refused(approx_index, tmp_path, edit):
    import shutil

    from semantic_match import IndexFormatError
    from semantic_match.retrieval.storage.reader import commit_checksum

    _, folder = approx_index
    copy = tmp_path / "index"
    shutil.copytree(folder, copy)
    name = (copy / "CURRENT").read_text().strip()
    commit = json.loads((copy / name).read_text())
    edit(commit["segments"][0])
    commit["checksum"] = commit_checksum(commit)
    (copy / name).write_text(json.dumps(commit))
    with pytest.raises(IndexFormatError, match="rebuild the index"):
        Matcher.load(copy, encoder=HashEncoder(), show_progress=False)


def test_row_sums_in_many_threads_at_once_equal_a_bincount():
    # match ranks batches in threads: each thread must sum into its own scratch arrays.
    import sys
    from concurrent.futures import ThreadPoolExecutor

    from semantic_match.retrieval.proposals import RowSums

    def check(seed: int) -> bool:
        rng = np.random.default_rng(seed)
        ok = True
        for _ in range(40):
            rows = rng.integers(0, 3_000, rng.integers(1, 4_000))
            weights = rng.random(len(rows)).astype(np.float32)
            sums = RowSums(rows, weights, 3_000)
            want = np.bincount(rows, weights.astype(np.float64), minlength=3_000)
            ok &= np.allclose(sums.values, want[sums.rows], rtol=1e-5) and set(sums.rows) == set(rows)
        return ok

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        with ThreadPoolExecutor(4) as pool:
            assert all(pool.map(check, range(16)))
    finally:
        sys.setswitchinterval(interval)
