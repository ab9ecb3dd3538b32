import numpy as np
import pytest

from semantic_match.retrieval.dense import DenseIndex


def _unit(rng, n, d):
    x = rng.standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_exact_search_matches_brute_force():
    rng = np.random.default_rng(0)
    docs, queries = _unit(rng, 500, 32), _unit(rng, 20, 32)
    index = DenseIndex(32)
    index.add(docs[:200])
    index.add(docs[200:])  # incremental batches
    res = index.search(queries, 10)
    expected = np.argsort(-(queries @ docs.T), axis=1)[:, :10]
    np.testing.assert_array_equal(res.indices, expected)
    np.testing.assert_allclose(res.scores, np.take_along_axis(queries @ docs.T, expected, 1), rtol=1e-5)
    assert res.scores.dtype == np.float32 and res.indices.dtype == np.int64


def test_allowed_mask_still_returns_k_when_k_qualify():
    rng = np.random.default_rng(1)
    docs, queries = _unit(rng, 1000, 16), _unit(rng, 5, 16)
    index = DenseIndex(16)
    index.add(docs)
    allowed = rng.random(1000) < 0.03  # ~30 items
    res = index.search(queries, 10, allowed=allowed)
    assert (res.indices >= 0).all()
    assert allowed[res.indices].all()
    sims = queries @ docs.T
    sims[:, ~allowed] = -np.inf
    np.testing.assert_array_equal(res.indices, np.argsort(-sims, axis=1)[:, :10])


def test_padding_when_fewer_qualify_or_exist():
    rng = np.random.default_rng(2)
    index = DenseIndex(8)
    index.add(_unit(rng, 5, 8))
    res = index.search(_unit(rng, 2, 8), 7)
    assert res.indices.shape == (2, 7)
    assert (res.indices[:, 5:] == -1).all() and np.isneginf(res.scores[:, 5:]).all()
    allowed = np.zeros(5, bool)
    allowed[3] = True
    res = index.search(_unit(rng, 1, 8), 3, allowed=allowed)
    assert res.indices.tolist() == [[3, -1, -1]]
    res = index.search(_unit(rng, 1, 8), 3, allowed=np.zeros(5, bool))
    assert (res.indices == -1).all()


def test_shape_errors():
    index = DenseIndex(8)
    with pytest.raises(ValueError, match=r"shape \(n, 8\)"):
        index.add(np.zeros((2, 4), np.float32))
    with pytest.raises(ValueError, match="k must be at least 1"):
        index.search(np.zeros((1, 8), np.float32), 0)


def test_save_load_round_trip(tmp_path):
    rng = np.random.default_rng(3)
    docs = _unit(rng, 50, 8)
    index = DenseIndex(8)
    index.add(docs)
    index.save(tmp_path / "d.faiss")
    again = DenseIndex.load(tmp_path / "d.faiss")
    q = _unit(rng, 3, 8)
    np.testing.assert_array_equal(index.search(q, 5).indices, again.search(q, 5).indices)
    np.testing.assert_allclose(again.reconstruct(), docs, rtol=1e-6)


@pytest.mark.parametrize("share", [0.03, 0.5, 0.97])
def test_approximate_ivf_search_returns_only_allowed_rows(share):
    """The filter is applied inside the IVF search too (a selector with the index's own nprobe)."""
    from semantic_match.retrieval.dense import auto_factory

    rng = np.random.default_rng(4)
    docs, queries = _unit(rng, 2000, 16), _unit(rng, 8, 16)
    factory = auto_factory(2000, min_rows=50)
    assert factory is not None and factory.startswith("IVF")
    index = DenseIndex.build(docs, factory=factory)
    allowed = rng.random(2000) < share
    for nprobe_share in (1.0, 1 / 8):
        res = index.search(queries, 25, allowed=allowed, nprobe_share=nprobe_share)
        got = res.indices[res.indices >= 0]
        assert len(got) and allowed[got].all()
    # the selector keeps the probed lists: results are the best allowed rows among them, close to exact
    res = index.search(queries, 10, allowed=allowed)
    sims = queries @ docs.T
    sims[:, ~allowed] = -np.inf
    best = np.sort(sims, axis=1)[:, ::-1][:, :10]
    found = np.where(res.indices >= 0, res.scores, -np.inf)
    assert np.mean(np.abs(found[:, 0] - best[:, 0]) < 2e-3) >= 0.75
