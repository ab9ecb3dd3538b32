"""Why did a product rank where it did for a need?

:func:`explain_match` gathers, for one (need, product) pair, everything an
analyst needs to judge the match: the raw channel scores and each channel's
share of the ranking score, the calibrated confidence, the product's rank, the
need's words found in the product, the words it lacks (with the product's most
similar words by character n-grams, e.g. "perontokan" ~ "perontok") and the
nearest alternative products.
"""

from __future__ import annotations

import difflib
import logging
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import InputError, format_list
from ..io.html import LOW, MARK_STYLE, MUTED, NEUTRAL, OK, RELATED_STYLE, TD_STYLE, TH_STYLE, escape
from ..retrieval.fusion import contributions as fusion_contributions
from ..text import normalize_text, tokenize
from .columns import key_columns
from .format import MISSING, display_text, format_percent, format_rupiah, is_missing
from .highlight import highlight_terms
from .html_parts import badge_html, bar_html
from .view import ResultView

if TYPE_CHECKING:
    from ..retrieval.filters import Filters
    from ..retrieval.matcher import Matcher

__all__ = ["explain_match", "Explanation", "RelatedTerm"]

logger = logging.getLogger(__name__)

_CHANNEL_NAMES = {"dense": "dense (embedding cosine)", "char": "char n-gram cosine", "bm25": "BM25 words"}


@dataclass(frozen=True)
class RelatedTerm:
    """A word of the need that the product text lacks.

    Attributes
    ----------
    term : str
        The normalized need word, e.g. ``"perontokan"``.
    similar : tuple of (str, float)
        The product's words most similar to it by character n-gram cosine
        (the matcher's own char TF-IDF), best first, e.g.
        ``(("perontok", 0.88),)``; empty when none is similar enough.
    """

    term: str
    similar: tuple[tuple[str, float], ...] = ()

    def __str__(self) -> str:
        if not self.similar:
            return f"{self.term} (no similar word)"
        return f"{self.term} ~ " + ", ".join(f"{w} ({s:.2f})" for w, s in self.similar)


