"""Marking the words of a need in product text, compared as the matcher compares them.

A word of the text is marked when, after :func:`normalize_text` and the
matcher's tokenizer, it equals a term or starts with a long one, so the term
``kapasitas`` marks ``Kap.`` and ``tapis`` marks ``TAPISNYA``. The text itself
is shown as written, HTML-escaped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from ..io.html import MARK_STYLE, RELATED_STYLE, escape
from ..text import normalize_text, tokenize
from .format import display_text

__all__ = ["highlight_terms", "query_terms"]

# Words of display text; decimals such as "1,2" or "1.000" stay one word.
_WORD = re.compile(r"[^\W_]+(?:[.,][0-9]+)*")


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


def query_terms(query: str, *, stem: bool = False) -> list[str]:
    """The distinct words of a query as the matcher's lexical channels see them, in order.

    Examples
    --------
    >>> query_terms("Seminar Kit bernuansa TAPIS, kit")
    ['seminar', 'kit', 'bernuansa', 'tapis']
    """
    return list(dict.fromkeys(tokenize(normalize_text(query), stem=stem)))


def highlight_terms(text: object, terms: Iterable[str], *, related: Iterable[str] = (), stem: bool = False) -> str:
    """Escape ``text`` for HTML and wrap the words matching ``terms`` in ``<mark>``.

    Words are compared after :func:`normalize_text`, so ``"Tapis"`` matches the
    term ``"tapis"`` and ``"Kap."`` matches ``"kapasitas"``; a word also matches
    when it starts with a term of four letters or more.

    Parameters
    ----------
    text : str
        Product or need text as stored in the catalogue.
    terms : iterable of str
        Normalized query words, e.g. ``"seminar kit tapis".split()``.
    related : iterable of str
        Words to underline instead (e.g. the product's words similar to a
        need word it lacks); compared whole, after normalization.
    stem : bool
        Stem the text's words first (when the matcher stems, its terms are stems).

    Returns
    -------
    str
        Safe HTML.

    Examples
    --------
    >>> import re
    >>> html = highlight_terms("Seminar Kit Tapis <Eksklusif>", ["tapis", "kit"])
    >>> re.findall(r"<mark[^>]*>(.*?)</mark>", html), html.endswith(" &lt;Eksklusif&gt;")
    (['Kit', 'Tapis'], True)
    """
    text = display_text(text)
    term_set = frozenset(t for t in terms if t)
    related_set = frozenset(t for t in related if t)
    if not term_set and not related_set:
        return escape(text)
    out, pos = [], 0
    for m in _WORD.finditer(text):
        tokens = _word_tokens(m.group(0), stem)
        if _matches_term(tokens, term_set):
            out.append(escape(text[pos : m.start()]))
            out.append(f'<mark style="{MARK_STYLE}">{escape(m.group(0))}</mark>')
            pos = m.end()
        elif related_set.intersection(tokens):
            out.append(escape(text[pos : m.start()]))
            out.append(f'<u class="sm-related" style="{RELATED_STYLE}">{escape(m.group(0))}</u>')
            pos = m.end()
    out.append(escape(text[pos:]))
    return "".join(out)
