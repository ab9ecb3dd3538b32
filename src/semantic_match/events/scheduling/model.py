"""A solved meeting schedule, and the agendas read from a table of meetings.

:func:`party_agenda` is the one way an agenda is cut from meetings: the
scheduler's :class:`Schedule`, the event's :class:`~semantic_match.events.event.EventResult`
and the exports all use it, each with its own columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ...errors import InputError
from ..values import id_key, known_ids_phrase

__all__ = ["Schedule", "MEETING_COLUMNS", "empty_meetings", "party_agenda", "agendas_by_party"]

#: Columns of :attr:`Schedule.meetings`, in order.
MEETING_COLUMNS = ["buyer_id", "supplier_id", "slot", "table", "score", "fixed", "must_meet"]

_SCHEDULE_AGENDA = ["slot", "table", "{other}_id", "score", "fixed", "must_meet"]


@dataclass(frozen=True, eq=False)
class Schedule:
    """A solved meeting schedule.

    Attributes
    ----------
    meetings : DataFrame
        One row per meeting: ``buyer_id`` (str), ``supplier_id`` (str), ``slot``
        (a label of ``slots``), ``table`` (a table label), ``score`` (float),
        ``fixed`` (bool, fixed by the organiser), ``must_meet`` (bool); sorted
        by slot order, then table order.
    objective : float
        Total score of the meetings, fixed ones included.
    bound : float
        Upper bound on the best possible total score: the LP relaxation's optimum
        (HiGHS's own bound if the LP relaxation ran out of time).
    gap : float
        ``(bound - objective) / bound``, 0 when ``bound`` is 0.
    status : str
        What the solver reported: starts with ``"optimal"`` (then how optimality
        was proven and HiGHS's message) or ``"time limit reached"`` (then the gap).
    solve_seconds : float
        Wall-clock seconds spent in HiGHS (LP relaxation and integer program).
    slots, buyers, suppliers : tuple
        The slot labels in order, and every buyer and supplier id of the input.
    """

    meetings: pd.DataFrame
    objective: float
    bound: float
    gap: float
    status: str
    solve_seconds: float
    slots: tuple = field(default=(), repr=False)
    buyers: tuple[str, ...] = field(default=(), repr=False)
    suppliers: tuple[str, ...] = field(default=(), repr=False)

    def __repr__(self) -> str:
        return (
            f"Schedule(meetings={len(self.meetings)}, objective={self.objective:.4f}, "
            f"bound={self.bound:.4f}, gap={self.gap:.2%}, status={self.status!r}, "
            f"solve_seconds={self.solve_seconds:.2f})"
        )

    def buyer_agenda(self, buyer_id: Any) -> pd.DataFrame:
        """Meetings of one buyer sorted by slot: ``slot, table, supplier_id, score, fixed, must_meet``.

        Examples
        --------
        >>> sched.buyer_agenda("DISKOP")  # doctest: +SKIP
            slot  table supplier_id  score  fixed  must_meet
        0  09:00      1     TAPIS01   0.91  False      False
        """
        columns = [c.format(other="supplier") for c in _SCHEDULE_AGENDA]
        return party_agenda(self.meetings, "buyer", buyer_id, columns, known=sorted(self.buyers) or None)

    def supplier_agenda(self, supplier_id: Any) -> pd.DataFrame:
        """Meetings of one supplier sorted by slot: ``slot, table, buyer_id, score, fixed, must_meet``."""
        columns = [c.format(other="buyer") for c in _SCHEDULE_AGENDA]
        return party_agenda(self.meetings, "supplier", supplier_id, columns, known=sorted(self.suppliers) or None)


def empty_meetings() -> pd.DataFrame:
    """A table of no meetings with the columns and types of :attr:`Schedule.meetings`."""
    types = {
        "buyer_id": object,
        "supplier_id": object,
        "slot": object,
        "table": object,
        "score": float,
        "fixed": bool,
        "must_meet": bool,
    }
    return pd.DataFrame({c: pd.Series(dtype=types[c]) for c in MEETING_COLUMNS})


def party_agenda(
    meetings: pd.DataFrame, role: str, party: Any, columns: Sequence[str], *, known: Sequence[str] | None
) -> pd.DataFrame:
    """The meetings of one buyer or supplier, in the order of ``meetings`` (slot order).

    Parameters
    ----------
    meetings : DataFrame
        Meetings with a ``{role}_id`` column, sorted by slot.
    role : {"buyer", "supplier"}
    party : str
        The party's id (compared as :func:`~semantic_match.events.values.id_key` text).
    columns : sequence of str
        Columns of the agenda.
    known : sequence of str, optional
        The ids of the role; an id not among them is an :class:`InputError`
        listing them (in the order given). None skips the check.
    """
    key = id_key(party)
    if known is not None and key not in set(known):
        raise InputError(f"unknown {role} id {key!r}; {known_ids_phrase(role, known)}")
    rows = meetings[meetings[f"{role}_id"] == key]
    return rows[list(columns)].reset_index(drop=True)


def agendas_by_party(
    meetings: pd.DataFrame, role: str, ids: Sequence[str], columns: Sequence[str]
) -> dict[str, pd.DataFrame]:
    """Every party's agenda, as :func:`party_agenda` gives it, computed in one pass over ``meetings``."""
    cols = list(columns)
    groups = {k: g[cols].reset_index(drop=True) for k, g in meetings.groupby(f"{role}_id", sort=False)}
    empty = meetings.iloc[:0][cols].reset_index(drop=True)
    return {party: groups.get(party, empty) for party in ids}
