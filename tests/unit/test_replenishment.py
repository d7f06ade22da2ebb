"""Replenishment: hand-computed safety stock and reorder points, demand statistics, reorder
advice scenarios, bad input, and monotonicity properties."""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.model import DomainError, Receipt, Supply
from app.domain.replenishment import (
    ReorderAdvice,
    daily_demand_stats,
    reorder_advice,
    reorder_point,
    safety_stock,
    service_level_z,
    since_first_sale,
)


@pytest.mark.parametrize(
    ("level", "z"),
    [(0.5, 0.0), (0.8, 0.8416), (0.9, 1.2816), (0.95, 1.6449), (0.99, 2.3263), (0.3, -0.5244)],
)
def test_z_of_a_service_level(level: float, z: float) -> None:
    assert service_level_z(level) == pytest.approx(z, abs=1e-4)


# d = mean daily demand, sd = its standard deviation, LT / sd_LT = lead time and its sd (days).
# SS = z x sqrt(LT x sd^2 + d^2 x sd_LT^2), rounded up; ROP = ceil(d x LT) + SS.
@pytest.mark.parametrize(
    ("d", "sd", "lt", "sd_lt", "level", "ss", "rop", "by_hand"),
    [
        (20, 5, 9, 2, 0.95, 71, 251, "1.645 x sqrt(9x25 + 400x4) = 1.645 x sqrt(1825) = 70.27"),
        (10, 3, 4, 0, 0.95, 10, 50, "1.645 x sqrt(4x9) = 1.645 x 6 = 9.87"),
        (10, 0, 5, 1, 0.90, 13, 63, "1.2816 x sqrt(100x1) = 12.82"),
        (100, 20, 2, 0.5, 0.99, 134, 334, "2.3263 x sqrt(2x400 + 10000x0.25) = 2.3263 x 57.45"),
        (0, 0, 5, 1, 0.95, 0, 0, "no demand, nothing to buffer"),
        (12.5, 4, 3, 1, 0.50, 0, 38, "z = 0; lead-time demand 37.5 -> 38"),
        (10, 5, 4, 0, 0.30, 0, 40, "z < 0 would give -5.24: floored at 0"),
        (2.2, 0, 5, 0, 0.95, 0, 11, "2.2 x 5 = 11.000000000000002 in floats: still 11"),
        (20, 5, 0, 0, 0.95, 0, 0, "zero lead time, fixed: nothing to cover"),
        (20, 5, 0, 1, 0.95, 33, 33, "zero lead time, sd 1 day: 1.645 x 20 = 32.9"),
    ],
)
def test_safety_stock_and_reorder_point(
    d: float, sd: float, lt: float, sd_lt: float, level: float, ss: int, rop: int, by_hand: str
) -> None:
    assert safety_stock(d, sd, lt, sd_lt, level) == ss, by_hand
    assert reorder_point(d, sd, lt, sd_lt, level) == rop, by_hand


def test_the_worked_example_before_rounding() -> None:
    z = service_level_z(0.95)
    assert z * math.sqrt(9 * 5**2 + 20**2 * 2**2) == pytest.approx(70.27, abs=0.01)


@pytest.mark.parametrize(
    ("history", "days", "mean", "sd"),
    [
        ([3, 5, 4, 6, 2], 5, 4.0, math.sqrt(2.5)),  # squares 1+1+0+4+4 = 10, / (5-1)
        ([0, 0, 0, 10], 4, 2.5, 5.0),  # squares 3x6.25 + 56.25 = 75, / 3 = 25
        ([7, 7], 2, 7.0, 0.0),
        (range(0, 6, 2), 3, 2.0, 2.0),  # any iterable: 0 2 4, squares 4+0+4 = 8, / 2
    ],
)
def test_daily_demand_stats(history, days: int, mean: float, sd: float) -> None:
    stats = daily_demand_stats(history)
    assert (stats.days, stats.mean, stats.sd) == (days, pytest.approx(mean), pytest.approx(sd))


# Reorder advice for item A on Monday 4 March 2024 with d=20, sd=5, LT=9, sd_LT=2, 95 %:
# lead-time demand 180 + safety stock 71 = reorder point 251.
TODAY = date(2024, 3, 4)
R_OVERDUE = Receipt("R0", "A", 10, TODAY - timedelta(days=3))
R_DAY5 = Receipt("R1", "A", 50, TODAY + timedelta(days=5))
R_DAY9 = Receipt("R3", "A", 30, TODAY + timedelta(days=9))  # last day of the lead time
R_DAY12 = Receipt("R2", "A", 80, TODAY + timedelta(days=12))  # after the lead time


