"""Shipment plans: how one order's lines leave the warehouse under its shipment policy.

Each line arrives as its schedule: (date it can ship, units) parts, None for units no supply
covers. A line's *ready date* is the date its last dated unit is available; a line with any undated
unit has none. The plan lists shipments in date order, the units no date covers (`unscheduled`),
and `total_wait_days`: the line-days lines sit ready but unshipped because of the grouping, i.e. the
sum over shipped lines of (date of the shipment carrying the line's last units - ready date).

- all_or_nothing: one shipment when every line is complete; if any unit has no date, nothing ships.
- ship_as_available: a shipment per availability date; lines may split; nothing waits.
- capped_split(n): lines stay whole; at most n shipments, grouped so total waiting is least.
  Some optimal grouping is contiguous in ready-date order (a line shipping after a line that is
  ready later can move to that earlier shipment and wait less), so this is an optimal 1-D partition
  of the distinct ready dates, solved exactly by dynamic programming, not by a greedy cut.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from itertools import accumulate

from app.domain.model import (
    Availability,
    DomainError,
    Eta,
    EtaKind,
    PolicyKind,
    ShipmentPolicy,
    require_quantity,
)

SchedulePart = tuple[date | None, int]
GroupCost = Callable[[int, int], int]


@dataclass(frozen=True, slots=True)
class ShippedLine:
    """Units of one line: inside a shipment, or (in `unscheduled`) waiting for supply."""

    line_id: str
    quantity: int


@dataclass(frozen=True, slots=True)
class Shipment:
    """One parcel: the day it leaves and the lines (or parts of lines) in it, in line order."""

    date: date
    lines: tuple[ShippedLine, ...]

    @property
    def units(self) -> int:
        return sum(line.quantity for line in self.lines)


@dataclass(frozen=True, slots=True)
class ShipmentPlan:
    """What the rep shows before submit: shipments by date, what has no date, and the waiting."""

    policy: ShipmentPolicy
    shipments: tuple[Shipment, ...]  # strictly increasing dates
    unscheduled: tuple[ShippedLine, ...]  # units no supply covers, in order-line order
    total_wait_days: int  # line-days: sum over shipped lines of (shipment date - ready date)


@dataclass(frozen=True, slots=True)
class PlanLine:
    """One order line as the planner sees it: its id and its schedule, normalised to one part per
    date in date order, undated units last (so equal inputs give equal plans)."""

    line_id: str
    parts: tuple[SchedulePart, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "parts", _normalise(self.line_id, self.parts))

    @classmethod
    def of(cls, line_id: str, availability: Availability) -> PlanLine:
        return cls(line_id, availability.schedule())

    @property
    def quantity(self) -> int:
        return sum(units for _, units in self.parts)

    @property
    def undated(self) -> int:
        return sum(units for day, units in self.parts if day is None)

    @property
    def ready(self) -> date | None:
        """The day the whole line can ship; None if some unit has no date at all."""
        if self.undated:
            return None
        return self.parts[-1][0]


def _normalise(line_id: str, parts: Iterable[SchedulePart]) -> tuple[SchedulePart, ...]:
    """Check every part and merge parts that share a date: a schedule may list stock on hand and a
    receipt on the same day, and the planner must not count that day twice."""
    what = f"quantity of line {line_id}"
    by_day: dict[date | None, int] = {}
    for day, units in parts:
        if day is not None and (isinstance(day, datetime) or not isinstance(day, date)):
            raise DomainError(f"line {line_id}: a ship date must be a date, got {day!r}")
        by_day[day] = by_day.get(day, 0) + require_quantity(units, what)
    if not by_day:
        raise DomainError(f"{what} must be at least 1, got 0")
    dated = sorted((day, units) for day, units in by_day.items() if day is not None)
    undated: list[SchedulePart] = [(None, by_day[None])] if None in by_day else []
    return (*dated, *undated)


def _check_order(lines: Sequence[PlanLine]) -> None:
    """An order to plan has lines, each named once (shipments refer to lines by id)."""
    if not lines:
        raise DomainError("an order needs at least one line to plan shipments")
    repeated = sorted(
        line_id for line_id, n in Counter(ln.line_id for ln in lines).items() if n > 1
    )
    if repeated:
        raise DomainError(f"line ids must be unique in an order; repeated: {', '.join(repeated)}")


def _wait(day: date, ready: date) -> int:
    return (day - ready).days


def _all_or_nothing(lines: Sequence[PlanLine], policy: ShipmentPolicy) -> ShipmentPlan:
    """Ship once, when the last line is complete; a single undated unit holds everything back."""
    readies = [ln.ready for ln in lines]
    dated = [r for r in readies if r is not None]
    if len(dated) < len(readies):
        held = tuple(ShippedLine(ln.line_id, ln.quantity) for ln in lines)
        return ShipmentPlan(policy, (), held, 0)
    day = max(dated)
    parcel = Shipment(day, tuple(ShippedLine(ln.line_id, ln.quantity) for ln in lines))
    return ShipmentPlan(policy, (parcel,), (), sum(_wait(day, r) for r in dated))


def _ship_as_available(lines: Sequence[PlanLine], policy: ShipmentPolicy) -> ShipmentPlan:
    """One shipment per date: every part leaves the day it is there, so no line waits."""
    by_day: dict[date, list[ShippedLine]] = {}
    unscheduled: list[ShippedLine] = []
    for ln in lines:
        for day, units in ln.parts:
            bucket = unscheduled if day is None else by_day.setdefault(day, [])
            bucket.append(ShippedLine(ln.line_id, units))
    shipments = tuple(Shipment(day, tuple(by_day[day])) for day in sorted(by_day))
    return ShipmentPlan(policy, shipments, tuple(unscheduled), 0)


def _group_cost(
    ordinals: Sequence[int], count: Sequence[int], weighted: Sequence[int]
) -> GroupCost:
    """Cost of shipping dates i..j (inclusive) together on date j, from prefix sums:
    sum_k w_k * (x_j - x_k) = x_j * W(i..j) - S(i..j)."""

    def cost(i: int, j: int) -> int:
        return ordinals[j] * (count[j + 1] - count[i]) - (weighted[j + 1] - weighted[i])

    return cost


def optimal_groups(weights: Sequence[tuple[date, int]], cap: int) -> tuple[tuple[int, int], ...]:
    """Split distinct, increasing dates (each weighted by how many lines are ready then) into at
    most `cap` contiguous groups (first index, last index) with the least total waiting.

    Dynamic programming over suffixes: best[k][i] is the least cost of dates i.. in k groups. Read
    back from the front taking the earliest cut that stays optimal, so among equally good plans
    the first shipment leaves as early as possible (then the second, ...): deterministic.
    Splitting a group never adds waiting, so with more dates than `cap`, exactly `cap` groups."""
    m = len(weights)
    groups = min(require_quantity(cap, "the shipment cap"), m)
    if groups == m:
        return tuple((i, i) for i in range(m))
    ordinals = [day.toordinal() for day, _ in weights]
    count = [0, *accumulate(w for _, w in weights)]
    weighted = [0, *accumulate(day.toordinal() * w for day, w in weights)]
    cost = _group_cost(ordinals, count, weighted)
    # best[k][i]: least cost of dates i..m-1 in exactly k groups (None: impossible).
    best: list[list[int | None]] = [[None] * (m + 1) for _ in range(groups + 1)]
    best[0][m] = 0
    for k in range(1, groups + 1):
        for i in range(m - k, -1, -1):
            options = [
                cost(i, j) + tail
                for j in range(i, m - k + 1)
                if (tail := best[k - 1][j + 1]) is not None
            ]
            best[k][i] = min(options) if options else None
    return _read_back(best, cost, groups, m)


def _read_back(
    best: list[list[int | None]], cost: GroupCost, groups: int, m: int
) -> tuple[tuple[int, int], ...]:
    """Recover the groups from the DP table, earliest optimal cut first."""
    out: list[tuple[int, int]] = []
    i = 0
    for k in range(groups, 0, -1):
        target = best[k][i]
        j = next(
            j
            for j in range(i, m - k + 1)
            if (tail := best[k - 1][j + 1]) is not None and cost(i, j) + tail == target
        )
        out.append((i, j))
        i = j + 1
    return tuple(out)


def _capped_split(lines: Sequence[PlanLine], policy: ShipmentPolicy) -> ShipmentPlan:
    """Whole lines, at most `cap` shipments, least total waiting (lines with undated units wait
    whole in `unscheduled`: a capped split never ships part of a line)."""
    assert policy.cap is not None  # ShipmentPolicy guarantees a cap for capped_split
    ready = {ln.line_id: ln.ready for ln in lines}
    per_day = Counter(r for r in ready.values() if r is not None)
    days = sorted(per_day)
    groups = optimal_groups([(d, per_day[d]) for d in days], policy.cap)
    ship_on = {days[k]: days[j] for i, j in groups for k in range(i, j + 1)}
    by_day: dict[date, list[ShippedLine]] = {}
    unscheduled: list[ShippedLine] = []
    wait = 0
    for ln in lines:
        r = ready[ln.line_id]
        if r is None:
            unscheduled.append(ShippedLine(ln.line_id, ln.quantity))
            continue
        by_day.setdefault(ship_on[r], []).append(ShippedLine(ln.line_id, ln.quantity))
        wait += _wait(ship_on[r], r)
    shipments = tuple(Shipment(day, tuple(by_day[day])) for day in sorted(by_day))
    return ShipmentPlan(policy, shipments, tuple(unscheduled), wait)


_PLANNERS = {
    PolicyKind.ALL_OR_NOTHING: _all_or_nothing,
    PolicyKind.SHIP_AS_AVAILABLE: _ship_as_available,
    PolicyKind.CAPPED_SPLIT: _capped_split,
}


def plan_shipments(lines: Sequence[PlanLine], policy: ShipmentPolicy) -> ShipmentPlan:
    """The shipment plan of one order under `policy`; the same code runs on device and server,
    so the preview before submit is the plan the server will follow."""
    _check_order(lines)
    return _PLANNERS[policy.kind](lines, policy)


def plan_order(lines: Sequence[tuple[str, Availability]], policy: ShipmentPolicy) -> ShipmentPlan:
    """`plan_shipments` straight from each line's availability (what `check_cart` returns)."""
    return plan_shipments([PlanLine.of(line_id, av) for line_id, av in lines], policy)


def line_dates(
    shipments: Iterable[tuple[date, Iterable[str]]],
    unscheduled: Iterable[str],
    estimated: Iterable[str] = (),
) -> dict[str, Eta | None]:
    """Each line's date under its order's plan: the day of the last shipment carrying its
    units (all-or-nothing: the order's one shipment; a capped split: the shipment it is in),
    None when some of its units have no date. A date is estimated when any line of that
    shipment waits on an estimated date (`estimated` names those lines)."""
    unsure = set(estimated)
    found: dict[str, Eta | None] = {}
    for day, line_ids in shipments:
        ids = list(line_ids)
        kind = EtaKind.ESTIMATED if unsure.intersection(ids) else EtaKind.CONFIRMED
        for line_id in ids:
            was = found.get(line_id)
            if was is None or day >= was.date:
                found[line_id] = Eta(day, kind)
    for line_id in unscheduled:
        found[line_id] = None
    return found
