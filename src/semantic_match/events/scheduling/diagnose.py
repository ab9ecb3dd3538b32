"""Why the required meetings cannot be held, in words, before any solving.

Must-meet and fixed meetings are hard constraints: when they cannot all be held
the integer program has no solution, and a bare "infeasible" helps no organiser.
These checks find the usual reasons from the inputs alone (unknown ids, a pair
both required and forbidden, double-booked fixed meetings, no common slot,
more required meetings than a party's slots or cap). Conflicts that only the
solver can see are searched by :func:`semantic_match.events.scheduling.milp.conflicting_must_pairs`.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from ...errors import InputError, format_list
from ..values import known_ids_phrase

__all__ = ["check_known_ids", "explain_infeasible"]


def check_known_ids(buyers: set[str], suppliers: set[str], sources: dict[str, tuple[list, list]]) -> None:
    """Raise one InputError listing every unknown buyer/supplier id per argument.

    Parameters
    ----------
    buyers, suppliers : set of str
        The ids of the candidate pairs.
    sources : dict
        Argument name -> (buyer ids it names, supplier ids it names).
    """
    problems, roles = [], {}
    for name, (b_ids, s_ids) in sources.items():
        for role, ids, known in (("buyer", b_ids, buyers), ("supplier", s_ids, suppliers)):
            unknown = sorted(set(ids) - known)
            if unknown:
                problems.append(f"{name} names unknown {role} id(s) {format_list(unknown)}")
                roles[role] = known
    if problems:
        raise InputError(
            "; ".join(problems + [known_ids_phrase(r, sorted(k)) for r, k in roles.items()])
            + "; fix the ids, or add candidate pairs for those parties"
        )


def explain_infeasible(
    *,
    must: list,
    fixed: list,
    dnm: set,
    slots: list,
    tables: list,
    b_av: dict,
    s_av: dict,
    b_caps: tuple,
    s_caps: tuple,
) -> list[str]:
    """Reasons why the must-meet and fixed meetings cannot all be held (empty when none is found).

    Parameters
    ----------
    must : list of (buyer, supplier)
        The must-meet pairs.
    fixed : list of (buyer, supplier, slot_i, table_i)
        The fixed meetings (:func:`~semantic_match.events.scheduling.inputs.normalize_fixed`).
    dnm : set of (buyer, supplier)
        The do-not-meet pairs.
    slots, tables : list
        Labels.
    b_av, s_av : dict
        Availability as slot positions (:func:`~semantic_match.events.scheduling.inputs.normalize_availability`).
    b_caps, s_caps : (int, dict)
        Default and per-id caps (:func:`~semantic_match.events.scheduling.inputs.normalize_caps`).
    """
    all_slots = frozenset(range(len(slots)))
    n_tables = len(tables)
    lab = lambda idx: format_list([slots[i] for i in sorted(idx)], 12)  # noqa: E731
    problems = []

    both = [p for p in must if p in dnm]
    if both:
        problems.append(
            f"must-meet pair(s) {format_list(both)} are both in must_meet and do_not_meet; "
            f"remove them from one of the two"
        )
    fixed_dnm = sorted({(b, s) for b, s, _, _ in fixed if (b, s) in dnm})
    if fixed_dnm:
        problems.append(
            f"fixed meeting(s) {format_list(fixed_dnm)} are in do_not_meet; unfix them or remove them from do_not_meet"
        )
    repeated = sorted(p for p, n in Counter((b, s) for b, s, _, _ in fixed).items() if n > 1)
    if repeated:
        problems.append(
            f"pair(s) {format_list(repeated)} are fixed more than once; a pair meets at "
            f"most once, keep one fixed meeting per pair"
        )

    # Double bookings among the fixed meetings.
    for what, key in (
        ("buyer", lambda r: (r[0], r[2])),
        ("supplier", lambda r: (r[1], r[2])),
        ("table", lambda r: (r[3], r[2])),
    ):
        groups = defaultdict(list)
        for row in fixed:
            if what != "table" or row[3] >= 0:
                groups[key(row)].append(row[:2])
        clashes = [
            f"{what} {k[0] if what != 'table' else tables[k[0]]!r} in slot {slots[k[1]]!r}: {format_list(v)}"
            for k, v in groups.items()
            if len(v) > 1
        ]
        if clashes:
            problems.append(
                f"fixed meetings double-book a {what} ({len(clashes)} clash(es)): "
                + "; ".join(clashes[:5])
                + ("; …" if len(clashes) > 5 else "")
                + "; move or unfix one meeting of each clash"
            )
    per_slot = Counter(slot for _, _, slot, _ in fixed)
    full = {slot for slot, n in per_slot.items() if n >= n_tables}
    over = [f"{slots[slot]!r} ({n})" for slot, n in sorted(per_slot.items()) if n > n_tables]
    if over:
        problems.append(
            f"more fixed meetings than the {n_tables} tables in slot(s) {', '.join(over)}; "
            f"move or unfix some, or add tables"
        )

    # Fixed meetings outside availability.
    outside = []
    for b, s, slot, _ in fixed:
        for role, party, av in (("buyer", b, b_av), ("supplier", s, s_av)):
            if slot not in av.get(party, all_slots):
                outside.append(
                    f"({b!r}, {s!r}) at {slots[slot]!r}: {role} {party!r} is present in {lab(av.get(party, all_slots))}"
                )
    if outside:
        problems.append(
            "fixed meeting(s) outside availability: "
            + "; ".join(outside[:5])
            + ("; …" if len(outside) > 5 else "")
            + "; move them or widen the availability"
        )

    # Must-meet pairs without a slot left to meet in.
    busy_b, busy_s = defaultdict(set), defaultdict(set)
    for b, s, slot, _ in fixed:
        busy_b[b].add(slot)
        busy_s[s].add(slot)
    fixed_pairs = {(b, s) for b, s, _, _ in fixed}
    no_common, taken = [], []
    for b, s in must:
        if (b, s) in fixed_pairs or (b, s) in dnm:
            continue
        common = b_av.get(b, all_slots) & s_av.get(s, all_slots)
        if not common:
            no_common.append(
                f"({b!r}, {s!r}): buyer present in {lab(b_av.get(b, all_slots))}, "
                f"supplier present in {lab(s_av.get(s, all_slots))}"
            )
        elif not common - busy_b[b] - busy_s[s] - full:
            taken.append(f"({b!r}, {s!r}): common slots {lab(common)}")
    if no_common:
        problems.append(
            f"{len(no_common)} must-meet pair(s) have no common available slot: "
            + "; ".join(no_common[:5])
            + ("; …" if len(no_common) > 5 else "")
            + "; widen their availability or drop them from must_meet"
        )
    if taken:
        problems.append(
            f"{len(taken)} must-meet pair(s) have no common available slot left, their "
            f"common slots being taken by fixed meetings or full tables: "
            + "; ".join(taken[:5])
            + ("; …" if len(taken) > 5 else "")
            + "; move or unfix those fixed meetings"
        )

    # Parties with more required meetings than their cap or their available slots.
    required = list(dict.fromkeys([p for p in must if p not in dnm] + [(b, s) for b, s, _, _ in fixed]))
    for role, pos, av, (default, caps) in (("buyer", 0, b_av, b_caps), ("supplier", 1, s_av, s_caps)):
        overloaded = []
        for party, n in sorted(Counter(p[pos] for p in required).items()):
            cap, n_av = caps.get(party, default), len(av.get(party, all_slots))
            reasons = ([f"max_per_{role} = {cap}"] if n > cap else []) + (
                [f"the {n_av} slots it is available in"] if n > n_av else []
            )
            if reasons:
                overloaded.append(
                    f"{role} {party!r} has {n} must-meet/fixed meetings, more than " + " and ".join(reasons)
                )
        if overloaded:
            problems.append(
                "; ".join(overloaded[:5])
                + ("; …" if len(overloaded) > 5 else "")
                + f" ({len(overloaded)} {role}(s)); drop some of their must-meet/fixed "
                + f"meetings, raise max_per_{role} or widen the availability"
            )
    if len(required) > len(slots) * n_tables:
        problems.append(
            f"{len(required)} must-meet/fixed meetings but only {len(slots)} slots x "
            f"{n_tables} tables = {len(slots) * n_tables} places; add tables or slots"
        )
    return problems
