"""Replenishment: safety stock, reorder point and a reorder suggestion for one item.

    safety stock  SS  = z x sqrt(LT x sd_d^2 + d^2 x sd_LT^2)
    reorder point ROP = d x LT + SS

with d / sd_d the mean / standard deviation of daily demand, LT / sd_LT those of the lead time in
days, and z the standard normal quantile of the service level (the chance of not running out
during a lead time).

Rounding: quantities are whole units, and a buffer is only safe rounded up, so the lead-time
demand d x LT and the safety stock are each rounded UP to whole units and the reorder point is
their sum (at most one unit above rounding the exact sum, and the parts add up on screen). A
hair of float noise is ignored first (2.2 x 5 = 11.000000000000002 is 11, not 12).

A service level under 50 % has a negative z; the safety stock is then 0, never negative: the plan
never holds less than the expected lead-time demand.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from numbers import Real

from app.domain.model import DomainError, Supply, require_quantity

__all__ = [
    "DemandStats",
    "ReorderAdvice",
    "daily_demand_stats",
    "reorder_advice",
    "reorder_point",
    "safety_stock",
    "service_level_z",
    "since_first_sale",
]


def _amount(value: object, what: str) -> float:
    """A finite, non-negative real number as float, else DomainError."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise DomainError(f"{what} must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise DomainError(f"{what} must be a finite number, got {value!r}")
    if number < 0:
        raise DomainError(f"{what} cannot be negative, got {value!r}")
    return number


def _ceil_units(value: float) -> int:
    """Round up to whole units, ignoring float noise below 1e-9 units."""
    return math.ceil(round(value, 9))


def service_level_z(service_level: float) -> float:
    """The z of a service level: the standard normal quantile, e.g. 0.95 -> 1.645."""
    if isinstance(service_level, bool) or not isinstance(service_level, Real):
        raise DomainError(f"service level must be a number, got {service_level!r}")
    level = float(service_level)
    if not 0 < level < 1:  # also rejects NaN
        hint = f" (did you mean {level / 100:g}?)" if 1 < level < 100 else ""
        raise DomainError(
            "service level must be a probability strictly between 0 and 1, like 0.95; "
            f"got {service_level!r}{hint}"
        )
    return statistics.NormalDist().inv_cdf(level)


def _safety_stock(d: float, sd_d: float, lt: float, sd_lt: float, service_level: float) -> int:
    raw = service_level_z(service_level) * math.sqrt(lt * sd_d**2 + d**2 * sd_lt**2)
    return _ceil_units(max(raw, 0.0))


def safety_stock(
    mean_daily_demand: float,
    sd_daily_demand: float,
    lead_time_days: float,
    sd_lead_time_days: float,
    service_level: float,
) -> int:
    """z x sqrt(LT x sd_d^2 + d^2 x sd_LT^2), rounded up to whole units, never negative."""
    return _safety_stock(
        _amount(mean_daily_demand, "mean daily demand"),
        _amount(sd_daily_demand, "standard deviation of daily demand"),
        _amount(lead_time_days, "lead time (days)"),
        _amount(sd_lead_time_days, "standard deviation of the lead time (days)"),
        service_level,
    )


def reorder_point(
    mean_daily_demand: float,
    sd_daily_demand: float,
    lead_time_days: float,
    sd_lead_time_days: float,
    service_level: float,
) -> int:
    """ceil(d x LT) + safety stock: the free stock at which to reorder."""
    d = _amount(mean_daily_demand, "mean daily demand")
    lt = _amount(lead_time_days, "lead time (days)")
    return _ceil_units(d * lt) + safety_stock(
        d, sd_daily_demand, lt, sd_lead_time_days, service_level
    )


@dataclass(frozen=True, slots=True)
class DemandStats:
    days: int
    mean: float  # units per day
    sd: float  # sample standard deviation (n - 1), units per day


