"""Backorder metrics: a small hand-checked data set, empty denominators, weekly buckets, ranking,
bad input, and properties over random order histories."""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import UTC, date, datetime, timedelta, timezone
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.metrics import (
    AccountBackorders,
    BackorderMetrics,
    ItemBackorders,
    LineFacts,
    OrderFacts,
    backorder_metrics,
    customer_cancelled_units,
    most_affected_accounts,
    most_backordered_items,
    weekly_trend,
)
from app.domain.model import DomainError


def at(day: int, hour: int = 0, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2024, month, day, hour, minute, tzinfo=UTC)


def d(day: int, month: int = 3) -> date:
    return date(2024, month, day)


def ok(line_id: str, item: str, ordered: int) -> LineFacts:
    """A line fully available at commit."""
    return LineFacts(line_id, item, ordered)


START, END = at(4), at(11)  # Monday 4 March 2024 to Monday 11 March, end excluded

# The hand-checked period. Orders committed in [START, END): O1..O5.
#
# order account committed  cancelled  line item ordered bo  filled after  first ETA  shipped
# O1    A       Mon 09:00             L1   X    10      0
#                                     L2   Y     5      0
# O2    A       Tue 10:00             L3   X    10      4   2 days        Fri 8      Fri 8 (on time)
#                                     L4   Z     2      0
# O3    B       Wed 12:00  Thu        L5   Y     6      6   -             Tue 12     -
# O4    B       Fri 08:00             L6   X     8      8   3.5 days      Sun 10     Tue 12 (late)
#                                     L7   Y     4      2   0.5 days      none       Sat 9 (no ETA)
# O5    C       Sun 23:59             L8   Z     3      0
#                                     L11  Z     2      2   -             none       - (line cancelled)
# O6    C       next Mon 00:00        L9   X     1      1   (outside: end is excluded)
# O7    A       prev Sun 23:59        L10  X     1      1   (outside: before start)
ORDERS = (
    OrderFacts("O1", "A", at(4, 9), (ok("L1", "X", 10), ok("L2", "Y", 5))),
    OrderFacts(
        "O2",
        "A",
        at(5, 10),
        (
            LineFacts("L3", "X", 10, 4, at(5, 10), at(7, 10), d(8), d(8)),
            ok("L4", "Z", 2),
        ),
    ),
    OrderFacts(
        "O3",
        "B",
        at(6, 12),
        (LineFacts("L5", "Y", 6, 6, at(6, 12), first_eta=d(12)),),
        cancelled_at=at(7, 9),
    ),
    OrderFacts(
        "O4",
        "B",
        at(8, 8),
        (
            # filled after the period ended: still counts (cohort of orders committed in it)
            LineFacts("L6", "X", 8, 8, at(8, 8), at(11, 20), d(10), at(12, 9)),
            LineFacts("L7", "Y", 4, 2, at(8, 8), at(8, 20), None, d(9)),
        ),
    ),
    OrderFacts(
        "O5",
        "C",
        at(10, 23, 59),
        # the customer gave up on a line promised with no date; the order goes on
        (ok("L8", "Z", 3), LineFacts("L11", "Z", 2, 2, at(10, 23, 59), cancelled=2)),
    ),
    OrderFacts("O6", "C", at(11), (LineFacts("L9", "X", 1, 1, at(11)),)),
    OrderFacts("O7", "A", at(3, 23, 59), (LineFacts("L10", "X", 1, 1, at(3, 23, 59)),)),
)


