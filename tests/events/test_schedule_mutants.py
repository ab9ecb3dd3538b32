"""Scheduler: tests for the mutants of scheduling/milp.py that survived mutmut (docs/reliability.md).

The time limit, the requested gap and the 0/1 bounds must reach HiGHS on every solver call, and the
solver must neither warn about options it does not know nor print its log into the user's terminal.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.optimize

from semantic_match.errors import InputError
from semantic_match.events.scheduling import schedule_meetings
from tests.events.test_schedule import SLOTS2, _pairs, _random_instance

# Seed 370: fractional LP relaxation, solved through the LP support and then reduced-cost fixing.
SEED = 370


@pytest.fixture
def solver_calls(monkeypatch):
    """Record the arguments of every scipy milp / linprog call the scheduler makes."""
    calls = []
    milp, linprog = scipy.optimize.milp, scipy.optimize.linprog

    # A copy of the options: scipy pops keys from the dict it is given.
    def spy_milp(c, **kw):
        calls.append(("milp", {**kw, "options": dict(kw.get("options") or {})}))
        return milp(c, **kw)

    def spy_linprog(c, **kw):
        calls.append(("linprog", {**kw, "options": dict(kw.get("options") or {})}))
        return linprog(c, **kw)

    monkeypatch.setattr(scipy.optimize, "milp", spy_milp)
    monkeypatch.setattr(scipy.optimize, "linprog", spy_linprog)
    return calls


def _infeasible_must_meet():
    # B2 and B3 are only present at 09:00, where S1 can meet only one of them (test_schedule.py).
    schedule_meetings(
        _pairs([("B1", "S1", 0.9), ("B2", "S1", 0.8), ("B3", "S1", 0.7), ("B1", "S2", 0.6)]),
        slots=SLOTS2,
        tables=3,
        must_meet=[("B1", "S2"), ("B2", "S1"), ("B3", "S1")],
        buyer_availability={"B2": ["09:00"], "B3": ["09:00"]},
    )


@pytest.mark.parametrize("mip_gap", [0.0, 0.02])
def test_every_solver_call_gets_the_time_limit_the_gap_and_0_1_bounds(solver_calls, mip_gap):
    """Kills solve_milp 3, 4, 14-16, 30, 32, 35, 37, 49, 51 and solve_lp 23, 28, 33, 34, and optimize 8, 11: dropped or misspelled
    options (no time limit: a hard event would run for ever) and lost bounds."""
    sched = schedule_meetings(**_random_instance(np.random.default_rng(SEED)), time_limit=30, mip_gap=mip_gap)
    assert sched.status.startswith("optimal")
    kinds = [k for k, _ in solver_calls]
    assert kinds[0] == "linprog" and "milp" in kinds
    for kind, kw in solver_calls:
        opts = kw["options"]
        assert set(opts) <= {"time_limit", "disp", "mip_rel_gap"}
        assert 0 < opts["time_limit"] <= 30 and opts["disp"] is False
        if kind == "milp":
            assert opts["mip_rel_gap"] == mip_gap
            bounds = kw["bounds"]
            assert np.all(bounds.lb == 0) and np.all(bounds.ub == 1)
            assert np.all(kw["integrality"] == 1)
        else:
            assert kw["bounds"] == (0, 1)


def test_the_diagnosis_of_infeasible_must_meet_pairs_gets_a_time_limit(solver_calls):
    with pytest.raises(InputError, match="cannot all meet together"):
        _infeasible_must_meet()
    milps = [kw for kind, kw in solver_calls if kind == "milp"]
    assert milps and all(0 < kw["options"]["time_limit"] and np.all(kw["integrality"] == 1) for kw in milps)


def test_solving_neither_warns_nor_prints(capfd):
    """Kills solve_milp 11-13 and solve_lp 41-43: an unknown option warns, disp=True prints the HiGHS log."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched = schedule_meetings(**_random_instance(np.random.default_rng(SEED)))
        with pytest.raises(InputError):
            _infeasible_must_meet()
    assert sched.status.startswith("optimal")
    out, err = capfd.readouterr()
    assert out == "" and err == ""
