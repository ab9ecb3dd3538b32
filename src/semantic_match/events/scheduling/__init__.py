"""The meeting scheduler: scored buyer–supplier pairs into time slots at tables, as an integer program.

Usable on its own (:func:`schedule_meetings`, :func:`validate_schedule`,
:class:`Schedule`) with any table of scored pairs; the event's schedule stage
(:mod:`semantic_match.events.schedule`) feeds it the candidates. One concept per
module, each importing only those before it: :mod:`.inputs` (checking and
normalizing arguments), :mod:`.model` (the :class:`Schedule` and its agendas),
:mod:`.diagnose` (why required meetings cannot be held, before solving),
:mod:`.problem` (the index arrays), :mod:`.validate` (every broken constraint,
in words), :mod:`.milp` (the integer program on HiGHS) and :mod:`.solve`
(:func:`schedule_meetings`). May import numpy, pandas, scipy, the io layer,
errors and the wing's :mod:`~semantic_match.events.values`; scipy.optimize is
imported only inside the solver calls, so importing this package stays light.
"""

from __future__ import annotations

from ...errors import ScheduleError
from .model import Schedule
from .solve import schedule_meetings
from .validate import validate_schedule

__all__ = ["schedule_meetings", "validate_schedule", "Schedule", "ScheduleError"]