HAND_CHECKED = [
    ("orders", 5, "O1..O5; O6 is at the excluded end, O7 before the start"),
    ("backordered_orders", 4, "O2, O3, O4, O5"),
    ("cancelled_backordered_orders", 2, "O3 (whole), O5 (its backordered line L11)"),
    ("lines", 9, "L1..L8, L11"),
    ("backordered_lines", 5, "L3, L5, L6, L7, L11"),
    ("filled_lines", 3, "L3, L6, L7 (L5 and L11 never filled)"),
    ("units_ordered", 50, "10+5+10+2+6+8+4+3+2"),
    ("units_available", 28, "50 - (4+6+8+2+2)"),
    ("shipped_lines", 2, "L3, L6 (L7 shipped but was promised with no date)"),
    ("on_time_lines", 1, "L3"),
    ("shipped_without_eta", 1, "L7"),
    ("backorder_rate", 4 / 5, "4 of 5 orders"),
    ("avg_fulfilment_days", 2.0, "(2 + 3.5 + 0.5) / 3"),
    ("cancellation_rate", 2 / 4, "2 of 4 backordered orders"),
    ("line_fill_rate", 4 / 9, "4 of 9 lines fully available"),
    ("unit_fill_rate", 28 / 50, "28 of 50 units"),
    ("promise_accuracy", 1 / 2, "1 of 2 lines promised a date shipped by it"),
    ("undated_lines", 2, "L7 (shipped), L11 (cancelled)"),
    ("cancelled_backordered_lines", 2, "L5 (its order cancelled), L11"),
    ("line_cancellation_rate", 2 / 5, "2 of 5 backordered lines"),
    ("promised_wait_days", 2.5, "L3: Tue 5 to Fri 8 = 3, L6: Fri 8 to Sun 10 = 2"),
    ("actual_wait_days", 3.5, "L3: Tue 5 to Fri 8 = 3, L6: Fri 8 to Tue 12 = 4"),
    ("padding_days", -1.0, "(3 - 3 + 2 - 4) / 2: promised a day shorter than waited"),
]


@pytest.mark.parametrize(("field", "expected", "why"), HAND_CHECKED)
def test_each_metric_on_the_hand_checked_period(field: str, expected: float, why: str) -> None:
    metrics = backorder_metrics(ORDERS, START, END)
    assert getattr(metrics, field) == pytest.approx(expected), why


def test_every_metric_field_is_checked_above() -> None:
    # keeps the table honest when a field is added
    assert [row[0] for row in HAND_CHECKED] == [f.name for f in fields(BackorderMetrics)]


def test_counts_are_ints_and_rates_are_floats() -> None:
    metrics = backorder_metrics(ORDERS, START, END)
    for f in fields(BackorderMetrics):
        value = getattr(metrics, f.name)
        kind = float if f.name.endswith(("rate", "accuracy", "days")) else int
        assert type(value) is kind, f.name


RATES = (
    "backorder_rate",
    "avg_fulfilment_days",
    "cancellation_rate",
    "line_fill_rate",
    "unit_fill_rate",
    "promise_accuracy",
    "line_cancellation_rate",
    "promised_wait_days",
    "actual_wait_days",
    "padding_days",
)
WAITS = {"promised_wait_days", "actual_wait_days", "padding_days"}  # over the promise's lines


EMPTY_DENOMINATORS = [
    ("no orders at all", [], set(RATES), {}),
    (
        "an order with no lines",
        [OrderFacts("E", "A", at(5))],
        {"avg_fulfilment_days", "cancellation_rate", "line_fill_rate", "unit_fill_rate",
         "promise_accuracy", "line_cancellation_rate", *WAITS},
        {"backorder_rate": 0.0},
    ),
    (
        "nothing backordered",
        [OrderFacts("E", "A", at(5), (ok("L", "X", 3),))],
        {"avg_fulfilment_days", "cancellation_rate", "promise_accuracy",
         "line_cancellation_rate", *WAITS},
        {"backorder_rate": 0.0, "line_fill_rate": 1.0, "unit_fill_rate": 1.0},
    ),
    (
        "backordered, not filled, not shipped",
        [OrderFacts("E", "A", at(5), (LineFacts("L", "X", 3, 1, at(5)),))],
        {"avg_fulfilment_days", "promise_accuracy", *WAITS},
        {"backorder_rate": 1.0, "cancellation_rate": 0.0, "line_fill_rate": 0.0,
         "unit_fill_rate": 2 / 3, "line_cancellation_rate": 0.0},
    ),
    (
        "shipped, but no ETA was ever shown",
        [OrderFacts("E", "A", at(5), (LineFacts("L", "X", 3, 3, at(5), shipped_at=d(9)),))],
        {"avg_fulfilment_days", "promise_accuracy", *WAITS},
        {"backorder_rate": 1.0, "unit_fill_rate": 0.0},
    ),
]  # fmt: skip


