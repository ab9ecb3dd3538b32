"""Events wing: business-matching events (temu bisnis) from needs and products to a schedule.

One event run is a pipeline of stages, each a module that takes the previous
stage's output and never calls back: inputs (parties, slots) -> matching
(batch) -> pair scores (aggregate) -> candidates (meetings) -> schedule
(scheduling) -> exports (exports, charts, report). :mod:`.event` strings them
together. May import the retrieval core, io, text and errors; never the
notebook or training wings. scipy.optimize is loaded only by the scheduler.
"""
from __future__ import annotations

__all__ = ["run_event", "EventResult", "schedule_meetings", "validate_schedule", "Schedule"]


def __getattr__(name: str):
    if name in ("run_event", "EventResult"):
        from . import event

        return getattr(event, name)
    if name in ("schedule_meetings", "validate_schedule", "Schedule"):
        from . import schedule

        return getattr(schedule, name)
    raise AttributeError(f"module 'semantic_match.events' has no attribute {name!r}")
