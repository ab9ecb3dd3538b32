"""Meeting slots of an event and the parties' availability, parsed from short text specs.

A slots spec lists time ranges cut into meetings, single meetings, or both,
separated by commas (or ``;``)::

    09:00-12:00/20                 nine 20-minute meetings, 09:00 … 11:40
    09:00-10:20/20,10:40-12:00/20  the same with a 20-minute coffee break
    09:00-09:30                    one meeting from 09:00 to 09:30
    09:00,09:30,10:00              meetings starting then, ``minutes`` long each

Times may be written ``9:00`` or ``09.00`` (Indonesian style). A slot's label
is its start time, ``"09:00"``.

An availability text says when a buyer or supplier is present, also as a list
separated by ``;`` or ``,``: a range ``09:00-10:30`` covers every slot that
starts and ends inside it; a time ``11:00`` names one slot by its start. An
empty cell (or ``all`` / ``semua``) means present all day; ``none`` /
``tidak hadir`` means absent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..errors import InputError, format_list

__all__ = ["Slot", "parse_slots", "parse_availability", "availability_from_table"]

_TIME = r"(\d{1,2})[:.](\d{2})"
_RANGE = re.compile(rf"^{_TIME}\s*-\s*{_TIME}(?:\s*/\s*(\d+))?$")
_POINT = re.compile(rf"^{_TIME}$")
_ALL = {"", "all", "semua", "*", "sepanjang hari", "full"}
_NONE = {"none", "-", "tidak hadir", "absen", "tidak"}
_SLOTS_HINT = (
    "write e.g. '09:00-12:00/20' (20-minute meetings from 09:00 to 12:00), "
    "'09:00-10:20/20,10:40-12:00/20' (with a break) or '09:00,09:30,10:00'"
)


@dataclass(frozen=True)
class Slot:
    """One meeting slot: a label and its start and end in minutes after midnight.

    Examples
    --------
    >>> Slot("09:00", 540, 560).span
    '09:00–09:20'
    """

    label: str
    start: int
    end: int

    @property
    def span(self) -> str:
        return f"{_fmt(self.start)}–{_fmt(self.end)}"


def _fmt(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _minutes(hours: str, mins: str, text: str, what: str) -> int:
    h, m = int(hours), int(mins)
    if h > 24 or m > 59 or (h == 24 and m):
        raise InputError(f"{what}: {text!r} is not a time of day; {_SLOTS_HINT}")
    return h * 60 + m


def _split(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"[;,]", text) if p.strip()]


def parse_slots(spec: str | Sequence[Any], *, minutes: int = 20) -> list[Slot]:
    """Parse a slots spec (see the module docstring) into slots in time order.

    Parameters
    ----------
    spec : str or sequence
        A spec string, or a list of its parts (``["09:00", "09:30"]``) or of
        :class:`Slot`.
    minutes : int
        Length of a meeting given by its start time alone.

    Returns
    -------
    list of Slot
        Sorted by start; labels are the start times ``"HH:MM"``.

    Raises
    ------
    InputError
        Unparsable parts, a range too short for one meeting, or overlapping slots.

    Examples
    --------
    >>> [s.label for s in parse_slots("09:00-10:00/20")]
    ['09:00', '09:20', '09:40']
    """
    if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes < 1:
        raise InputError(f"meeting minutes must be a whole number >= 1; got {minutes!r}")
    if isinstance(spec, str):
        parts: list[Any] = _split(spec)
    elif isinstance(spec, Iterable):
        parts = list(spec)
    else:
        raise InputError(f"cannot read slots {spec!r}; {_SLOTS_HINT}")
    if not parts:
        raise InputError(f"the slots spec is empty; {_SLOTS_HINT}")
    slots: list[Slot] = []
    for part in parts:
        if isinstance(part, Slot):
            slots.append(part)
            continue
        text = str(part).strip()
        what = f"cannot parse slots part {text!r}"
        if m := _RANGE.match(text):
            start = _minutes(m.group(1), m.group(2), text, what)
            end = _minutes(m.group(3), m.group(4), text, what)
            step = int(m.group(5)) if m.group(5) else end - start
            if step < 1 or start + step > end:
                raise InputError(
                    f"slots part {text!r} holds no meeting: the range must last at least "
                    f"one meeting ({step} min) and end after it starts; {_SLOTS_HINT}"
                )
            slots += [Slot(_fmt(t), t, t + step) for t in range(start, end - step + 1, step)]
        elif m := _POINT.match(text):
            start = _minutes(m.group(1), m.group(2), text, what)
            slots.append(Slot(_fmt(start), start, start + minutes))
        else:
            raise InputError(f"{what}; {_SLOTS_HINT}")
    slots.sort(key=lambda s: s.start)
    clashes = [(a.span, b.span) for a, b in zip(slots, slots[1:]) if b.start < a.end]
    if clashes:
        raise InputError(
            f"slots overlap: {format_list(clashes)}; each meeting must end before the next starts ({_SLOTS_HINT})"
        )
    return slots


def parse_availability(value: Any, slots: Sequence[Slot], *, where: str = "availability") -> list[str] | None:
    """The labels of the slots a party is present in, or None when present all day.

    Parameters
    ----------
    value : str, list of str or None
        ``"09:00-10:30;11:00-12:00"``, ``"09:00;09:20"``, a list of such parts,
        or empty (present all day).
    slots : sequence of Slot
    where : str
        Named in error messages (file, column, id).

    Examples
    --------
    >>> s = parse_slots("09:00-11:00/20")
    >>> parse_availability("09:00-10:00; 10:40", s)
    ['09:00', '09:20', '09:40', '10:40']
    """
    if value is None or (isinstance(value, float) and value != value):
        return None
    parts = _split(value) if isinstance(value, str) else [str(v).strip() for v in value]
    if isinstance(value, str) and value.strip().lower() in _ALL:
        return None
    if isinstance(value, str) and value.strip().lower() in _NONE:
        return []
    by_start = {s.start: s for s in slots}
    chosen: set[str] = set()
    for part in parts:
        if (m := _RANGE.match(part)) and not m.group(5):
            lo = _minutes(m.group(1), m.group(2), part, f"{where}: cannot parse {part!r}")
            hi = _minutes(m.group(3), m.group(4), part, f"{where}: cannot parse {part!r}")
            chosen |= {s.label for s in slots if s.start >= lo and s.end <= hi}
        elif m := _POINT.match(part):
            start = _minutes(m.group(1), m.group(2), part, f"{where}: cannot parse {part!r}")
            if start not in by_start:
                raise InputError(
                    f"{where}: {part!r} is not the start of a slot; slots start at "
                    f"{format_list([s.label for s in slots], 12)}; use one of those or a "
                    f"range such as '09:00-10:30'"
                )
            chosen.add(by_start[start].label)
        else:
            raise InputError(
                f"{where}: cannot parse {part!r}; write ranges and slot times separated by "
                f"';', e.g. '09:00-10:30;11:00', or leave it empty for the whole event"
            )
    return [s.label for s in slots if s.label in chosen]


def availability_from_table(
    frame: pd.DataFrame,
    *,
    id_col: str,
    column: str,
    slots: Sequence[Slot],
    source: str,
    ids: Mapping[str, str] | None = None,
) -> dict[str, list[str]]:
    """Availability of every party of a table that is not present all day.

    Parameters
    ----------
    frame : DataFrame
        Buyers or suppliers, one row per party.
    id_col, column : str
        The id column and the availability column (cells as for :func:`parse_availability`).
    source : str
        The file (or "the DataFrame"), for messages.
    ids : mapping, optional
        Maps the table's ids to the ids used in the event.

    Returns
    -------
    dict of str to list of str
        Party id to the slot labels it is present in.
    """
    out = {}
    for line, (party, value) in enumerate(zip(frame[id_col], frame[column]), start=2):
        where = f"{source}, column '{column}', line {line} (id {party!r})"
        labels = parse_availability(value, slots, where=where)
        if labels is not None:
            key = ids.get(str(party), str(party)) if ids else str(party)
            out[key] = labels
    return out
