"""The device's tables (SQLModel), in three layers kept apart:

- cached server state, scoped to the signed-in rep: warehouse, product, stock, receipt, demand,
  account, sales_order/order_line (with the promise the rep saw beside the server's result),
  eta_event, conflict. Only snapshot.py writes server-owned columns; a few columns are the
  device's own (the promise, needs_attention, acknowledged_differences, cancel_requested, seen,
  resolved).
- pending local mutations: outbox.
- the device's own state: sync_state (one row), cart and cart_line.

These classes describe the latest schema for queries; the schema itself is created and
upgraded by migrations.py (a test checks the two agree). They are not API schemas: services
return the frozen dataclasses of views.py.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from app.store.columns import UtcDateTime


class DeviceTable(SQLModel, registry=registry()):
    """Base of the device's tables: their own metadata, so that the server's tables (same names,
    SQLModel's default metadata) can live in the same process, as in the integration tests."""


metadata = DeviceTable.metadata

# -- cached server state ---------------------------------------------------------------------


class Warehouse(DeviceTable, table=True):
    id: str = Field(primary_key=True)
    code: str = ""
    name: str = ""
    handling_days: int = 0  # days from stock being there to goods leaving (picking, packing)


class Product(DeviceTable, table=True):
    # A local integer key: the search index refers to it, and it never changes on VACUUM.
    id: int | None = Field(default=None, primary_key=True)
    sku: str = Field(unique=True)
    name: str
    brand: str = ""
    category: str = Field(default="", index=True)
    unit: str = "each"
    pack_size: int = 1
    price_cents: int = 0
    barcode: str = Field(default="", index=True)
    discontinued: bool = False
    alternatives: list[str] = Field(default_factory=list, sa_type=JSON)


class Stock(DeviceTable, table=True):
    """Stock of one product in one warehouse ("" when the server names none)."""

    sku: str = Field(primary_key=True)
    warehouse_id: str = Field(default="", primary_key=True)
    on_hand: int = 0
    reserved: int = 0


class Receipt(DeviceTable, table=True):
    """Scheduled supply: what is still to come of a purchase order or transfer."""

    id: str = Field(primary_key=True)
    sku: str = Field(index=True)
    warehouse_id: str = ""
    remaining: int
    expected: date
    kind: str = "confirmed"  # confirmed | estimated
    status: str = "scheduled"  # draft | scheduled | received | cancelled: only scheduled counts
    # What its lateness is learned against (app.domain.slip; schema 5): its supplier, whether
    # its date was moved, the units of its current promise and of those arrived.
    supplier_id: str | None = None
    moved: bool = False
    base: int = 0
    arrived: int = 0


class SupplierHistory(DeviceTable, table=True):
    """A supplier's slip history as the server sent it (schema 5): the fill curves the device
    builds its slip book from, the same as the server's ("0": receipts with no supplier)."""

    __tablename__ = "supplier_history"

    id: str = Field(primary_key=True)
    curves: list[list[object]] = Field(default_factory=list, sa_type=JSON)


class Demand(DeviceTable, table=True):
    """One anonymised open backordered line of the server's demand queue (a queue entry)."""

    id: str = Field(primary_key=True)
    order_ref: str  # opaque; defaults to the entry's own id
    sku: str = Field(index=True)
    warehouse_id: str = ""
    waiting: int
    committed_at: datetime = Field(sa_type=UtcDateTime)
    tier: int = 3
    order_value_cents: int = 0
    policy: str = "ship_as_available"


class Account(DeviceTable, table=True):
    id: str = Field(primary_key=True)
    code: str = ""
    name: str
    warehouse_id: str = ""
    tier: int = 3
    delivery_weekdays: list[int] = Field(default_factory=list, sa_type=JSON)
    default_policy: str = "ship_as_available"
    default_cap: int | None = None
    credit_hold: bool = False
    contact_name: str = ""
    contact_phone: str = ""
    contact_email: str = ""
    contact_address: str = ""
    contact_version: int = 1


class SalesOrder(DeviceTable, table=True):
    __tablename__ = "sales_order"

    id: str = Field(primary_key=True)  # the client-made UUID
    account_id: str
    warehouse_id: str = ""
    status: str = "pending"  # pending (placed here, not confirmed) or the server's status
    verdict: str | None = None  # the server's outcome
    verdict_reason: str = ""
    policy: str = "ship_as_available"
    cap: int | None = None
    note: str = ""
    version: int = 0
    placed_at: datetime = Field(sa_type=UtcDateTime)
    committed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    # The server's own comparison with the promise, when it sends one.
    server_differences: list[str] | None = Field(default=None, sa_type=JSON)
    server_needs_attention: bool | None = None
    # The device's own columns:
    needs_attention: bool = False
    # The differences from the promise the rep has acknowledged (JSON list of their texts).
    acknowledged_differences: list[str] = Field(default_factory=list, sa_type=JSON)
    cancel_requested: bool = False
    # The verdict arrived, the effects (stock reserved, queue place) are not pulled yet (schema 4).
    awaiting_pull: bool = False


class OrderLine(DeviceTable, table=True):
    __tablename__ = "order_line"

    order_id: str = Field(primary_key=True, foreign_key="sales_order.id", ondelete="CASCADE")
    line_id: str = Field(primary_key=True)  # the line number, as text
    sku: str = Field(index=True)
    quantity: int
    price_cents: int
    # The server's figures: units allocated so far (shipped included), still queued,
    # cancelled, shipped.
    allocated: int = 0
    waiting: int = 0
    cancelled: int = 0
    shipped: int = 0
    # The server's result at commit, and the current completion ETA.
    server_label: str | None = None
    server_backordered: int | None = None
    server_eta: date | None = None
    server_eta_kind: str | None = None
    first_eta: date | None = None
    # The customer's date (the line's day under the order's policy, as last shown or told)
    # and the likely day (schema 5).
    told: date | None = None
    told_kind: str | None = None
    likely: date | None = None
    # The promise the rep saw when placing (the device's own; never overwritten by sync).
    promise_label: str | None = None
    promise_now: int | None = None
    promise_eta: date | None = None
    promise_eta_kind: str | None = None
    promise_price_cents: int | None = None
    # The promise as the cart showed it (schema 5): units by the day they ship (JSON
    # [[iso date or null, units], ...]) and the day the line reaches the customer.
    promise_schedule: list[list[object]] | None = Field(default=None, sa_type=JSON)
    promise_ship: date | None = None
    promise_ship_kind: str | None = None
    cancel_requested: bool = False


class EtaEvent(DeviceTable, table=True):
    __tablename__ = "eta_event"

    id: str = Field(primary_key=True)
    order_id: str = Field(index=True)
    line_id: str
    sku: str = ""
    old_eta: date | None = None
    old_eta_kind: str | None = None
    new_eta: date | None = None
    new_eta_kind: str | None = None
    message: str = ""
    at: datetime = Field(sa_type=UtcDateTime)
    seen: bool = False  # the device's own


class Conflict(DeviceTable, table=True):
    """An overlapping edit: the later arrival's value was kept, the other one lost."""

    id: str = Field(primary_key=True)
    entity: str
    entity_key: str
    field: str
    winner_value: str = ""
    loser_value: str = ""
    base_version: int = 0
    at: datetime = Field(sa_type=UtcDateTime)
    resolved: bool = False  # the device's own: the rep has seen it


# -- pending local mutations -----------------------------------------------------------------


class Outbox(DeviceTable, table=True):
    mutation_id: int = Field(primary_key=True)  # strictly increasing, no gaps, per device
    name: str
    args: dict[str, object] = Field(default_factory=dict, sa_type=JSON)
    created_at: datetime = Field(sa_type=UtcDateTime)
    attempts: int = 0
    last_error: str | None = None
    state: str = "pending"  # pending | dead
    next_attempt_at: datetime | None = Field(default=None, sa_type=UtcDateTime)  # schema 2


# -- the device's own state ------------------------------------------------------------------


class SyncState(DeviceTable, table=True):
    __tablename__ = "sync_state"

    id: int = Field(default=1, primary_key=True)
    device_id: str
    server_url: str | None = None
    user_name: str | None = None
    token: str | None = None
    role: str | None = None
    cursor: int = 0
    last_sync_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    last_error: str | None = None
    last_error_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    protocol_version: int | None = None
    last_mutation_id: int = 0
    allocation_policy: str = "fifo"
    promise_confidence: float | None = None  # schema 5: dates at this confidence (None: as is)


class Cart(DeviceTable, table=True):
    id: int = Field(default=1, primary_key=True)
    account_id: str | None = None
    policy: str | None = None
    cap: int | None = None
    note: str = ""
    updated_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class CartLine(DeviceTable, table=True):
    __tablename__ = "cart_line"

    sku: str = Field(primary_key=True)
    quantity: int
    position: int
