"""Allocation of freed stock, what an order may ship, and ETA changes (app.domain.allocation)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.allocation import (
    Allocation,
    AllocationResult,
    EtaChange,
    LineState,
    after_allocation,
    allocate,
    completion_eta,
    eta_changes,
    item_eta_changes,
    releasable,
)
from app.domain.availability import DemandQueue, date_queue
from app.domain.model import (
    AllocationPolicy,
    DomainError,
    Eta,
    EtaKind,
    PolicyKind,
    QueuedLine,
    Receipt,
    ShipmentPolicy,
    Supply,
)

ITEM = "SKU-1"
T0 = datetime(2025, 12, 1, 9, 0, tzinfo=UTC)
TODAY = date(2025, 12, 1)
C, E = EtaKind.CONFIRMED, EtaKind.ESTIMATED
FIFO, PRIORITY = AllocationPolicy.FIFO, AllocationPolicy.PRIORITY
AON, SAA = PolicyKind.ALL_OR_NOTHING, PolicyKind.SHIP_AS_AVAILABLE
AS_AVAILABLE, ALL_OR_NOTHING = ShipmentPolicy(SAA), ShipmentPolicy(AON)


def dec(day: int) -> date:
    return date(2025, 12, day)


def line(
    line_id: str,
    waiting: int,
    minute: int,
    *,
    tier: int = 3,
    value: int = 0,
    order_id: str | None = None,
    policy: PolicyKind = SAA,
) -> QueuedLine:
    return QueuedLine(
        line_id=line_id,
        order_id=order_id or f"O-{line_id}",
        item=ITEM,
        waiting=waiting,
        committed_at=T0 + timedelta(minutes=minute),
        tier=tier,
        order_value=value,
        policy=policy,
    )


def supply(free: int, *receipts: tuple[str, int, date, EtaKind]) -> Supply:
    return Supply(ITEM, free, tuple(Receipt(rid, ITEM, q, d, k) for rid, q, d, k in receipts))


def shown(result: AllocationResult) -> str:
    """'L1:4*, L3:1' -- units per line in allocation order; * marks a line now filled."""
    return ", ".join(
        f"{a.line_id}:{a.quantity}{'*' if a.fills_line else ''}" for a in result.allocations
    )


# --------------------------------------------------------------------------------------------
# allocate: worked examples
# --------------------------------------------------------------------------------------------

# line  waiting  committed  tier  order value
QUEUE = [
    line("L1", 4, 0, tier=3, value=100_00),
    line("L2", 3, 10, tier=1, value=50_00),
    line("L3", 5, 20, tier=2, value=900_00),
    line("L4", 2, 30, tier=1, value=80_00),
]
# FIFO order:     L1, L2, L3, L4 (commit time)
# PRIORITY order: L4, L2 (tier 1, higher value first), L3 (tier 2), L1 (tier 3)


@pytest.mark.parametrize(
    ("policy", "freed", "expected", "leftover"),
    [
        # policy   freed  who gets what (* = filled)        leftover
        (FIFO,     8,     "L1:4*, L2:3*, L3:1",              0),
        (PRIORITY, 8,     "L4:2*, L2:3*, L3:3",              0),
        (FIFO,     3,     "L1:3",                            0),
        (PRIORITY, 5,     "L4:2*, L2:3*",                    0),
        (FIFO,     20,    "L1:4*, L2:3*, L3:5*, L4:2*",      6),
        (PRIORITY, 14,    "L4:2*, L2:3*, L3:5*, L1:4*",      0),
        (FIFO,     0,     "",                                0),
    ],
)  # fmt: skip
def test_allocate_in_queue_order(
    policy: AllocationPolicy, freed: int, expected: str, leftover: int
) -> None:
    result = allocate(freed, DemandQueue(ITEM, QUEUE, policy))
    assert shown(result) == expected
    assert result.leftover == leftover
    assert result.allocated + result.leftover == freed


def test_allocate_carries_order_and_item() -> None:
    result = allocate(5, DemandQueue(ITEM, QUEUE, FIFO))
    assert result.allocations == (
        Allocation("L1", "O-L1", ITEM, 4, fills_line=True),
        Allocation("L2", "O-L2", ITEM, 1, fills_line=False),
    )


def test_allocate_to_an_empty_queue_leaves_everything_free() -> None:
    result = allocate(7, DemandQueue(ITEM, [], FIFO))
    assert result == AllocationResult((), 7)


def test_lines_waiting_for_nothing_get_no_allocation() -> None:
    queue = DemandQueue(ITEM, [line("L1", 0, 0), line("L2", 2, 5)], FIFO)
    assert shown(allocate(5, queue)) == "L2:2*"


def test_all_or_nothing_line_keeps_its_place_and_gets_its_units() -> None:
    # line  order  policy             waiting  committed
    queue = DemandQueue(
        ITEM,
        [
            line("A1", 5, 0, order_id="OA", policy=AON),
            line("B1", 3, 5, order_id="OB", policy=SAA),
        ],
        FIFO,
    )
    first = allocate(4, queue)
    # A1 is first in the queue: it takes all 4 units although its order cannot ship yet.
    assert shown(first) == "A1:4"
    # ...and it does not ship: its order waits until every line is covered.
    order_a = [LineState("A1", 5, 4), LineState("A2", 2, 2)]
    assert not releasable(order_a, ALL_OR_NOTHING).ships

    queue = after_allocation(queue, first)
    assert [(q.line_id, q.waiting) for q in queue.lines] == [("A1", 1), ("B1", 3)]
    second = allocate(4, queue)
    assert shown(second) == "A1:1*, B1:3*"
    order_a = [LineState("A1", 5, 5), LineState("A2", 2, 2)]
    release = releasable(order_a, ALL_OR_NOTHING)
    assert [(r.line_id, r.quantity) for r in release.lines] == [("A1", 5), ("A2", 2)]
    assert after_allocation(queue, second).lines == ()


# --------------------------------------------------------------------------------------------
# allocate: properties
# --------------------------------------------------------------------------------------------

queued_lines = st.lists(
    st.tuples(
        st.integers(0, 12),  # waiting
        st.integers(1, 3),  # tier
        st.integers(0, 1_000),  # order value
        st.integers(0, 600),  # minutes after T0
    ),
    max_size=8,
).map(
    lambda rows: [
        line(f"L{i}", w, minute, tier=tier, value=value)
        for i, (w, tier, value, minute) in enumerate(rows)
    ]
)


@settings(max_examples=150, deadline=None)
@given(
    lines=queued_lines,
    policy=st.sampled_from(list(AllocationPolicy)),
    freed=st.integers(0, 120),
)
def test_allocation_properties(
    lines: list[QueuedLine], policy: AllocationPolicy, freed: int
) -> None:
    queue = DemandQueue(ITEM, lines, policy)
    result = allocate(freed, queue)
    waiting = {q.line_id: q.waiting for q in queue.lines}

    # Conservation: what is allocated is all there is or all that is wanted.
    assert result.allocated == min(freed, queue.total)
    assert result.leftover == freed - result.allocated

    # No line gets more than it waits for, and fills_line says whether it got all of it.
    for a in result.allocations:
        assert 0 < a.quantity <= waiting[a.line_id]
        assert a.fills_line == (a.quantity == waiting[a.line_id])

    # Allocations are a prefix of the queue: in queue order, and every waiting line before the
    # last one served is filled.
    position = {q.line_id: i for i, q in enumerate(queue.lines)}
    served = [position[a.line_id] for a in result.allocations]
    assert served == sorted(served)
    got = result.by_line()
    if served:
        for q in queue.lines[: served[-1]]:
            assert got.get(q.line_id, 0) == q.waiting

    # Applying the result leaves exactly the unallocated demand, in the same order.
    rest = after_allocation(queue, result)
    assert rest.total == queue.total - result.allocated
    assert [q.line_id for q in rest.lines] == [
        q.line_id for q in queue.lines if got.get(q.line_id, 0) < q.waiting
    ]


# --------------------------------------------------------------------------------------------
# releasable: worked examples
# --------------------------------------------------------------------------------------------


def order(text: str) -> list[LineState]:
    """'L1 5/3/0, L2 2/2/0' -> lines with ordered/allocated/shipped."""
    states = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        line_id, qty = part.split()
        ordered, allocated, shipped = (int(n) for n in qty.split("/"))
        states.append(LineState(line_id, ordered, allocated, shipped))
    return states


def capped(n: int) -> ShipmentPolicy:
    return ShipmentPolicy.parse("capped_split", n)


@pytest.mark.parametrize(
    ("policy", "so_far", "lines", "ships", "held"),
    [
        # policy          so far  lines: ordered/allocated/shipped  ships now     held
        (AS_AVAILABLE,    0,      "L1 5/3/0, L2 2/2/0, L3 4/0/0",   "L1:3, L2:2", ""),
        (AS_AVAILABLE,    1,      "L1 5/5/2, L2 2/2/2",             "L1:3",       ""),
        (AS_AVAILABLE,    1,      "L1 5/5/5",                       "",           ""),
        (ALL_OR_NOTHING,  0,      "L1 5/5/0, L2 4/3/0",             "",           "L1, L2"),
        (ALL_OR_NOTHING,  0,      "L1 5/5/0, L2 4/4/0",             "L1:5, L2:4", ""),
        (ALL_OR_NOTHING,  0,      "L1 5/0/0, L2 4/0/0",             "",           ""),
        # capped_split: complete lines ship while a shipment is left for the rest...
        (capped(2),       0,      "L1 5/5/0, L2 4/3/0, L3 2/2/0",   "L1:5, L3:2", "L2"),
        # ...the last shipment of the cap waits for every remaining line
        (capped(2),       1,      "L1 5/5/5, L2 4/3/0, L3 2/2/0",   "",           "L2, L3"),
        (capped(2),       1,      "L1 5/5/5, L2 4/4/0, L3 2/2/0",   "L2:4, L3:2", ""),
        # cap 1 behaves like all-or-nothing
        (capped(1),       0,      "L1 5/5/0, L2 4/3/0",             "",           "L1, L2"),
        (capped(1),       0,      "L1 5/5/0, L2 4/4/0",             "L1:5, L2:4", ""),
        # a partly allocated line never ships on its own under capped_split
        (capped(3),       0,      "L1 5/2/0",                       "",           "L1"),
        # cap already used up by earlier shipments: the rest still ships once complete
        (capped(2),       2,      "L1 5/5/3",                       "L1:2",       ""),
    ],
)  # fmt: skip
def test_releasable(policy: ShipmentPolicy, so_far: int, lines: str, ships: str, held: str) -> None:
    release = releasable(order(lines), policy, shipments_so_far=so_far)
    assert ", ".join(f"{r.line_id}:{r.quantity}" for r in release.lines) == ships
    assert ", ".join(release.held) == held
    assert release.ships == bool(ships)
    assert release.units == sum(int(p.split(":")[1]) for p in ships.split(", ") if p)
    assert release.reason


@pytest.mark.parametrize(
    ("policy", "so_far", "lines", "reason"),
    [
        (ALL_OR_NOTHING,  0,  "L1 5/5/0, L2 4/3/0",            r"waiting for L2 to be covered"),
        (capped(2),       1,  "L1 5/5/5, L2 4/3/0, L3 2/2/0",  r"last shipment must carry the rest"),
        (capped(3),       0,  "L1 5/5/0, L2 4/3/0",            r"shipment 1 of at most 3"),
        (capped(2),       2,  "L1 5/5/3",                      r"cap of 2 is used up"),
        (AS_AVAILABLE,    1,  "L1 5/5/5",                      r"fully shipped"),
    ],
)  # fmt: skip
def test_releasable_says_why(policy: ShipmentPolicy, so_far: int, lines: str, reason: str) -> None:
    assert re.search(reason, releasable(order(lines), policy, shipments_so_far=so_far).reason)


# --------------------------------------------------------------------------------------------
# ETA changes: describe()
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "text"),
    [
        # old             new                        what the rep reads
        (Eta(dec(10), C), Eta(dec(17), C),           "ETA moved from 10 Dec to 17 Dec"),
        (Eta(dec(17), C), Eta(dec(10), C),           "ETA moved from 17 Dec to 10 Dec"),
        (Eta(dec(10), C), None,                      "ETA removed: no restock date"),
        (None,            Eta(dec(17), C),           "now dated 17 Dec"),
        (None,            Eta(dec(17), E),           "now dated 17 Dec (estimated)"),
        (Eta(dec(17), E), Eta(dec(17), C),           "ETA 17 Dec is now confirmed"),
        (Eta(dec(17), C), Eta(dec(17), E),           "ETA 17 Dec is now only estimated"),
        (Eta(dec(10), C), Eta(dec(17), E),           "ETA moved from 10 Dec to 17 Dec (now estimated)"),
        (Eta(dec(28), C), Eta(date(2026, 1, 4), C),  "ETA moved from 28 Dec 2025 to 4 Jan 2026"),
    ],
)  # fmt: skip
def test_eta_change_describe(old: Eta | None, new: Eta | None, text: str) -> None:
    assert EtaChange("L1", old, new).describe() == text


# --------------------------------------------------------------------------------------------
# ETA changes: one worked example per event
# --------------------------------------------------------------------------------------------

Scenario = tuple[Supply, DemandQueue, Supply, DemandQueue]


def receipt_arrives_early() -> Scenario:
    """R2 (10 units, due 20 Dec) arrives today; allocation fills A and B and part of C."""
    queue = DemandQueue(
        ITEM, [line("A", 3, 0), line("B", 4, 10), line("C", 5, 20), line("D", 4, 30)], FIFO
    )
    # units: A [0,3) B [3,7) -> R1 10 Dec; C [7,12) D [12,16) -> R2 20 Dec
    before = supply(0, ("R1", 7, dec(10), C), ("R2", 10, dec(20), C))
    result = allocate(10, queue)
    assert shown(result) == "A:3*, B:4*, C:3"
    after = supply(result.leftover, ("R1", 7, dec(10), C))
    # units: C [0,2) D [2,6) -> R1 10 Dec
    return before, queue, after, after_allocation(queue, result)


def waiting_line_cancelled() -> Scenario:
    """A (3 units, first in the queue) is cancelled: everyone behind moves up."""
    lines = [line("A", 3, 0), line("B", 4, 10), line("C", 3, 20), line("D", 2, 30)]
    stock = supply(0, ("R1", 5, dec(10), C), ("R2", 5, dec(17), C))
    # before: A [0,3) 10 Dec; B [3,7) 17 Dec; C [7,10) 17 Dec; D [10,12) no date
    # after:  B [0,4) 10 Dec; C [4,7) 17 Dec; D [7,9) 17 Dec
    return stock, DemandQueue(ITEM, lines, FIFO), stock, DemandQueue(ITEM, lines[1:], FIFO)


def priority_order_jumps_ahead() -> Scenario:
    """A tier-1 account orders 2 units; under the priority policy it goes before A and B."""
    lines = [line("A", 3, 0), line("B", 4, 10)]
    stock = supply(0, ("R1", 4, dec(10), C), ("R2", 4, dec(17), E))
    urgent = line("P", 2, 60, tier=1, value=500_00)
    # before: A [0,3) 10 Dec confirmed; B [3,7) 17 Dec estimated
    # after:  P [0,2); A [2,5) 17 Dec estimated; B [5,9) one unit beyond all supply
    return (
        stock,
        DemandQueue(ITEM, lines, PRIORITY),
        stock,
        DemandQueue(ITEM, [*lines, urgent], PRIORITY),
    )


def receipt_delayed_a_week() -> Scenario:
    """The supplier moves R1 from 10 Dec to 17 Dec: the lines it covered move with it."""
    queue = DemandQueue(ITEM, [line("A", 2, 0), line("B", 3, 10), line("C", 4, 20)], FIFO)
    r1 = Receipt("R1", ITEM, 5, dec(10), C)
    r2 = Receipt("R2", ITEM, 5, dec(24), C)
    delayed = replace(r1, expected=r1.expected + timedelta(days=7))
    # A [0,2) B [2,5) -> R1; C [5,9) -> R2 24 Dec (unchanged)
    return Supply(ITEM, 0, (r1, r2)), queue, Supply(ITEM, 0, (delayed, r2)), queue


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        # event                       line  what the rep reads
        (receipt_arrives_early,       [("C", "ETA moved from 20 Dec to 10 Dec"),
                                       ("D", "ETA moved from 20 Dec to 10 Dec")]),
        (waiting_line_cancelled,      [("B", "ETA moved from 17 Dec to 10 Dec"),
                                       ("D", "now dated 17 Dec")]),
        (priority_order_jumps_ahead,  [("A", "ETA moved from 10 Dec to 17 Dec (now estimated)"),
                                       ("B", "ETA removed: no restock date")]),
        (receipt_delayed_a_week,      [("A", "ETA moved from 10 Dec to 17 Dec"),
                                       ("B", "ETA moved from 10 Dec to 17 Dec")]),
    ],
)  # fmt: skip
def test_eta_changes_per_event(
    event: Callable[[], Scenario], expected: list[tuple[str, str]]
) -> None:
    changes = item_eta_changes(*event(), today=TODAY)
    assert [(c.line_id, c.describe()) for c in changes] == expected


def test_eta_changes_direction() -> None:
    early = item_eta_changes(*receipt_arrives_early(), today=TODAY)
    late = item_eta_changes(*receipt_delayed_a_week(), today=TODAY)
    assert not any(c.later for c in early)
    assert all(c.later for c in late)


def test_filled_and_new_lines_are_not_changes() -> None:
    stock_before, queue_before, stock_after, queue_after = receipt_arrives_early()
    before = date_queue(stock_before, queue_before, today=TODAY)
    after = date_queue(stock_after, queue_after, today=TODAY)
    assert {"A", "B"} <= before.keys() and not {"A", "B"} & after.keys()
    assert {c.line_id for c in eta_changes(before, after)} == {"C", "D"}
    # the new priority line P is only in `after`: it had no promise to move
    changes = item_eta_changes(*priority_order_jumps_ahead(), today=TODAY)
    assert "P" not in {c.line_id for c in changes}


def test_no_event_no_changes() -> None:
    stock, queue, _, _ = receipt_delayed_a_week()
    assert item_eta_changes(stock, queue, stock, queue, today=TODAY) == ()


def test_line_covered_by_stock_on_hand_completes_on_its_ready_date() -> None:
    # With free stock the line has no `eta` (nothing is backordered) but it is not undated:
    # its completion is the ready date, so losing that stock is a move, not "newly dated".
    queue = DemandQueue(ITEM, [line("A", 2, 0)], FIFO)
    before = supply(2, ("R1", 5, dec(10), C))
    after = supply(0, ("R1", 5, dec(10), C))
    assert completion_eta(date_queue(before, queue, today=TODAY)["A"]) == Eta(TODAY, C)
    changes = item_eta_changes(before, queue, after, queue, today=TODAY)
    assert [c.describe() for c in changes] == ["ETA moved from 1 Dec to 10 Dec"]


# --------------------------------------------------------------------------------------------
# ETA changes: adding demand ahead never makes anyone's ETA earlier
# --------------------------------------------------------------------------------------------

receipts_st = st.lists(
    st.tuples(st.integers(0, 8), st.integers(0, 40), st.sampled_from([C, E])), max_size=4
).map(
    lambda rows: tuple(
        Receipt(f"R{i}", ITEM, q, TODAY + timedelta(days=d), k) for i, (q, d, k) in enumerate(rows)
    )
)


@settings(max_examples=150, deadline=None)
@given(
    free=st.integers(0, 6),
    receipts=receipts_st,
    waiting=st.lists(st.integers(1, 8), min_size=1, max_size=6),
    new_waiting=st.integers(1, 8),
    data=st.data(),
)
def test_demand_added_ahead_never_brings_an_eta_forward(
    free: int,
    receipts: tuple[Receipt, ...],
    waiting: list[int],
    new_waiting: int,
    data: st.DataObject,
) -> None:
    stock = Supply(ITEM, free, receipts)
    lines = [line(f"L{i}", w, i * 10) for i, w in enumerate(waiting)]
    position = data.draw(st.integers(0, len(lines)), label="insert before")
    newcomer = line("NEW", new_waiting, position * 10 - 5)
    before = date_queue(stock, DemandQueue(ITEM, lines, FIFO), today=TODAY)
    after = date_queue(stock, DemandQueue(ITEM, [*lines, newcomer], FIFO), today=TODAY)

    for line_id, was in before.items():
        old, new = was.eta, after[line_id].eta
        # Availability.eta: the same or later, or gone; never earlier, never newly dated
        if old is not None:
            assert new is None or new.date >= old.date
        elif was.undated:
            assert new is None
        # completion ETA (counts stock on hand): the same or later, or gone
        old_c, new_c = completion_eta(was), completion_eta(after[line_id])
        assert new_c is None or (old_c is not None and new_c.date >= old_c.date)

    for change in eta_changes(before, after):
        assert change.line_id != "NEW"
        assert change.new is None or (change.old is not None and change.new.date >= change.old.date)


# --------------------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------------------

QUEUE_FIFO = DemandQueue(ITEM, QUEUE, FIFO)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: allocate(-1, QUEUE_FIFO),    r"SKU-1 to allocate must be zero or more, got -1"),
        (lambda: allocate(2.5, QUEUE_FIFO),   r"must be a whole number of units, got 2\.5"),
        (lambda: allocate(True, QUEUE_FIFO),  r"must be a whole number of units, got True"),
        (lambda: allocate("3", QUEUE_FIFO),   r"must be a whole number of units, got '3'"),
        (lambda: LineState("L1", 3, 4),       r"line L1 has 4 units allocated but only 3 ordered"),
        (lambda: LineState("L1", 3, 2, 3),    r"line L1 shipped 3 units but only 2 were allocated"),
        (lambda: LineState("L1", 0, 0),       r"ordered quantity of line L1 must be at least 1"),
        (lambda: releasable(order("L1 2/2/0, L1 3/3/0"), AS_AVAILABLE),
                                              r"line L1 appears twice"),
        (lambda: releasable(order("L1 2/2/0"), AS_AVAILABLE, shipments_so_far=-1),
                                              r"shipments so far must be zero or more"),
        (lambda: after_allocation(QUEUE_FIFO, AllocationResult(
            (Allocation("X9", "O-X9", ITEM, 1, fills_line=True),), 0)),
                                              r"allocations for lines not in the SKU-1 queue: X9"),
        (lambda: after_allocation(QUEUE_FIFO, AllocationResult(
            (Allocation("L1", "O-L1", ITEM, 9, fills_line=True),), 0)),
                                              r"line L1 waits for 4 units but was allocated 9"),
        (lambda: item_eta_changes(Supply("SKU-2", 0), QUEUE_FIFO, Supply(ITEM, 0), QUEUE_FIFO,
                                  today=TODAY),
                                              r"must be of one item, got SKU-1, SKU-2"),
    ],
)  # fmt: skip
def test_bad_input_raises(call: Callable[[], object], message: str) -> None:
    with pytest.raises(DomainError, match=message):
        call()
