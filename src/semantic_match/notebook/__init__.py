"""Notebook wing: rich display of results, match explanations and plots for analysts in Jupyter.

Owns everything that turns a result frame or a matcher into something to look
at: the HTML/text results table (:mod:`.view`, built from :mod:`.format`,
:mod:`.columns`, :mod:`.highlight`, :mod:`.html_parts` and the cut-off rules
of :mod:`.confidence`), explanations of one ranking (:mod:`.explain`) and
matplotlib charts (:mod:`.plots`, :mod:`.figures`). It may import the
retrieval core's public API, :mod:`semantic_match.io` (the shared palette in
:mod:`semantic_match.io.html`, ``require_columns``), :mod:`semantic_match.text`
and :mod:`semantic_match.errors`; never the events, training or cli wings.
matplotlib and scikit-learn are imported only when a plot is drawn.
"""

from __future__ import annotations

from .explain import Explanation, explain_match
from .view import ResultView, show

__all__ = ["show", "ResultView", "explain_match", "Explanation"]