@dataclass
class Explanation:
    """Everything about one product's ranking for one need.

    Attributes
    ----------
    need : str
        The need as given; ``need_normalized`` as the matcher compared it.
    item_id : str
    item : Series
        The product's catalogue row (id, text and metadata columns).
    rank : int
        The product's rank for the need (1 = best) among ``n_ranked`` products
        (those passing the filters).
    score : float
        The ranking score, as in ``search()``.
    confidence : float
        Calibrated probability that the product is relevant (NaN without a
        calibration); ``threshold`` the no-good-match threshold.
    dense_score, char_score, bm25_score : float
        Raw channel scores (NaN when a channel is off).
    contributions : dict of str to float
        Each channel's part of ``score`` (weight × min-max-rescaled score for
        convex fusion, weight / (rrf_k + channel rank) for RRF); they add up to it.
    shared_terms : list of str
        The need's words found in the product (as ``matched_terms``).
    related_terms : list of RelatedTerm
        The need's words not in the product, each with similar product words.
    alternatives : DataFrame
        The best other products for the need, as rows of ``search()``, best first.
    weights : dict of str to float
        The matcher's fusion weights.
    threshold : float or None
        The no-good-match threshold of the matcher's calibration.
    text_cols : tuple of str
        The catalogue's text columns (the first is the product name).
    key_columns : dict
        Catalogue columns holding supplier, region, category, price, unit and
        TKDN (see :func:`semantic_match.notebook.columns.key_columns`).
    """

    need: str
    need_normalized: str
    item_id: str
    item: pd.Series
    rank: int
    n_ranked: int
    score: float
    confidence: float
    dense_score: float
    char_score: float
    bm25_score: float
    contributions: dict[str, float]
    weights: dict[str, float]
    shared_terms: list[str]
    related_terms: list[RelatedTerm]
    alternatives: pd.DataFrame
    threshold: float | None = None
    text_cols: tuple[str, ...] = ()
    stem: bool = False
    key_columns: dict[str, str | None] = field(default_factory=dict, repr=False)

    @property
    def missing_terms(self) -> list[str]:
        """Need words with no similar word in the product."""
        return [r.term for r in self.related_terms if not r.similar]

    @property
    def verdict(self) -> str:
        """Either "good match", "no good match" or "no calibration" (confidence against threshold)."""
        if not math.isfinite(self.confidence) or self.threshold is None:
            return "no calibration"
        return "good match" if self.confidence >= self.threshold else "no good match"

    def _title(self) -> str:
        return display_text(self.item.get(self.text_cols[0], "")) if self.text_cols else ""

    def _metadata(self) -> list[tuple[str, str]]:
        out = []
        for label in ("supplier", "region", "category", "price", "tkdn"):
            col = self.key_columns.get(label)
            if col is None:
                continue
            value = self.item.get(col)
            if label == "price":
                text = format_rupiah(value)
                unit = self.key_columns.get("unit")
                if unit is not None and text != MISSING and not is_missing(self.item.get(unit)):
                    text += f" / {display_text(self.item.get(unit))}"
            elif label == "tkdn":
                text = format_percent(value)
            else:
                text = MISSING if is_missing(value) else display_text(value)
            out.append((col, text))
        return out

    def _alternatives_view(self) -> ResultView:
        cols = [self.key_columns.get(k) for k in ("supplier", "region", "price", "tkdn")]
        return ResultView(
            self.alternatives,
            text_cols=self.text_cols,
            min_confidence=self.threshold,
            columns=[c for c in cols if c is not None and c in self.alternatives.columns],
        )

    # ------------------------------------------------------------- text
    def __str__(self) -> str:
        conf = MISSING if not math.isfinite(self.confidence) else f"{self.confidence:.2f}"
        thr = f", threshold {self.threshold:.2f}: {self.verdict}" if self.threshold is not None else ""
        lines = [
            f'Why {self.item_id} "{self._title()}" for the need "{display_text(self.need)}"',
            f"  rank {self.rank} of {self.n_ranked}, score {self.score:.3f}, confidence {conf}{thr}",
            "  channel              raw score   weight   part of score",
        ]
        raw = {"dense": self.dense_score, "char": self.char_score, "bm25": self.bm25_score}
        for ch, part in self.contributions.items():
            lines.append(
                f"  {_CHANNEL_NAMES.get(ch, ch):<20} {raw[ch]:>9.4f}   {self.weights.get(ch, 0):>6.2f}   {part:>13.3f}"
            )
        lines.append(f"  shared terms: {' '.join(self.shared_terms) or '(none)'}")
        if self.related_terms:
            lines.append("  not in the product: " + "; ".join(str(r) for r in self.related_terms))
        meta = ", ".join(f"{k}: {v}" for k, v in self._metadata())
        if meta:
            lines.append(f"  {meta}")
        if len(self.alternatives):
            lines.append("nearest alternatives:")
            lines.append(self._alternatives_view().to_text())
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"Explanation(item_id={self.item_id!r}, rank={self.rank}, score={self.score:.4f}, "
            f"confidence={self.confidence:.4f}, shared_terms={self.shared_terms!r})"
        )

    # ------------------------------------------------------------- HTML
    def _repr_html_(self) -> str:
        esc = escape  # short: it wraps every value below
        font = "font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;font-size:13px;line-height:1.4"
        conf = MISSING if not math.isfinite(self.confidence) else f"{self.confidence:.2f}"
        colors = {"good match": OK, "no good match": LOW}.get(self.verdict, NEUTRAL)
        badge = badge_html(
            f"confidence {conf} · {self.verdict}",
            colors,
            css_class="sm-conf",
            title="calibrated probability that the product is relevant"
            + (f"; threshold {self.threshold:.2f}" if self.threshold is not None else ""),
        )
        parts = [
            f'<div class="sm-explain" style="{font};max-width:980px">',
            f'<div style="font-size:15px;margin-bottom:4px">Why <b>{esc(str(self.item_id))}</b> for '
            f'<span style="color:{MUTED}">“</span>{esc(display_text(self.need))}'
            f'<span style="color:{MUTED}">”</span></div>',
            f'<div style="margin-bottom:8px">rank <b>{self.rank}</b> of {self.n_ranked} · score '
            f"<b>{self.score:.3f}</b> · {badge}</div>",
        ]
        # The product, with the need's words highlighted.
        similar = [w for r in self.related_terms for w, _ in r.similar]
        for i, col in enumerate(self.text_cols):
            text = highlight_terms(self.item.get(col, ""), self.shared_terms, related=similar, stem=self.stem)
            style = "font-weight:600" if i == 0 else f"color:{MUTED};font-size:12px"
            parts.append(f'<div style="{style}">{text}</div>')
        meta = " · ".join(f"{esc(k)}: <b>{esc(v)}</b>" for k, v in self._metadata())
        if meta:
            parts.append(f'<div style="margin:2px 0 10px;font-size:12px">{meta}</div>')
        # Channels.
        rows = []
        raw = {"dense": self.dense_score, "char": self.char_score, "bm25": self.bm25_score}
        total = max(self.score, 1e-12)
        for ch, part in self.contributions.items():
            bar = bar_html(part, part / total, title="share of the ranking score")
            rows.append(
                f'<tr><td style="{TD_STYLE}">{esc(_CHANNEL_NAMES.get(ch, ch))}</td>'
                f'<td style="{TD_STYLE};text-align:right">{raw[ch]:.4f}</td>'
                f'<td style="{TD_STYLE};text-align:right">{self.weights.get(ch, 0):.2f}</td>'
                f'<td style="{TD_STYLE}">{bar}</td></tr>'
            )
        parts.append(
            f'<table style="border-collapse:collapse;{font}"><thead><tr>'
            f'<th style="{TH_STYLE}">channel</th><th style="{TH_STYLE}">raw score</th>'
            f'<th style="{TH_STYLE}">weight</th><th style="{TH_STYLE}">part of score</th></tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>"
        )
        shared = " ".join(f'<mark style="{MARK_STYLE}">{esc(t)}</mark>' for t in self.shared_terms) or "(none)"
        parts.append(f'<div style="margin-top:8px"><b>shared terms</b>: {shared}</div>')
        if self.related_terms:
            items = []
            for r in self.related_terms:
                if r.similar:
                    near = ", ".join(
                        f"<u style='{RELATED_STYLE}'>{esc(w)}</u> <span style='color:{MUTED}'>({s:.2f})</span>"
                        for w, s in r.similar
                    )
                    items.append(f"<b>{esc(r.term)}</b> ~ {near}")
                else:
                    items.append(f"<b>{esc(r.term)}</b> <span style='color:{MUTED}'>(no similar word)</span>")
            parts.append("<div><b>not in the product</b>: " + "; ".join(items) + "</div>")
        if len(self.alternatives):
            parts.append('<div style="margin-top:10px;font-weight:600">nearest alternatives</div>')
            parts.append(self._alternatives_view().to_html())
        parts.append("</div>")
        return "".join(parts)


