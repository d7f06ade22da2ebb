"""Shipment plans: worked examples per policy, properties, and bad input.

Dates in the tables are day offsets from TODAY; None is a unit no supply covers.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.availability import date_line
from app.domain.model import (
    Availability,
    DomainError,
    EtaKind,
    Label,
    PolicyKind,
    Receipt,
    ShipmentPolicy,
    Supply,
    Terms,
)
from app.domain.plans import PlanLine, ShipmentPlan, optimal_groups, plan_order, plan_shipments

TODAY = date(2025, 3, 3)  # a Monday

ALL = ShipmentPolicy(PolicyKind.ALL_OR_NOTHING)
AS_AVAILABLE = ShipmentPolicy(PolicyKind.SHIP_AS_AVAILABLE)


def capped(n: int) -> ShipmentPolicy:
    return ShipmentPolicy(PolicyKind.CAPPED_SPLIT, n)


def day(offset: int | None) -> date | None:
    return None if offset is None else TODAY + timedelta(days=offset)


def offset(d: date) -> int:
    return (d - TODAY).days


Parts = list[tuple[int | None, int]]


def order(lines: dict[str, Parts]) -> list[PlanLine]:
    return [PlanLine(lid, tuple((day(o), n) for o, n in parts)) for lid, parts in lines.items()]


def summary(plan: ShipmentPlan) -> tuple[list, list, int]:
    """The plan in the tables' terms: [(day, [(line, units)])], [(line, units)], wait."""
    shipments = [
        (offset(s.date), [(sl.line_id, sl.quantity) for sl in s.lines]) for s in plan.shipments
    ]
    unscheduled = [(sl.line_id, sl.quantity) for sl in plan.unscheduled]
    return shipments, unscheduled, plan.total_wait_days


def check(lines: dict[str, Parts], policy: ShipmentPolicy, expected: tuple) -> None:
    assert summary(plan_shipments(order(lines), policy)) == expected


# --- all_or_nothing ----------------------------------------------------------------------------

ALL_OR_NOTHING_CASES = [
    # name, lines {id: [(day, units)]}, shipments [(day, [(id, units)])], unscheduled, wait
    ("all in stock", {"a": [(0, 2)], "b": [(0, 1)]}, [(0, [("a", 2), ("b", 1)])], [], 0),
    (
        "waits for the last line",  # a ready day 0, b day 4 (partial), c day 9: a waits 9, b 5
        {"a": [(0, 2)], "b": [(0, 1), (4, 3)], "c": [(9, 1)]},
        [(9, [("a", 2), ("b", 4), ("c", 1)])],
        [],
        14,
    ),
    (
        "one undated unit holds everything",
        {"a": [(0, 2)], "b": [(3, 1), (None, 1)]},
        [],
        [("a", 2), ("b", 2)],
        0,
    ),
    ("single line, split supply", {"a": [(0, 1), (5, 2)]}, [(5, [("a", 3)])], [], 0),
]


@pytest.mark.parametrize(
    ("lines", "shipments", "unscheduled", "wait"),
    [pytest.param(*case[1:], id=case[0]) for case in ALL_OR_NOTHING_CASES],
)
def test_all_or_nothing(lines, shipments, unscheduled, wait):
    check(lines, ALL, (shipments, unscheduled, wait))


# --- ship_as_available -------------------------------------------------------------------------

AS_AVAILABLE_CASES = [
    # name, lines {id: [(day, units)]}, shipments [(day, [(id, units)])], unscheduled
    ("one date", {"a": [(0, 2)], "b": [(0, 1)]}, [(0, [("a", 2), ("b", 1)])], []),
    (
        "partial line splits",
        {"a": [(0, 2), (6, 3)], "b": [(6, 1)]},
        [(0, [("a", 2)]), (6, [("a", 3), ("b", 1)])],
        [],
    ),
    (
        "undated units wait, the rest ships",
        {"a": [(0, 1), (None, 4)], "b": [(2, 1)], "c": [(None, 2)]},
        [(0, [("a", 1)]), (2, [("b", 1)])],
        [("a", 4), ("c", 2)],
    ),
    (
        "dates in any order come out sorted",
        {"a": [(9, 1), (1, 1)], "b": [(5, 2)]},
        [(1, [("a", 1)]), (5, [("b", 2)]), (9, [("a", 1)])],
        [],
    ),
    ("same date listed twice merges", {"a": [(3, 1), (3, 2)]}, [(3, [("a", 3)])], []),
]


