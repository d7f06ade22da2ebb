"""Available-to-promise: label and date order lines against supply and the queue ahead of them.

The walk: supply is a line of units, free stock first, then each scheduled receipt in date order.
Demand takes units off the front of that line in queue order. A line that has `ahead` units of
demand before it occupies the units [ahead, ahead + quantity); each part of that range is dated by
the receipt that supplies it. Units beyond all supply have no date. Because every earlier
backorder sits before a new line, stock that someone is already waiting for is never promised twice.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from itertools import accumulate

from app.domain.model import (
    AllocationPolicy,
    Availability,
    DatedPart,
    DomainError,
    Eta,
    EtaKind,
    Label,
    QueuedLine,
    Supply,
    Terms,
    require_aware,
    require_quantity,
)
from app.domain.slip import (
    Confidence,
    Need,
    Promise,
    SlipBasis,
    fraction_bucket,
    promise_day,
)

QueueKey = tuple[object, ...]


def queue_key(
    policy: AllocationPolicy,
    *,
    committed_at: datetime,
    tier: int,
    order_value: int,
    order_id: str,
    line_id: str,
) -> QueueKey:
    """Sort key of a line in the demand queue: smaller keys are served first. Ids are compared
    as numbers where they are numbers (line "9" before line "10")."""
    if parse_allocation_policy(policy) is AllocationPolicy.FIFO:
        return (committed_at, _natural(order_id), _natural(line_id))
    return (tier, -order_value, committed_at, _natural(order_id), _natural(line_id))


def _natural(text: str) -> tuple[int, int | str]:
    return (0, int(text)) if text.isdigit() else (1, text)


def parse_allocation_policy(policy: object) -> AllocationPolicy:
    try:
        return AllocationPolicy(policy)
    except ValueError:
        raise DomainError(f"unknown allocation policy {policy!r}; use fifo or priority") from None


def line_key(policy: AllocationPolicy, line: QueuedLine) -> QueueKey:
    return queue_key(
        policy,
        committed_at=line.committed_at,
        tier=line.tier,
        order_value=line.order_value,
        order_id=line.order_id,
        line_id=line.line_id,
    )


class DemandQueue:
    """The open backorders of one item in allocation order, with prefix sums so that
    'how many units wait ahead of a new line' is a binary search, not a scan."""

    __slots__ = ("_keys", "_prefix", "item", "lines", "policy")

    def __init__(self, item: str, lines: Iterable[QueuedLine], policy: AllocationPolicy) -> None:
        self.item = item
        self.policy = parse_allocation_policy(policy)
        keyed = []
        for line in lines:
            if line.item != item:
                raise DomainError(f"line {line.line_id} is for {line.item}, not {item}")
            keyed.append((line_key(self.policy, line), line))
        keyed.sort(key=lambda kl: kl[0])
        self._keys: list[QueueKey] = [k for k, _ in keyed]
        self.lines: tuple[QueuedLine, ...] = tuple(line for _, line in keyed)
        self._prefix: list[int] = [0, *accumulate(line.waiting for line in self.lines)]

    @property
    def total(self) -> int:
        return self._prefix[-1]

    def ahead_of(self, key: QueueKey) -> int:
        """Units waiting in lines that are served before a line with this key."""
        return self._prefix[bisect_left(self._keys, key)]

    def __len__(self) -> int:
        return len(self.lines)


@lru_cache(maxsize=8192)  # pure and called for every receipt a line touches: dates repeat a lot
def ship_date(available: date, terms: Terms, today: date) -> date:
    """When goods available on `available` reach the customer: never before today, plus handling
    days, then the account's next delivery day on or after that."""
    day = max(available, today) + timedelta(days=terms.handling_days)
    if terms.delivery_weekdays:
        for _ in range(7):
            if day.weekday() in terms.delivery_weekdays:
                break
            day += timedelta(days=1)
    return day


def _label(requested: int, now: int, dated: int, discontinued: bool) -> Label:
    if now >= requested:
        return Label.IN_STOCK
    if discontinued:
        return Label.DISCONTINUED
    if now > 0:
        return Label.PARTIAL
    if dated > 0:
        return Label.BACKORDERED
    return Label.OUT_OF_STOCK