@pytest.mark.parametrize(("case", "orders", "none", "values"), EMPTY_DENOMINATORS)
def test_rates_are_none_when_their_denominator_is_zero(
    case: str, orders: list[OrderFacts], none: set[str], values: dict[str, float]
) -> None:
    metrics = backorder_metrics(orders, START, END)
    assert {name for name in RATES if getattr(metrics, name) is None} == none, case
    for name, value in values.items():
        assert getattr(metrics, name) == pytest.approx(value), (case, name)


@pytest.mark.parametrize(
    ("first_eta", "shipped_at", "on_time"),
    [
        (d(10), d(9), True),  # early
        (d(10), d(10), True),  # on the day
        (d(10), d(11), False),  # a day late
        (d(10), at(10, 23, 59), True),  # a datetime counts by its own calendar day
        (d(10), datetime(2024, 3, 10, 23, 30, tzinfo=timezone(timedelta(hours=-5))), True),
        (None, d(9), None),  # never promised: not in the accuracy
        (d(10), None, None),  # not shipped yet
    ],
)
def test_on_time_is_shipped_on_or_before_the_first_eta(
    first_eta: date | None, shipped_at: date | datetime | None, on_time: bool | None
) -> None:
    line = LineFacts("L", "X", 5, 5, at(5), first_eta=first_eta, shipped_at=shipped_at)
    assert line.on_time is on_time


def test_fulfilment_time_is_exact_to_the_second() -> None:
    lines = (
        LineFacts("L1", "X", 1, 1, at(5, 10), at(5, 22)),  # 0.5 day
        LineFacts("L2", "X", 1, 1, at(5, 10), at(6, 10, 1)),  # 1 day and 1 minute
    )
    metrics = backorder_metrics([OrderFacts("O", "A", at(5, 10), lines)], START, END)
    assert metrics.avg_fulfilment_days == pytest.approx((0.5 + 1 + 1 / 1440) / 2, abs=1e-12)


def test_period_compares_moments_across_time_zones() -> None:
    paris_evening = datetime(2024, 3, 11, 0, 30, tzinfo=timezone(timedelta(hours=1)))  # 23:30Z
    order = OrderFacts("O", "A", paris_evening, (ok("L", "X", 1),))
    assert backorder_metrics([order], START, END).orders == 1


def test_metrics_accept_a_one_shot_iterator() -> None:
    assert backorder_metrics(iter(ORDERS), START, END) == backorder_metrics(ORDERS, START, END)


# ---------------------------------------------------------------------------- weekly trend


def test_weekly_trend_buckets_by_iso_week() -> None:
    trend = weekly_trend(ORDERS, d(13), weeks=3)  # Wednesday 13 March
    assert [week for week, _ in trend] == [d(26, 2), d(4), d(11)]
    assert [m.orders for _, m in trend] == [1, 5, 1]  # O7 | O1..O5 | O6
    assert trend[1][1] == backorder_metrics(ORDERS, START, END)


def test_weekly_trend_uses_the_given_calendar() -> None:
    # at UTC+1, O7 (Sun 23:59Z) falls on Monday 4 March and O5 (Sun 10 March 23:59Z) on Monday 11
    trend = weekly_trend(ORDERS, d(13), weeks=3, tz=timezone(timedelta(hours=1)))
    assert [m.orders for _, m in trend] == [0, 5, 2]