@pytest.mark.parametrize(
    ("lines", "shipments", "unscheduled"),
    [pytest.param(*case[1:], id=case[0]) for case in AS_AVAILABLE_CASES],
)
def test_ship_as_available(lines, shipments, unscheduled):
    check(lines, AS_AVAILABLE, (shipments, unscheduled, 0))


# --- capped_split ------------------------------------------------------------------------------

CAPPED_CASES = [
    # name, cap, lines {id: [(day, units)]}, shipments [(day, [(id, units)])], unscheduled, wait
    (
        "n=1 is one shipment on the last ready date",
        1,
        {"a": [(0, 1)], "b": [(0, 1), (4, 1)], "c": [(7, 2)]},
        [(7, [("a", 1), ("b", 2), ("c", 2)])],
        [],
        10,  # a waits 7, b waits 3
    ),
    (
        "n >= dates: a shipment per ready date, no waiting",
        5,
        {"a": [(0, 1)], "b": [(2, 1)], "c": [(2, 3)], "d": [(8, 1)]},
        [(0, [("a", 1)]), (2, [("b", 1), ("c", 3)]), (8, [("d", 1)])],
        [],
        0,
    ),
    (
        "lines are not split: a partial line ships whole when complete",
        2,
        {"a": [(0, 1), (6, 1)], "b": [(0, 2)]},
        [(0, [("b", 2)]), (6, [("a", 2)])],
        [],
        0,
    ),
    (
        "a line with undated units waits whole",
        2,
        {"a": [(0, 1), (None, 1)], "b": [(3, 1)]},
        [(3, [("b", 1)])],
        [("a", 2)],
        0,
    ),
    (
        # A greedy cut at the widest gap (between days 2 and 5) gives {0,2},{5}: 3 lines wait 2
        # days = 6. The optimum ships day 0 alone and waits 3 days for the one line of day 2.
        "optimal, not the widest gap",
        2,
        {"a": [(0, 1)], "b": [(0, 1)], "c": [(0, 1)], "d": [(2, 1)], "e": [(5, 1)]},
        [(0, [("a", 1), ("b", 1), ("c", 1)]), (5, [("d", 1), ("e", 1)])],
        [],
        3,
    ),
    (
        # {0},{1,2} and {0,1},{2} both wait 1 day: the tie goes to the earlier first shipment.
        "tie: the earliest first shipment wins",
        2,
        {"a": [(0, 1)], "b": [(1, 1)], "c": [(2, 1)]},
        [(0, [("a", 1)]), (2, [("b", 1), ("c", 1)])],
        [],
        1,
    ),
    (
        "three groups out of five dates",
        3,
        {"a": [(0, 1)], "b": [(1, 1)], "c": [(10, 1)], "d": [(11, 1)], "e": [(20, 1)]},
        [(1, [("a", 1), ("b", 1)]), (11, [("c", 1), ("d", 1)]), (20, [("e", 1)])],
        [],
        2,
    ),
]


@pytest.mark.parametrize(
    ("cap", "lines", "shipments", "unscheduled", "wait"),
    [pytest.param(*case[1:], id=case[0]) for case in CAPPED_CASES],
)
def test_capped_split(cap, lines, shipments, unscheduled, wait):
    check(lines, capped(cap), (shipments, unscheduled, wait))


def test_optimal_groups_on_weighted_dates():
    # date offsets and lines per date -> groups of date indexes
    weighted = [(day(0), 3), (day(2), 1), (day(5), 1)]
    assert optimal_groups(weighted, 2) == ((0, 0), (1, 2))
    assert optimal_groups(weighted, 1) == ((0, 2),)
    assert optimal_groups(weighted, 9) == ((0, 0), (1, 1), (2, 2))
    assert optimal_groups([], 2) == ()
    with pytest.raises(DomainError, match="shipment cap must be at least 1, got 0"):
        optimal_groups(weighted, 0)


