"""The results table: :func:`show` and the :class:`ResultView` it returns.

:meth:`Matcher.search` and :meth:`Matcher.match` return plain DataFrames;
:func:`show` wraps one in a :class:`ResultView` that renders as an HTML table in
a notebook (score bars, a confidence badge, supplier, price in rupiah, TKDN and
the matched query words highlighted in the product text) and as an aligned text
table elsewhere. The DataFrame stays one attribute away (``view.frame``).

Everything taken from the data is HTML-escaped; the HTML carries its own inline
CSS and no JavaScript, so it renders the same in JupyterLab, VS Code and in a
saved ``.html`` file.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import InputError
from ..io.columns import require_columns
from ..io.html import GRID, INK, LOW, MUTED, NUM_STYLE, TABLE_STYLE, TD_STYLE, TH_STYLE, escape
from .columns import TableLayout
from .confidence import renamed_min_confidence, resolve_min_confidence
from .format import MISSING, clip, display_text, format_number, is_missing
from .highlight import highlight_terms, query_terms
from .html_parts import badge_html, bar_html, confidence_html, score_scale

if TYPE_CHECKING:
    from ..retrieval.matcher import Matcher

__all__ = ["show", "ResultView", "DEFAULT_MAX_ROWS"]

#: Result rows a table shows unless told otherwise; a note counts the others.
DEFAULT_MAX_ROWS = 50
# Descriptions are cut so that one long spec sheet does not push the other rows off screen.
_DESCRIPTION_CHARS = 170
# Background of a need's header row in match() tables.
_NEED_ROW_BG = "#f3f4f6"


class ResultView:
    """A result table that renders as HTML in Jupyter and as text elsewhere.

    Made by :func:`show`; see there for the parameters. ``threshold=`` is the
    deprecated name of ``min_confidence=``.

    Attributes
    ----------
    frame : DataFrame
        The results as given (the very same object, unchanged).
    query : str or None
    min_confidence : float or None
        The no-good-match cut-off used to colour confidence badges.
    max_rows : int
    """

    def __init__(
        self,
        frame: pd.DataFrame,
        *,
        query: str | None = None,
        max_rows: int = DEFAULT_MAX_ROWS,
        columns: Sequence[str] | None = None,
        text_cols: Sequence[str] | None = None,
        min_confidence: float | None = None,
        matcher: Matcher | None = None,
        threshold: float | None = None,
    ):
        min_confidence = renamed_min_confidence(min_confidence, threshold, where="ResultView")
        if not isinstance(frame, pd.DataFrame):
            raise InputError(f"show() takes the DataFrame returned by search() or match(), got {type(frame).__name__}")
        require_columns(
            frame,
            ["rank", "item_id", "score"],
            where="the result frame",
            hint="show() takes the DataFrame returned by Matcher.search() or Matcher.match()",
        )
        if not isinstance(max_rows, (int, np.integer)) or isinstance(max_rows, bool) or max_rows < 1:
            raise InputError(f"max_rows must be a positive integer, got {max_rows!r}")
        self.frame = frame
        self.query = query
        self.max_rows = int(max_rows)
        self._layout = TableLayout(frame, matcher=matcher, columns=columns, text_cols=text_cols)
        conf = frame["confidence"] if "confidence" in frame.columns else None
        self.min_confidence = resolve_min_confidence(min_confidence, matcher=matcher, confidence=conf)
        self._query_terms = query_terms(query, stem=self._layout.stem) if query else []

    @property
    def threshold(self) -> float | None:
        """Deprecated name of :attr:`min_confidence`."""
        warnings.warn(
            "ResultView.threshold is deprecated; use ResultView.min_confidence", DeprecationWarning, stacklevel=2
        )
        return self.min_confidence

    # ------------------------------------------------------------ helpers
    def _shown(self) -> pd.DataFrame:
        return self.frame.iloc[: self.max_rows]

    def _groups(self, shown: pd.DataFrame) -> list[tuple[object, pd.DataFrame]]:
        if not self._layout.grouped:
            return [(None, shown)]
        keys = pd.Series(shown["need_id"].to_numpy(dtype=object))
        starts = (
            np.flatnonzero(np.r_[True, keys.iloc[1:].to_numpy() != keys.iloc[:-1].to_numpy()])
            if len(keys)
            else np.array([], int)
        )
        bounds = list(starts) + [len(shown)]
        return [(keys.iloc[a], shown.iloc[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]

    def _terms(self, row: pd.Series) -> list[str]:
        value = row.get("matched_terms")
        if isinstance(value, str):
            return value.split()
        return self._query_terms

    def _top_confidence(self, need_id: object) -> float:
        rows = self.frame[(self.frame["need_id"] == need_id) & (self.frame["rank"] == 1)]
        if rows.empty or "confidence" not in rows.columns:
            return float("nan")
        return float(rows["confidence"].iloc[0])

    # --------------------------------------------------------------- HTML
    def to_html(self, *, full_page: bool = False) -> str:
        """The table as HTML; ``full_page=True`` wraps it in a standalone document."""
        lay = self._layout
        shown = self._shown()
        has_conf = "confidence" in self.frame.columns
        heads = ["#", "score"] + (["confidence"] if has_conf else []) + ["product"] + lay.meta
        labels = {lay.price: "price", lay.tkdn: "TKDN"}
        parts = [
            f'<div class="sm-results" style="overflow-x:auto;max-width:100%">'
            f'<table class="sm-table" style="{TABLE_STYLE}">'
        ]
        if self.query:
            parts.append(
                f'<caption style="caption-side:top;text-align:left;padding:4px 8px 8px;font-size:14px">'
                f'<span style="color:{MUTED}">query</span> '
                f"<b>{escape(display_text(self.query))}</b></caption>"
            )
        parts.append(
            "<thead><tr>"
            + "".join(
                f'<th style="{TH_STYLE}{";text-align:right" if h in (lay.price, lay.tkdn, "#") else ""}">'
                f"{escape(str(labels.get(h, h)))}</th>"
                for h in heads
            )
            + "</tr></thead><tbody>"
        )
        if shown.empty:
            parts.append(f'<tr><td colspan="{len(heads)}" style="{TD_STYLE};color:{MUTED}">(no results)</td></tr>')
        for need_id, group in self._groups(shown):
            if need_id is not None:
                parts.append(self._need_row(need_id, group, len(heads)))
            scale = score_scale(group["score"])
            for _, row in group.iterrows():
                parts.append(self._row_html(row, scale, has_conf))
        hidden = len(self.frame) - len(shown)
        if hidden > 0:
            parts.append(
                f'<tr><td colspan="{len(heads)}" style="{TD_STYLE};color:{MUTED}">… {hidden} more rows '
                f"not shown ({len(self.frame)} in all); show(results, max_rows={len(self.frame)}) "
                "shows them all</td></tr>"
            )
        parts.append("</tbody></table></div>")
        body = "".join(parts)
        if not full_page:
            return body
        return (
            '<!DOCTYPE html><html lang="id"><head><meta charset="utf-8"><title>semantic_match results'
            f'</title></head><body style="margin:16px;background:#fff;color:{INK}">{body}</body></html>'
        )

    def _need_row(self, need_id: object, group: pd.DataFrame, ncols: int) -> str:
        first = group.iloc[0]
        text = escape(display_text(first.get("need_text", "")))
        extra = " · ".join(
            f"{escape(str(c))}: {escape(self._layout.cell_text(c, first[c]))}" for c in self._layout.need_extra
        )
        flag = ""
        top = self._top_confidence(need_id)
        if self.min_confidence is not None and math.isfinite(top) and top < self.min_confidence:
            flag = " " + badge_html(
                "no good match",
                LOW,
                css_class="sm-flag",
                title=f"rank-1 confidence {top:.2f} is below the threshold {self.min_confidence:.2f}",
            )
        return (
            f'<tr class="sm-need"><td colspan="{ncols}" style="{TD_STYLE};background:{_NEED_ROW_BG};'
            f'border-top:2px solid {GRID}"><b>{escape(str(need_id))}</b> {text}{flag}'
            + (f'<div style="color:{MUTED};font-size:12px">{extra}</div>' if extra else "")
            + "</td></tr>"
        )

    def _row_html(self, row: pd.Series, scale: float, has_conf: bool) -> str:
        lay = self._layout
        terms = self._terms(row)
        score = float(row["score"]) if not is_missing(row["score"]) else float("nan")
        bar = bar_html(score, score / scale, title="ranking score (relative to this need)")
        cells = [f'<td style="{NUM_STYLE}">{escape(str(row["rank"]))}</td>', f'<td style="{TD_STYLE}">{bar}</td>']
        if has_conf:
            cells.append(f'<td style="{TD_STYLE}">{confidence_html(row["confidence"], self.min_confidence)}</td>')
        product = []
        if lay.title is not None:
            title = highlight_terms(row[lay.title], terms, stem=lay.stem)
            product.append(f'<div style="font-weight:600">{title}</div>')
        for col in lay.details:
            text = clip(display_text(row[col]), _DESCRIPTION_CHARS)
            if text:
                product.append(
                    f'<div style="color:{MUTED};font-size:12px;max-width:560px">'
                    f"{highlight_terms(text, terms, stem=lay.stem)}</div>"
                )
        info = [escape(str(row["item_id"]))]
        if lay.category is not None and lay.category not in lay.meta and not is_missing(row[lay.category]):
            info.append(escape(display_text(row[lay.category])))
        if terms and "matched_terms" in row.index:
            info.append("matched: " + escape(" · ".join(terms)))
        product.append(f'<div style="color:{MUTED};font-size:11px">{" · ".join(info)}</div>')
        cells.append(f'<td style="{TD_STYLE}">{"".join(product)}</td>')
        for col in lay.meta:
            text = lay.cell_text(col, row[col])
            if col == lay.price and lay.unit is not None and text != MISSING and not is_missing(row[lay.unit]):
                text += f" / {display_text(row[lay.unit])}"
            numeric = col in (lay.price, lay.tkdn) or pd.api.types.is_numeric_dtype(self.frame[col])
            cells.append(f'<td style="{NUM_STYLE if numeric else TD_STYLE}">{escape(text)}</td>')
        return f'<tr class="sm-row">{"".join(cells)}</tr>'

    def _repr_html_(self) -> str:
        return self.to_html()

    # --------------------------------------------------------------- text
    def to_text(self, *, width: int = 44) -> str:
        """The table as aligned plain text, one header line per need for match() output."""
        lay = self._layout
        shown = self._shown()
        lines = [f"query: {display_text(self.query)}"] if self.query else []
        if shown.empty:
            return "\n".join(lines + ["(no results)"])
        table = pd.DataFrame(
            {
                "rank": shown["rank"].to_numpy(),
                "item_id": shown["item_id"].to_numpy(),
                "score": [format_number(v, 3) for v in shown["score"]],
            }
        )
        if "confidence" in shown.columns:
            cut = self.min_confidence
            table["conf"] = [
                format_number(v, 2) + ("!" if cut is not None and not is_missing(v) and v < cut else "")
                for v in shown["confidence"]
            ]
        if lay.title is not None:
            table["product"] = [clip(display_text(v), width) for v in shown[lay.title]]
        for col in lay.meta:
            table[col] = [clip(lay.cell_text(col, v), width) for v in shown[col]]
        if "matched_terms" in shown.columns:
            table["matched"] = [clip(v, width) for v in shown["matched_terms"].fillna("")]
        with pd.option_context("display.max_colwidth", None, "display.width", 10_000):
            rows = table.to_string(index=False).split("\n")
        lines.append(rows[0])
        offset = 0
        for need_id, group in self._groups(shown):
            if need_id is not None:
                head = f"── {need_id}: {clip(display_text(group.iloc[0].get('need_text', '')), 90)}"
                extra = ", ".join(f"{c}: {self._layout.cell_text(c, group.iloc[0][c])}" for c in lay.need_extra)
                top = self._top_confidence(need_id)
                if self.min_confidence is not None and math.isfinite(top) and top < self.min_confidence:
                    extra = ", ".join(p for p in (extra, "NO GOOD MATCH") if p)
                lines.append(head + (f" ({extra})" if extra else ""))
            lines.extend(rows[1 + offset : 1 + offset + len(group)])
            offset += len(group)
        hidden = len(self.frame) - len(shown)
        if hidden > 0:
            lines.append(f"… {hidden} more rows ({len(self.frame)} in all); show(results, max_rows=...) shows more")
        if "conf" in table.columns and table["conf"].str.endswith("!").any():
            lines.append(f"(! = confidence below the no-good-match threshold {self.min_confidence:.2f})")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        return self.to_text()


def show(
    results: pd.DataFrame,
    *,
    query: str | None = None,
    max_rows: int = DEFAULT_MAX_ROWS,
    columns: Sequence[str] | None = None,
    text_cols: Sequence[str] | None = None,
    min_confidence: float | None = None,
    matcher: Matcher | None = None,
    threshold: float | None = None,
) -> ResultView:
    """Wrap search or match results for display in a notebook.

    Parameters
    ----------
    results : DataFrame
        Output of :meth:`Matcher.search` or :meth:`Matcher.match` (then
        grouped by need, one header row per need).
    query : str, optional
        The search query, shown as a caption; its words are highlighted when
        the results carry no ``matched_terms``.
    max_rows : int
        Result rows to show; a note says how many more there are.
    columns : sequence of str, optional
        Metadata columns after the product; default supplier, region, price
        and TKDN, whichever exist (``supplier``/``penyedia``, ``region``/``wilayah``,
        ``price``/``harga``, ``tkdn``).
    text_cols : sequence of str, optional
        Product text columns, the first shown as the title; default the
        matcher's text columns, else a column named ``name``/``nama`` and one
        named ``description``/``deskripsi``.
    min_confidence : float, optional
        Confidence below which the badge turns red and a need is flagged "no
        good match"; default the matcher's calibration threshold, else the
        shipped calibration's when the results have confidences.
    matcher : Matcher, optional
        The matcher that made the results (for text columns and the cut-off).
    threshold : float, optional
        Deprecated name of ``min_confidence`` (emits a :class:`DeprecationWarning`).

    Returns
    -------
    ResultView
        Renders as HTML in Jupyter and as text with ``print``; ``.frame`` is
        ``results`` itself.

    Raises
    ------
    InputError
        ``results`` is not a result frame, or ``columns``/``text_cols`` name
        columns it lacks.

    Examples
    --------
    >>> res = m.search("seminar kit bernuansa tapis", k=5)
    >>> show(res, query="seminar kit bernuansa tapis")        # or res.pipe(show)
    >>> show(m.match(needs, id_col="need_id", text_cols=["need", "spec"], k=3), matcher=m)
    """
    min_confidence = renamed_min_confidence(min_confidence, threshold, where="show")
    return ResultView(
        results,
        query=query,
        max_rows=max_rows,
        columns=columns,
        text_cols=text_cols,
        min_confidence=min_confidence,
        matcher=matcher,
    )