def _find_item(matcher: Matcher, item_id: object) -> int:
    ids = matcher.items[matcher.id_col].astype(str)
    key = item_id if isinstance(item_id, str) else str(item_id)
    hits = np.flatnonzero(ids.to_numpy() == key)
    if len(hits):
        return int(hits[0])
    close = difflib.get_close_matches(key, ids.tolist(), n=3, cutoff=0.6)
    hint = f"; did you mean {format_list(close)}?" if close else f"; ids look like {format_list(ids.head(3).tolist())}"
    raise InputError(
        f"unknown item_id {item_id!r}: no product in the catalogue ({len(ids)} items, id column "
        f"{matcher.id_col!r}) has it{hint}"
    )


def _related_terms(
    matcher: Matcher, query_words: list[str], item_words: list[str], *, top: int, min_similarity: float
) -> list[RelatedTerm]:
    missing = [w for w in query_words if w not in set(item_words)]
    if not missing:
        return []
    candidates = [w for w in dict.fromkeys(item_words) if w.isalpha()]
    alpha = [w for w in missing if w.isalpha()]
    sims: dict[str, tuple[tuple[str, float], ...]] = {}
    if alpha and candidates:
        lex = matcher.lexical_
        # Rows are L2-normalized TF-IDF, so the product is the cosine the char channel uses.
        s = (lex.char_vectors(alpha) @ lex.char_vectors(candidates).T).toarray()
        for word, row in zip(alpha, s):
            order = np.argsort(-row, kind="stable")[:top]
            sims[word] = tuple((candidates[j], round(float(row[j]), 3)) for j in order if row[j] >= min_similarity)
    return [RelatedTerm(w, sims.get(w, ())) for w in missing]


