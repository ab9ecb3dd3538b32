"""Meeting scheduler: hard constraints, optimality against brute force, bounds, errors, re-runs."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from semantic_match.errors import InputError
from semantic_match.events.scheduling import Schedule, schedule_meetings, validate_schedule

SLOTS2 = ["09:00", "09:30"]


def _pairs(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["buyer_id", "supplier_id", "score"])


def _random_instance(rng: np.random.Generator) -> dict:
    """A random event with availability, caps, fixed, must-meet and do-not-meet pairs.

    The fixed and must-meet meetings are placed greedily into a witness
    schedule as they are drawn, so together they are always feasible.
    """
    n_b, n_s = int(rng.integers(3, 9)), int(rng.integers(3, 11))
    n_slots, n_tables = int(rng.integers(2, 6)), int(rng.integers(1, 5))
    buyers = [f"B{i:02d}" for i in range(n_b)]
    suppliers = [f"S{i:02d}" for i in range(n_s)]
    slots = [f"{8 + i:02d}:00" for i in range(n_slots)]
    tables = n_tables if rng.random() < 0.5 else [f"meja-{chr(65 + i)}" for i in range(n_tables)]
    table_labels = list(range(1, n_tables + 1)) if isinstance(tables, int) else tables
    grid = [(b, s) for b in buyers for s in suppliers]
    keep = rng.random(len(grid)) < 0.5
    for i in range(max(n_b, n_s)):  # every party has a candidate pair, so every id is known
        keep[(i % n_b) * n_s + i % n_s] = True
    rows = [(b, s, round(float(rng.random()), 3)) for (b, s), k in zip(grid, keep) if k]
    av = lambda: [x for x in slots if rng.random() < 0.75]  # noqa: E731
    bav = {b: av() for b in buyers if rng.random() < 0.5}
    sav = {s: av() for s in suppliers if rng.random() < 0.5}
    cap_b = {b: int(rng.integers(1, n_slots + 1)) for b in buyers if rng.random() < 0.5}
    cap_s = int(rng.integers(1, n_slots + 1))

    busy, per_slot, tables_used, count = set(), {x: 0 for x in slots}, set(), {}
    fixed, must = [], []

    def place(b, s):
        for slot in rng.permutation(slots):
            ok = (
                slot in bav.get(b, slots)
                and slot in sav.get(s, slots)
                and ("b", b, slot) not in busy
                and ("s", s, slot) not in busy
                and per_slot[slot] < n_tables
                and count.get(b, 0) < cap_b.get(b, n_slots)
                and count.get(s, 0) < cap_s
            )
            if ok:
                busy.update({("b", b, slot), ("s", s, slot)})
                per_slot[slot] += 1
                count[b], count[s] = count.get(b, 0) + 1, count.get(s, 0) + 1
                return str(slot)
        return None

    order = rng.permutation(len(grid))
    for i in order[:3]:
        b, s = grid[i]
        slot = place(b, s)
        if slot is not None:
            free = [t for t in table_labels if (slot, t) not in tables_used]
            table = free[int(rng.integers(len(free)))] if rng.random() < 0.6 else None
            if table is not None:
                tables_used.add((slot, table))
            fixed.append((b, s, slot, table))
    for i in order[3:8]:  # must-meet pairs, candidates or not (then added with score 0)
        if place(*grid[i]) is not None:
            must.append(grid[i])
    dnm = [grid[i] for i in order[8:11]]
    return dict(
        pairs=_pairs(rows),
        slots=slots,
        tables=tables,
        max_per_buyer=cap_b,
        max_per_supplier=cap_s,
        buyer_availability=bav,
        supplier_availability=sav,
        must_meet=must,
        do_not_meet=dnm,
        fixed=pd.DataFrame(fixed, columns=["buyer_id", "supplier_id", "slot", "table"]) if fixed else None,
    )


def _constraints(inst: dict) -> dict:
    return {k: v for k, v in inst.items() if k != "pairs"}


# Seeds 188 and 370 give fractional LP optima: the LP-support and the reduced-cost fixing paths.
@pytest.mark.parametrize("seed", [*range(30), 188, 370])
def test_random_schedules_respect_every_hard_constraint(seed):
    inst = _random_instance(np.random.default_rng(seed))
    sched = schedule_meetings(**inst)
    m = sched.meetings
    assert validate_schedule(m, **_constraints(inst)) == []
    assert list(m.columns) == ["buyer_id", "supplier_id", "slot", "table", "score", "fixed", "must_meet"]
    # Independent checks of the same constraints, so a bug in validate_schedule cannot hide one.
    assert not m.duplicated(["buyer_id", "slot"]).any()
    assert not m.duplicated(["supplier_id", "slot"]).any()
    assert not m.duplicated(["table", "slot"]).any()
    assert not m.duplicated(["buyer_id", "supplier_id"]).any()
    for b, n in m["buyer_id"].value_counts().items():
        assert n <= inst["max_per_buyer"].get(b, len(inst["slots"]))
    assert (m["supplier_id"].value_counts() <= inst["max_per_supplier"]).all()
    for row in m.itertuples():
        assert row.slot in inst["buyer_availability"].get(row.buyer_id, inst["slots"])
        assert row.slot in inst["supplier_availability"].get(row.supplier_id, inst["slots"])
    met = set(zip(m["buyer_id"], m["supplier_id"]))
    assert set(inst["must_meet"]) <= met
    assert not set(inst["do_not_meet"]) & met
    held = set(zip(m["buyer_id"], m["supplier_id"], m["slot"], m["table"]))
    if inst["fixed"] is not None:
        for b, s, slot, table in inst["fixed"].itertuples(index=False):
            row = m[(m["buyer_id"] == b) & (m["supplier_id"] == s)]
            assert row["slot"].tolist() == [slot] and bool(row["fixed"].iloc[0])
            assert pd.isna(table) or (b, s, slot, table) in held
    assert int(m["fixed"].sum()) == (0 if inst["fixed"] is None else len(inst["fixed"]))
    assert m["must_meet"].sum() == len(set(inst["must_meet"]))
    slot_order = [inst["slots"].index(x) for x in m["slot"]]
    assert slot_order == sorted(slot_order)
    # (3) the LP relaxation bounds the objective from above.
    assert sched.bound >= sched.objective - 1e-9
    assert sched.gap >= 0
    assert sched.objective == pytest.approx(m["score"].sum())


def _brute_force(rows, slots, n_tables, cap_b, cap_s, bav, sav, must, dnm) -> float | None:
    """Best total score over every assignment of each pair to no slot or one slot; None if infeasible."""
    pool = {(b, s): sc for b, s, sc in rows if (b, s) not in dnm}
    pool.update({p: 0.0 for p in must if p not in pool})
    items = list(pool.items())
    best = None
    for choice in itertools.product([None, *slots], repeat=len(items)):
        seen, per_slot, count, total, ok = set(), {}, {}, 0.0, True
        for ((b, s), sc), slot in zip(items, choice):
            if slot is None:
                ok = (b, s) not in must
            else:
                ok = (
                    slot in bav.get(b, slots)
                    and slot in sav.get(s, slots)
                    and ("b", b, slot) not in seen
                    and ("s", s, slot) not in seen
                )
                seen.update({("b", b, slot), ("s", s, slot)})
                per_slot[slot] = per_slot.get(slot, 0) + 1
                count[b], count[s] = count.get(b, 0) + 1, count.get(s, 0) + 1
                ok = ok and per_slot[slot] <= n_tables and count[b] <= cap_b and count[s] <= cap_s
                total += sc
            if not ok:
                break
        if ok and (best is None or total > best):
            best = total
    return best


@pytest.mark.parametrize("seed", range(24))
def test_objective_equals_brute_force_on_tiny_instances(seed):
    rng = np.random.default_rng(1000 + seed)
    buyers = [f"B{i}" for i in range(int(rng.integers(2, 4)))]
    suppliers = [f"S{i}" for i in range(int(rng.integers(2, 4)))]
    n_tables = int(rng.integers(1, 3))
    grid = [(b, s) for b in buyers for s in suppliers]
    rows = [(b, s, round(float(rng.random()), 3)) for b, s in grid if rng.random() < 0.8] or [(*grid[0], 0.5)]
    bav = {b: [x for x in SLOTS2 if rng.random() < 0.7] for b in buyers if rng.random() < 0.3}
    sav = {s: [x for x in SLOTS2 if rng.random() < 0.7] for s in suppliers if rng.random() < 0.3}
    cap_b, cap_s = int(rng.integers(1, 3)), int(rng.integers(1, 3))
    known = [p for p in grid if p[0] in {r[0] for r in rows} and p[1] in {r[1] for r in rows}]
    must = [known[int(rng.integers(len(known)))]] if rng.random() < 0.4 else []
    dnm = [p for p in known if p not in must and rng.random() < 0.15]
    expected = _brute_force(rows, SLOTS2, n_tables, cap_b, cap_s, bav, sav, set(must), set(dnm))
    kwargs = dict(
        slots=SLOTS2,
        tables=n_tables,
        max_per_buyer=cap_b,
        max_per_supplier=cap_s,
        buyer_availability=bav,
        supplier_availability=sav,
        must_meet=must,
        do_not_meet=dnm,
    )
    if expected is None:
        with pytest.raises(InputError):
            schedule_meetings(_pairs(rows), **kwargs, mip_gap=0)
        return
    sched = schedule_meetings(_pairs(rows), **kwargs, mip_gap=0)
    assert sched.objective == pytest.approx(expected, abs=1e-9)
    assert sched.bound >= sched.objective - 1e-9 and sched.gap >= 0
    assert validate_schedule(sched.meetings, **kwargs) == []


def test_lp_bound_on_a_larger_instance():
    rng = np.random.default_rng(7)
    rows = [
        (f"B{b:02d}", f"S{s:02d}", float(rng.random())) for b in range(30) for s in rng.choice(60, 8, replace=False)
    ]
    slots = [f"{9 + i:02d}:00" for i in range(6)]
    bav = {f"B{b:02d}": [x for x in slots if rng.random() < 0.6] for b in range(30)}
    sched = schedule_meetings(_pairs(rows), slots=slots, tables=12, max_per_supplier=3, buyer_availability=bav)
    assert sched.bound >= sched.objective - 1e-9
    assert sched.gap == pytest.approx((sched.bound - sched.objective) / sched.bound)
    assert 0 <= sched.gap <= 1
    assert sched.status.startswith("optimal")
    assert validate_schedule(sched.meetings, slots=slots, tables=12, max_per_supplier=3, buyer_availability=bav) == []


# --------------------------------------------------------------------------- errors

BASE = _pairs([("B1", "S1", 0.9), ("B1", "S2", 0.5), ("B2", "S1", 0.7), ("B2", "S2", 0.4), ("B1", "S3", 0.3)])


def test_unknown_supplier_in_must_meet():
    with pytest.raises(
        InputError,
        match=r"must_meet names unknown supplier id\(s\) \['S99'\]; "
        r"known supplier ids are \['S1', 'S2', 'S3'\]",
    ):
        schedule_meetings(BASE, slots=SLOTS2, tables=2, must_meet=[("B1", "S99")])


def test_unknown_ids_list_at_most_five_and_the_known_range():
    pairs = _pairs([(f"B{i:03d}", f"S{i:03d}", 1.0) for i in range(20)])
    with pytest.raises(
        InputError,
        match=r"do_not_meet names unknown buyer id\(s\) \['X1', 'X2', 'X3', "
        r"'X4', 'X5', … \(2 more\)\]; known buyer ids are 'B000' … 'B019'",
    ):
        schedule_meetings(pairs, slots=SLOTS2, tables=1, do_not_meet=[(f"X{i}", "S000") for i in range(1, 8)])


def test_more_must_meet_pairs_for_one_buyer_than_slots():
    with pytest.raises(
        InputError,
        match=r"buyer 'B1' has 3 must-meet/fixed meetings, more than "
        r"max_per_buyer = 2 and the 2 slots it is available in",
    ):
        schedule_meetings(BASE, slots=SLOTS2, tables=3, must_meet=[("B1", "S1"), ("B1", "S2"), ("B1", "S3")])


def test_must_meet_pair_without_common_slot():
    with pytest.raises(
        InputError,
        match=r"no common available slot: \('B1', 'S2'\): buyer present in "
        r"\['09:00'\], supplier present in \['09:30'\]",
    ):
        schedule_meetings(
            BASE,
            slots=SLOTS2,
            tables=2,
            must_meet=[("B1", "S2")],
            buyer_availability={"B1": ["09:00"]},
            supplier_availability={"S2": "09:30"},
        )


def test_pair_in_must_meet_and_do_not_meet():
    with pytest.raises(InputError, match=r"\[\('B2', 'S1'\)\] are both in must_meet and do_not_meet"):
        schedule_meetings(
            BASE, slots=SLOTS2, tables=2, must_meet=[("B2", "S1")], do_not_meet=[("B2", "S1"), ("B1", "S2")]
        )


def test_double_booked_fixed_meetings():
    fixed = pd.DataFrame(
        {
            "buyer_id": ["B1", "B1", "B2"],
            "supplier_id": ["S1", "S2", "S2"],
            "slot": ["09:00", "09:00", "09:30"],
            "table": [1, 2, None],
        }
    )
    with pytest.raises(
        InputError,
        match=r"fixed meetings double-book a buyer .*buyer 'B1' in slot "
        r"'09:00': \[\('B1', 'S1'\), \('B1', 'S2'\)\]",
    ):
        schedule_meetings(BASE, slots=SLOTS2, tables=2, fixed=fixed)
    fixed = pd.DataFrame(
        {"buyer_id": ["B1", "B2"], "supplier_id": ["S1", "S2"], "slot": ["09:00", "09:00"], "table": [2, 2]}
    )
    with pytest.raises(InputError, match=r"double-book a table .*table 2 in slot '09:00'"):
        schedule_meetings(BASE, slots=SLOTS2, tables=2, fixed=fixed)


def test_empty_pairs():
    with pytest.raises(InputError, match=r"pairs is empty"):
        schedule_meetings(_pairs([]), slots=SLOTS2, tables=2)


def test_duplicate_pairs_and_negative_scores():
    with pytest.raises(InputError, match=r"1 duplicate \(buyer_id, supplier_id\) pairs \[\('B1', 'S1'\)\]"):
        schedule_meetings(_pairs([("B1", "S1", 0.5), ("B1", "S1", 0.6)]), slots=SLOTS2, tables=1)
    with pytest.raises(
        InputError,
        match=r"scores that are missing, negative or not finite, pairs "
        r"\[\('B1', 'S1'\)\]",
    ):
        schedule_meetings(_pairs([("B1", "S1", -0.5)]), slots=SLOTS2, tables=1)


def test_fixed_meeting_outside_availability_and_unknown_slot():
    fixed = pd.DataFrame({"buyer_id": ["B1"], "supplier_id": ["S1"], "slot": ["09:30"]})
    with pytest.raises(InputError, match=r"outside availability: \('B1', 'S1'\) at '09:30': buyer 'B1'"):
        schedule_meetings(BASE, slots=SLOTS2, tables=2, fixed=fixed, buyer_availability={"B1": ["09:00"]})
    with pytest.raises(
        InputError,
        match=r"buyer_availability names slots that are not in slots: "
        r"\[\('B1', '10:00'\)\]",
    ):
        schedule_meetings(BASE, slots=SLOTS2, tables=2, buyer_availability={"B1": ["10:00"]})


def test_must_meet_pairs_jointly_infeasible_are_named():
    # Each pair can meet on its own, but B2 and B3 are only present at 09:00,
    # where S1 can meet only one of them.
    pairs = _pairs([("B1", "S1", 0.9), ("B2", "S1", 0.8), ("B3", "S1", 0.7), ("B1", "S2", 0.6)])
    with pytest.raises(
        InputError,
        match=r"cannot all meet together .*2 pair\(s\) \[\('B2', 'S1'\), "
        r"\('B3', 'S1'\)\]",
    ):
        schedule_meetings(
            pairs,
            slots=SLOTS2,
            tables=3,
            must_meet=[("B1", "S2"), ("B2", "S1"), ("B3", "S1")],
            buyer_availability={"B2": ["09:00"], "B3": ["09:00"]},
        )


# --------------------------------------------------------------------------- re-runs and edits


def test_rerun_keeps_fixed_meetings_and_optimises_the_rest():
    rng = np.random.default_rng(3)
    rows = [(f"B{b}", f"S{s}", float(rng.random())) for b in range(8) for s in range(10) if rng.random() < 0.5]
    slots = ["09:00", "09:30", "10:00", "10:30"]
    first = schedule_meetings(_pairs(rows), slots=slots, tables=4, mip_gap=0)
    # Fix some of its meetings, one of them moved to another slot without a table, as an organiser would.
    fixed = first.meetings.iloc[::3][["buyer_id", "supplier_id", "slot", "table"]].reset_index(drop=True)
    busy = set(zip(first.meetings["buyer_id"], first.meetings["slot"])) | set(
        zip(first.meetings["supplier_id"], first.meetings["slot"])
    )
    moved = next(
        i for i, r in fixed.iterrows() for x in slots if (r.buyer_id, x) not in busy and (r.supplier_id, x) not in busy
    )
    target = next(
        x for x in slots if (fixed.buyer_id[moved], x) not in busy and (fixed.supplier_id[moved], x) not in busy
    )
    fixed = fixed.astype({"table": object})
    fixed.loc[moved, ["slot", "table"]] = [target, None]
    second = schedule_meetings(_pairs(rows), slots=slots, tables=4, fixed=fixed, mip_gap=0)
    m = second.meetings
    for r in fixed.itertuples():
        row = m[(m.buyer_id == r.buyer_id) & (m.supplier_id == r.supplier_id)]
        assert row["slot"].tolist() == [r.slot] and row["fixed"].all()
        if not pd.isna(r.table):
            assert row["table"].tolist() == [r.table]
    assert int(m["fixed"].sum()) == len(fixed)
    assert len(m) > len(fixed)  # the rest is optimised around them
    assert second.objective <= first.objective + 1e-9
    assert validate_schedule(m, slots=slots, tables=4, fixed=fixed) == []


def test_validate_schedule_catches_a_double_booked_buyer():
    meetings = pd.DataFrame(
        {
            "buyer_id": ["B1", "B1", "B2"],
            "supplier_id": ["S1", "S2", "S1"],
            "slot": ["09:00", "09:00", "09:30"],
            "table": [1, 2, 1],
        }
    )
    problems = validate_schedule(meetings, slots=SLOTS2, tables=2)
    assert problems == ["buyer 'B1' has 2 meetings in slot '09:00': suppliers ['S1', 'S2']"]


def test_validate_schedule_reports_each_kind_of_violation():
    meetings = pd.DataFrame(
        {
            "buyer_id": ["B1", "B2", "B1", "B3"],
            "supplier_id": ["S1", "S2", "S1", "S3"],
            "slot": ["09:00", "09:00", "09:30", "11:00"],
            "table": [1, 1, 1, 1],
        }
    )
    fixed = pd.DataFrame({"buyer_id": ["B2"], "supplier_id": ["S2"], "slot": ["09:30"]})
    problems = validate_schedule(
        meetings,
        slots=SLOTS2,
        tables=1,
        max_per_buyer={"B1": 1},
        supplier_availability={"S2": ["09:30"]},
        must_meet=[("B3", "S1")],
        do_not_meet=[("B2", "S2")],
        fixed=fixed,
    )
    text = "\n".join(problems)
    for expected in [
        "unknown slot '11:00'",
        "pair ('B1', 'S1') meets 2 times",
        "table 1 hosts 2 meetings",
        "slot '09:00' has 2 meetings but there are only 1 tables",
        "buyer 'B1' has 2 meetings, more than max_per_buyer = 1",
        "outside supplier 'S2''s availability",
        "must-meet pair ('B3', 'S1') has no meeting",
        "do-not-meet pair ('B2', 'S2') meets",
        "fixed meeting ('B2', 'S2') in slot '09:30'",
    ]:
        assert expected in text


def test_agendas_are_sorted_by_slot_and_check_ids():
    pairs = _pairs([("DISKOP", "TAPIS01", 0.91), ("DISKOP", "MESIN02", 0.55), ("BPKAD", "TAPIS01", 0.87)])
    sched = schedule_meetings(
        pairs, slots=SLOTS2, tables=1, buyer_availability={"BPKAD": ["09:30"]}, must_meet=[("BPKAD", "TAPIS01")]
    )
    assert isinstance(sched, Schedule)
    assert sched.meetings[["buyer_id", "slot"]].values.tolist() == [["DISKOP", "09:00"], ["BPKAD", "09:30"]]
    agenda = sched.supplier_agenda("TAPIS01")
    assert agenda["slot"].tolist() == SLOTS2 and agenda["buyer_id"].tolist() == ["DISKOP", "BPKAD"]
    assert sched.buyer_agenda("BPKAD")["must_meet"].tolist() == [True]
    assert sched.objective == pytest.approx(1.78) and sched.gap == 0
    with pytest.raises(InputError, match=r"unknown buyer id 'DINAS'; known buyer ids are \['BPKAD', 'DISKOP'\]"):
        sched.buyer_agenda("DINAS")


def test_validate_schedule_lists_every_violation_exactly_once():
    slots3 = ["09:00", "09:30", "10:00"]
    meetings = pd.DataFrame(
        {
            "buyer_id": ["B1", "B2", "B3", "B1", "B4", "B4", "B5", "B6", "B7"],
            "supplier_id": ["S1", "S1", "S2", "S1", "S3", "S4", "S5", "S6", "S7"],
            "slot": ["09:00", "09:00", "09:00", "09:30", "09:30", "10:00", "11:00", "10:00", "10:00"],
            "table": ["A", "B", "B", "A", "B", "A", "A", "Z", None],
        }
    )
    fixed = pd.DataFrame(
        {"buyer_id": ["B3", "B6"], "supplier_id": ["S2", "S6"], "slot": ["09:00", "10:00"], "table": ["A", "B"]}
    )
    problems = validate_schedule(
        meetings,
        slots=slots3,
        tables=["A", "B"],
        max_per_buyer={"B4": 1},
        max_per_supplier={"S1": 2},
        buyer_availability={"B4": ["09:30"]},
        supplier_availability={"S6": ["09:00"]},
        must_meet=[("B8", "S1"), ("B1", "S1")],
        do_not_meet=[("B7", "S7")],
        fixed=fixed,
    )
    assert problems == [
        "meeting ('B5', 'S5') is in unknown slot '11:00'; slots are ['09:00', '09:30', '10:00']",
        "meeting ('B6', 'S6') is at unknown table 'Z'; tables are ['A', 'B']",
        "meeting ('B7', 'S7') is at unknown table nan; tables are ['A', 'B']",
        "pair ('B1', 'S1') meets 2 times (slots '09:00', '09:30'); a pair meets at most once",
        "supplier 'S1' has 2 meetings in slot '09:00': buyers ['B1', 'B2']",
        "table 'B' hosts 2 meetings in slot '09:00': [('B2', 'S1'), ('B3', 'S2')]",
        "slot '09:00' has 3 meetings but there are only 2 tables",
        "slot '10:00' has 3 meetings but there are only 2 tables",
        "buyer 'B4' has 2 meetings, more than max_per_buyer = 1",
        "supplier 'S1' has 3 meetings, more than max_per_supplier = 2",
        "meeting ('B4', 'S4') in slot '10:00' is outside buyer 'B4''s availability ['09:30']",
        "meeting ('B6', 'S6') in slot '10:00' is outside supplier 'S6''s availability ['09:00']",
        "must-meet pair ('B8', 'S1') has no meeting",
        "do-not-meet pair ('B7', 'S7') meets in slot(s) '10:00'",
        "fixed meeting ('B3', 'S2') in slot '09:00' at table 'A' is missing or was moved",
        "fixed meeting ('B6', 'S6') in slot '10:00' at table 'B' is missing or was moved",
    ]
    # the same schedule without its faults is valid: caps and availability at their limits are allowed
    ok = pd.DataFrame(
        {
            "buyer_id": ["B1", "B2", "B4", "B6"],
            "supplier_id": ["S1", "S1", "S3", "S6"],
            "slot": ["09:00", "09:30", "09:30", "09:00"],
            "table": ["A", "A", "B", "B"],
        }
    )
    assert (
        validate_schedule(
            ok,
            slots=slots3,
            tables=["A", "B"],
            max_per_buyer={"B4": 1},
            max_per_supplier={"S1": 2},
            buyer_availability={"B4": ["09:30"]},
            supplier_availability={"S6": ["09:00"]},
            must_meet=[("B1", "S1")],
            fixed=pd.DataFrame({"buyer_id": ["B6"], "supplier_id": ["S6"], "slot": ["09:00"], "table": ["B"]}),
        )
        == []
    )


# --------------------------------------------------------------------------- optimality, checked independently


def _reference_optimum(inst: dict) -> float:
    """Best total score of an instance, from an integer program written here from the documented rules.

    One 0/1 variable per (pair, slot) where both parties are present (a fixed pair only in its slot,
    forced to 1); a pair meets at most once (must-meet and fixed pairs exactly once); a party meets
    once per slot and at most its cap; at most ``tables`` meetings per slot. Solved by HiGHS with no gap.
    """
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import lil_array

    slots = list(inst["slots"])
    n_tables = inst["tables"] if isinstance(inst["tables"], int) else len(inst["tables"])
    dnm, must = set(inst["do_not_meet"]), set(inst["must_meet"])
    fixed = {} if inst["fixed"] is None else {(r[0], r[1]): r[2] for r in inst["fixed"].itertuples(index=False)}
    score = {(b, s): float(sc) for b, s, sc in inst["pairs"].itertuples(index=False) if (b, s) not in dnm}
    for pair in [*must, *fixed]:
        score.setdefault(pair, 0.0)
    bav, sav = inst["buyer_availability"], inst["supplier_availability"]
    cap_b = lambda b: inst["max_per_buyer"].get(b, len(slots))  # noqa: E731
    cap_s = lambda s: inst["max_per_supplier"]  # noqa: E731
    var = [
        (b, s, t)
        for (b, s) in score
        for t in slots
        if (fixed[b, s] == t if (b, s) in fixed else t in bav.get(b, slots) and t in sav.get(s, slots))
    ]
    groups: dict = {}
    for i, (b, s, t) in enumerate(var):
        for key, hi in [
            (("pair", b, s), 1),
            (("bs", b, t), 1),
            (("ss", s, t), 1),
            (("slot", t), n_tables),
            (("b", b), cap_b(b)),
            (("s", s), cap_s(s)),
        ]:
            groups.setdefault(key, (hi, []))[1].append(i)
    A = lil_array((len(groups), len(var)))
    lo, hi = np.zeros(len(groups)), np.zeros(len(groups))
    for r, (key, (h, members)) in enumerate(groups.items()):
        A[r, members] = 1
        hi[r] = h
        lo[r] = 1 if key[0] == "pair" and ((key[1], key[2]) in must or (key[1], key[2]) in fixed) else 0
    assert all(("pair", *p) in groups for p in [*must, *fixed])
    forced = np.array([1.0 if (b, s) in fixed else 0.0 for b, s, _ in var])
    res = milp(
        -np.array([score[b, s] for b, s, _ in var]),
        integrality=np.ones(len(var)),
        bounds=Bounds(forced, 1),
        constraints=[LinearConstraint(A.tocsr(), lo, hi)],
        options={"mip_rel_gap": 0},
    )
    assert res.status == 0, res.message
    return float(-res.fun)


# Seeds of _random_instance whose LP relaxation is fractional (of the first 3000): the solver takes
# the LP-support path, and for 370 and 1854 the reduced-cost fixing path (the LP support alone
# holds a worse schedule). Their LP bound equals the optimum, so an optimal schedule has gap 0.
FRACTIONAL_LP_SEEDS = [188, 249, 255, 339, 370, 419, 599, 1305, 1390, 1854, 2371, 2454, 2737]


@pytest.mark.parametrize("mip_gap", [1e-4, 0.0])
@pytest.mark.parametrize("seed", FRACTIONAL_LP_SEEDS)
def test_an_optimal_schedule_is_optimal_by_an_independent_integer_program(seed, mip_gap):
    """ "optimal" is never the first feasible schedule: within mip_gap of the true optimum and of the LP bound."""
    inst = _random_instance(np.random.default_rng(seed))
    best = _reference_optimum(inst)
    sched = schedule_meetings(**inst, mip_gap=mip_gap)
    assert "integral LP relaxation" not in sched.status  # these seeds exercise the integer program
    assert sched.status.startswith("optimal")
    assert sched.objective >= best * (1 - mip_gap) - 1e-9
    assert sched.objective <= best + 1e-9
    assert sched.bound >= best - 1e-9
    assert sched.gap <= mip_gap + 1e-9
    assert sched.gap == pytest.approx((sched.bound - sched.objective) / sched.bound, abs=1e-12)
    assert validate_schedule(sched.meetings, **_constraints(inst)) == []


@pytest.mark.parametrize("seed", range(12))
def test_integral_lp_schedules_are_optimal_too(seed):
    inst = _random_instance(np.random.default_rng(seed))
    sched = schedule_meetings(**inst)
    assert sched.objective == pytest.approx(_reference_optimum(inst), abs=1e-9)
    assert sched.gap <= 1e-4 and sched.bound >= sched.objective - 1e-9


def test_bound_and_gap():
    from semantic_match.events.scheduling.solve import bound_and_gap

    assert bound_and_gap(4.0, 5.0) == (5.0, pytest.approx(0.2))
    assert bound_and_gap(5.0, 5.0) == (5.0, 0.0)
    assert bound_and_gap(5.0, 5.0 - 1e-9) == (5.0, 0.0)  # solver tolerance: the bound is the objective
    assert bound_and_gap(0.0, 0.0) == (0.0, 0.0)
    assert bound_and_gap(0.0, -1e-12) == (0.0, 0.0)


def test_a_bound_below_the_objective_is_reported(caplog):
    from semantic_match.events.scheduling.solve import bound_and_gap

    with caplog.at_level("WARNING"):
        assert bound_and_gap(5.0, 5.0 - 1e-9) == (5.0, 0.0)
    assert not caplog.records
    with caplog.at_level("WARNING"):
        assert bound_and_gap(5.0, 4.0) == (5.0, 0.0)
    assert "LP bound 4.000000 is below the objective 5.000000" in caplog.text


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"time_limit": 0}, "time_limit must be a number of seconds > 0; got 0"),
        ({"time_limit": -1.0}, "time_limit must be a number of seconds > 0"),
        ({"time_limit": True}, "time_limit must be a number of seconds > 0; got True"),
        ({"time_limit": "60"}, "time_limit must be a number of seconds > 0"),
        ({"mip_gap": 1}, r"mip_gap must be a number in \[0, 1\); got 1"),
        ({"mip_gap": -0.01}, r"mip_gap must be a number in \[0, 1\)"),
        ({"mip_gap": False}, r"mip_gap must be a number in \[0, 1\)"),
        ({"mip_gap": "0.1"}, r"mip_gap must be a number in \[0, 1\)"),
    ],
)
def test_bad_solver_settings_are_refused(kw, message):
    with pytest.raises(InputError, match=message):
        schedule_meetings(BASE, slots=SLOTS2, tables=2, **kw)


def test_small_solver_settings_are_accepted():
    sched = schedule_meetings(BASE, slots=SLOTS2, tables=2, time_limit=0.5, mip_gap=0.99)
    assert sched.status.startswith("optimal") and validate_schedule(sched.meetings, slots=SLOTS2, tables=2) == []


def test_a_schedule_cut_short_by_the_time_limit_is_not_called_optimal(monkeypatch):
    """Seed 370: the LP support's schedule is not optimal; when time runs out right after it, the status says so."""
    import time

    from semantic_match.events.scheduling import milp

    inst = _random_instance(np.random.default_rng(370))
    best = _reference_optimum(inst)
    solve = milp.solve_milp

    def slow(*args, **kw):
        res = solve(*args, **kw)
        time.sleep(0.6)  # the time limit passes during the first integer program
        return res

    monkeypatch.setattr(milp, "solve_milp", slow)
    sched = schedule_meetings(**inst, time_limit=0.5)
    assert sched.status.startswith("time limit reached: best schedule found (LP support")
    assert sched.status.endswith(f"; gap {sched.gap:.2%} to the LP bound")
    assert sched.objective < best - 1e-6 and sched.bound >= best - 1e-9 and sched.gap > 1e-4
    assert validate_schedule(sched.meetings, **_constraints(inst)) == []
