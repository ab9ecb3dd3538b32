import numpy as np
import pytest

from semantic_match.retrieval.fusion import convex, minmax, rrf


def test_minmax_rows_and_allowed():
    s = np.array([[1.0, 3.0, 2.0], [5.0, 5.0, 5.0]], np.float32)
    np.testing.assert_allclose(minmax(s), [[0, 1, 0.5], [0, 0, 0]])
    allowed = np.array([True, False, True])
    np.testing.assert_allclose(minmax(s, allowed)[0], [0, 2, 1])


def test_convex_is_weighted_sum_of_minmax():
    a = np.array([[0.9, 0.8, 0.7]], np.float32)
    b = np.array([[0.0, 0.5, 1.0]], np.float32)
    got = convex({"dense": a, "char": b}, {"dense": 0.25, "char": 0.75})
    np.testing.assert_allclose(got, 0.25 * np.array([[1, 0.5, 0]]) + 0.75 * np.array([[0, 0.5, 1]]), atol=1e-6)
    with pytest.raises(ValueError, match="every fusion weight is zero"):
        convex({"dense": a}, {"dense": 0})


def test_rrf_matches_definition():
    a = np.array([[3.0, 2.0, 1.0]])
    b = np.array([[1.0, 3.0, 2.0]])
    got = rrf({"x": a, "y": b}, {"x": 1.0, "y": 2.0}, k=10)
    ranks_a, ranks_b = np.array([1, 2, 3]), np.array([3, 1, 2])
    np.testing.assert_allclose(got[0], 1 / (10 + ranks_a) + 2 / (10 + ranks_b), rtol=1e-6)


def test_rrf_ignores_disallowed_items():
    a = np.array([[3.0, 2.0, 1.0]])
    got = rrf({"x": a}, {"x": 1.0}, k=0, allowed=np.array([False, True, True]))
    assert got[0, 1] == pytest.approx(1.0) and got[0, 2] == pytest.approx(0.5)