def daily_demand_stats(daily_quantities: Iterable[int]) -> DemandStats:
    """Mean and sample standard deviation of demand from one quantity per calendar day.

    Days without demand must be in the list as 0, or the mean is overstated. At least two days
    are needed to say anything about variability.
    """
    quantities = list(daily_quantities)
    if not (set(map(type, quantities)) <= {int} and min(quantities, default=0) >= 0):
        for i, q in enumerate(quantities):  # say which day is wrong
            require_quantity(q, f"demand on day {i + 1} of the history", allow_zero=True)
    if not quantities:
        raise DomainError("demand history is empty: give one quantity per day (0 for no demand)")
    if len(quantities) < 2:
        raise DomainError("demand history needs at least 2 days to estimate its variability, got 1")
    # Whole units: the sums are exact integers, so the variance needs no exact fractions (what
    # makes statistics.stdev slow on ints); one rounding at the end.
    n, total = len(quantities), sum(quantities)
    squares = sum(q * q for q in quantities)
    return DemandStats(
        days=n,
        mean=total / n,
        sd=math.sqrt((n * squares - total * total) / (n * (n - 1))),
    )


def since_first_sale(daily_quantities: list[int], *, sold_before: bool) -> list[int]:
    """The history from an item's first sale on: the days before an item was ever sold are not
    days on which nobody wanted it (a new item selling 40 a day for ten days of a 56-day window
    would average 7). Items sold before the window keep it whole. At least two days stay."""
    if sold_before:
        return daily_quantities
    first = next((i for i, q in enumerate(daily_quantities) if q), len(daily_quantities))
    return daily_quantities[min(first, max(len(daily_quantities) - 2, 0)) :]


@dataclass(frozen=True, slots=True)
class ReorderAdvice:
    """Whether and how much to reorder of one item.

    projected_free = free_now + inbound - backordered, where `inbound` is the scheduled receipts
    expected within the lead time (overdue ones included) and `backordered` the units open
    backorders still wait for. It can be negative. `below` (reorder now) when projected_free is
    at or under the reorder point and under the order-up-to level: at the reorder point is when
    to order (with no lead time or no variance the reorder point is exactly the demand to
    cover, so waiting for "under" would never order for an empty shelf). Then
    suggested_quantity = order_up_to - projected_free, with
    order_up_to = reorder_point + ceil(d x review period) (the review period defaults to the lead
    time, and is at least a day: advice is reviewed daily): enough to get back over the reorder
    point and cover the demand until the next review. Otherwise suggested_quantity is 0. No pack
    size or minimum order quantity is applied.
    """

    item: str
    lead_time_demand: int  # ceil(d x LT)
    safety_stock: int
    reorder_point: int  # lead_time_demand + safety_stock
    free_now: int
    inbound: int
    backordered: int
    projected_free: int
    below: bool
    order_up_to: int
    suggested_quantity: int


def reorder_advice(
    supply: Supply,
    *,
    today: date,
    mean_daily_demand: float,
    sd_daily_demand: float,
    lead_time_days: float,
    sd_lead_time_days: float,
    service_level: float,
    backordered: int = 0,
    review_period_days: float | None = None,
) -> ReorderAdvice:
    """Reorder advice for `supply.item` on `today` (see ReorderAdvice for the rule)."""
    if isinstance(today, datetime) or not isinstance(today, date):
        raise DomainError(f"today must be a date, got {today!r}")
    d = _amount(mean_daily_demand, "mean daily demand")
    sd_d = _amount(sd_daily_demand, "standard deviation of daily demand")
    lt = _amount(lead_time_days, "lead time (days)")
    sd_lt = _amount(sd_lead_time_days, "standard deviation of the lead time (days)")
    review = lt if review_period_days is None else _amount(review_period_days, "review period")
    review = max(review, 1.0)

    lead_time_demand = _ceil_units(d * lt)
    buffer = _safety_stock(d, sd_d, lt, sd_lt, service_level)
    rop = lead_time_demand + buffer

    inbound = sum(r.quantity for r in supply.receipts if (r.expected - today).days <= lt)
    waiting = require_quantity(backordered, "units waiting in open backorders", allow_zero=True)
    projected = supply.free_now + inbound - waiting
    order_up_to = rop + _ceil_units(d * review)
    below = projected <= rop and projected < order_up_to
    return ReorderAdvice(
        item=supply.item,
        lead_time_demand=lead_time_demand,
        safety_stock=buffer,
        reorder_point=rop,
        free_now=supply.free_now,
        inbound=inbound,
        backordered=waiting,
        projected_free=projected,
        below=below,
        order_up_to=order_up_to,
        suggested_quantity=order_up_to - projected if below else 0,
    )
