"""Backorder metrics over a period, computed from plain facts the server reads from its database.

Cohort semantics: a period selects the orders *committed* in [start, end); everything that later
happened to those orders (filled, shipped, cancelled) counts as known in the facts passed in, even
if it happened after `end`. Running the same report later can therefore improve or worsen the
outcome-based numbers (fulfilment time, cancellations, promise accuracy) of an old period.

Numbers: every count is an `int` (so the UI can say "12 of 40"); every rate is a `float` in
[0, 1], or `None` when its denominator is 0 (no data is not the same as 0 %). Durations are
`float` days, averaged exactly from `timedelta`s before the single conversion to days; waits
measured against a promised date are whole calendar days (a date has no time of day).

Honest promises: a line promised with no date is not scored against a date it got later; it is
left out of promise accuracy and counted on its own (`undated_lines`). Beside accuracy, the mean
promised wait and the mean actual wait of the same lines show padding: a date can always be
kept by promising late. A customer who gives up on a backordered line cancels it, not always the
whole order: cancelled backordered lines count, and their orders count as cancelled.

Everything is a single pass over the orders, so an iterator (e.g. a streamed query) works and
50,000 orders take a fraction of a second.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

from app.domain.model import DomainError, require_aware, require_quantity

__all__ = [
    "AccountBackorders",
    "BackorderMetrics",
    "ItemBackorders",
    "LineFacts",
    "OrderFacts",
    "Tally",
    "backorder_metrics",
    "customer_cancelled_units",
    "most_affected_accounts",
    "most_backordered_items",
    "weekly_trend",
]

_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class LineFacts:
    """What happened to one order line.

    `backordered` is the part not available when the order was committed. The other moments
    describe that backordered part and must be None when nothing was backordered:

    - `backordered_at`: when it was backordered (normally the commit time); required if
      `backordered` > 0.
    - `filled_at`: when the backordered part was completely allocated from received stock.
    - `first_eta`: the first completion date shown to the customer; None if it was only ever
      labelled "out of stock, no restock date".
    - `shipped_at`: when the backordered part had shipped in full (the promise is for the whole
      line, so a partial shipment is not yet "shipped"). A `date`, or an aware `datetime` whose
      own local date is compared with the ETA: pass it in the zone of the ETA's calendar.

    `cancelled`: units the customer gave up after commit (a cancel of the line or of its order;
    see `customer_cancelled_units`). Any line may carry it; only a backordered line's counts.
    """

    line_id: str
    item: str
    ordered: int
    backordered: int = 0
    backordered_at: datetime | None = None
    filled_at: datetime | None = None
    first_eta: date | None = None
    shipped_at: date | datetime | None = None
    cancelled: int = 0

    def __post_init__(self) -> None:
        name = f"line {self.line_id}"
        require_quantity(self.ordered, f"ordered quantity of {name}")
        require_quantity(self.backordered, f"backordered quantity of {name}", allow_zero=True)
        require_quantity(self.cancelled, f"cancelled quantity of {name}", allow_zero=True)
        if self.cancelled > self.ordered:
            raise DomainError(
                f"{name} has {self.cancelled} units cancelled but only {self.ordered} ordered"
            )
        if self.backordered > self.ordered:
            raise DomainError(
                f"{name} has {self.backordered} units backordered but only {self.ordered} ordered"
            )
        if self.backordered == 0:
            extra = [
                field
                for field in ("backordered_at", "filled_at", "first_eta", "shipped_at")
                if getattr(self, field) is not None
            ]
            if extra:
                raise DomainError(
                    f"{name} has nothing backordered, so it cannot have {', '.join(extra)}"
                )
            return
        if self.backordered_at is None:
            raise DomainError(
                f"{name} has {self.backordered} units backordered: it needs a backordered_at"
            )
        require_aware(self.backordered_at, f"backordered_at of {name}")
        if self.filled_at is not None:
            require_aware(self.filled_at, f"filled_at of {name}")
            if self.filled_at < self.backordered_at:
                raise DomainError(
                    f"{name} was filled ({self.filled_at}) before it was backordered "
                    f"({self.backordered_at})"
                )
        if isinstance(self.shipped_at, datetime):
            require_aware(self.shipped_at, f"shipped_at of {name}")

    @property
    def shipped_on(self) -> date | None:
        """The calendar day the backordered part completed shipping."""
        if isinstance(self.shipped_at, datetime):
            return self.shipped_at.date()
        return self.shipped_at

    @property
    def on_time(self) -> bool | None:
        """Shipped on or before the first ETA shown; None if not shipped or never promised."""
        shipped = self.shipped_on
        if shipped is None or self.first_eta is None:
            return None
        return shipped <= self.first_eta

    @property
    def waits(self) -> tuple[int, int] | None:
        """(promised wait, actual wait) in calendar days from the day the line was backordered
        to its first date and to the day it shipped; None unless shipped with a first date.
        Both days are read in the zone of the moments given (as `shipped_on`)."""
        shipped = self.shipped_on
        if shipped is None or self.first_eta is None or self.backordered_at is None:
            return None
        day = self.backordered_at.date()
        return (self.first_eta - day).days, (shipped - day).days


def customer_cancelled_units(
    cancelled: int, backordered: int, *, discontinued_at_commit: bool, rejected: bool
) -> int:
    """Of a line's cancelled units, those the customer gave up: not the units the server
    cancelled at commit because the item is discontinued (all its backordered units: they were
    never promised), and none of a rejected order (the business said no, not the customer)."""
    if rejected:
        return 0
    return max(cancelled - (backordered if discontinued_at_commit else 0), 0)


@dataclass(frozen=True, slots=True)
class OrderFacts:
    order_id: str
    account_id: str
    committed_at: datetime
    lines: tuple[LineFacts, ...] = ()
    cancelled_at: datetime | None = None

    def __post_init__(self) -> None:
        require_aware(self.committed_at, f"commit time of order {self.order_id}")
        object.__setattr__(self, "lines", tuple(self.lines))
        if self.cancelled_at is not None:
            require_aware(self.cancelled_at, f"cancel time of order {self.order_id}")
            if self.cancelled_at < self.committed_at:
                raise DomainError(
                    f"order {self.order_id} was cancelled ({self.cancelled_at}) before it was "
                    f"committed ({self.committed_at})"
                )

    @property
    def backordered(self) -> bool:
        """At least one line had units backordered at commit."""
        return any(line.backordered for line in self.lines)

    def gave_up(self, line: LineFacts) -> bool:
        """A backordered line of this order that the customer cancelled, wholly or in part:
        units of it cancelled, or the whole order cancelled before the line shipped."""
        if not line.backordered:
            return False
        return line.cancelled > 0 or (self.cancelled_at is not None and line.shipped_at is None)

    @property
    def cancelled_backordered(self) -> bool:
        """A backordered order the customer cancelled, whole or by a backordered line."""
        if not self.backordered:
            return False
        return self.cancelled_at is not None or any(self.gave_up(line) for line in self.lines)


@dataclass(frozen=True, slots=True)
class BackorderMetrics:
    """Counts and rates for one period (see the module docstring for the conventions)."""

    orders: int
    backordered_orders: int  # orders with at least one backordered line
    # ... of which the customer cancelled the order or at least one backordered line
    cancelled_backordered_orders: int
    lines: int
    backordered_lines: int
    filled_lines: int  # backordered lines whose backordered part has been filled
    units_ordered: int
    units_available: int  # units available at commit (ordered - backordered)
    shipped_lines: int  # backordered lines shipped in full that had a first ETA
    on_time_lines: int  # ... of which shipped on or before that first ETA
    shipped_without_eta: int  # backordered lines shipped that never had an ETA (not in accuracy)
    backorder_rate: float | None  # backordered_orders / orders
    avg_fulfilment_days: float | None  # mean(filled_at - backordered_at) over filled_lines
    cancellation_rate: float | None  # cancelled_backordered_orders / backordered_orders
    line_fill_rate: float | None  # (lines - backordered_lines) / lines
    unit_fill_rate: float | None  # units_available / units_ordered
    promise_accuracy: float | None  # on_time_lines / shipped_lines
    undated_lines: int  # backordered lines promised with no date (shipped or not)
    cancelled_backordered_lines: int  # backordered lines the customer cancelled (gave_up)
    line_cancellation_rate: float | None  # cancelled_backordered_lines / backordered_lines
    # Over the shipped_lines (shipped, with a first date), in calendar days from backorder:
    promised_wait_days: float | None  # mean wait to the first date
    actual_wait_days: float | None  # mean wait to shipping
    padding_days: float | None  # mean(promised wait - actual wait): > 0 promised longer


@dataclass(frozen=True, slots=True)
class ItemBackorders:
    item: str
    lines: int
    backordered_lines: int
    units_ordered: int
    backordered_units: int


@dataclass(frozen=True, slots=True)
class AccountBackorders:
    account_id: str
    orders: int
    backordered_orders: int
    cancelled_backordered_orders: int
    backordered_lines: int
    backordered_units: int


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


class Tally:
    """Running sums for one bucket; `freeze` turns them into a BackorderMetrics. The SQL path
    (sync.server.services.reports) adds the same sums up in the database and freezes them here,
    so both give the same figures from the same arithmetic."""

    __slots__ = (
        "actual_wait",
        "backordered_lines",
        "backordered_orders",
        "cancelled_backordered_lines",
        "cancelled_backordered_orders",
        "filled_lines",
        "fulfilment",
        "lines",
        "on_time_lines",
        "orders",
        "promised_wait",
        "shipped_lines",
        "shipped_without_eta",
        "undated_lines",
        "units_available",
        "units_ordered",
    )

    def __init__(self, **sums: int | timedelta) -> None:
        """Zero sums, or the ones given by name (`fulfilment` a timedelta, the rest ints)."""
        self.orders = 0
        self.backordered_orders = 0
        self.cancelled_backordered_orders = 0
        self.lines = 0
        self.backordered_lines = 0
        self.filled_lines = 0
        self.fulfilment = timedelta(0)
        self.units_ordered = 0
        self.units_available = 0
        self.shipped_lines = 0
        self.on_time_lines = 0
        self.shipped_without_eta = 0
        self.undated_lines = 0
        self.cancelled_backordered_lines = 0
        self.promised_wait = 0  # days, summed over shipped_lines
        self.actual_wait = 0  # days, likewise
        for name, value in sums.items():
            setattr(self, name, value)

    def add(self, order: OrderFacts) -> None:
        self.orders += 1
        for line in order.lines:
            self.lines += 1
            self.units_ordered += line.ordered
            self.units_available += line.ordered - line.backordered
            if not line.backordered:
                continue
            self.backordered_lines += 1
            self.cancelled_backordered_lines += order.gave_up(line)
            if line.first_eta is None:
                self.undated_lines += 1
            if line.filled_at is not None:
                self.filled_lines += 1
                self.fulfilment += line.filled_at - line.backordered_at  # type: ignore[operator]
            if line.shipped_at is not None:
                on_time = line.on_time
                if on_time is None:  # promised with no date: not scored against a later one
                    self.shipped_without_eta += 1
                else:
                    self.shipped_lines += 1
                    self.on_time_lines += on_time
                    promised, actual = line.waits  # type: ignore[misc]
                    self.promised_wait += promised
                    self.actual_wait += actual
        if order.backordered:
            self.backordered_orders += 1
            self.cancelled_backordered_orders += order.cancelled_backordered

    def freeze(self) -> BackorderMetrics:
        shipped = self.shipped_lines
        return BackorderMetrics(
            orders=self.orders,
            backordered_orders=self.backordered_orders,
            cancelled_backordered_orders=self.cancelled_backordered_orders,
            lines=self.lines,
            backordered_lines=self.backordered_lines,
            filled_lines=self.filled_lines,
            units_ordered=self.units_ordered,
            units_available=self.units_available,
            shipped_lines=shipped,
            on_time_lines=self.on_time_lines,
            shipped_without_eta=self.shipped_without_eta,
            backorder_rate=_rate(self.backordered_orders, self.orders),
            avg_fulfilment_days=(
                self.fulfilment / self.filled_lines / _ONE_DAY if self.filled_lines else None
            ),
            cancellation_rate=_rate(self.cancelled_backordered_orders, self.backordered_orders),
            line_fill_rate=_rate(self.lines - self.backordered_lines, self.lines),
            unit_fill_rate=_rate(self.units_available, self.units_ordered),
            promise_accuracy=_rate(self.on_time_lines, shipped),
            undated_lines=self.undated_lines,
            cancelled_backordered_lines=self.cancelled_backordered_lines,
            line_cancellation_rate=_rate(self.cancelled_backordered_lines, self.backordered_lines),
            promised_wait_days=self.promised_wait / shipped if shipped else None,
            actual_wait_days=self.actual_wait / shipped if shipped else None,
            padding_days=(self.promised_wait - self.actual_wait) / shipped if shipped else None,
        )


def _check_period(start: datetime, end: datetime) -> None:
    require_aware(start, "start of the period")
    require_aware(end, "end of the period")
    if not start < end:
        raise DomainError(f"the period must end after it starts, got [{start}, {end})")


def _in_period(
    orders: Iterable[OrderFacts], start: datetime, end: datetime
) -> Iterator[OrderFacts]:
    _check_period(start, end)
    return (order for order in orders if start <= order.committed_at < end)


def backorder_metrics(
    orders: Iterable[OrderFacts], start: datetime, end: datetime
) -> BackorderMetrics:
    """Metrics of the orders committed in [start, end) (aware datetimes)."""
    tally = Tally()
    for order in _in_period(orders, start, end):
        tally.add(order)
    return tally.freeze()


def weekly_trend(
    orders: Iterable[OrderFacts], end: date, weeks: int = 12, *, tz: tzinfo = UTC
) -> tuple[tuple[date, BackorderMetrics], ...]:
    """Metrics per ISO week (Monday to Sunday), oldest first, for the `weeks` weeks ending with the
    week that contains `end`; always `weeks` entries (an empty week has zero counts, None rates).

    An order belongs to the week of its commit date in `tz` (the business's calendar). The week of
    `end` is included whole: pass today for a partial current week last, or last Sunday for
    complete weeks only. One pass over `orders`.
    """
    require_quantity(weeks, "number of weeks")
    if isinstance(end, datetime):
        raise DomainError(f"end of the trend must be a date, not a datetime ({end})")
    first = end - timedelta(days=end.weekday() + 7 * (weeks - 1))
    tallies = [Tally() for _ in range(weeks)]
    for order in orders:
        index = (order.committed_at.astimezone(tz).date() - first).days // 7
        if 0 <= index < weeks:
            tallies[index].add(order)
    return tuple((first + timedelta(weeks=i), tally.freeze()) for i, tally in enumerate(tallies))


def most_backordered_items(
    orders: Iterable[OrderFacts], start: datetime, end: datetime, *, limit: int = 10
) -> tuple[ItemBackorders, ...]:
    """Items with backorders among orders committed in [start, end), worst first.

    Ranked by backordered lines (how often a customer was let down; units are not comparable
    across items with different selling units), then backordered units, then item code.
    """
    require_quantity(limit, "limit")
    stats: dict[str, list[int]] = {}  # item -> [lines, backordered lines, units, backordered]
    for order in _in_period(orders, start, end):
        for line in order.lines:
            row = stats.get(line.item)
            if row is None:
                row = stats[line.item] = [0, 0, 0, 0]
            row[0] += 1
            row[2] += line.ordered
            if line.backordered:
                row[1] += 1
                row[3] += line.backordered
    ranked = sorted(
        (ItemBackorders(item, *row) for item, row in stats.items() if row[1]),
        key=lambda r: (-r.backordered_lines, -r.backordered_units, r.item),
    )
    return tuple(ranked[:limit])


def most_affected_accounts(
    orders: Iterable[OrderFacts], start: datetime, end: datetime, *, limit: int = 10
) -> tuple[AccountBackorders, ...]:
    """Accounts with backordered orders among orders committed in [start, end), worst first.

    Ranked by backordered orders, then backordered lines, then account id.
    """
    require_quantity(limit, "limit")
    # account -> [orders, backordered orders, cancelled backordered, bo lines, bo units]
    stats: dict[str, list[int]] = {}
    for order in _in_period(orders, start, end):
        row = stats.get(order.account_id)
        if row is None:
            row = stats[order.account_id] = [0, 0, 0, 0, 0]
        row[0] += 1
        bo_lines = bo_units = 0
        for line in order.lines:
            if line.backordered:
                bo_lines += 1
                bo_units += line.backordered
        if bo_lines:
            row[1] += 1
            row[2] += order.cancelled_backordered
            row[3] += bo_lines
            row[4] += bo_units
    ranked = sorted(
        (AccountBackorders(account, *row) for account, row in stats.items() if row[1]),
        key=lambda r: (-r.backordered_orders, -r.backordered_lines, r.account_id),
    )
    return tuple(ranked[:limit])