def test_weekly_trend_defaults_to_twelve_weeks_with_empty_weeks_present() -> None:
    trend = weekly_trend(ORDERS, d(17))  # a Sunday: the week of 11 March is the last
    assert len(trend) == 12
    assert trend[0][0] == d(25, 12).replace(year=2023)
    assert trend[-1][0] == d(11)
    assert all(week.isoweekday() == 1 for week, _ in trend)
    assert [b - a for (a, _), (b, _) in pairwise(trend)] == [timedelta(weeks=1)] * 11
    empty = trend[0][1]
    assert empty.orders == 0
    assert all(getattr(empty, name) is None for name in RATES)


def test_weekly_trend_reads_the_orders_once() -> None:
    assert weekly_trend(iter(ORDERS), d(13), weeks=3) == weekly_trend(ORDERS, d(13), weeks=3)


# ---------------------------------------------------------------------------- rankings


def test_most_backordered_items() -> None:
    assert most_backordered_items(ORDERS, START, END) == (
        # same number of backordered lines: more backordered units first
        ItemBackorders("X", lines=3, backordered_lines=2, units_ordered=28, backordered_units=12),
        ItemBackorders("Y", lines=3, backordered_lines=2, units_ordered=15, backordered_units=8),
        ItemBackorders("Z", lines=3, backordered_lines=1, units_ordered=7, backordered_units=2),
    )


def test_most_affected_accounts() -> None:
    assert most_affected_accounts(ORDERS, START, END) == (
        AccountBackorders(
            "B",
            orders=2,
            backordered_orders=2,
            cancelled_backordered_orders=1,
            backordered_lines=3,
            backordered_units=16,
        ),
        AccountBackorders(
            "A",
            orders=2,
            backordered_orders=1,
            cancelled_backordered_orders=0,
            backordered_lines=1,
            backordered_units=4,
        ),
        AccountBackorders(  # as many as A, fewer units; a line cancelled counts (O6 is outside)
            "C",
            orders=1,
            backordered_orders=1,
            cancelled_backordered_orders=1,
            backordered_lines=1,
            backordered_units=2,
        ),
    )


def test_rankings_respect_the_limit_and_break_ties_by_name() -> None:
    orders = [
        OrderFacts(f"O{acct}", acct, at(5), (LineFacts(f"L{acct}", item, 2, 1, at(5)),))
        for acct, item in [("C", "I3"), ("A", "I1"), ("B", "I2")]
    ]
    assert [r.account_id for r in most_affected_accounts(orders, START, END, limit=2)] == [
        "A",
        "B",
    ]
    assert [r.item for r in most_backordered_items(orders, START, END, limit=1)] == ["I1"]


# ---------------------------------------------------------------------------- bad input

NAIVE = datetime(2024, 3, 5, 10)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: LineFacts("L1", "X", 0), "ordered quantity of line L1 must be at least 1"),
        (lambda: LineFacts("L1", "X", 2.5), "ordered quantity of line L1 must be a whole number"),
        (lambda: LineFacts("L1", "X", 2, -1), "backordered quantity of line L1 must be zero or"),
        (lambda: LineFacts("L1", "X", 2, 3, at(5)), "3 units backordered but only 2 ordered"),
        (lambda: LineFacts("L1", "X", 2, cancelled=3), "3 units cancelled but only 2 ordered"),
        (lambda: LineFacts("L1", "X", 2, cancelled=-1), "cancelled quantity of line L1 must"),
        (lambda: LineFacts("L1", "X", 2, 1), "it needs a backordered_at"),
        (
            lambda: LineFacts("L1", "X", 2, 0, at(5), first_eta=d(9)),
            "nothing backordered, so it cannot have backordered_at, first_eta",
        ),
        (lambda: LineFacts("L1", "X", 2, 1, NAIVE), "backordered_at of line L1 must carry a time"),
        (
            lambda: LineFacts("L1", "X", 2, 1, at(5), NAIVE),
            "filled_at of line L1 must carry a time zone",
        ),
        (lambda: LineFacts("L1", "X", 2, 1, at(5), at(4)), "line L1 was filled .* before it was"),
        (
            lambda: LineFacts("L1", "X", 2, 1, at(5), shipped_at=NAIVE),
            "shipped_at of line L1 must carry a time zone",
        ),
        (lambda: OrderFacts("O1", "A", NAIVE), "commit time of order O1 must carry a time zone"),
        (
            lambda: OrderFacts("O1", "A", at(5), cancelled_at=at(4)),
            "order O1 was cancelled .* before it was committed",
        ),
        (lambda: backorder_metrics([], END, START), "the period must end after it starts"),
        (lambda: backorder_metrics([], START, START), "the period must end after it starts"),
        (lambda: backorder_metrics([], NAIVE, END), "start of the period must carry a time zone"),
        (lambda: weekly_trend([], d(13), weeks=0), "number of weeks must be at least 1"),
        (lambda: weekly_trend([], at(13)), "end of the trend must be a date, not a datetime"),
        (lambda: most_backordered_items([], START, END, limit=0), "limit must be at least 1"),
        (lambda: most_affected_accounts([], END, START), "the period must end after it starts"),
    ],
)
def test_bad_input_raises_domain_error(build, message: str) -> None:
    with pytest.raises(DomainError, match=message):
        build()


