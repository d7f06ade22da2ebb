"""Allocation of freed stock to the demand queue, what an order may ship, and how ETAs move.

Three plain steps, each a function over plain values:

1. `allocate`: units that become free (a receipt arrives, a line is cancelled, a count finds
   more) go at once to waiting lines in queue order. An all-or-nothing order's lines take their
   units in their place like any other line, so they never lose their place in the queue.
2. `releasable`: given what an order's lines have been allocated and have shipped, which units
   may ship now under the order's shipment policy (this is where all-or-nothing holds back).
3. `eta_changes`: compare the queue's availability before and after an event and name every line
   whose completion ETA moved, so the move can be shown ("ETA moved from 10 Dec to 17 Dec").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date

from app.domain.availability import DemandQueue, date_queue
from app.domain.model import (
    Availability,
    DomainError,
    Eta,
    EtaKind,
    PolicyKind,
    QueuedLine,
    ShipmentPolicy,
    Supply,
    Terms,
    require_quantity,
)

# --------------------------------------------------------------------------------------------
# 1. Allocation
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Allocation:
    """Units of freed stock given to one waiting line; `fills_line` when it waits for no more."""

    line_id: str
    order_id: str
    item: str
    quantity: int
    fills_line: bool


@dataclass(frozen=True, slots=True)
class AllocationResult:
    """Allocations in queue order, and the units no line waits for (they become free stock)."""

    allocations: tuple[Allocation, ...]
    leftover: int

    @property
    def allocated(self) -> int:
        return sum(a.quantity for a in self.allocations)

    def by_line(self) -> dict[str, int]:
        """Units allocated per line id."""
        return {a.line_id: a.quantity for a in self.allocations}


def allocate(quantity: int, queue: DemandQueue) -> AllocationResult:
    """Give `quantity` freed units of `queue.item` to the waiting lines in queue order.

    Each line takes what it waits for until the units run out; the last line served may be
    filled only in part. Lines of all-or-nothing orders are served in their place like any
    other: the units are reserved to them (whether they may ship is `releasable`'s question).
    Lines that wait for nothing get no allocation. Units beyond the whole queue are `leftover`.
    """
    remaining = require_quantity(quantity, f"quantity of {queue.item} to allocate", allow_zero=True)
    allocations: list[Allocation] = []
    for line in queue.lines:
        if remaining == 0:
            break
        if line.waiting == 0:
            continue
        take = min(remaining, line.waiting)
        allocations.append(
            Allocation(
                line_id=line.line_id,
                order_id=line.order_id,
                item=line.item,
                quantity=take,
                fills_line=take == line.waiting,
            )
        )
        remaining -= take
    return AllocationResult(tuple(allocations), remaining)


def after_allocation(queue: DemandQueue, result: AllocationResult) -> DemandQueue:
    """The queue once `result` is applied: filled lines leave it, partly filled lines wait for
    less. Same item and allocation policy; the order of the remaining lines is unchanged."""
    taken = result.by_line()
    unknown = set(taken) - {line.line_id for line in queue.lines}
    if unknown:
        raise DomainError(
            f"allocations for lines not in the {queue.item} queue: {', '.join(sorted(unknown))}"
        )
    lines: list[QueuedLine] = []
    for line in queue.lines:
        got = taken.get(line.line_id, 0)
        if got > line.waiting:
            raise DomainError(
                f"line {line.line_id} waits for {line.waiting} units but was allocated {got}"
            )
        if got < line.waiting:
            lines.append(replace(line, waiting=line.waiting - got) if got else line)
    return DemandQueue(queue.item, lines, queue.policy)


# --------------------------------------------------------------------------------------------
# 2. What may ship now
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LineState:
    """Where one order line stands. `allocated` counts every unit allocated or reserved to the
    line so far, including those already shipped, so 0 <= shipped <= allocated <= ordered."""

    line_id: str
    ordered: int
    allocated: int
    shipped: int = 0

    def __post_init__(self) -> None:
        require_quantity(self.ordered, f"ordered quantity of line {self.line_id}")
        require_quantity(
            self.allocated, f"allocated quantity of line {self.line_id}", allow_zero=True
        )
        require_quantity(self.shipped, f"shipped quantity of line {self.line_id}", allow_zero=True)
        if self.allocated > self.ordered:
            raise DomainError(
                f"line {self.line_id} has {self.allocated} units allocated "
                f"but only {self.ordered} ordered"
            )
        if self.shipped > self.allocated:
            raise DomainError(
                f"line {self.line_id} shipped {self.shipped} units "
                f"but only {self.allocated} were allocated"
            )

    @property
    def unshipped(self) -> int:
        """Allocated units still in the warehouse."""
        return self.allocated - self.shipped

    @property
    def complete(self) -> bool:
        """Every ordered unit is allocated (shipped or not)."""
        return self.allocated == self.ordered

    @property
    def open(self) -> bool:
        """Some ordered units have not shipped yet."""
        return self.shipped < self.ordered


@dataclass(frozen=True, slots=True)
class ReleasedLine:
    line_id: str
    quantity: int


@dataclass(frozen=True, slots=True)
class Release:
    """What may ship now (one shipment), the lines whose allocated units are held back, and why."""

    lines: tuple[ReleasedLine, ...]
    held: tuple[str, ...]
    reason: str

    @property
    def units(self) -> int:
        return sum(r.quantity for r in self.lines)

    @property
    def ships(self) -> bool:
        return bool(self.lines)


def _ids(lines: Iterable[LineState]) -> str:
    return ", ".join(line.line_id for line in lines)


def releasable(
    order_lines: Sequence[LineState], policy: ShipmentPolicy, *, shipments_so_far: int = 0
) -> Release:
    """Which allocated-but-unshipped units of one order may ship now, as a single shipment.

    - ship_as_available: every allocated, unshipped unit ships.
    - all_or_nothing: everything ships once every line is fully allocated; until then nothing.
    - capped_split(n), kept simple (the optimal grouping belongs to the plan shown at submit):
      lines that are complete (every unit allocated) ship as a shipment only if at least one
      shipment of the cap is then still left for the lines not yet complete; otherwise they
      wait until every remaining line is complete and all of it goes as the last shipment.
      Lines only partly allocated never ship under capped_split. If the order has already used
      up its cap (shipped by other means), the remainder still ships as one final shipment once
      complete, so the cap never strands goods.

    `shipments_so_far` is the number of shipments the order has already had; it only matters
    for capped_split.
    """
    require_quantity(shipments_so_far, "shipments so far", allow_zero=True)
    seen: set[str] = set()
    for line in order_lines:
        if line.line_id in seen:
            raise DomainError(f"line {line.line_id} appears twice in the order")
        seen.add(line.line_id)

    with_units = [line for line in order_lines if line.unshipped > 0]
    everything = tuple(ReleasedLine(line.line_id, line.unshipped) for line in with_units)
    if not with_units:
        open_lines = [line for line in order_lines if line.open]
        reason = "nothing allocated is waiting to ship"
        if not open_lines:
            reason = "the order is fully shipped"
        return Release((), (), reason)

    if policy.kind is PolicyKind.SHIP_AS_AVAILABLE:
        return Release(everything, (), "ship as available: every allocated unit ships")

    incomplete = [line for line in order_lines if not line.complete]
    if policy.kind is PolicyKind.ALL_OR_NOTHING:
        if not incomplete:
            return Release(everything, (), "all or nothing: every line is covered")
        held = tuple(line.line_id for line in with_units)
        return Release((), held, f"all or nothing: waiting for {_ids(incomplete)} to be covered")

    # capped_split
    cap = policy.cap
    assert cap is not None  # ShipmentPolicy guarantees it for capped_split
    left = cap - shipments_so_far
    complete = [line for line in with_units if line.complete]
    partial = tuple(line.line_id for line in with_units if not line.complete)
    if not incomplete:
        note = f"shipment {shipments_so_far + 1} of at most {cap}"
        if left <= 0:
            note = f"the cap of {cap} is used up; the rest goes as one final shipment"
        return Release(everything, (), f"capped split: every line is complete, {note}")
    waiting_for = f"waiting for {_ids(incomplete)}"
    if not complete:
        return Release((), partial, f"capped split: no line is complete yet, {waiting_for}")
    if left >= 2:
        ready = tuple(ReleasedLine(line.line_id, line.unshipped) for line in complete)
        return Release(
            ready,
            partial,
            f"capped split: complete lines ship as shipment {shipments_so_far + 1} of at most "
            f"{cap}, {waiting_for}",
        )
    held = tuple(line.line_id for line in with_units)
    return Release((), held, f"capped split: the last shipment must carry the rest, {waiting_for}")


# --------------------------------------------------------------------------------------------
# 3. ETA changes
# --------------------------------------------------------------------------------------------


def _day(d: date, *, year: bool = False) -> str:
    return f"{d.day} {d:%b}" + (f" {d.year}" if year else "")


def completion_eta(availability: Availability) -> Eta | None:
    """When the whole line can reach the customer: `availability.eta`, or, for a line that stock
    on hand covers entirely (which has no `eta`), its ready date as a confirmed ETA. None when
    part of the line has no date."""
    if availability.eta is not None:
        return availability.eta
    if availability.undated == 0 and not availability.dated:
        return Eta(availability.ready, EtaKind.CONFIRMED)
    return None


@dataclass(frozen=True, slots=True)
class EtaChange:
    """A line's completion ETA before and after an event; None means no date."""

    line_id: str
    old: Eta | None
    new: Eta | None

    @property
    def later(self) -> bool:
        """The customer now waits longer (or no longer has a date)."""
        if self.new is None:
            return self.old is not None
        return self.old is not None and self.new.date > self.old.date

    def describe(self) -> str:
        old, new = self.old, self.new
        if new is None:
            return "ETA removed: no restock date"
        suffix = " (estimated)" if new.kind is EtaKind.ESTIMATED else ""
        if old is None:
            return f"now dated {_day(new.date)}{suffix}"
        if old.date == new.date:
            sureness = "confirmed" if new.kind is EtaKind.CONFIRMED else "only estimated"
            return f"ETA {_day(new.date)} is now {sureness}"
        year = old.date.year != new.date.year
        moved = f"ETA moved from {_day(old.date, year=year)} to {_day(new.date, year=year)}"
        if old.kind is not new.kind:
            moved += " (now confirmed)" if new.kind is EtaKind.CONFIRMED else " (now estimated)"
        return moved


def eta_changes(
    before: Mapping[str, Availability], after: Mapping[str, Availability]
) -> tuple[EtaChange, ...]:
    """Every line in both mappings whose completion ETA (date or kind) differs, in the order of
    `after`. Lines only in `before` were filled (they show up as allocations, not as changes);
    lines only in `after` are new and had no earlier promise to move."""
    changes = []
    for line_id, now in after.items():
        was = before.get(line_id)
        if was is None:
            continue
        old, new = completion_eta(was), completion_eta(now)
        if old != new:
            changes.append(EtaChange(line_id, old, new))
    return tuple(changes)


def item_eta_changes(
    supply_before: Supply,
    queue_before: DemandQueue,
    supply_after: Supply,
    queue_after: DemandQueue,
    *,
    today: date,
    terms_of: Callable[[QueuedLine], Terms] = lambda _line: Terms(),
) -> tuple[EtaChange, ...]:
    """`eta_changes` for one item in one call: date both queues against their supply with
    `date_queue` and compare."""
    items = {supply_before.item, queue_before.item, supply_after.item, queue_after.item}
    if len(items) != 1:
        raise DomainError(f"before and after must be of one item, got {', '.join(sorted(items))}")
    before = date_queue(supply_before, queue_before, today=today, terms_of=terms_of)
    after = date_queue(supply_after, queue_after, today=today, terms_of=terms_of)
    return eta_changes(before, after)