def explain_match(
    matcher: Matcher,
    need: str,
    item_id: object,
    *,
    alternatives: int = 5,
    filters: Filters | None = None,
    similar_terms: int = 3,
    min_similarity: float = 0.5,
) -> Explanation:
    """Explain why a product ranks where it does for a need.

    Parameters
    ----------
    matcher : Matcher
        A built matcher.
    need : str
        The need as free text, e.g. ``"mesin perontok padi kapasitas 1 ton/jam"``.
    item_id : str
        The product's id in the catalogue.
    alternatives : int
        How many other top products to list.
    filters : mapping, optional
        The metadata filters of the search being explained (see
        :meth:`Matcher.search`); rank and min-max rescaling depend on them.
    similar_terms : int
        At most this many similar product words per missing need word.
    min_similarity : float
        Character n-gram cosine a product word needs to count as similar
        ("perontok"/"perontokan" 0.88, "padi"/"pada" 0.40).

    Returns
    -------
    Explanation
        Renders as HTML in Jupyter; ``print()`` gives a text summary.

    Raises
    ------
    InputError
        ``item_id`` is not in the catalogue, or the product does not pass ``filters``.

    Examples
    --------
    >>> ex = explain_match(m, "mesin perontok padi kapasitas 1 ton/jam", "P0240")
    >>> ex.rank, ex.shared_terms
    (1, ['mesin', 'perontok', 'padi', 'kapasitas', '1', 'ton', 'jam'])
    >>> print(ex)
    """
    if not isinstance(need, str):
        raise TypeError(f"need must be a string, got {type(need).__name__}")
    if not isinstance(alternatives, (int, np.integer)) or isinstance(alternatives, bool) or alternatives < 0:
        raise InputError(f"alternatives must be an integer >= 0, got {alternatives!r}")
    matcher.check_built()
    n = matcher.n_items
    pos = _find_item(matcher, item_id)
    norm = normalize_text(need)
    if not norm:
        raise InputError("need is empty; give it as text, e.g. 'mesin perontok padi kapasitas 1 ton/jam'")
    item_id = str(matcher.items[matcher.id_col].iloc[pos])  # the catalogue stores ids as text

    # The matcher's own ranking of every item, so rank, scores and confidence equal search()'s.
    ranking = matcher.rank([need], k=n, filters=filters)
    order = ranking.indices[0]
    where = np.flatnonzero(order == pos)
    if not len(where):
        raise InputError(
            f"item {item_id!r} does not pass the filters {filters!r}, so it has no rank for "
            "this need; explain it without filters"
        )
    at = int(where[0])
    n_ranked = int((order >= 0).sum())

    if matcher.mode == "dense":
        # Dense mode ranks by the cosine itself, unfused: the one channel is the whole score.
        contributions = {"dense": float(ranking.scores[0, at])}
    else:
        # The fusion's own parts, over the same filtered items, so they add up to the score above.
        parts = fusion_contributions(
            matcher.channel_scores([norm]),
            matcher.weights_,
            method=matcher.fusion,
            rrf_k=matcher.rrf_k,
            allowed=matcher.filter_mask(filters),
        )
        contributions = {c: float(v[0, pos]) for c, v in parts.items()}

    stem = matcher.lexical_.stem
    item_text = matcher.texts[pos]
    shared = matcher.lexical_.matched_terms(norm, [item_text])[0]
    query_words = list(dict.fromkeys(tokenize(norm, stem=stem)))
    related = _related_terms(
        matcher, query_words, tokenize(item_text, stem=stem), top=similar_terms, min_similarity=min_similarity
    )

    if alternatives:
        alt = matcher.search(need, k=min(alternatives + 1, n), filters=filters)
        alt = alt[alt["item_id"] != item_id].head(alternatives).reset_index(drop=True)
    else:
        alt = pd.DataFrame()

    cal = matcher.calibration_
    items = matcher.items
    return Explanation(
        need=need,
        need_normalized=norm,
        item_id=item_id,
        item=items.iloc[pos].copy(),
        rank=at + 1,
        n_ranked=n_ranked,
        score=float(ranking.scores[0, at]),
        confidence=float(ranking.confidence[0, at]),
        dense_score=float(ranking.dense[0, at]),
        char_score=float(ranking.char[0, at]),
        bm25_score=float(ranking.bm25[0, at]),
        contributions=contributions,
        weights=dict(matcher.weights_),
        shared_terms=list(shared),
        related_terms=related,
        alternatives=alt,
        threshold=float(cal.threshold) if cal is not None else None,
        text_cols=tuple(matcher.catalog_.text_cols),
        stem=stem,
        key_columns=key_columns(matcher.catalog_.meta_cols),
    )
