"""What every export of an event shows: the summary rows and the agendas of all parties.

Shared by the CSV files and the workbook (:mod:`.exports`, :mod:`.workbook`) and
the HTML report (:mod:`.report`), so the three always agree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from .schedule import agenda_columns
from .scheduling.model import agendas_by_party

if TYPE_CHECKING:
    from .event import EventResult

__all__ = ["summary_rows", "party_agendas", "agenda_table"]


def summary_rows(result: EventResult, title: str) -> list[tuple[str, object]]:
    """The event in a few (label, value) rows: counts, settings and the schedule's quality."""
    s = result.schedule
    return [
        ("event", title),
        ("needs", len(result.needs)),
        ("buyers", len(result.buyers.ids)),
        ("suppliers", len(result.suppliers.ids)),
        ("catalogue products", result.settings.get("n_items")),
        ("unmet needs (best confidence below threshold)", len(result.unmet)),
        ("minimum confidence (threshold)", round(result.min_confidence, 4)),
        (
            "pair score",
            f"{result.settings.get('aggregation')}"
            + (
                f" (top_n = {result.settings.get('top_n')})"
                if result.settings.get("aggregation") == "mean_top_n"
                else ""
            ),
        ),
        ("buyer x supplier pairs", len(result.pair_scores)),
        ("candidate suppliers per buyer", result.settings.get("candidates_per_buyer")),
        ("slots", f"{len(result.slots)}: {result.slots[0].span} … {result.slots[-1].span}"),
        ("tables", len(result.tables)),
        ("meetings", len(result.meetings)),
        ("total score", round(s.objective, 4)),
        ("upper bound (LP relaxation)", round(s.bound, 4)),
        ("gap", f"{s.gap:.3%}"),
        ("solver status", s.status),
    ]


def party_agendas(result: EventResult, role: str) -> dict[str, pd.DataFrame]:
    """Every buyer's (or supplier's) agenda, as :meth:`EventResult.buyer_agenda` gives it, in one pass."""
    parties = result.buyers if role == "buyer" else result.suppliers
    return agendas_by_party(result.meetings, role, parties.ids, agenda_columns(role))


def agenda_table(result: EventResult, role: str) -> pd.DataFrame:
    """All agendas of a role in one table, party by party (``agenda_buyers.csv``, ``agenda_suppliers.csv``)."""
    columns = [f"{role}_id", role, *agenda_columns(role)]
    m = result.meetings
    return m.sort_values([f"{role}_id", "slot"], kind="stable")[columns].reset_index(drop=True)