def date_line(
    supply: Supply,
    ahead: int,
    quantity: int,
    *,
    today: date,
    terms: Terms = Terms(),
    confidence: Confidence | None = None,
) -> Availability:
    """Label and date `quantity` units of `supply.item` that have `ahead` units of demand before
    them. A discontinued item is never restocked: only stock on hand counts.

    Without `confidence` a part is dated by its receipt's expected date. With it, by the day its
    supply is there at the business's confidence given how late its suppliers have been
    (app.domain.slip); units with no such day within the horizon have no date."""
    require_quantity(quantity, f"quantity of {supply.item}")
    require_quantity(ahead, f"demand ahead of {supply.item}", allow_zero=True)
    start, end = ahead, ahead + quantity
    now = max(0, min(end, supply.free_now) - start)
    parts: list[DatedPart] = []
    last: tuple[int, int] | None = None  # (receipt index, units of it up to the line's end)
    overdue = assumed = False
    if not supply.discontinued and end > supply.free_now:
        # Skip the receipts that demand ahead already takes whole.
        k = bisect_right(supply.ends, start)
        low = supply.ends[k - 1] if k else supply.free_now
        for index in range(k, len(supply.receipts)):
            receipt, high = supply.receipts[index], supply.ends[index]
            if low >= end:
                break
            covered = min(end, high) - max(start, low)
            if covered > 0:
                if confidence is None:
                    eta = Eta(ship_date(receipt.expected, terms, today), receipt.kind)
                else:
                    promise = _promise(supply, index, min(end, high) - low, today, confidence)
                    if promise.day is None:
                        break  # no day at this confidence: this part and the rest are undated
                    late = any(r.expected < today for r in supply.receipts[: index + 1])
                    overdue, assumed = overdue or late, assumed or promise.assumed
                    sure = receipt.kind is EtaKind.CONFIRMED and not late
                    eta = Eta(
                        ship_date(promise.day, terms, today),
                        EtaKind.CONFIRMED if sure else EtaKind.ESTIMATED,
                    )
                last = (index, min(end, high) - low)
                if parts and parts[-1].eta == eta:
                    parts[-1] = DatedPart(parts[-1].quantity + covered, eta)
                else:
                    parts.append(DatedPart(covered, eta))
            low = high
    dated = sum(p.quantity for p in parts)
    undated = quantity - now - dated
    eta: Eta | None = None
    likely: date | None = None
    if parts and undated == 0:
        sure = all(p.eta.kind is EtaKind.CONFIRMED for p in parts)
        eta = Eta(parts[-1].eta.date, EtaKind.CONFIRMED if sure else EtaKind.ESTIMATED)
        if confidence is not None and last is not None:
            day = _promise(supply, *last, today, confidence, likely=True).day
            likely = ship_date(day, terms, today) if day is not None else None
    return Availability(
        item=supply.item,
        requested=quantity,
        now=now,
        ready=ship_date(today, terms, today),
        dated=tuple(parts),
        undated=undated,
        label=_label(quantity, now, dated, supply.discontinued),
        eta=eta,
        alternatives=supply.alternatives if supply.discontinued or undated else (),
        likely=likely,
        overdue=overdue,
        assumed=assumed,
    )


def _promise(
    supply: Supply,
    index: int,
    units: int,
    today: date,
    confidence: Confidence,
    *,
    likely: bool = False,
) -> Promise:
    """When `units` of receipt `index` (counted from its first unit still to come) are in, at
    the confidence: every earlier receipt must be in whole too, since units that arrive go to
    the lines ahead first."""
    receipts = supply.receipts[: index + 1]
    fractions = [(r.arrived + r.quantity) / r.base for r in receipts[:-1]]
    fractions.append((receipts[-1].arrived + units) / receipts[-1].base)
    level = confidence.likely_level if likely else confidence.level
    key = (
        supply.item,
        today,
        level,
        tuple((r.receipt_id, r.expected, r.supplier, r.basis) for r in receipts),
        tuple(fraction_bucket(f) for f in fractions),
    )
    found = confidence._cache.get(key)
    if found is None:
        book = confidence.book
        needs = [
            Need(book.distribution(r.supplier, supply.item, SlipBasis(r.basis)), r.expected, f)
            for r, f in zip(receipts, fractions, strict=True)
        ]
        found = promise_day(needs, today=today, confidence=level)
        confidence._cache[key] = found
    return found


@dataclass(frozen=True, slots=True)
class CartLine:
    line_id: str
    item: str
    quantity: int


@dataclass(frozen=True, slots=True)
class NewOrder:
    """Where a new order ranks in the queue: its account tier, value and commit time."""

    order_id: str
    committed_at: datetime
    tier: int = 3
    order_value: int = 0


def check_cart(
    lines: Sequence[CartLine],
    supplies: Mapping[str, Supply],
    queues: Mapping[str, DemandQueue],
    order: NewOrder,
    *,
    today: date,
    terms: Terms = Terms(),
    policy: AllocationPolicy = AllocationPolicy.FIFO,
    pending: Sequence[QueuedLine] = (),
    confidence: Confidence | None = None,
) -> tuple[Availability, ...]:
    """Availability of every line of a cart, in line order (dated as `date_line` says).

    Lines of the same item consume supply in line order; `pending` (the rep's own orders not yet
    confirmed by the server) counts as demand wherever its lines rank in the queue.
    """
    require_aware(order.committed_at, "the order's commit time")
    taken: dict[str, int] = {}  # units earlier lines of this cart take, per item
    results = []
    for line in lines:
        require_quantity(line.quantity, f"quantity of {line.item} (line {line.line_id})")
        supply = supplies.get(line.item)
        if supply is None:
            raise DomainError(f"item {line.item!r} is not in the catalog")
        key = queue_key(
            policy,
            committed_at=order.committed_at,
            tier=order.tier,
            order_value=order.order_value,
            order_id=order.order_id,
            line_id=line.line_id,
        )
        queue = queues.get(line.item)
        ahead = queue.ahead_of(key) if queue is not None else 0
        ahead += sum(
            p.waiting for p in pending if p.item == line.item and line_key(policy, p) < key
        )
        ahead += taken.get(line.item, 0)
        results.append(
            date_line(supply, ahead, line.quantity, today=today, terms=terms, confidence=confidence)
        )
        taken[line.item] = taken.get(line.item, 0) + line.quantity
    return tuple(results)


def date_queue(
    supply: Supply,
    queue: DemandQueue,
    *,
    today: date,
    terms_of: Callable[[QueuedLine], Terms] = lambda _line: Terms(),
    confidence: Confidence | None = None,
) -> dict[str, Availability]:
    """Availability of every waiting line of one item's queue, by line id (one pass over the
    queue). This is what the server shows for open backorders and what ETA changes compare."""
    dated: dict[str, Availability] = {}
    ahead = 0
    for line in queue.lines:
        if line.waiting:
            dated[line.line_id] = date_line(
                supply,
                ahead,
                line.waiting,
                today=today,
                terms=terms_of(line),
                confidence=confidence,
            )
        ahead += line.waiting
    return dated