ADVICE_SCENARIOS = [
    ("backorders eat the inbound", 100, [R_DAY5, R_DAY12], 30 + 20, None,
     50, 100, 251 + 180, 331),
    ("comfortable", 300, [R_DAY5, R_DAY12], 0, None, 50, 350, 431, 0),
    ("exactly at the reorder point reorders", 251, [], 0, None, 0, 251, 431, 180),
    ("one over the reorder point", 252, [], 0, None, 0, 252, 431, 0),
    ("one under the reorder point", 250, [], 0, None, 0, 250, 431, 181),
    ("overdue and last-day receipts count", 0, [R_OVERDUE, R_DAY9, R_DAY12], 0, None,
     40, 40, 431, 391),
    ("more owed than on hand", 0, [], 60, None, 0, -60, 431, 491),
    ("weekly review", 100, [], 0, 7, 0, 100, 251 + 140, 291),
    ("a review period of less than a day is a day", 100, [], 0, 0, 0, 100, 251 + 20, 171),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "free", "receipts", "backordered", "review", "inbound", "projected", "up_to", "order"),
    ADVICE_SCENARIOS,
)
def test_reorder_advice(
    case: str,
    free: int,
    receipts: list[Receipt],
    backordered: int,
    review: float | None,
    inbound: int,
    projected: int,
    up_to: int,
    order: int,
) -> None:
    advice = reorder_advice(
        Supply("A", free, tuple(receipts)),
        today=TODAY,
        mean_daily_demand=20,
        sd_daily_demand=5,
        lead_time_days=9,
        sd_lead_time_days=2,
        service_level=0.95,
        backordered=backordered,
        review_period_days=review,
    )
    assert advice == ReorderAdvice(
        item="A",
        lead_time_demand=180,
        safety_stock=71,
        reorder_point=251,
        free_now=free,
        inbound=inbound,
        backordered=backordered,
        projected_free=projected,
        below=projected <= 251,
        order_up_to=up_to,
        suggested_quantity=order,
    ), case


def advise(**overrides: object) -> ReorderAdvice:
    arguments: dict[str, object] = {
        "today": TODAY,
        "mean_daily_demand": 20,
        "sd_daily_demand": 5,
        "lead_time_days": 9,
        "sd_lead_time_days": 2,
        "service_level": 0.95,
    }
    supply = overrides.pop("supply", Supply("A", 0))
    arguments.update(overrides)
    return reorder_advice(supply, **arguments)  # type: ignore[arg-type]


BAD_INPUT = [
    (lambda: service_level_z(0), "service level must be a probability strictly between 0 and 1"),
    (lambda: service_level_z(1), "strictly between 0 and 1, like 0.95; got 1"),
    (lambda: service_level_z(-0.1), "strictly between 0 and 1, like 0.95; got -0.1"),
    (lambda: service_level_z(95), "got 95 (did you mean 0.95?)"),
    (lambda: service_level_z(float("nan")), "strictly between 0 and 1, like 0.95; got nan"),
    (lambda: service_level_z(True), "service level must be a number, got True"),
    (lambda: service_level_z("0.95"), "service level must be a number, got '0.95'"),
    (lambda: safety_stock(20, 5, 9, 2, 1.0), "strictly between 0 and 1"),
    (lambda: safety_stock(-1, 5, 9, 2, 0.95), "mean daily demand cannot be negative, got -1"),
    (lambda: safety_stock(20, -5, 9, 2, 0.95), "standard deviation of daily demand cannot be"),
    (lambda: safety_stock(20, 5, -9, 2, 0.95), "lead time (days) cannot be negative, got -9"),
    (lambda: safety_stock(20, 5, 9, -2, 0.95), "standard deviation of the lead time (days)"),
    (lambda: reorder_point(-20, 5, 9, 2, 0.95), "mean daily demand cannot be negative"),
    (lambda: reorder_point(20, 5, -1, 2, 0.95), "lead time (days) cannot be negative"),
    (lambda: reorder_point(math.inf, 5, 9, 2, 0.95), "mean daily demand must be a finite"),
    (lambda: reorder_point("20", 5, 9, 2, 0.95), "mean daily demand must be a number, got '20'"),
    (lambda: daily_demand_stats([]), "demand history is empty"),
    (lambda: daily_demand_stats([4]), "needs at least 2 days to estimate its variability"),
    (lambda: daily_demand_stats([4, -1]), "demand on day 2 of the history must be zero or more"),
    (lambda: daily_demand_stats([4, 2.5]), "demand on day 2 of the history must be a whole"),
    (lambda: advise(today=datetime(2024, 3, 4, tzinfo=UTC)), "today must be a date, got"),
    (lambda: advise(review_period_days=-7), "review period cannot be negative, got -7"),
    (lambda: advise(lead_time_days=-1), "lead time (days) cannot be negative"),
    (lambda: advise(service_level=0), "strictly between 0 and 1"),
    (lambda: advise(backordered=-5), "units waiting in open backorders must be zero or more"),
]  # fmt: skip


@pytest.mark.parametrize(("call", "message"), BAD_INPUT)
def test_bad_input_raises_domain_error(call, message: str) -> None:
    with pytest.raises(DomainError, match=re.escape(message)):
        call()


# ---------------------------------------------------------------------------- properties

