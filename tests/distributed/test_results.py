"""A cluster builds the index and matches the needs exactly as one process does."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from semantic_match import InputError, Matcher, load_catalog
from semantic_match.distributed import encode_documents, load_catalog_parts, match_on_cluster
from tests.distributed.conftest import CATALOG, MATCH, NEEDS, repeated_needs
from tests.support import HashEncoder


def test_fit_on_a_cluster_builds_the_single_process_index(client, hash_index, tmp_path):
    dist = Matcher(encoder=HashEncoder(), show_progress=False).fit(
        CATALOG, id_col="product_id", text_cols=["name", "description"], client=client
    )
    np.testing.assert_array_equal(dist.item_vectors(), hash_index.item_vectors())
    pd.testing.assert_frame_equal(dist.items, hash_index.items)
    query = "seminar kit bernuansa tapis"
    pd.testing.assert_frame_equal(dist.search(query, k=10), hash_index.search(query, k=10))
    loaded = Matcher.load(dist.save(tmp_path / "index"), encoder=HashEncoder())
    np.testing.assert_array_equal(loaded.item_vectors(), hash_index.item_vectors())


def test_encode_documents_keeps_row_order_across_many_partitions(client):
    enc = HashEncoder()
    texts = [f"kopi robusta {i} gram" for i in range(103)]
    got = encode_documents(client, enc, texts, batch_size=8, partition_rows=16, show_progress=False)
    assert got.dtype == np.float32 and got.shape == (103, enc.dim)
    np.testing.assert_array_equal(got, enc.encode_documents(texts, batch_size=8))
    assert encode_documents(client, enc, [], show_progress=False).shape == (0, enc.dim)


@pytest.mark.parametrize("times, rows", [(1, None), (7, 100)], ids=["82-needs", "574-needs-in-3-parts"])
def test_match_on_a_cluster_returns_the_single_process_frame(client, hash_index, times, rows):
    needs = repeated_needs(times)
    filters = {"tkdn": {">=": 40}}
    single = hash_index.match(needs, filters=filters, **MATCH)
    done = []
    dist = match_on_cluster(
        client,
        hash_index,
        needs,
        filters=filters,
        partition_rows=rows,
        on_partition=lambda i, n: done.append(n),
        **MATCH,
    )
    pd.testing.assert_frame_equal(dist, single)
    assert (dist["tkdn"] >= 40).all()
    assert len(done) == done[0] == (3 if rows else 1)  # 100 is rounded up to whole batches of 256


def test_match_client_hook_numbers_needs_and_takes_plain_texts(client, hash_index):
    # Without an id column needs are numbered 1.. over the whole table, not per partition.
    kw = {"text_cols": ["need", "spec"], "k": 3}
    needs = pd.read_csv(NEEDS).drop(columns=["need_id"])
    pd.testing.assert_frame_equal(hash_index.match(needs, client=client, **kw), hash_index.match(needs, **kw))
    texts = ["mesin perontok padi", "kopi robusta lampung barat", "tas laptop tapis"]
    want = hash_index.match(texts, k=4)
    pd.testing.assert_frame_equal(hash_index.match(texts, k=4, client=client), want)
    assert "cluster" in hash_index.timings_  # the event workflow sums these per chunk


def test_lexical_index_matches_on_a_cluster(client, tmp_path):
    m = Matcher.from_catalog(
        CATALOG, id_col="product_id", text_cols=["name", "description"], mode="lexical", show_progress=False
    )
    m.save(tmp_path / "lexical")
    pd.testing.assert_frame_equal(m.match(NEEDS, client=client, **MATCH), m.match(NEEDS, **MATCH))


def test_catalogue_and_needs_given_as_parts(client, hash_index, tmp_path):
    cat = pd.read_csv(CATALOG, dtype={"product_id": str})
    parts = tmp_path / "katalog"
    parts.mkdir()
    for i, start in enumerate(range(0, len(cat), 120)):
        chunk = cat.iloc[start : start + 120]
        chunk.to_parquet(parts / f"part-{i:05d}.parquet") if i % 2 else chunk.to_csv(
            parts / f"part-{i:05d}.csv", index=False
        )
    (parts / "_SUCCESS").write_text("")
    whole = load_catalog(CATALOG, id_col="product_id", text_cols=["name", "description"])
    for spec in (parts, str(parts / "part-*")):
        got = load_catalog_parts(spec, id_col="product_id", text_cols=["name", "description"])
        pd.testing.assert_frame_equal(got.items, whole.items, check_dtype=False)
        assert got.texts == whole.texts and got.source == str(spec)
    m = Matcher(encoder=HashEncoder(), show_progress=False).fit(got, client=client)
    np.testing.assert_array_equal(m.item_vectors(), hash_index.item_vectors())

    needs = pd.read_csv(NEEDS, dtype={"need_id": str})
    folder = tmp_path / "needs"
    folder.mkdir()
    for i, start in enumerate(range(0, len(needs), 30)):
        needs.iloc[start : start + 30].to_csv(folder / f"needs-{i}.csv", index=False)
    pd.testing.assert_frame_equal(
        match_on_cluster(client, hash_index, str(folder / "needs-*.csv"), **MATCH), hash_index.match(NEEDS, **MATCH)
    )


def test_match_needs_a_folder_the_workers_can_open(client):
    m = Matcher.from_catalog(
        CATALOG, id_col="product_id", text_cols=["name"], encoder=HashEncoder(), show_progress=False
    )
    with pytest.raises(InputError, match="save the index to a folder every worker can read"):
        m.match(NEEDS, client=client, **MATCH)


def test_a_matcher_that_differs_from_its_folder_is_refused(client, tmp_path):
    m = Matcher.from_catalog(
        CATALOG, id_col="product_id", text_cols=["name"], encoder=HashEncoder(), show_progress=False
    )
    m.save(tmp_path / "index")
    other = Matcher.load(tmp_path / "index", encoder=HashEncoder(), show_progress=False)
    m.remove(["P0001"])  # not saved: the workers would rank the folder's 335 items
    with pytest.raises(InputError, match="does not hold the items"):
        m.match(NEEDS, client=client, **MATCH)
    m.save(tmp_path / "index")  # now the folder has moved on from what `other` read
    with pytest.raises(InputError, match="has moved on"):
        other.match(NEEDS, client=client, **MATCH)
    assert m.match(NEEDS, client=client, **MATCH)["item_id"].ne("P0001").all()


def test_bad_input_fails_on_the_driver(client, hash_index):
    with pytest.raises(InputError, match="unknown|not a column|no column"):
        hash_index.match(NEEDS, client=client, filters={"warna": "merah"}, **MATCH)
    with pytest.raises(InputError, match="spek"):
        hash_index.match(NEEDS, client=client, id_col="need_id", text_cols=["spek"])


def test_importing_the_package_leaves_dask_unloaded():
    code = (
        "import sys, semantic_match, semantic_match.distributed, semantic_match.cli; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.slow
def test_the_embedded_encoder_gives_the_same_index_and_matches(client, e5_encoder, tmp_path):
    cat = pd.read_csv(CATALOG, dtype={"product_id": str}).head(48)
    needs = repeated_needs(4).head(260)  # two partitions: 256 needs and 4
    single = Matcher.from_catalog(
        cat,
        id_col="product_id",
        text_cols=["name", "description"],
        encoder=e5_encoder,
        batch_size=16,
        show_progress=False,
    )
    dist = Matcher(encoder=e5_encoder, batch_size=16, show_progress=False).fit(
        cat, id_col="product_id", text_cols=["name", "description"], client=client
    )
    np.testing.assert_allclose(dist.item_vectors(), single.item_vectors(), rtol=0, atol=1e-6)
    dist.save(tmp_path / "index")
    got = match_on_cluster(client, dist, needs, partition_rows=256, **MATCH)
    want = single.match(needs, **MATCH)
    assert got[["need_id", "rank", "item_id"]].equals(want[["need_id", "rank", "item_id"]])
    for col in ("score", "confidence", "dense_score", "char_score", "bm25_score"):
        np.testing.assert_allclose(got[col], want[col], rtol=0, atol=1e-6, err_msg=col)
    pd.testing.assert_frame_equal(got, want)  # in fact identical to the last bit
