"""Rich display of search and match results for Jupyter notebooks.

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

import html
import logging
import math
import re
import unicodedata
from functools import lru_cache
from typing import TYPE_CHECKING, Iterable, Sequence

import numpy as np
import pandas as pd

from ..errors import InputError, format_list
from ..retrieval.lexical import tokenize
from ..text.normalize import normalize_text

if TYPE_CHECKING:
    from ..retrieval.matcher import Matcher

__all__ = ["show", "ResultView", "format_rupiah", "format_percent", "highlight_terms", "key_columns",
           "resolve_threshold"]

logger = logging.getLogger(__name__)

# Columns that search()/match() put before the item's own columns.
_RESULT_COLS = ("need_id", "need_text", "rank", "item_id", "score", "confidence", "dense_score",
                "char_score", "bm25_score", "matched_terms")

# Likely names of the columns the table gives a place of their own (lower case).
_NAME_COLS = ("name", "nama", "nama_produk", "nama_barang", "product_name", "produk", "judul", "title",
              "uraian", "item_name")
_DESC_COLS = ("description", "deskripsi", "spesifikasi", "spec", "specification", "keterangan", "detail")
_SUPPLIER_COLS = ("supplier", "pemasok", "penyedia", "nama_penyedia", "vendor", "seller", "toko",
                  "ikm", "umkm")
_REGION_COLS = ("region", "wilayah", "daerah", "kabupaten", "kab_kota", "kota", "lokasi", "provinsi")
_PRICE_COLS = ("price", "harga", "harga_satuan", "unit_price")
_TKDN_COLS = ("tkdn", "nilai_tkdn", "tkdn_pct", "tkdn_persen")
_UNIT_COLS = ("unit", "satuan")
_CATEGORY_COLS = ("category", "kategori", "kelompok")

_DEFAULT_MAX_ROWS = 50
_DESC_CHARS = 170

# Colours (Tailwind palette: readable on light and dark notebook themes).
_BLUE, _GREY_BG, _MUTED = "#2563eb", "#e5e7eb", "#6b7280"
_OK = ("#166534", "#dcfce7")
_LOW = ("#991b1b", "#fee2e2")
_NEUTRAL = ("#334155", "#e2e8f0")
_MARK = "background:#fde68a;color:inherit;padding:0 1px;border-radius:2px"
_RELATED = "text-decoration:underline dotted #d97706 2px;text-underline-offset:2px"


# ----------------------------------------------------------------- formatting
def _missing(value: object) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def format_rupiah(value: object) -> str:
    """Format an amount in rupiah with Indonesian thousands separators.

    Parameters
    ----------
    value : number or str
        Missing values give ``"–"``; text that is not a number is returned as is.

    Returns
    -------
    str

    Examples
    --------
    >>> format_rupiah(185000)
    'Rp 185.000'
    >>> format_rupiah(24_500_000.0)
    'Rp 24.500.000'
    """
    if _missing(value):
        return "–"
    try:
        amount = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(amount):
        return "–"
    sign = "-" if amount < 0 else ""
    return f"{sign}Rp {abs(round(amount)):,}".replace(",", ".")


def format_percent(value: object) -> str:
    """Format a percentage (such as TKDN) with a decimal comma.

    Examples
    --------
    >>> format_percent(78.5)
    '78,5%'
    >>> format_percent(40)
    '40%'
    """
    if _missing(value):
        return "–"
    try:
        pct = float(value)
    except (TypeError, ValueError):
        return str(value)
    text = f"{pct:.1f}".rstrip("0").rstrip(".")
    return text.replace(".", ",") + "%"


def _fmt_number(value: object, digits: int) -> str:
    if _missing(value):
        return "–"
    return f"{float(value):.{digits}f}"


# ------------------------------------------------------------- highlighting
_BREAK = re.compile(r"<\s*br\s*/?\s*>", re.IGNORECASE)
_WS = re.compile(r"\s+")
# Words of display text; decimals such as "1,2" or "1.000" stay one word.
_WORD = re.compile(r"[^\W_]+(?:[.,][0-9]+)*")


def _display_text(value: object) -> str:
    """Catalogue text as a person should read it: entities decoded, <br> as space.

    Other markup is left as text on purpose: it is escaped when rendered, so a
    product named ``<script>`` shows as exactly that.
    """
    if _missing(value):
        return ""
    text = _BREAK.sub(" ", str(value))
    if "&" in text:
        text = html.unescape(text)
    return _WS.sub(" ", unicodedata.normalize("NFC", text)).strip()


@lru_cache(maxsize=50_000)
def _word_tokens(word: str, stem: bool) -> tuple[str, ...]:
    # The word as the matcher sees it: "Kap" -> "kapasitas", "250gr" -> "250", "gram".
    return tuple(tokenize(normalize_text(word), stopwords=frozenset(), stem=stem))


def _matches_term(tokens: Iterable[str], terms: frozenset[str]) -> bool:
    for tok in tokens:
        if tok in terms:
            return True
        # Prefix matches catch suffixed forms ("tapisnya" for "tapis"); short
        # terms must match whole words or "kit" would light up "kita".
        if any(len(t) >= 4 and t.isalpha() and tok.startswith(t) for t in terms):
            return True
    return False


def highlight_terms(text: object, terms: Iterable[str], *, related: Iterable[str] = (),
                    stem: bool = False) -> str:
    """Escape ``text`` for HTML and wrap the words matching ``terms`` in ``<mark>``.

    Words are compared after :func:`normalize_text`, so ``"Tapis"`` matches the
    term ``"tapis"`` and ``"Kap."`` matches ``"kapasitas"``; a word also matches
    when it starts with a term of four letters or more.

    Parameters
    ----------
    text : str
        Product or need text as stored in the catalogue.
    terms : iterable of str
        Normalised query words, e.g. ``"seminar kit tapis".split()``.
    related : iterable of str
        Words to underline instead (e.g. the product's words similar to a
        need word it lacks); compared whole, after normalisation.
    stem : bool
        Stem the text's words first (when the matcher stems, its terms are stems).

    Returns
    -------
    str
        Safe HTML.

    Examples
    --------
    >>> highlight_terms("Seminar Kit Tapis <Eksklusif>", ["tapis", "kit"])
    'Seminar <mark>Kit</mark> <mark>Tapis</mark> &lt;Eksklusif&gt;'
    """
    text = _display_text(text)
    terms = frozenset(t for t in terms if t)
    related = frozenset(t for t in related if t)
    if not terms and not related:
        return html.escape(text)
    out, pos = [], 0
    for m in _WORD.finditer(text):
        tokens = _word_tokens(m.group(0), stem)
        if _matches_term(tokens, terms):
            out.append(html.escape(text[pos:m.start()]))
            out.append(f'<mark style="{_MARK}">{html.escape(m.group(0))}</mark>')
            pos = m.end()
        elif related.intersection(tokens):
            out.append(html.escape(text[pos:m.start()]))
            out.append(f'<u class="sm-related" style="{_RELATED}">{html.escape(m.group(0))}</u>')
            pos = m.end()
    out.append(html.escape(text[pos:]))
    return "".join(out)


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > limit // 2 else limit].rstrip(" ,;:") + " …"


# ------------------------------------------------------------------ columns
def _find(columns: Sequence[str], names: Sequence[str]) -> str | None:
    lower = {c.lower(): c for c in columns}
    for name in names:
        if name in lower:
            return lower[name]
    return None


def key_columns(columns: Sequence[str]) -> dict[str, str | None]:
    """Find the supplier, region, category, price, unit and TKDN columns by their usual names.

    Examples
    --------
    >>> key_columns(["kode", "nama", "penyedia", "wilayah", "harga", "satuan", "tkdn"])["price"]
    'harga'
    """
    columns = list(columns)
    return {"supplier": _find(columns, _SUPPLIER_COLS), "region": _find(columns, _REGION_COLS),
            "category": _find(columns, _CATEGORY_COLS), "price": _find(columns, _PRICE_COLS),
            "unit": _find(columns, _UNIT_COLS), "tkdn": _find(columns, _TKDN_COLS)}


def _item_columns(frame: pd.DataFrame) -> list[str]:
    cols = list(frame.columns)
    if "matched_terms" in cols:
        return cols[cols.index("matched_terms") + 1:]
    return [c for c in cols if c not in _RESULT_COLS]


def resolve_threshold(threshold: float | None, *, matcher: Matcher | None = None,
                      confidence: pd.Series | np.ndarray | None = None) -> float | None:
    """The "no good match" threshold to draw: given, the matcher's, or the shipped one.

    Parameters
    ----------
    threshold : float, optional
        Used as is when given.
    matcher : Matcher, optional
        Its calibration's threshold comes next.
    confidence : array-like, optional
        Without a matcher, the shipped calibration's threshold applies only
        when these confidences are not all missing (NaN means "no calibration").

    Returns
    -------
    float or None
    """
    if threshold is not None:
        return float(threshold)
    if matcher is not None:
        cal = getattr(matcher, "calibration_", None)
        return float(cal.threshold) if cal is not None else None
    if confidence is not None and np.isfinite(np.asarray(confidence, dtype=np.float64)).any():
        from ..retrieval.calibration import default_calibration

        cal = default_calibration()
        return float(cal.threshold) if cal is not None else None
    return None


class _Layout:
    """Which columns of a result frame go where in the table."""

    def __init__(self, frame: pd.DataFrame, *, matcher: Matcher | None, columns: Sequence[str] | None,
                 text_cols: Sequence[str] | None):
        cols = list(frame.columns)
        items = _item_columns(frame)
        if text_cols is None and matcher is not None:
            renamed = {c: f"item_{c}" if c in _RESULT_COLS else c for c in matcher.catalog_.text_cols}
            text_cols = [renamed[c] for c in matcher.catalog_.text_cols if renamed[c] in cols]
        key = key_columns(items)
        if text_cols is None:
            name = _find(items, _NAME_COLS)
            desc = _find(items, _DESC_COLS)
            if name is None:
                taken = set(key.values())
                name = next((c for c in items if c not in taken and (pd.api.types.is_string_dtype(frame[c])
                                                                      or frame[c].dtype == object)), None)
            text_cols = [c for c in (name, desc) if c is not None]
        text_cols = list(text_cols)
        _check_columns(frame, text_cols, "text_cols")
        self.title = text_cols[0] if text_cols else None
        self.details = text_cols[1:]
        self.supplier, self.price, self.tkdn = key["supplier"], key["price"], key["tkdn"]
        self.unit, self.category = key["unit"], key["category"]
        if columns is None:
            columns = [c for c in (self.supplier, key["region"], self.price, self.tkdn) if c is not None]
        columns = list(columns)
        _check_columns(frame, columns, "columns")
        self.meta = [c for c in columns if c not in text_cols]
        self.stem = bool(getattr(getattr(matcher, "lexical_", None), "stem", False))
        self.grouped = "need_id" in cols
        self.need_extra = (cols[cols.index("need_text") + 1: cols.index("rank")]
                           if self.grouped and "need_text" in cols and "rank" in cols else [])

    def cell_text(self, col: str, value: object) -> str:
        """Plain text of a metadata value (rupiah, percent, or as is)."""
        if col == self.price:
            return format_rupiah(value)
        if col == self.tkdn:
            return format_percent(value)
        if _missing(value):
            return "–"
        if isinstance(value, (float, np.floating)):
            return f"{value:,.2f}".rstrip("0").rstrip(".")
        return _display_text(value)


def _check_columns(frame: pd.DataFrame, wanted: Sequence[str], what: str) -> None:
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise InputError(f"{what} names {len(missing)} column(s) not in the results: {format_list(missing)}; "
                         f"columns are {format_list(list(frame.columns), limit=20)}")


# --------------------------------------------------------------------- HTML
_TABLE = ("border-collapse:collapse;font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;"
          "font-size:13px;line-height:1.35;text-align:left;color:inherit;min-width:640px")
_TH = ("padding:6px 8px;border-bottom:2px solid #9ca3af;font-weight:600;text-align:left;"
       "white-space:nowrap;vertical-align:bottom")
_TD = "padding:6px 8px;border-bottom:1px solid #e5e7eb;vertical-align:top;text-align:left"
_NUM = _TD + ";text-align:right;white-space:nowrap"


def _bar_html(value: float, fraction: float, *, digits: int = 3, title: str = "") -> str:
    width = 0.0 if not math.isfinite(fraction) else min(max(fraction, 0.0), 1.0) * 100
    return (f'<div class="sm-bar" title="{html.escape(title)}" style="display:flex;align-items:center;gap:6px">'
            f'<div style="width:72px;height:8px;background:{_GREY_BG};border-radius:4px;overflow:hidden">'
            f'<div class="sm-bar-fill" style="width:{width:.1f}%;height:100%;background:{_BLUE}"></div></div>'
            f'<span style="font-variant-numeric:tabular-nums">{_fmt_number(value, digits)}</span></div>')


def _badge_html(text: str, colours: tuple[str, str], *, css_class: str, title: str) -> str:
    fg, bg = colours
    return (f'<span class="{css_class}" title="{html.escape(title)}" style="display:inline-block;'
            f'padding:1px 7px;border-radius:9px;font-size:12px;font-weight:600;color:{fg};background:{bg};'
            f'font-variant-numeric:tabular-nums;white-space:nowrap">{html.escape(text)}</span>')


def _confidence_html(value: object, threshold: float | None) -> str:
    if _missing(value):
        return _badge_html("–", _NEUTRAL, css_class="sm-conf sm-conf-na",
                           title="no confidence: no calibration for this encoder")
    value = float(value)
    if threshold is None:
        return _badge_html(f"{value:.2f}", _NEUTRAL, css_class="sm-conf",
                           title="calibrated probability that the product is relevant")
    low = value < threshold
    return _badge_html(f"{value:.2f}", _LOW if low else _OK,
                       css_class="sm-conf sm-conf-low" if low else "sm-conf sm-conf-ok",
                       title=f"calibrated probability that the product is relevant; "
                             f"{'below' if low else 'at or above'} the no-good-match threshold {threshold:.2f}")


def _score_scale(scores: pd.Series) -> float:
    """Divide scores by this to draw bars: 1 for fused scores in [0, 1], else the best score."""
    finite = scores[np.isfinite(scores.to_numpy(dtype=np.float64))]
    if finite.empty:
        return 1.0
    lo, hi = float(finite.min()), float(finite.max())
    # Reciprocal-rank scores (~0.03) would all draw as empty bars on an absolute
    # scale; draw such scores relative to the need's best result instead.
    if lo >= 0 and 0.25 <= hi <= 1.0:
        return 1.0
    return hi if hi > 0 else 1.0


class ResultView:
    """A result table that renders as HTML in Jupyter and as text elsewhere.

    Made by :func:`show`; see there for the parameters.

    Attributes
    ----------
    frame : DataFrame
        The results as given (the very same object, unchanged).
    query : str or None
    threshold : float or None
        The no-good-match threshold used to colour confidence badges.
    """

    def __init__(self, frame: pd.DataFrame, *, query: str | None = None, max_rows: int = _DEFAULT_MAX_ROWS,
                 columns: Sequence[str] | None = None, text_cols: Sequence[str] | None = None,
                 threshold: float | None = None, matcher: Matcher | None = None):
        if not isinstance(frame, pd.DataFrame):
            raise InputError(f"show() takes the DataFrame returned by search() or match(), got "
                             f"{type(frame).__name__}")
        needed = [c for c in ("rank", "item_id", "score") if c not in frame.columns]
        if needed:
            raise InputError(f"results are missing column(s) {format_list(needed)}; show() takes the "
                             f"DataFrame returned by Matcher.search() or Matcher.match(), columns are "
                             f"{format_list(list(frame.columns), limit=12)}")
        if not isinstance(max_rows, (int, np.integer)) or isinstance(max_rows, bool) or max_rows < 1:
            raise InputError(f"max_rows must be a positive integer, got {max_rows!r}")
        self.frame = frame
        self.query = query
        self.max_rows = int(max_rows)
        self._layout = _Layout(frame, matcher=matcher, columns=columns, text_cols=text_cols)
        conf = frame["confidence"] if "confidence" in frame.columns else None
        self.threshold = resolve_threshold(threshold, matcher=matcher, confidence=conf)
        self._query_terms = (list(dict.fromkeys(tokenize(normalize_text(query), stem=self._layout.stem)))
                             if query else [])

    # ------------------------------------------------------------ helpers
    def _shown(self) -> pd.DataFrame:
        return self.frame.iloc[: self.max_rows]

    def _groups(self, shown: pd.DataFrame) -> list[tuple[object, pd.DataFrame]]:
        if not self._layout.grouped:
            return [(None, shown)]
        keys = pd.Series(shown["need_id"].to_numpy(dtype=object))
        starts = np.flatnonzero(np.r_[True, keys.iloc[1:].to_numpy() != keys.iloc[:-1].to_numpy()]) \
            if len(keys) else np.array([], int)
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
        parts = [f'<div class="sm-results" style="overflow-x:auto;max-width:100%">'
                 f'<table class="sm-table" style="{_TABLE}">']
        if self.query:
            parts.append(f'<caption style="caption-side:top;text-align:left;padding:4px 8px 8px;font-size:14px">'
                         f'<span style="color:{_MUTED}">query</span> '
                         f'<b>{html.escape(_display_text(self.query))}</b></caption>')
        parts.append("<thead><tr>" + "".join(
            f'<th style="{_TH}{";text-align:right" if h in (lay.price, lay.tkdn, "#") else ""}">'
            f"{html.escape(str(labels.get(h, h)))}</th>" for h in heads) + "</tr></thead><tbody>")
        if shown.empty:
            parts.append(f'<tr><td colspan="{len(heads)}" style="{_TD};color:{_MUTED}">(no results)</td></tr>')
        for need_id, group in self._groups(shown):
            if need_id is not None:
                parts.append(self._need_row(need_id, group, len(heads)))
            scale = _score_scale(group["score"])
            for _, row in group.iterrows():
                parts.append(self._row_html(row, scale, has_conf))
        hidden = len(self.frame) - len(shown)
        if hidden > 0:
            parts.append(f'<tr><td colspan="{len(heads)}" style="{_TD};color:{_MUTED}">… {hidden} more rows '
                         f"not shown ({len(self.frame)} in all); show(results, max_rows={len(self.frame)}) "
                         "shows them all</td></tr>")
        parts.append("</tbody></table></div>")
        body = "".join(parts)
        if not full_page:
            return body
        return ('<!DOCTYPE html><html lang="id"><head><meta charset="utf-8"><title>semantic_match results'
                f'</title></head><body style="margin:16px;background:#fff;color:#111827">{body}</body></html>')

    def _need_row(self, need_id: object, group: pd.DataFrame, ncols: int) -> str:
        first = group.iloc[0]
        text = html.escape(_display_text(first.get("need_text", "")))
        extra = " · ".join(f"{html.escape(str(c))}: {html.escape(self._layout.cell_text(c, first[c]))}"
                           for c in self._layout.need_extra)
        flag = ""
        top = self._top_confidence(need_id)
        if self.threshold is not None and math.isfinite(top) and top < self.threshold:
            flag = " " + _badge_html("no good match", _LOW, css_class="sm-flag",
                                     title=f"rank-1 confidence {top:.2f} is below the threshold "
                                           f"{self.threshold:.2f}")
        return (f'<tr class="sm-need"><td colspan="{ncols}" style="{_TD};background:#f3f4f6;'
                f'border-top:2px solid #9ca3af"><b>{html.escape(str(need_id))}</b> {text}{flag}'
                + (f'<div style="color:{_MUTED};font-size:12px">{extra}</div>' if extra else "")
                + "</td></tr>")

    def _row_html(self, row: pd.Series, scale: float, has_conf: bool) -> str:
        lay = self._layout
        terms = self._terms(row)
        score = float(row["score"]) if not _missing(row["score"]) else float("nan")
        bar = _bar_html(score, score / scale, title="ranking score (relative to this need)")
        cells = [f'<td style="{_NUM}">{html.escape(str(row["rank"]))}</td>', f'<td style="{_TD}">{bar}</td>']
        if has_conf:
            cells.append(f'<td style="{_TD}">{_confidence_html(row["confidence"], self.threshold)}</td>')
        product = []
        if lay.title is not None:
            title = highlight_terms(row[lay.title], terms, stem=lay.stem)
            product.append(f'<div style="font-weight:600">{title}</div>')
        for col in lay.details:
            text = _clip(_display_text(row[col]), _DESC_CHARS)
            if text:
                product.append(f'<div style="color:{_MUTED};font-size:12px;max-width:560px">'
                               f"{highlight_terms(text, terms, stem=lay.stem)}</div>")
        info = [html.escape(str(row["item_id"]))]
        if lay.category is not None and lay.category not in lay.meta and not _missing(row[lay.category]):
            info.append(html.escape(_display_text(row[lay.category])))
        if terms and "matched_terms" in row.index:
            info.append("matched: " + html.escape(" · ".join(terms)))
        product.append(f'<div style="color:{_MUTED};font-size:11px">{" · ".join(info)}</div>')
        cells.append(f'<td style="{_TD}">{"".join(product)}</td>')
        for col in lay.meta:
            text = lay.cell_text(col, row[col])
            if col == lay.price and lay.unit is not None and text != "–" and not _missing(row[lay.unit]):
                text += f" / {_display_text(row[lay.unit])}"
            numeric = col in (lay.price, lay.tkdn) or pd.api.types.is_numeric_dtype(self.frame[col])
            cells.append(f'<td style="{_NUM if numeric else _TD}">{html.escape(text)}</td>')
        return f'<tr class="sm-row">{"".join(cells)}</tr>'

    def _repr_html_(self) -> str:
        return self.to_html()

    # --------------------------------------------------------------- text
    def to_text(self, *, width: int = 44) -> str:
        """The table as aligned plain text, one header line per need for match() output."""
        lay = self._layout
        shown = self._shown()
        lines = [f"query: {_display_text(self.query)}"] if self.query else []
        if shown.empty:
            return "\n".join(lines + ["(no results)"])
        table = pd.DataFrame({"rank": shown["rank"].to_numpy(), "item_id": shown["item_id"].to_numpy(),
                              "score": [_fmt_number(v, 3) for v in shown["score"]]})
        if "confidence" in shown.columns:
            table["conf"] = [_fmt_number(v, 2) + ("!" if self.threshold is not None and not _missing(v)
                                                  and v < self.threshold else "")
                             for v in shown["confidence"]]
        if lay.title is not None:
            table["product"] = [_clip(_display_text(v), width) for v in shown[lay.title]]
        for col in lay.meta:
            table[col] = [_clip(lay.cell_text(col, v), width) for v in shown[col]]
        if "matched_terms" in shown.columns:
            table["matched"] = [_clip(v, width) for v in shown["matched_terms"].fillna("")]
        with pd.option_context("display.max_colwidth", None, "display.width", 10_000):
            rows = table.to_string(index=False).split("\n")
        lines.append(rows[0])
        offset = 0
        for need_id, group in self._groups(shown):
            if need_id is not None:
                head = f"── {need_id}: {_clip(_display_text(group.iloc[0].get('need_text', '')), 90)}"
                extra = ", ".join(f"{c}: {self._layout.cell_text(c, group.iloc[0][c])}" for c in lay.need_extra)
                top = self._top_confidence(need_id)
                if self.threshold is not None and math.isfinite(top) and top < self.threshold:
                    extra = ", ".join(p for p in (extra, "NO GOOD MATCH") if p)
                lines.append(head + (f" ({extra})" if extra else ""))
            lines.extend(rows[1 + offset: 1 + offset + len(group)])
            offset += len(group)
        hidden = len(self.frame) - len(shown)
        if hidden > 0:
            lines.append(f"… {hidden} more rows ({len(self.frame)} in all); "
                         "show(results, max_rows=...) shows more")
        if "conf" in table.columns and table["conf"].str.endswith("!").any():
            lines.append(f"(! = confidence below the no-good-match threshold {self.threshold:.2f})")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        return self.to_text()


def show(results: pd.DataFrame, *, query: str | None = None, max_rows: int = _DEFAULT_MAX_ROWS,
         columns: Sequence[str] | None = None, text_cols: Sequence[str] | None = None,
         threshold: float | None = None, matcher: Matcher | None = None) -> ResultView:
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
    threshold : float, optional
        Confidence below which the badge turns red; default the matcher's
        calibration threshold, else the shipped calibration's when the results
        have confidences.
    matcher : Matcher, optional
        The matcher that made the results (for text columns and threshold).

    Returns
    -------
    ResultView
        Renders as HTML in Jupyter and as text with ``print``; ``.frame`` is
        ``results`` itself.

    Examples
    --------
    >>> res = m.search("seminar kit bernuansa tapis", k=5)
    >>> show(res, query="seminar kit bernuansa tapis")        # or res.pipe(show)
    >>> show(m.match(needs, id_col="need_id", text_col=["need", "spec"], k=3), matcher=m)
    """
    return ResultView(results, query=query, max_rows=max_rows, columns=columns, text_cols=text_cols,
                      threshold=threshold, matcher=matcher)