# --- from real availability --------------------------------------------------------------------


def test_plan_order_from_date_line():
    # widget: 3 free, 5 arriving day 10 -> a line of 6 is 3 now + 3 on day 10 (partial).
    # gadget: nothing free, 2 arriving day 4 -> a line of 2 is backordered to day 4.
    # gizmo: nothing at all -> out of stock, no date.
    widget = Supply("widget", 3, (Receipt("po1", "widget", 5, day(10)),))
    gadget = Supply("gadget", 0, (Receipt("po2", "gadget", 2, day(4), EtaKind.ESTIMATED),))
    gizmo = Supply("gizmo", 0)
    lines = [
        ("L1", date_line(widget, 0, 6, today=TODAY)),
        ("L2", date_line(gadget, 0, 2, today=TODAY)),
        ("L3", date_line(gizmo, 0, 1, today=TODAY)),
    ]
    assert [av.label for _, av in lines] == [Label.PARTIAL, Label.BACKORDERED, Label.OUT_OF_STOCK]

    assert summary(plan_order(lines, AS_AVAILABLE)) == (
        [(0, [("L1", 3)]), (4, [("L2", 2)]), (10, [("L1", 3)])],
        [("L3", 1)],
        0,
    )
    assert summary(plan_order(lines, ALL)) == ([], [("L1", 6), ("L2", 2), ("L3", 1)], 0)
    assert summary(plan_order(lines[:2], ALL)) == ([(10, [("L1", 6), ("L2", 2)])], [], 6)
    assert summary(plan_order(lines, capped(1))) == (
        [(10, [("L1", 6), ("L2", 2)])],
        [("L3", 1)],
        6,
    )


def test_stock_now_and_a_late_receipt_on_the_same_ship_day_merge():
    # Handling days push both the stock on hand and a receipt due tomorrow to the same ship day.
    supply = Supply("widget", 1, (Receipt("po1", "widget", 4, day(1)),))
    av = date_line(supply, 0, 3, today=TODAY, terms=Terms(delivery_weekdays=frozenset({4})))
    assert len(av.schedule()) == 2  # (friday, 1), (friday, 2)
    plan = plan_order([("L1", av)], AS_AVAILABLE)
    assert summary(plan) == ([(4, [("L1", 3)])], [], 0)


# --- bad input ---------------------------------------------------------------------------------

BAD_INPUT = [
    # name, lines (id, parts), policy, message
    ("empty order", [], ALL, "at least one line"),
    ("duplicate id", [("a", [(0, 1)]), ("b", [(0, 1)]), ("a", [(1, 1)])], ALL, "repeated: a"),
    ("zero units", [("a", [(0, 0)])], AS_AVAILABLE, "line a must be at least 1, got 0"),
    ("negative units", [("a", [(0, 2), (3, -1)])], capped(2), "line a must be at least 1, got -1"),
    ("no parts", [("a", [])], ALL, "line a must be at least 1, got 0"),
    ("fractional units", [("a", [(0, 1.5)])], ALL, "whole number of units"),
]


@pytest.mark.parametrize(
    ("lines", "policy", "message"),
    [pytest.param(*case[1:], id=case[0]) for case in BAD_INPUT],
)
def test_bad_input_is_a_domain_error(lines, policy, message):
    with pytest.raises(DomainError, match=message):
        plan_shipments(
            [PlanLine(lid, tuple((day(o), n) for o, n in p)) for lid, p in lines], policy
        )


def test_availability_of_zero_units_is_refused():
    empty = Availability("widget", 0, 0, TODAY, (), 0, Label.IN_STOCK, None)
    with pytest.raises(DomainError, match="quantity of line L1 must be at least 1, got 0"):
        plan_order([("L1", empty)], ALL)


def test_a_datetime_is_not_a_ship_date():
    with pytest.raises(DomainError, match="ship date must be a date"):
        PlanLine("a", ((datetime(2025, 3, 3, 9, 0), 1),))