# ---------------------------------------------------------------------------- properties

EPOCH = at(1, month=1)


@st.composite
def line_facts(draw: st.DrawFn, committed_at: datetime, no_backorders: bool) -> LineFacts:
    item = draw(st.sampled_from("XYZ"))
    ordered = draw(st.integers(1, 20))
    backordered = 0 if no_backorders else draw(st.integers(0, ordered))
    if not backordered:
        return ok("L", item, ordered)
    filled = draw(st.none() | st.integers(0, 30 * 24 * 60))
    return LineFacts(
        "L",
        item,
        ordered,
        backordered,
        committed_at,
        None if filled is None else committed_at + timedelta(minutes=filled),
        draw(st.none() | st.dates(d(1), d(30, 6))),
        draw(st.none() | st.dates(d(1), d(30, 6))),
        draw(st.just(0) | st.integers(0, ordered)),
    )


@st.composite
def order_facts(draw: st.DrawFn, no_backorders: bool = False) -> OrderFacts:
    committed = EPOCH + timedelta(minutes=draw(st.integers(0, 120 * 24 * 60)))
    lines = draw(st.lists(line_facts(committed, no_backorders), max_size=4))
    cancelled = draw(st.booleans())
    return OrderFacts(
        "O",
        draw(st.sampled_from("ABC")),
        committed,
        tuple(lines),
        committed + timedelta(hours=1) if cancelled else None,
    )


def histories(no_backorders: bool = False) -> st.SearchStrategy[list[OrderFacts]]:
    return st.lists(order_facts(no_backorders), max_size=30)


@given(histories())
def test_rates_lie_between_zero_and_one(orders: list[OrderFacts]) -> None:
    metrics = backorder_metrics(orders, EPOCH, EPOCH + timedelta(days=200))
    for name in RATES:
        value = getattr(metrics, name)
        if name == "avg_fulfilment_days":
            assert value is None or value >= 0
        elif name in WAITS:
            assert (value is None) is (metrics.shipped_lines == 0), name
        else:
            assert value is None or 0.0 <= value <= 1.0, name
    assert metrics.orders == len(orders)
    assert metrics.backordered_orders <= metrics.orders
    assert metrics.filled_lines <= metrics.backordered_lines <= metrics.lines
    assert metrics.on_time_lines <= metrics.shipped_lines <= metrics.backordered_lines
    assert metrics.shipped_lines + metrics.undated_lines <= metrics.backordered_lines
    assert metrics.shipped_without_eta <= metrics.undated_lines
    assert metrics.cancelled_backordered_lines <= metrics.backordered_lines
    assert metrics.cancelled_backordered_orders <= metrics.backordered_orders


