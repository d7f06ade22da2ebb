"""Available-to-promise: labels, queue-aware ETAs, delivery days and whole carts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.availability import (
    CartLine,
    DemandQueue,
    NewOrder,
    check_cart,
    date_line,
    date_queue,
    ship_date,
)
from app.domain.model import (
    AllocationPolicy,
    DomainError,
    EtaKind,
    Label,
    QueuedLine,
    Receipt,
    ShipmentPolicy,
    Stock,
    Supply,
    Terms,
)

TODAY = date(2026, 11, 26)  # a Thursday
C, E = EtaKind.CONFIRMED, EtaKind.ESTIMATED


def at(day: int, hour: int = 9) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


def widget(free: int = 10) -> Supply:
    """Item W: `free` units now, 5 confirmed on 10 Dec, 20 estimated on 20 Dec."""
    return Supply(
        "W",
        free,
        (
            Receipt("r2", "W", 20, date(2026, 12, 20), E),
            Receipt("r1", "W", 5, date(2026, 12, 10), C),
        ),
    )


# ahead | qty || label        | now | dated parts (qty, date, kind)          | undated | eta
LINE_TABLE = [
    (0,  4,   Label.IN_STOCK,     4,  [],                                       0, None),
    (0,  10,  Label.IN_STOCK,     10, [],                                       0, None),
    (0,  12,  Label.PARTIAL,      10, [(2, "2026-12-10", C)],                   0, ("2026-12-10", C)),
    (8,  10,  Label.PARTIAL,      2,  [(5, "2026-12-10", C), (3, "2026-12-20", E)], 0, ("2026-12-20", E)),
    (10, 5,   Label.BACKORDERED,  0,  [(5, "2026-12-10", C)],                   0, ("2026-12-10", C)),
    (12, 5,   Label.BACKORDERED,  0,  [(3, "2026-12-10", C), (2, "2026-12-20", E)], 0, ("2026-12-20", E)),
    (30, 10,  Label.BACKORDERED,  0,  [(5, "2026-12-20", E)],                   5, None),
    (35, 3,   Label.OUT_OF_STOCK, 0,  [],                                       3, None),
    (5,  40,  Label.PARTIAL,      5,  [(5, "2026-12-10", C), (20, "2026-12-20", E)], 10, None),
]  # fmt: skip


@pytest.mark.parametrize(("ahead", "qty", "label", "now", "parts", "undated", "eta"), LINE_TABLE)
def test_a_line_is_labelled_and_dated_behind_the_queue(ahead, qty, label, now, parts, undated, eta):
    got = date_line(widget(), ahead, qty, today=TODAY)
    assert got.label is label
    assert got.now == now
    assert [(p.quantity, p.eta.date.isoformat(), p.eta.kind) for p in got.dated] == parts
    assert got.undated == undated
    assert got.backordered == qty - now
    if eta is None:
        assert got.eta is None
    else:
        assert (got.eta.date.isoformat(), got.eta.kind) == eta


def test_only_the_covered_part_gets_a_date_never_the_whole():
    # 30 wanted behind 30 ahead: receipts cover none of it after the queue takes 35 units.
    got = date_line(widget(), 33, 4, today=TODAY)
    assert (got.dated_quantity, got.undated, got.eta) == (2, 2, None)
    assert got.schedule() == ((date(2026, 12, 20), 2), (None, 2))


# handling days | delivery weekdays | available on    || reaches the customer
SHIP_TABLE = [
    (0, set(),       "2026-11-26", "2026-11-26"),
    (2, set(),       "2026-11-26", "2026-11-28"),
    (0, {0},         "2026-11-26", "2026-11-30"),  # Mondays only
    (1, {3},         "2026-11-26", "2026-12-03"),  # Thursday + 1 day misses this Thursday
    (0, {3},         "2026-11-26", "2026-11-26"),  # a delivery day itself
    (0, set(),       "2026-11-01", "2026-11-26"),  # an overdue receipt is not in the past
    (3, {1, 4},      "2026-12-10", "2026-12-15"),  # Thu + 3 = Sun -> Tue
]  # fmt: skip


@pytest.mark.parametrize(("handling", "weekdays", "available", "expected"), SHIP_TABLE)
def test_ship_date_adds_handling_then_waits_for_a_delivery_day(
    handling, weekdays, available, expected
):
    terms = Terms(handling_days=handling, delivery_weekdays=frozenset(weekdays))
    assert ship_date(date.fromisoformat(available), terms, TODAY) == date.fromisoformat(expected)


def test_eta_uses_the_accounts_terms():
    terms = Terms(handling_days=2, delivery_weekdays=frozenset({0}))  # Mondays
    got = date_line(widget(0), 0, 3, today=TODAY, terms=terms)
    assert got.eta is not None
    assert got.eta.date == date(2026, 12, 14)  # 10 Dec (Thu) + 2 = Sat -> Monday 14 Dec
    assert got.ready == date(2026, 11, 30)


def test_a_discontinued_item_sells_what_is_left_and_offers_alternatives():
    supply = Supply.of(
        Stock("OLD", on_hand=5, reserved=2),
        [Receipt("r", "OLD", 50, date(2026, 12, 1))],
        discontinued=True,
        alternatives=("NEW-1", "NEW-2"),
    )
    got = date_line(supply, 0, 10, today=TODAY)
    assert (got.label, got.now, got.dated, got.undated) == (Label.DISCONTINUED, 3, (), 7)
    assert got.alternatives == ("NEW-1", "NEW-2")
    assert date_line(supply, 0, 3, today=TODAY).label is Label.IN_STOCK


def test_out_of_stock_lines_name_alternatives_when_the_catalog_has_them():
    supply = Supply("X", 0, (), alternatives=("Y",))
    got = date_line(supply, 0, 2, today=TODAY)
    assert got.label is Label.OUT_OF_STOCK
    assert got.alternatives == ("Y",)


def queued(line_id: str, waiting: int, day: int, tier: int = 3, value: int = 0) -> QueuedLine:
    return QueuedLine(line_id, f"o-{line_id}", "W", waiting, at(day), tier=tier, order_value=value)


def test_fifo_puts_a_new_line_behind_every_waiting_backorder():
    queue = DemandQueue("W", [queued("a", 6, 1), queued("b", 6, 2)], AllocationPolicy.FIFO)
    order = NewOrder("new", at(26), tier=1, order_value=10_000_00)
    (line,) = check_cart(
        [CartLine("1", "W", 3)], {"W": widget(0)}, {"W": queue}, order, today=TODAY
    )
    # 12 units wait ahead: 5 (10 Dec) + 7 of the 20 (20 Dec) are theirs; ours come from 20 Dec.
    assert [(p.quantity, p.eta.date) for p in line.dated] == [(3, date(2026, 12, 20))]


def test_priority_ranks_by_tier_then_value_then_time():
    lines = [
        queued("c-small", 4, 1, tier=3, value=100),
        queued("a-late", 4, 5, tier=1, value=100),
        queued("b-big", 4, 2, tier=2, value=9_000),
        queued("b-small", 4, 1, tier=2, value=50),
    ]
    queue = DemandQueue("W", lines, AllocationPolicy.PRIORITY)
    assert [line.line_id for line in queue.lines] == ["a-late", "b-big", "b-small", "c-small"]
    order = NewOrder("new", at(26), tier=2, order_value=1_000)
    (line,) = check_cart(
        [CartLine("1", "W", 5)],
        {"W": widget(0)},
        {"W": queue},
        order,
        today=TODAY,
        policy=AllocationPolicy.PRIORITY,
    )
    # Ahead: a-late and b-big (8 units); behind: b-small and c-small.
    assert [(p.quantity, p.eta.date) for p in line.dated] == [
        (5, date(2026, 12, 20)),
    ]
    assert queue.ahead_of((2, -1_000, at(26), "new", "1")) == 8


def test_lines_of_one_item_in_one_cart_consume_supply_in_line_order():
    order = NewOrder("o", at(26))
    first, other, second = check_cart(
        [CartLine("1", "W", 8), CartLine("2", "Z", 1), CartLine("3", "W", 8)],
        {"W": widget(10), "Z": Supply("Z", 1)},
        {},
        order,
        today=TODAY,
    )
    assert (first.label, first.now) == (Label.IN_STOCK, 8)
    assert other.label is Label.IN_STOCK
    assert (second.label, second.now, second.dated_quantity) == (Label.PARTIAL, 2, 6)


def test_the_reps_own_unsynced_orders_count_as_demand_ahead():
    pending = [QueuedLine("p1", "pending", "W", 9, at(25))]
    order = NewOrder("o", at(26))
    (line,) = check_cart(
        [CartLine("1", "W", 3)], {"W": widget(10)}, {}, order, today=TODAY, pending=pending
    )
    assert (line.label, line.now, line.dated_quantity) == (Label.PARTIAL, 1, 2)


def test_date_queue_dates_every_waiting_line_in_one_pass():
    queue = DemandQueue(
        "W", [queued("a", 5, 1), queued("b", 10, 2), queued("c", 30, 3)], AllocationPolicy.FIFO
    )
    dated = date_queue(widget(0), queue, today=TODAY)
    assert dated["a"].eta is not None and dated["a"].eta.date == date(2026, 12, 10)
    assert dated["b"].eta is not None and dated["b"].eta.date == date(2026, 12, 20)
    assert (dated["c"].label, dated["c"].dated_quantity, dated["c"].undated) == (
        Label.BACKORDERED,
        10,
        20,
    )


# what is wrong                                      || the message says
BAD_INPUT = [
    (lambda: date_line(widget(), 0, 0, today=TODAY),        "at least 1"),
    (lambda: date_line(widget(), 0, -3, today=TODAY),       "at least 1"),
    (lambda: date_line(widget(), 0, 2.5, today=TODAY),      "whole number"),
    (lambda: date_line(widget(), 0, True, today=TODAY),     "whole number"),
    (lambda: Receipt("r", "W", -1, TODAY),                  "zero or more"),
    (lambda: DemandQueue("W", [], "loudest_first"),             "unknown allocation policy"),
    (lambda: ShipmentPolicy.parse("ship_whenever"),         "unknown shipment policy"),
    (lambda: ShipmentPolicy.parse("capped_split", 0),       "cap of at least 1"),
    (lambda: ShipmentPolicy.parse("all_or_nothing", 2),     "only capped_split"),
    (lambda: Terms(delivery_weekdays=frozenset({7})),       "weekdays 0"),
    (lambda: QueuedLine("l", "o", "W", 1, datetime(2026, 1, 1)),  "time zone"),
    (lambda: Supply("W", 0, (Receipt("r", "X", 1, TODAY),)), "is for X"),
    (lambda: check_cart([CartLine("1", "NOPE", 1)], {}, {}, NewOrder("o", at(1)), today=TODAY),
     "not in the catalog"),
]  # fmt: skip


@pytest.mark.parametrize(("make", "message"), BAD_INPUT)
def test_bad_input_raises_a_domain_error_that_says_what_is_wrong(make, message):
    with pytest.raises(DomainError, match=message):
        make()


receipts = st.lists(
    st.tuples(st.integers(0, 50), st.integers(0, 60), st.sampled_from([C, E])), max_size=6
).map(
    lambda rs: tuple(
        Receipt(f"r{i}", "W", q, TODAY + timedelta(days=d), k) for i, (q, d, k) in enumerate(rs)
    )
)
supplies = st.builds(
    lambda free, rs, disc: Supply("W", free, rs, discontinued=disc),
    st.integers(0, 100),
    receipts,
    st.booleans(),
)


@given(supplies, st.integers(0, 300), st.integers(1, 120))
def test_labels_agree_with_quantities(supply, ahead, qty):
    got = date_line(supply, ahead, qty, today=TODAY)
    assert got.now + got.dated_quantity + got.undated == qty
    assert min(got.now, got.dated_quantity, got.undated) >= 0
    assert sum(q for _, q in got.schedule()) == qty
    if got.now == qty:
        expected = Label.IN_STOCK
    elif supply.discontinued:
        expected = Label.DISCONTINUED
    elif got.now:
        expected = Label.PARTIAL
    elif got.dated:
        expected = Label.BACKORDERED
    else:
        expected = Label.OUT_OF_STOCK
    assert got.label is expected
    assert (got.eta is not None) == (got.undated == 0 and got.dated_quantity > 0)
    assert got.now <= max(supply.free_now - ahead, 0)


@given(supplies, st.integers(0, 200), st.integers(1, 50), st.integers(1, 50))
def test_an_eta_never_gets_earlier_when_demand_is_added_ahead(supply, ahead, extra, qty):
    before = date_line(supply, ahead, qty, today=TODAY)
    after = date_line(supply, ahead + extra, qty, today=TODAY)
    assert after.now <= before.now
    if before.eta is None:
        assert after.eta is None or before.now == qty
    elif after.eta is not None:
        assert after.eta.date >= before.eta.date
    last_before = [d for d, _ in before.schedule()]
    last_after = [d for d, _ in after.schedule()]
    if None in last_before:
        assert None in last_after
