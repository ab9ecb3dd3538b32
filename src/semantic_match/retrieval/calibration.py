"""Calibrated match confidence: how likely a ranked item is really relevant.

Fused scores are relative to one query (min-max fusion puts every query's best
item near 1), so they cannot say "this need has no good product". The
confidence is a logistic model over raw features of a (need, item) pair that
mean the same for every need and every catalogue — dense cosine, the share of
the need's character n-gram weight the item contains, and the idf-weighted
share of the need's words the item contains — fitted on judged pairs. It is comparable
across needs: a need whose best product is weak gets a low rank-1 confidence.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from importlib import resources
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import InputError
from ..io.columns import require_columns
from ..text.normalize import normalize_text

if TYPE_CHECKING:  # pragma: no cover
    from .matcher import Matcher

__all__ = [
    "Calibration",
    "FEATURES",
    "LEXICAL_FEATURES",
    "default_calibration",
    "fit_calibration",
    "calibrate_on_pairs",
    "expected_calibration_error",
]

#: Features of the confidence model: dense cosine and the two coverage shares.
FEATURES = ("dense", "char_cov", "term_cov")
#: Features whose values depend on the encoder's vectors: the dense cosine, its gap to the list's
#: best, and the fused score (and its gap), which mixes the dense channel in.
ENCODER_FEATURES = frozenset({"dense", "dense_gap", "score", "gap1"})
#: The most results a confidence model may re-rank per need (it scores each of them).
MAX_RERANK_DEPTH = 1000
#: The encoder-independent features, for lexical indexes and encoders without a shipped calibration.
LEXICAL_FEATURES = ("char_cov", "term_cov")


@dataclass(frozen=True)
class Calibration:
    """Logistic model ``p = 1 / (1 + exp(-(w·x + b)))`` over :data:`FEATURES`.

    Attributes
    ----------
    coef : list of float
        One weight per feature in ``features``.
    intercept : float
    features : list of str
    threshold : float
        Confidence below which a need's best match is flagged as "no good match".
    encoder : dict
        Backend and model of the encoder the model was fitted with.
    info : dict
        Provenance and measured metrics (training set, precision/recall at
        the threshold, AUROC).
    rerank_depth : int
        0: the confidence only labels the fused ranking's top k. Otherwise (a model over the
        features of :mod:`.rerank`, such as the shipped one of the embedded e5) hybrid rankings
        score the fused ranking's top ``max(k, rerank_depth)`` and order them by confidence.
    """

    coef: list[float]
    intercept: float
    features: list[str]
    threshold: float
    encoder: dict
    info: dict = field(default_factory=dict)
    rerank_depth: int = 0

    def predict(self, feats: dict[str, np.ndarray]) -> np.ndarray:
        """Confidence in [0, 1] for arrays of features of equal shape."""
        z = np.full_like(np.asarray(feats[self.features[0]], dtype=np.float64), self.intercept)
        for w, name in zip(self.coef, self.features):
            x = np.asarray(feats[name], dtype=np.float64)
            z = z + w * np.nan_to_num(x, nan=0.0)
        return (1.0 / (1.0 + np.exp(-z))).astype(np.float32)

    def applies_to(self, encoder_identity: dict) -> bool:
        """Whether the model fits an encoder: always, unless a feature that depends on the encoder's
        vectors (:data:`ENCODER_FEATURES`) has a weight; then only the encoder it was fitted with."""
        if not any(w for w, f in zip(self.coef, self.features) if f in ENCODER_FEATURES):
            return True
        return all(encoder_identity.get(k) == v for k, v in self.encoder.items())

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Calibration:
        return cls(
            coef=list(data["coef"]),
            intercept=float(data["intercept"]),
            features=list(data["features"]),
            threshold=float(data["threshold"]),
            encoder=dict(data.get("encoder", {})),
            info=dict(data.get("info", {})),
            rerank_depth=_depth(data.get("rerank_depth", 0)),
        )


def _depth(value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value <= MAX_RERANK_DEPTH:
        raise ValueError(f"rerank_depth must be an integer from 0 to {MAX_RERANK_DEPTH}, got {value!r}")
    return int(value)


def default_calibration(encoder_identity: dict | None = None) -> Calibration | None:
    """The shipped calibration that fits an encoder.

    The embedded e5-small gets the model with the dense feature; any other
    encoder (an adapted one, a sentence-transformers model, none at all) gets
    the lexical-only model, whose features do not depend on the encoder.
    Both were fitted on the labelled sets (see docs/quality.md).
    """
    for name in ("calibration_default.json", "calibration_lexical.json"):
        try:
            text = resources.files("semantic_match.retrieval").joinpath(name).read_text("utf-8")
        except FileNotFoundError:
            continue
        cal = Calibration.from_dict(json.loads(text))
        if encoder_identity is None or cal.applies_to(encoder_identity):
            return cal
    return None


def fit_calibration(
    feats: dict[str, np.ndarray],
    labels: np.ndarray,
    *,
    encoder: dict,
    features: tuple[str, ...] = FEATURES,
    threshold: float = 0.5,
    info: dict | None = None,
    C: float = 1.0,
    nonnegative: bool | Sequence[str] = False,
) -> Calibration:
    """Fit the logistic model on judged pairs (label 1 = relevant).

    Parameters
    ----------
    nonnegative : bool or sequence of str
        Features whose weight may not be negative (``True``: all of them), so that more of
        that evidence never lowers the confidence. The L2-penalised likelihood (penalty
        ``1 / C``, on standardised features) is then maximised under those bounds.
    """
    X = np.column_stack([np.nan_to_num(np.asarray(feats[f], dtype=np.float64)) for f in features])
    y = np.asarray(labels).astype(int)
    if len(np.unique(y)) < 2:
        raise InputError("calibration needs both relevant and non-relevant judged pairs")
    # Standardise so the L2 penalty treats a narrow-range feature (e5 cosines
    # span ~0.2) like a wide one, then fold the scaling back into the weights.
    # Dividing by a positive std keeps each weight's sign, so bounds carry over.
    mean, std = X.mean(axis=0), np.maximum(X.std(axis=0), 1e-9)
    Z = (X - mean) / std
    bounded = set(features) if nonnegative is True else set(nonnegative or ())
    if bounded - set(features):
        raise InputError(
            f"nonnegative names unknown features {sorted(bounded - set(features))}; features are {features}"
        )
    if bounded:
        w, b = _fit_bounded_logistic(Z, y, C=C, nonnegative=[f in bounded for f in features])
    else:
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(C=C, max_iter=1000).fit(Z, y)
        w, b = model.coef_[0], float(model.intercept_[0])
    coef = w / std
    intercept = b - float(np.sum(w * mean / std))
    ident = {k: encoder.get(k) for k in ("backend", "model", "fingerprint") if encoder.get(k) is not None}
    return Calibration(
        coef=[float(c) for c in coef],
        intercept=float(intercept),
        features=list(features),
        threshold=float(threshold),
        encoder=ident,
        info=info or {},
    )


def _fit_bounded_logistic(
    Z: np.ndarray, y: np.ndarray, *, C: float, nonnegative: list[bool]
) -> tuple[np.ndarray, float]:
    """L2-penalised logistic regression (sklearn's objective) with some weights bounded below by 0."""
    from scipy.optimize import minimize

    n_feat = Z.shape[1]
    sign = 2.0 * y - 1.0

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = theta[:n_feat], theta[n_feat]
        margin = sign * (Z @ w + b)
        loss = float(np.sum(np.logaddexp(0.0, -margin))) * C + 0.5 * float(w @ w)
        p = 0.5 * (1.0 - np.tanh(0.5 * margin))  # = sigmoid(-margin), without overflow
        g = -(sign * p)
        grad = np.concatenate([C * (Z.T @ g) + w, [C * float(np.sum(g))]])
        return loss, grad

    bounds = [(0.0, None) if nn else (None, None) for nn in nonnegative] + [(None, None)]
    res = minimize(objective, np.zeros(n_feat + 1), jac=True, method="L-BFGS-B", bounds=bounds)
    theta = res.x
    return np.where(np.asarray(nonnegative), np.maximum(theta[:n_feat], 0.0), theta[:n_feat]), float(theta[n_feat])


def expected_calibration_error(confidence: np.ndarray, labels: np.ndarray, *, bins: int = 10) -> float:
    """Expected calibration error: the share-weighted gap between mean confidence and relevance per bin.

    ``bins`` equal-width bins over [0, 1] (the last one closed); rows with a NaN confidence are left out.

    >>> round(expected_calibration_error(np.array([0.9, 0.9, 0.1, 0.1]), np.array([1, 0, 0, 0])), 3)
    0.25
    """
    conf = np.asarray(confidence, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    ok = ~np.isnan(conf)
    conf, y = conf[ok], y[ok]
    if not len(conf):
        return float("nan")
    which = np.minimum((conf * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        sel = which == b
        if sel.any():
            total += sel.sum() / len(conf) * abs(conf[sel].mean() - y[sel].mean())
    return float(total)


def calibrate_on_pairs(
    matcher: Matcher,
    pairs: pd.DataFrame,
    *,
    need_col: str = "need",
    item_col: str = "item_id",
    label_col: str = "grade",
    min_grade: int = 1,
    min_confidence: float | None = None,
) -> Calibration:
    """Fit a confidence model on judged (need, item) pairs of a built matcher (see :meth:`Matcher.calibrate`)."""
    require_columns(
        pairs,
        [need_col, item_col, label_col],
        where="the judged pairs",
        hint="pass need_col=..., item_col=..., label_col=...",
    )
    pos = {str(i): p for p, i in enumerate(matcher.ids_)}
    unknown = [i for i in pairs[item_col].astype(str) if i not in pos]
    if unknown:
        raise InputError(f"{len(unknown)} judged item ids are not in the index, e.g. {unknown[:5]}")
    labels = (pd.to_numeric(pairs[label_col]).to_numpy() >= min_grade).astype(int)
    texts = [normalize_text(str(t)) for t in pairs[need_col]]
    idx = np.array([[pos[str(i)]] for i in pairs[item_col]], dtype=np.int64)
    parts: dict[str, list[np.ndarray]] = {}
    for start in range(0, len(texts), 256):
        part = matcher.pair_features(texts[start : start + 256], idx[start : start + 256])
        for name, values in part.items():
            parts.setdefault(name, []).append(values[:, 0])
    feats = {name: np.concatenate(v) for name, v in parts.items()}
    features = FEATURES if "dense" in feats else LEXICAL_FEATURES
    ident = matcher.encoder_.identity() if matcher.encoder_ is not None else {}
    cal = fit_calibration(
        feats,
        labels,
        encoder=ident,
        features=features,
        info={"source": "Matcher.calibrate", "pairs": int(len(labels)), "relevant": int(labels.sum())},
    )
    if min_confidence is None:
        from sklearn.metrics import roc_curve

        fpr, tpr, thr = roc_curve(labels, cal.predict(feats))
        min_confidence = float(np.clip(thr[int(np.argmax(tpr - fpr))], 0.0, 1.0))
    return Calibration(
        coef=cal.coef,
        intercept=cal.intercept,
        features=cal.features,
        threshold=float(min_confidence),
        encoder=cal.encoder,
        info=cal.info,
    )
