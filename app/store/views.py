"""What the services return: plain, frozen values for the UI (never table rows)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from app.domain.model import Availability, Eta, Label, ShipmentPolicy
from app.domain.plans import ShipmentPlan


class OrderState(StrEnum):
    """Where an order stands for the rep (derived from both layers)."""

    PENDING = "pending"  # placed here, waiting in the outbox for the server
    NEEDS_ATTENTION = "needs_attention"  # the verdict differs from the promise, not acknowledged
    ON_HOLD = "on_hold"  # a supervisor holds it for review
    ACCEPTED = "accepted"  # open, nothing waiting for supply
    BACKORDERED = "backordered"  # open, some units waiting for supply
    SHIPPED = "shipped"  # fulfilled
    CANCELLED = "cancelled"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class ProductView:
    sku: str
    name: str
    brand: str
    category: str
    unit: str
    pack_size: int
    price_cents: int
    barcode: str
    discontinued: bool
    alternatives: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CatalogHit:
    product: ProductView
    match: str  # sku | barcode | name | brand | text: why it was found, best first
    availability: Availability  # for `quantity` units (default 1) for the account


@dataclass(frozen=True, slots=True)
class AccountView:
    id: str
    code: str
    name: str
    tier: int
    delivery_weekdays: tuple[int, ...]
    handling_days: int  # its warehouse's
    default_policy: ShipmentPolicy
    credit_hold: bool
    contact_name: str
    contact_phone: str
    contact_email: str
    contact_address: str
    contact_version: int  # the server's version the contact data is based on
    pending_contact_fields: tuple[str, ...]  # edited here, not yet confirmed by the server
    warehouse_id: str


@dataclass(frozen=True, slots=True)
class CartLineView:
    line_id: str  # the line number the order will have: 1, 2, ... in the cart's order
    sku: str
    name: str
    quantity: int
    price_cents: int
    in_catalog: bool = True  # False once a sync has removed the product


@dataclass(frozen=True, slots=True)
class CartView:
    account: AccountView | None
    lines: tuple[CartLineView, ...]
    policy: ShipmentPolicy  # the cart's own, else the account's default
    note: str

    @property
    def total_cents(self) -> int:
        return sum(line.quantity * line.price_cents for line in self.lines)


@dataclass(frozen=True, slots=True)
class CheckedLine:
    line_id: str
    sku: str
    name: str
    quantity: int
    price_cents: int
    availability: Availability
    # The day the line reaches the customer under the order's policy (None: some of it has no
    # date): what the rep tells the customer, and what is stored as the promise.
    ship: Eta | None = None

    @property
    def label(self) -> Label:
        return self.availability.label


@dataclass(frozen=True, slots=True)
class CartCheck:
    """The cart as the rep sees it before submitting: every line labelled and dated, the plan,
    what blocks placing (problems) and what the rep should know (warnings)."""

    cart: CartView
    lines: tuple[CheckedLine, ...]
    plan: ShipmentPlan | None
    snapshot_at: datetime | None  # when the stock figures were last synced (None: never)
    snapshot_age: timedelta | None
    problems: tuple[str, ...]
    warnings: tuple[str, ...]

    @property
    def can_place(self) -> bool:
        return not self.problems


@dataclass(frozen=True, slots=True)
class PlacedOrder:
    order_id: str
    mutation_id: int
    check: CartCheck


@dataclass(frozen=True, slots=True)
class LineResult:
    """A line as promised, or as the server decided at commit (ETA: the current one)."""

    label: Label
    now: int  # units available now (promised / at commit)
    eta: Eta | None
    backordered: int | None = None  # the server's figure (None in a promise)


@dataclass(frozen=True, slots=True)
class OrderLineView:
    line_id: str
    sku: str
    name: str
    quantity: int
    price_cents: int
    state: str  # open | shipped | cancelled (from the server's figures)
    allocated: int
    waiting: int
    cancelled: int
    shipped: int
    promise: LineResult | None
    promised_price_cents: int | None
    server: LineResult | None
    first_eta: date | None
    cancel_requested: bool
    # The customer's date (the line's day under the order's policy, as last shown or told; it
    # moves only with an ETA change), the likely day, and the day the cart showed at placing.
    told: Eta | None = None
    likely: date | None = None
    promised_ship: Eta | None = None
    promised_schedule: tuple[tuple[date | None, int], ...] = ()  # as the cart showed it


@dataclass(frozen=True, slots=True)
class OrderSummary:
    id: str
    account_id: str
    account_name: str
    state: OrderState
    status: str
    verdict: str | None
    placed_at: datetime
    total_cents: int
    lines: int
    cancel_requested: bool


@dataclass(frozen=True, slots=True)
class OrderDetail:
    summary: OrderSummary
    policy: ShipmentPolicy
    note: str
    version: int
    verdict_reason: str
    lines: tuple[OrderLineView, ...]
    differences: tuple[str, ...]  # promise vs verdict, in words; empty when they agree


@dataclass(frozen=True, slots=True)
class EtaChangeView:
    id: str
    order_id: str
    line_id: str
    sku: str
    product_name: str
    account_name: str
    old: Eta | None
    new: Eta | None
    at: datetime
    seen: bool
    later: bool
    text: str  # e.g. "ETA moved from 10 Dec to 17 Dec" (the server's words when it sent some)


@dataclass(frozen=True, slots=True)
class ConflictView:
    """An overlapping edit: `winner_value` (the later arrival) was kept, `loser_value` lost."""

    id: str
    entity: str
    entity_key: str
    field: str
    winner_value: str
    loser_value: str
    base_version: int
    at: datetime
    resolved: bool


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    mutation_id: int
    name: str
    args: dict[str, object]
    created_at: datetime
    attempts: int
    last_error: str | None
    state: str
    next_attempt_at: datetime | None


@dataclass(frozen=True, slots=True)
class SyncState:
    device_id: str
    server_url: str | None
    user_name: str | None
    token: str | None
    role: str | None
    cursor: int
    last_sync_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    protocol_version: int | None
    last_mutation_id: int
    allocation_policy: str

    @property
    def signed_in(self) -> bool:
        return bool(self.token)


@dataclass(frozen=True, slots=True)
class SyncStatus:
    """What the status bar shows."""

    online: bool
    signed_in: bool
    user_name: str | None
    last_sync_at: datetime | None
    last_sync_age: timedelta | None
    pending_count: int
    oldest_pending_at: datetime | None
    oldest_pending_age: timedelta | None
    dead_count: int  # mutations the server gave up on (shown, never retried)
    last_error: str | None
    last_error_at: datetime | None


__all__ = [
    "AccountView",
    "CartCheck",
    "CartLineView",
    "CartView",
    "CatalogHit",
    "CheckedLine",
    "ConflictView",
    "EtaChangeView",
    "LineResult",
    "OrderDetail",
    "OrderLineView",
    "OrderState",
    "OrderSummary",
    "OutboxEntry",
    "PlacedOrder",
    "ProductView",
    "SyncState",
    "SyncStatus",
]
