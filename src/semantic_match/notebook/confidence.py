"""The confidence cut-off ("no good match" below it) that tables and charts draw.

Public keyword arguments call it ``min_confidence``, as :func:`run_event` and
the CLI's ``--min-confidence`` do. Version 0.1.0 called it ``threshold`` in
``show``, ``ResultView`` and the plots; that name still works for a while
with a :class:`DeprecationWarning` (see :func:`renamed_min_confidence`).
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import InputError
from ..retrieval.calibration import default_calibration

if TYPE_CHECKING:
    from ..retrieval.matcher import Matcher

__all__ = ["resolve_min_confidence", "renamed_min_confidence", "resolve_threshold"]


def renamed_min_confidence(min_confidence: float | None, threshold: float | None, *, where: str) -> float | None:
    """The cut-off given as ``min_confidence``, or through the deprecated keyword ``threshold``.

    Parameters
    ----------
    min_confidence : float or None
        The value of the current keyword.
    threshold : float or None
        The value of the old keyword; when given it is used, with a
        :class:`DeprecationWarning` pointing at the caller's line.
    where : str
        The public function, for the messages, e.g. ``"show"``.

    Raises
    ------
    InputError
        Both keywords were given.
    """
    if threshold is None:
        return min_confidence
    if min_confidence is not None:
        raise InputError(
            f"{where}() got both min_confidence={min_confidence!r} and threshold={threshold!r}; "
            "threshold is the old name of min_confidence, pass min_confidence only"
        )
    # stacklevel 3: this helper, the public function, then the user's line.
    warnings.warn(
        f"{where}(threshold=...) is deprecated; use {where}(min_confidence=...)", DeprecationWarning, stacklevel=3
    )
    return threshold


def resolve_min_confidence(
    min_confidence: float | None, *, matcher: Matcher | None = None, confidence: pd.Series | np.ndarray | None = None
) -> float | None:
    """The "no good match" cut-off to draw: given, the matcher's, or the shipped one.

    Parameters
    ----------
    min_confidence : float, optional
        Used as is when given.
    matcher : Matcher, optional
        Its calibration's threshold comes next.
    confidence : array-like, optional
        Without a matcher, the shipped calibration's threshold applies only
        when these confidences are not all missing (NaN means "no calibration").

    Returns
    -------
    float or None

    Raises
    ------
    InputError
        ``min_confidence`` is not a number.
    """
    if min_confidence is not None:
        try:
            return float(min_confidence)
        except (TypeError, ValueError):
            raise InputError(
                f"min_confidence must be a number (a calibrated confidence such as 0.27), got {min_confidence!r}"
            ) from None
    if matcher is not None:
        cal = getattr(matcher, "calibration_", None)
        return float(cal.threshold) if cal is not None else None
    if confidence is not None and np.isfinite(np.asarray(confidence, dtype=np.float64)).any():
        cal = default_calibration()
        return float(cal.threshold) if cal is not None else None
    return None


def resolve_threshold(
    threshold: float | None, *, matcher: Matcher | None = None, confidence: pd.Series | np.ndarray | None = None
) -> float | None:
    """Deprecated name of :func:`resolve_min_confidence`."""
    warnings.warn("resolve_threshold() is deprecated; use resolve_min_confidence()", DeprecationWarning, stacklevel=2)
    return resolve_min_confidence(threshold, matcher=matcher, confidence=confidence)
