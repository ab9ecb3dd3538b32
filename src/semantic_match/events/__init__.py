"""Events wing: business-matching events (temu bisnis), from needs and products to agendas and reports.

One event run is a pipeline of stages; each is a module whose function takes
the previous stage's output and never calls back, and :mod:`.event` only
strings them together (:func:`run_event`, :class:`EventResult`):

1. inputs — :mod:`.inputs` (:func:`~.inputs.read_inputs`), with :mod:`.slots` and
   :mod:`.parties`: needs, buyers, suppliers, slots, tables, must-meet,
   do-not-meet and fixed meetings, all checked before anything is matched;
2. matching — :mod:`.matching`: every need against the catalogue, chunked and resumable;
3. pair scores — :mod:`.pairs`: buyer × supplier scores and the unmet needs;
4. candidates — :mod:`.candidates`: the pairs offered to the scheduler;
5. schedule — :mod:`.schedule`, on the scheduler :mod:`.scheduling` (usable
   alone: :func:`schedule_meetings`, :func:`validate_schedule`, :class:`Schedule`);
6. exports — :mod:`.exports` (CSV files, publishing all or nothing), with
   :mod:`.workbook`, :mod:`.report`, :mod:`.charts` and :mod:`.summary`.

:mod:`.values` (blank cells, ids, message phrases) and :mod:`.compat`
(deprecated keyword names) serve every stage. The wing may import the
retrieval core (the :class:`~semantic_match.retrieval.matcher.Matcher`'s
public API only), :mod:`semantic_match.io`, :mod:`semantic_match.text` and
:mod:`semantic_match.errors`; never the notebook, training or cli wings. Heavy
dependencies load on use: scipy.optimize when a schedule is solved, openpyxl
and matplotlib when a workbook or a report is written.
"""

from __future__ import annotations

__all__ = ["run_event", "EventResult", "schedule_meetings", "validate_schedule", "Schedule"]


def __getattr__(name: str):
    if name in ("run_event", "EventResult"):
        from . import event

        return getattr(event, name)
    if name in ("schedule_meetings", "validate_schedule", "Schedule"):
        from . import scheduling

        return getattr(scheduling, name)
    raise AttributeError(f"module 'semantic_match.events' has no attribute {name!r}")