# --- properties --------------------------------------------------------------------------------

parts_st = st.lists(
    # a day offset (twice as likely, few days so dates repeat) or no date, and some units
    st.tuples(st.one_of(st.integers(0, 12), st.integers(0, 12), st.none()), st.integers(1, 5)),
    min_size=1,
    max_size=3,
)
orders_st = st.lists(parts_st, min_size=1, max_size=7).map(
    lambda lines: [PlanLine(f"L{i}", tuple((day(o), n) for o, n in p)) for i, p in enumerate(lines)]
)
policies_st = st.one_of(st.just(ALL), st.just(AS_AVAILABLE), st.integers(1, 4).map(capped))


def units_by_line(plan: ShipmentPlan) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for shipment in plan.shipments:
        for sl in shipment.lines:
            totals[sl.line_id] += sl.quantity
    for sl in plan.unscheduled:
        totals[sl.line_id] += sl.quantity
    return dict(totals)


@settings(max_examples=150, deadline=None)
@given(lines=orders_st, policy=policies_st)
def test_every_unit_is_planned_exactly_once(lines, policy):
    plan = plan_shipments(lines, policy)
    assert units_by_line(plan) == {ln.line_id: ln.quantity for ln in lines}
    dates = [s.date for s in plan.shipments]
    assert dates == sorted(set(dates))  # strictly increasing
    assert all(s.lines and all(sl.quantity > 0 for sl in s.lines) for s in plan.shipments)
    if policy.kind is PolicyKind.ALL_OR_NOTHING:
        assert len(plan.shipments) <= 1
        assert not (plan.shipments and plan.unscheduled)
    if policy.kind is PolicyKind.SHIP_AS_AVAILABLE:
        assert plan.total_wait_days == 0
    if policy.kind is PolicyKind.CAPPED_SPLIT:
        assert policy.cap is not None and len(plan.shipments) <= policy.cap


def set_partitions(items: list) -> list[list[list]]:
    """Every way to split `items` into non-empty groups (Bell(7) = 877 for 7 items)."""
    if not items:
        return [[]]
    first, rest = items[0], items[1:]
    out = []
    for partition in set_partitions(rest):
        out.append([[first], *partition])
        for i in range(len(partition)):
            out.append([*partition[:i], [first, *partition[i]], *partition[i + 1 :]])
    return out


def brute_force_wait(ready: list[date], cap: int) -> int:
    """Least line-days of waiting over every grouping of lines into at most `cap` shipments."""
    if not ready:
        return 0
    return min(
        sum((max(group) - r).days for group in partition for r in group)
        for partition in set_partitions(ready)
        if len(partition) <= cap
    )


@settings(max_examples=150, deadline=None)
@given(lines=orders_st, cap=st.integers(1, 4))
def test_capped_split_is_optimal(lines, cap):
    plan = plan_shipments(lines, capped(cap))
    ready = {ln.line_id: ln.ready for ln in lines}
    dated = [r for r in ready.values() if r is not None]
    assert plan.total_wait_days == brute_force_wait(dated, cap)
    assert len(plan.shipments) == min(cap, len(set(dated)))
    # lines ship whole, on the latest ready date of their shipment; the wait adds up
    recount = 0
    for shipment in plan.shipments:
        line_ready = [ready[sl.line_id] for sl in shipment.lines]
        assert shipment.date == max(line_ready)
        recount += sum((shipment.date - r).days for r in line_ready)
    assert recount == plan.total_wait_days
    assert {sl.line_id for sl in plan.unscheduled} == {k for k, r in ready.items() if r is None}


@settings(max_examples=60, deadline=None)
@given(lines=orders_st, cap=st.integers(1, 4))
def test_plans_are_deterministic_and_ignore_part_order(lines, cap):
    shuffled = [PlanLine(ln.line_id, tuple(reversed(ln.parts))) for ln in lines]
    for policy in (ALL, AS_AVAILABLE, capped(cap)):
        assert plan_shipments(lines, policy) == plan_shipments(shuffled, policy)