WIDE = (EPOCH, EPOCH + timedelta(days=200))


def _undated(line: LineFacts) -> LineFacts:
    return replace(line, first_eta=None)


@given(histories(), st.data())
def test_lines_promised_with_no_date_are_left_out_of_accuracy_and_counted_alone(
    orders: list[OrderFacts], data: st.DataObject
) -> None:
    """Taking the date away from some backordered lines (whatever happened to them later)
    changes accuracy and the waits only by leaving those lines out; each is counted once as
    promised with no date."""
    picks = [
        [line.backordered > 0 and data.draw(st.booleans()) for line in order.lines]
        for order in orders
    ]
    changed = [
        replace(
            o,
            lines=tuple(_undated(li) if pick else li for li, pick in zip(o.lines, p, strict=True)),
        )
        for o, p in zip(orders, picks, strict=True)
    ]
    kept = [
        replace(o, lines=tuple(li for li, pick in zip(o.lines, p, strict=True) if not pick))
        for o, p in zip(orders, picks, strict=True)
    ]
    before, after, rest = (backorder_metrics(x, *WIDE) for x in (orders, changed, kept))
    newly = sum(li.first_eta is not None for o, p in zip(orders, picks, strict=True) for li, pick
                in zip(o.lines, p, strict=True) if pick)  # fmt: skip
    assert after.undated_lines == before.undated_lines + newly
    for name in ("shipped_lines", "on_time_lines", "promise_accuracy", *WAITS):
        assert getattr(after, name) == getattr(rest, name), name


@given(histories())
def test_padding_is_the_promised_wait_minus_the_actual_wait(orders: list[OrderFacts]) -> None:
    metrics = backorder_metrics(orders, *WIDE)
    if metrics.shipped_lines:
        padding = metrics.promised_wait_days - metrics.actual_wait_days  # type: ignore[operator]
        assert metrics.padding_days == pytest.approx(padding)
        # every dated line shipped on its very date: no padding, whatever the waits
        exact = [
            replace(o, lines=tuple(replace(li, first_eta=li.shipped_on) if li.first_eta
                                   and li.shipped_at else li for li in o.lines))
            for o in orders
        ]  # fmt: skip
        on_the_day = backorder_metrics(exact, *WIDE)
        assert on_the_day.padding_days == 0 and on_the_day.promise_accuracy == 1.0


@given(histories())
def test_a_cancelled_backordered_line_makes_its_order_count_as_cancelled(
    orders: list[OrderFacts],
) -> None:
    metrics = backorder_metrics(orders, *WIDE)
    whole = sum(o.backordered and o.cancelled_at is not None for o in orders)
    by_line = sum(
        o.backordered and any(li.backordered and li.cancelled for li in o.lines) for o in orders
    )
    assert max(whole, by_line) <= metrics.cancelled_backordered_orders <= whole + by_line
    # the line-level count: the cancelled lines, plus the unshipped ones of cancelled orders
    lines = sum(
        li.backordered > 0
        and (li.cancelled > 0 or (o.cancelled_at is not None and li.shipped_at is None))
        for o in orders
        for li in o.lines
    )
    assert metrics.cancelled_backordered_lines == lines


def test_units_the_customer_cancelled() -> None:
    # a discontinued item's backordered units are cancelled at commit: never promised
    assert customer_cancelled_units(3, 3, discontinued_at_commit=True, rejected=False) == 0
    assert customer_cancelled_units(5, 3, discontinued_at_commit=True, rejected=False) == 2
    assert customer_cancelled_units(3, 3, discontinued_at_commit=False, rejected=False) == 3
    assert customer_cancelled_units(3, 3, discontinued_at_commit=False, rejected=True) == 0
    assert customer_cancelled_units(0, 0, discontinued_at_commit=False, rejected=False) == 0


