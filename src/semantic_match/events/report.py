"""The HTML report of an event, ``report.html``: self-contained and printable.

The report has its CSS inline and its three charts as PNG ``data:`` URIs (no
external files, :mod:`.charts`), escapes every text, and prints one agenda per
page. :func:`~semantic_match.events.exports.export_event` writes it.
"""

from __future__ import annotations

import datetime as _dt
import html
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..io.frames import is_missing
from ..io.html import ACCENT, MUTED
from ..version import __version__
from .charts import confidence_histogram, meetings_per_slot, needs_per_supplier
from .parties import Parties
from .summary import party_agendas, summary_rows

if TYPE_CHECKING:
    from .event import EventResult

__all__ = ["render_html"]

_PAIRS_SHOWN = 10  # best suppliers listed per buyer in the HTML report

# Colours that carry meaning come from the package's palette, as in the charts and notebooks.
_CSS = """
body { font-family: "Segoe UI", Roboto, Arial, sans-serif; color: #1a202c; background: #fff;
       margin: 2rem auto; max-width: 1100px; padding: 0 1rem; line-height: 1.4; font-size: 14px; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { font-size: 1.25rem; border-bottom: 2px solid #cbd5e0;
     padding-bottom: .2rem; margin-top: 2rem; } h3 { font-size: 1.05rem; margin: 1.2rem 0 .4rem; }
.meta, .note { color: @MUTED@; font-size: .9rem; }
nav a { margin-right: 1rem; color: @ACCENT@; }
table { border-collapse: collapse; width: 100%; margin: .4rem 0 1rem; font-size: .85rem; }
th, td { border: 1px solid #cbd5e0; padding: 3px 6px; text-align: left; vertical-align: top; }
th { background: #edf2f7; } td.num { text-align: right; white-space: nowrap; }
table.kv { width: auto; } table.kv th { width: 22rem; }
figure { margin: 1rem 0; } figure img { max-width: 100%; border: 1px solid #e2e8f0; }
figcaption { color: @MUTED@; font-size: .85rem; }
.tag { border: 1px solid #a0aec0; border-radius: 3px; padding: 0 3px; font-size: .75rem; }
.empty { color: @MUTED@; font-style: italic; }
@page { size: A4; margin: 14mm; }
@media print {
  body { margin: 0; max-width: none; font-size: 10pt; color: #000; background: #fff; }
  nav { display: none; }
  th { background: none; border-bottom: 2px solid #000; }
  section.agenda { break-before: page; page-break-before: always; }
  tr, figure { break-inside: avoid; page-break-inside: avoid; }
  a { color: #000; text-decoration: none; }
}
""".replace("@ACCENT@", ACCENT).replace("@MUTED@", MUTED)


def _e(value: Any) -> str:
    if is_missing(value):
        return ""
    return html.escape(str(value), quote=True)


def _num(value: Any, digits: int = 3) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else ""
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    try:
        v = float(value)
    except (TypeError, ValueError):
        return _e(value)
    return "" if np.isnan(v) else f"{v:.{digits}f}"


