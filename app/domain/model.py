"""The domain's vocabulary: plain, immutable values shared by the device and the server.

Quantities are whole units of the item's selling unit; money is integer cents; dates are
`datetime.date`; moments are timezone-aware `datetime`. Nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from itertools import accumulate


class DomainError(ValueError):
    """Bad input to a business rule, with a message a person can act on."""


def require_quantity(value: object, what: str, *, allow_zero: bool = False) -> int:
    """Return `value` if it is a whole, positive (or zero when allowed) quantity, else raise."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise DomainError(f"{what} must be a whole number of units, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        floor = "zero or more" if allow_zero else "at least 1"
        raise DomainError(f"{what} must be {floor}, got {value}")
    return value


def money(cents: int) -> str:
    """A price in the words of a verdict's differences, the same on the device and the server:
    "12.50"."""
    return f"{cents // 100}.{cents % 100:02d}"


def require_aware(moment: datetime, what: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise DomainError(f"{what} must carry a time zone (got a naive datetime {moment})")
    return moment


class EtaKind(StrEnum):
    CONFIRMED = "confirmed"  # the supplier gave a date
    ESTIMATED = "estimated"  # derived from the supplier's lead time


class Label(StrEnum):
    IN_STOCK = "in_stock"
    PARTIAL = "partial"
    BACKORDERED = "backordered"
    OUT_OF_STOCK = "out_of_stock"
    DISCONTINUED = "discontinued"


class AllocationPolicy(StrEnum):
    FIFO = "fifo"  # first come, first served by commit time
    PRIORITY = "priority"  # account tier, then order value, then time


class PolicyKind(StrEnum):
    ALL_OR_NOTHING = "all_or_nothing"
    SHIP_AS_AVAILABLE = "ship_as_available"
    CAPPED_SPLIT = "capped_split"


@dataclass(frozen=True, slots=True)
class ShipmentPolicy:
    kind: PolicyKind
    cap: int | None = None  # only for capped_split: the most shipments allowed

    def __post_init__(self) -> None:
        try:
            kind = PolicyKind(self.kind)
        except ValueError:
            names = ", ".join(k.value for k in PolicyKind)
            message = f"unknown shipment policy {self.kind!r}; use one of {names}"
            raise DomainError(message) from None
        object.__setattr__(self, "kind", kind)
        if kind is PolicyKind.CAPPED_SPLIT:
            if isinstance(self.cap, bool) or not isinstance(self.cap, int) or self.cap < 1:
                raise DomainError(
                    f"capped_split needs a cap of at least 1 shipment, got {self.cap!r}"
                )
        elif self.cap is not None:
            raise DomainError(f"only capped_split takes a cap; {kind.value} got cap={self.cap!r}")

    @classmethod
    def parse(cls, kind: str, cap: int | None = None) -> ShipmentPolicy:
        return cls(kind, cap)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Eta:
    """A promised date and how sure it is."""

    date: date
    kind: EtaKind


@dataclass(frozen=True, slots=True)
class Receipt:
    """Scheduled supply still to come: the part of a purchase order or transfer not yet received."""

    receipt_id: str
    item: str
    quantity: int  # units still to come
    expected: date
    kind: EtaKind = EtaKind.CONFIRMED
    # What its lateness is learned from (app.domain.slip): the supplier, whether the date was
    # moved since the first promise, and the units of its current promise (`base`, 0: the
    # quantity) of which `arrived` are already in (a part delivery).
    supplier: str | None = None
    moved: bool = False
    base: int = 0
    arrived: int = 0

    def __post_init__(self) -> None:
        require_quantity(self.quantity, f"receipt {self.receipt_id} quantity", allow_zero=True)
        object.__setattr__(self, "kind", EtaKind(self.kind))
        require_quantity(self.arrived, f"receipt {self.receipt_id} units arrived", allow_zero=True)
        if self.base == 0:
            object.__setattr__(self, "base", self.arrived + self.quantity)
        elif self.base < self.arrived + self.quantity:
            raise DomainError(
                f"receipt {self.receipt_id}: its promise of {self.base} units cannot have "
                f"{self.arrived} in and {self.quantity} to come"
            )

    @property
    def basis(self) -> str:
        """The slip basis its lateness is measured against (app.domain.slip.SlipBasis)."""
        return "moved" if self.moved else self.kind.value


@dataclass(frozen=True, slots=True)
class Stock:
    item: str
    on_hand: int
    reserved: int = 0

    def __post_init__(self) -> None:
        require_quantity(self.on_hand, f"on hand of {self.item}", allow_zero=True)
        require_quantity(self.reserved, f"reserved of {self.item}", allow_zero=True)

    @property
    def free(self) -> int:
        """Free stock = on hand - reserved (never below zero: an over-reservation frees nothing)."""
        return max(self.on_hand - self.reserved, 0)


@dataclass(frozen=True, slots=True)
class Supply:
    """What an item can ship from: free stock now, then scheduled receipts in date order."""

    item: str
    free_now: int
    receipts: tuple[Receipt, ...] = ()
    discontinued: bool = False
    alternatives: tuple[str, ...] = ()
    # ends[k]: units supplied once receipt k is in (free stock included): walks start by bisect
    ends: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        require_quantity(self.free_now, f"free stock of {self.item}", allow_zero=True)
        for r in self.receipts:
            if r.item != self.item:
                raise DomainError(f"receipt {r.receipt_id} is for {r.item}, not {self.item}")
        ordered = tuple(sorted(self.receipts, key=lambda r: (r.expected, r.receipt_id)))
        object.__setattr__(self, "receipts", ordered)
        ends = accumulate((r.quantity for r in ordered), initial=self.free_now)
        object.__setattr__(self, "ends", tuple(ends)[1:])

    @classmethod
    def of(
        cls,
        stock: Stock,
        receipts: tuple[Receipt, ...] | list[Receipt] = (),
        *,
        discontinued: bool = False,
        alternatives: tuple[str, ...] = (),
    ) -> Supply:
        return cls(stock.item, stock.free, tuple(receipts), discontinued, tuple(alternatives))


@dataclass(frozen=True, slots=True)
class QueuedLine:
    """An open backordered line waiting for supply: `waiting` units are still unfilled."""

    line_id: str
    order_id: str
    item: str
    waiting: int
    committed_at: datetime
    tier: int = 3  # 1 is the most important account tier
    order_value: int = 0  # cents, the whole order's value (priority tie-break)
    policy: PolicyKind = PolicyKind.SHIP_AS_AVAILABLE

    def __post_init__(self) -> None:
        require_quantity(self.waiting, f"waiting quantity of line {self.line_id}", allow_zero=True)
        require_aware(self.committed_at, f"commit time of line {self.line_id}")
        object.__setattr__(self, "policy", PolicyKind(self.policy))


@dataclass(frozen=True, slots=True)
class Terms:
    """How an account receives goods: handling days after stock is there, and delivery weekdays."""

    handling_days: int = 0
    delivery_weekdays: frozenset[int] = field(default_factory=frozenset)  # 0=Mon .. 6=Sun

    def __post_init__(self) -> None:
        require_quantity(self.handling_days, "handling days", allow_zero=True)
        days = frozenset(self.delivery_weekdays)
        if any(not isinstance(d, int) or not 0 <= d <= 6 for d in days):
            raise DomainError(
                f"delivery days are weekdays 0 (Monday) to 6 (Sunday), got {sorted(days)}"
            )
        object.__setattr__(self, "delivery_weekdays", days)


@dataclass(frozen=True, slots=True)
class DatedPart:
    """Part of a line that a known receipt (or stock on hand) covers, and when it can ship."""

    quantity: int
    eta: Eta


@dataclass(frozen=True, slots=True)
class Availability:
    """The truth about one order line: what ships now, what waits with a date, what has none."""

    item: str
    requested: int
    now: int
    ready: date  # when the `now` part can reach the customer
    dated: tuple[DatedPart, ...]  # backordered parts a scheduled receipt covers, in date order
    undated: int  # backordered (or, if discontinued, unavailable) units with no date at all
    label: Label
    eta: Eta | None  # the date the whole line is complete, if supply ever covers it
    alternatives: tuple[str, ...] = ()
    # Dated at a confidence (app.domain.slip): the day the line most likely completes (the
    # median), whether it waits on an overdue receipt, and whether that receipt is later than
    # any history shows (its date rests on an assumption).
    likely: date | None = None
    overdue: bool = False
    assumed: bool = False

    @property
    def backordered(self) -> int:
        return self.requested - self.now

    @property
    def dated_quantity(self) -> int:
        return sum(p.quantity for p in self.dated)

    def schedule(self) -> tuple[tuple[date | None, int], ...]:
        """Every requested unit once: (date it can ship, units); None for units with no date."""
        parts: list[tuple[date | None, int]] = []
        if self.now:
            parts.append((self.ready, self.now))
        parts.extend((p.eta.date, p.quantity) for p in self.dated)
        if self.undated:
            parts.append((None, self.undated))
        return tuple(parts)
