"""Stage 5 of an event, schedule: the candidates into meetings, with times, names and reasons.

:func:`schedule_event` takes the candidates (stage 4), hands them with the
organiser's constraints to the scheduler (:mod:`.scheduling`, an integer
program), and turns its :class:`Schedule` into the event's table of meetings
(:func:`meetings_table`). The scheduler's public names (:func:`schedule_meetings`,
:func:`validate_schedule`, :class:`Schedule`, :class:`ScheduleError`) are
importable from here too, as they were when this module held the scheduler.
"""

from __future__ import annotations

import logging
from typing import NamedTuple

import pandas as pd

from ..errors import ScheduleError
from .candidates import Candidates
from .compat import renamed_keywords
from .inputs import EventInputs
from .parties import Parties
from .scheduling import Schedule, schedule_meetings, validate_schedule
from .scheduling.model import empty_meetings
from .slots import Slot

__all__ = [
    "EventSchedule",
    "schedule_event",
    "schedule_candidates",
    "meetings_table",
    "agenda_columns",
    "MEETINGS_COLUMNS",
    "Schedule",
    "schedule_meetings",
    "validate_schedule",
    "ScheduleError",
]

logger = logging.getLogger(__name__)

#: Columns of the event's meetings table (``schedule.csv``), in order.
MEETINGS_COLUMNS = [
    "slot",
    "time",
    "table",
    "buyer_id",
    "buyer",
    "supplier_id",
    "supplier",
    "score",
    "needs_served",
    "explanation",
    "detail",
    "fixed",
    "must_meet",
]


def agenda_columns(role: str) -> list[str]:
    """Columns of a buyer's (``role="buyer"``) or a supplier's agenda: the other party named, then why."""
    other = ["supplier_id", "supplier"] if role == "buyer" else ["buyer_id", "buyer"]
    return ["slot", "time", "table", *other, "score", "needs_served", "explanation", "detail", "fixed", "must_meet"]


class EventSchedule(NamedTuple):
    """What the schedule stage hands on: the solver's schedule and the event's meetings table."""

    schedule: Schedule
    meetings: pd.DataFrame


def schedule_event(candidates: Candidates, inputs: EventInputs, *, time_limit: float = 60.0) -> EventSchedule:
    """Schedule an event's candidates and describe every meeting.

    Parameters
    ----------
    candidates : Candidates
        Stage 4 (:func:`~semantic_match.events.candidates.choose_candidates`).
    inputs : EventInputs
        Slots, tables, parties, the organiser's lists and caps.
    time_limit : float
        Seconds for the solver.
    """
    schedule = schedule_candidates(
        candidates.offered,
        labels=[s.label for s in inputs.slots],
        table_labels=inputs.tables,
        buyers=inputs.buyers,
        suppliers=inputs.suppliers,
        must_meet=inputs.must_meet,
        do_not_meet=inputs.do_not_meet,
        fixed=inputs.fixed,
        max_per_buyer=inputs.max_per_buyer,
        max_per_supplier=inputs.max_per_supplier,
        time_limit=time_limit,
    )
    meetings = meetings_table(schedule, candidates.pair_scores, inputs.slots, inputs.buyers, inputs.suppliers)
    return EventSchedule(schedule=schedule, meetings=meetings)


def _restrict(value, keep: set[str]):
    return {k: v for k, v in value.items() if k in keep} if isinstance(value, dict) else value


@renamed_keywords(must="must_meet", dnm="do_not_meet")
def schedule_candidates(
    cand_pairs: pd.DataFrame,
    *,
    labels: list[str],
    table_labels: list,
    buyers: Parties,
    suppliers: Parties,
    must_meet: list,
    do_not_meet: list,
    fixed: pd.DataFrame,
    max_per_buyer,
    max_per_supplier,
    time_limit: float,
) -> Schedule:
    """Schedule the candidate pairs (an empty schedule when there are none).

    ``must`` and ``dnm`` are the deprecated names of ``must_meet`` and ``do_not_meet``.
    """
    if cand_pairs.empty:
        logger.warning("no buyer-supplier pair has a match at or above the minimum confidence; no meetings")
        return Schedule(
            meetings=empty_meetings(),
            objective=0.0,
            bound=0.0,
            gap=0.0,
            status="optimal (no candidate pairs)",
            solve_seconds=0.0,
            slots=tuple(labels),
            buyers=tuple(buyers.ids),
            suppliers=tuple(suppliers.ids),
        )
    in_b, in_s = set(cand_pairs["buyer_id"]), set(cand_pairs["supplier_id"])
    # The scheduler knows only the parties of the candidate pairs; the others have nothing to schedule.
    return schedule_meetings(
        cand_pairs,
        slots=labels,
        tables=table_labels,
        max_per_buyer=_restrict(max_per_buyer, in_b),
        max_per_supplier=_restrict(max_per_supplier, in_s),
        buyer_availability=_restrict(buyers.availability, in_b),
        supplier_availability=_restrict(suppliers.availability, in_s),
        must_meet=must_meet,
        do_not_meet=[(b, s) for b, s in do_not_meet if b in in_b and s in in_s],
        fixed=fixed if len(fixed) else None,
        time_limit=time_limit,
    )


def meetings_table(
    schedule: Schedule, pairs: pd.DataFrame, slots: list[Slot], buyers: Parties, suppliers: Parties
) -> pd.DataFrame:
    """The meetings with times, party names and the explanation of each pair (:data:`MEETINGS_COLUMNS`)."""
    m = schedule.meetings
    span = {s.label: s.span for s in slots}
    info = pairs.set_index(["buyer_id", "supplier_id"])[["needs_served", "explanation", "detail"]]
    keys = list(zip(m["buyer_id"], m["supplier_id"]))
    found = info.reindex(pd.MultiIndex.from_tuples(keys, names=["buyer_id", "supplier_id"])) if keys else info.iloc[:0]
    return pd.DataFrame(
        {
            "slot": m["slot"].to_numpy(),
            "time": [span[s] for s in m["slot"]],
            "table": m["table"].to_numpy(),
            "buyer_id": m["buyer_id"].to_numpy(),
            "buyer": [buyers.name(b) for b in m["buyer_id"]],
            "supplier_id": m["supplier_id"].to_numpy(),
            "supplier": [suppliers.name(s) for s in m["supplier_id"]],
            "score": m["score"].to_numpy(dtype=float),
            "needs_served": found["needs_served"].fillna(0).astype(int).to_numpy(),
            "explanation": found["explanation"].fillna("(must-meet or fixed by the organiser)").to_numpy(),
            "detail": found["detail"].fillna("").to_numpy(),
            "fixed": m["fixed"].to_numpy(dtype=bool),
            "must_meet": m["must_meet"].to_numpy(dtype=bool),
        },
        columns=MEETINGS_COLUMNS,
    )