def test_a_cancel_of_a_line_not_backordered_is_no_backorder_cancel() -> None:
    order = OrderFacts("O", "A", at(5), (ok("L1", "X", 3), LineFacts("L2", "X", 3, 0, cancelled=3)))
    metrics = backorder_metrics([order], START, END)
    assert (metrics.cancelled_backordered_lines, metrics.cancelled_backordered_orders) == (0, 0)


@given(histories(no_backorders=True))
def test_fill_rates_are_one_when_nothing_is_backordered(orders: list[OrderFacts]) -> None:
    metrics = backorder_metrics(orders, EPOCH, EPOCH + timedelta(days=200))
    if metrics.lines:
        assert metrics.line_fill_rate == 1.0
        assert metrics.unit_fill_rate == 1.0
    if metrics.orders:
        assert metrics.backorder_rate == 0.0
    assert metrics.cancellation_rate is None
    assert metrics.promise_accuracy is None


@settings(max_examples=50)
@given(histories(), st.dates(d(1, 1), d(30, 5)))
def test_weekly_buckets_match_the_period_metrics_of_each_week(
    orders: list[OrderFacts], end: date
) -> None:
    trend = weekly_trend(orders, end, weeks=12)
    for week, metrics in trend:
        start = datetime(week.year, week.month, week.day, tzinfo=UTC)
        assert metrics == backorder_metrics(orders, start, start + timedelta(weeks=1))


# ---------------------------------------------------------------------------- volume


def test_fifty_thousand_orders_stream_through_one_iterator_each() -> None:
    orders = []
    for i in range(50_000):
        committed = EPOCH + timedelta(minutes=5 * i)  # about 174 days
        lines = tuple(
            LineFacts(f"{i}-{j}", f"I{(i + j) % 500}", 5, 2, committed, committed + timedelta(1))
            if (i + j) % 7 == 0
            else ok(f"{i}-{j}", f"I{(i + j) % 500}", 5)
            for j in range(3)
        )
        orders.append(OrderFacts(f"O{i}", f"A{i % 900}", committed, lines))
    total = backorder_metrics(iter(orders), EPOCH, EPOCH + timedelta(days=365))
    trend = weekly_trend(iter(orders), d(24, 6))
    items = most_backordered_items(iter(orders), EPOCH, EPOCH + timedelta(days=365))
    accounts = most_affected_accounts(iter(orders), EPOCH, EPOCH + timedelta(days=365))
    # Worked numbers. Order i has one backordered line (of 2 units) when i % 7 is 0, 5 or 6
    # (three consecutive line numbers hold one multiple of 7 at most): 7143 + 7142 + 7143.
    assert (total.orders, total.lines, total.units_ordered) == (50_000, 150_000, 750_000)
    assert total.backordered_orders == total.backordered_lines == 21_428
    assert total.units_available == 750_000 - 2 * 21_428
    # 288 orders a day from Mon 1 January; the 12 weeks end with the week of Mon 24 June, so
    # they start on Mon 8 April (day 98): ten full weeks, 17-22 June (ends at i = 49,999), none.
    assert [m.orders for _, m in trend] == [7 * 288] * 10 + [50_000 - 168 * 288, 0]
    assert sum(m.orders for _, m in trend) == 50_000 - 98 * 288
    # The worst items: 45 of their 300 lines backordered (ties: by item code, as text).
    worst = ["I102", "I105", "I109", "I11", "I112", "I116", "I119", "I123", "I126", "I130"]
    assert [i.item for i in items] == worst
    assert {
        (i.lines, i.backordered_lines, i.units_ordered, i.backordered_units) for i in items
    } == {(300, 45, 1_500, 90)}
    # Every account has 55 or 56 orders; the worst have 24 backordered (ties: by id, as text).
    assert [a.account_id for a in accounts] == [
        "A0",
        "A1",
        "A10",
        *(f"A{n}" for n in range(100, 107)),
    ]
    assert {
        (a.orders, a.backordered_orders, a.cancelled_backordered_orders, a.backordered_units)
        for a in accounts
    } == {(56, 24, 0, 48)}
