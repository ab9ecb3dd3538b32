"""Notebook wing: rich display of results, match explanations and plots for analysts in Jupyter.

May import the retrieval core, io, text and errors; never the events or training
wings. matplotlib is loaded only when a plot is drawn.
"""
from __future__ import annotations

from .display import ResultView, show
from .explain import Explanation, explain_match

__all__ = ["show", "ResultView", "explain_match", "Explanation"]