def _table(
    frame: pd.DataFrame, columns: Sequence[tuple[str, str]], *, numeric: Sequence[str] = (), empty: str = "none"
) -> str:
    """An HTML table of ``frame``'s columns ``[(column, header), …]``, every cell escaped."""
    if frame.empty:
        return f'<p class="empty">{_e(empty)}</p>'
    head = "".join(f"<th>{_e(h)}</th>" for _, h in columns)
    rows = []
    for rec in frame[[c for c, _ in columns]].itertuples(index=False):
        cells = []
        for (col, _), value in zip(columns, rec):
            if col in numeric:
                cells.append(f'<td class="num">{_num(value)}</td>')
            elif isinstance(value, (bool, np.bool_)):
                cells.append(f"<td>{'yes' if value else ''}</td>")
            else:
                cells.append(f"<td>{_e(value)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _charts(result: EventResult) -> list[tuple[str, str, str]]:
    m = result.matches
    top = m[m["rank"] == 1] if len(m) else m
    conf = pd.to_numeric(top["confidence"], errors="coerce").to_numpy() if len(top) else np.zeros(0)
    served = (
        result.pair_scores.groupby("supplier_id")["needs_served"].sum()
        if len(result.pair_scores)
        else pd.Series(dtype=int)
    )
    per_slot = result.meetings["slot"].value_counts()
    labels = [s.label for s in result.slots]
    return [
        (
            "Confidence of each need's best product",
            confidence_histogram(conf, result.min_confidence),
            f"Needs left of the dashed line (confidence below {result.min_confidence:.2f}) have no good local "
            f"product: they are listed under Unmet needs.",
        ),
        (
            "Needs served per supplier",
            needs_per_supplier([result.suppliers.name(s) for s in served.index], served.to_numpy().tolist()),
            "Number of needs for which the supplier has a product at or above the threshold (25 largest).",
        ),
        (
            "Meetings per slot",
            meetings_per_slot(labels, [int(per_slot.get(s, 0)) for s in labels], len(result.tables)),
            "Meetings held in each slot; the dashed line is the number of tables.",
        ),
    ]


def _party_info(parties: Parties, party: str) -> str:
    row = parties.table[parties.table[f"{parties.role}_id"] == party]
    if row.empty:
        return ""
    rec = row.iloc[0]
    parts = [
        f"{_e(col)}: {_e(rec[col])}"
        for col in parties.table.columns
        if col not in (f"{parties.role}_id", parties.role) and pd.notna(rec[col]) and str(rec[col]).strip()
    ]
    present = parties.availability.get(party)
    parts.append("present: " + (_e(", ".join(present)) if present is not None else "all slots"))
    return " · ".join(parts)


def render_html(result: EventResult, *, title: str) -> str:
    """The self-contained HTML report of an event (see the module docstring)."""
    s = result.schedule
    out = [
        f'<!DOCTYPE html>\n<html lang="id"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        f'<header><h1>{_e(title)}</h1><p class="meta">Generated '
        f"{_e(_dt.datetime.now().strftime('%Y-%m-%d %H:%M'))} by semantic_match {_e(__version__)} · "
        f"{len(result.meetings)} meetings, {len(result.buyers.ids)} buyers, "
        f"{len(result.suppliers.ids)} suppliers</p></header>",
        '<nav><a href="#summary">Summary</a><a href="#charts">Charts</a><a href="#schedule">Schedule</a>'
        '<a href="#pairs">Best suppliers</a><a href="#unmet">Unmet needs</a>'
        '<a href="#buyers">Buyer agendas</a><a href="#suppliers">Supplier agendas</a></nav>',
        '<section id="summary"><h2>Summary</h2><table class="kv"><tbody>',
    ]
    for key, value in summary_rows(result, title):
        out.append(f"<tr><th>{_e(key)}</th><td>{_e(value)}</td></tr>")
    out.append(
        '</tbody></table><p class="note">A pair\'s score comes from the calibrated confidence of the '
        "products behind it; <em>explanation</em> lists need → product (confidence). The total score is "
        f"within {s.gap:.2%} of the best possible (LP bound).</p></section>"
    )

    out.append('<section id="charts"><h2>Charts</h2>')
    for caption, uri, note in _charts(result):
        out.append(
            f'<figure><img alt="{_e(caption)}" src="{uri}"><figcaption><strong>{_e(caption)}.</strong> '
            f"{_e(note)}</figcaption></figure>"
        )
    out.append("</section>")

    meet_cols = [
        ("time", "time"),
        ("table", "table"),
        ("buyer", "buyer"),
        ("supplier", "supplier"),
        ("score", "score"),
        ("explanation", "why (need → product, confidence)"),
    ]
    out.append('<section id="schedule"><h2>Schedule</h2>')
    for slot in result.slots:
        here = result.meetings[result.meetings["slot"] == slot.label]
        out.append(f"<h3>{_e(slot.span)} · {len(here)} meeting(s)</h3>")
        out.append(_table(here, meet_cols[1:], numeric=["score"], empty="no meetings"))
    out.append("</section>")

    pairs = result.pair_scores
    out.append(
        f'<section id="pairs"><h2>Best suppliers per buyer</h2><p class="note">Up to {_PAIRS_SHOWN} '
        f"suppliers per buyer by pair score ({_e(result.settings.get('aggregation'))}); all pairs are in "
        f"pair_scores.csv.</p>"
    )
    shown = pairs[pairs["rank"] <= _PAIRS_SHOWN] if len(pairs) else pairs
    out.append(
        _table(
            shown,
            [
                ("buyer", "buyer"),
                ("rank", "rank"),
                ("supplier", "supplier"),
                ("score", "score"),
                ("needs_served", "needs served"),
                ("explanation", "need → product (confidence)"),
                ("detail", "in words"),
            ],
            numeric=["score", "rank", "needs_served"],
            empty="no pair has a served need",
        )
    )
    out.append("</section>")

    out.append(
        f'<section id="unmet"><h2>Unmet needs: opportunities for local industry</h2><p class="note">'
        f"{len(result.unmet)} of {len(result.needs)} needs have no product with confidence "
        f"≥ {result.min_confidence:.2f}. Grouped by the category of their best (weak) match:</p>"
    )
    out.append(
        _table(
            result.unmet_by_category,
            [
                ("category", "category of the weak best match"),
                ("unmet_needs", "needs"),
                ("buyers", "buyers"),
                ("need_ids", "need ids"),
            ],
            numeric=["unmet_needs", "buyers"],
            empty="every need is served",
        )
    )
    out.append("<h3>By buyer</h3>")
    by_buyer = result.unmet_by_buyer
    out.append(
        _table(
            by_buyer,
            [("buyer", "buyer"), ("unmet_needs", "needs"), ("need_ids", "need ids")],
            numeric=["unmet_needs"],
            empty="every need is served",
        )
    )
    out.append("<h3>The needs</h3>")
    unmet = (
        result.unmet.assign(buyer=result.unmet["buyer_id"].map(result.buyers.name))
        if len(result.unmet)
        else result.unmet
    )
    name_col = result.settings.get("item_name_col")
    cols = [("need_id", "need"), ("buyer", "buyer"), ("need_text", "text"), ("confidence", "best confidence")]
    if isinstance(name_col, str) and name_col in unmet.columns:
        cols.append((name_col, "best (weak) product"))
    out.append(_table(unmet, cols, numeric=["confidence"], empty="every need is served"))
    out.append("</section>")

    out.append('<div id="buyers"></div>')
    agenda_cols = [
        ("time", "time"),
        ("table", "table"),
        ("@other", ""),
        ("score", "score"),
        ("explanation", "need → product (confidence)"),
        ("detail", "in words"),
    ]
    for role, parties, other, other_name in (
        ("buyer", result.buyers, "supplier", "supplier"),
        ("supplier", result.suppliers, "buyer", "buyer"),
    ):
        if role == "supplier":
            out.append('<div id="suppliers"></div>')
        agendas = party_agendas(result, role)
        for party in parties.ids:
            agenda = agendas[party]
            cols = [(other if c == "@other" else c, other_name if c == "@other" else h) for c, h in agenda_cols]
            out.append(
                f'<section class="agenda"><h2>Agenda · {_e(role)}: {_e(parties.name(party))}</h2>'
                f'<p class="meta">id {_e(party)} · {_party_info(parties, party)} · '
                f"{len(agenda)} meeting(s)</p>"
            )
            out.append(_table(agenda, cols, numeric=["score"], empty="no meetings scheduled"))
            out.append("</section>")
    out.append("</body></html>\n")
    return "\n".join(out)