amounts = st.floats(0, 1_000, allow_nan=False)
days = st.floats(0, 120, allow_nan=False)
levels = st.floats(0.001, 0.999)


@given(amounts, amounts, days, days, levels, levels)
def test_reorder_point_never_falls_as_the_service_level_rises(
    d: float, sd: float, lt: float, sd_lt: float, a: float, b: float
) -> None:
    low, high = sorted((a, b))
    assert reorder_point(d, sd, lt, sd_lt, low) <= reorder_point(d, sd, lt, sd_lt, high)


@given(amounts, amounts, days, days, days, levels)
def test_reorder_point_never_falls_as_the_lead_time_grows(
    d: float, sd: float, a: float, b: float, sd_lt: float, level: float
) -> None:
    short, long = sorted((a, b))
    assert reorder_point(d, sd, short, sd_lt, level) <= reorder_point(d, sd, long, sd_lt, level)


@given(amounts, amounts, days, days, levels)
def test_reorder_point_is_lead_time_demand_plus_a_non_negative_safety_stock(
    d: float, sd: float, lt: float, sd_lt: float, level: float
) -> None:
    ss = safety_stock(d, sd, lt, sd_lt, level)
    rop = reorder_point(d, sd, lt, sd_lt, level)
    assert isinstance(ss, int) and isinstance(rop, int)
    # Bounds, not the formula again: each part is rounded up to whole units, by less than one
    # unit (tol: the float noise below 1e-9 units that rounding up may ignore).
    tol = 1e-6
    spread = max(service_level_z(level), 0.0) * math.sqrt(lt * sd**2 + d**2 * sd_lt**2)
    assert ss >= 0 and spread - tol <= ss < spread + 1 + tol
    assert d * lt + ss - tol <= rop < d * lt + ss + 1 + tol


@given(
    st.integers(0, 1_000),
    st.lists(st.tuples(st.integers(-5, 30), st.integers(0, 200)), max_size=5),
    st.lists(st.integers(0, 100), max_size=5),
    amounts,
    days,
    st.none() | days,
)
def test_the_suggestion_brings_projected_stock_to_the_order_up_to_level(
    free: int,
    receipts: list[tuple[int, int]],
    backorders: list[int],
    d: float,
    lt: float,
    review: float | None,
) -> None:
    advice = advise(
        supply=Supply(
            "A",
            free,
            tuple(
                Receipt(f"R{i}", "A", q, TODAY + timedelta(days=day))
                for i, (day, q) in enumerate(receipts)
            ),
        ),
        backordered=sum(backorders),
        mean_daily_demand=d,
        lead_time_days=lt,
        review_period_days=review,
    )
    assert advice.projected_free == free + advice.inbound - sum(backorders)
    assert advice.below == (
        advice.projected_free <= advice.reorder_point and advice.projected_free < advice.order_up_to
    )
    assert advice.order_up_to >= advice.reorder_point
    if advice.below:
        assert advice.projected_free + advice.suggested_quantity == advice.order_up_to
        assert advice.suggested_quantity > 0
    else:
        assert advice.suggested_quantity == 0


@pytest.mark.parametrize(("lead", "sd"), [(0, 0.0), (5, 0.0)])
def test_an_empty_shelf_with_steady_demand_is_reordered(lead: float, sd: float) -> None:
    """No lead time, or no variance: the reorder point is exactly the demand to cover, and an
    item sitting at it must be reordered (it was never: the rule wanted "under")."""
    advice = reorder_advice(
        Supply("A", 0 if lead == 0 else 200, ()),
        today=TODAY,
        mean_daily_demand=40,
        sd_daily_demand=sd,
        lead_time_days=lead,
        sd_lead_time_days=0,
        service_level=0.95,
    )
    assert advice.projected_free == advice.reorder_point
    assert advice.below
    assert advice.suggested_quantity == 40 * max(lead, 1)


def test_no_demand_and_nothing_on_the_shelf_orders_nothing() -> None:
    advice = reorder_advice(
        Supply("A", 0, ()),
        today=TODAY,
        mean_daily_demand=0,
        sd_daily_demand=0,
        lead_time_days=7,
        sd_lead_time_days=0,
        service_level=0.95,
    )
    assert not advice.below and advice.suggested_quantity == 0


@pytest.mark.parametrize(
    ("history", "sold_before", "kept"),
    [
        ([0, 0, 0, 40, 40], False, [40, 40]),  # a new item: from its first sale
        ([0, 0, 0, 40, 40], True, [0, 0, 0, 40, 40]),  # sold before the window: all days
        ([0, 0, 0, 0, 40], False, [0, 40]),  # at least two days
        ([0, 0, 0], False, [0, 0]),
        ([5, 0, 3], False, [5, 0, 3]),
    ],
)
def test_days_before_an_items_first_sale_are_not_zero_demand(history, sold_before, kept):
    assert since_first_sale(history, sold_before=sold_before) == kept
