"""Records: the public shape of what the server stores (pull changes and snapshot pages)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from app.domain.model import EtaKind, Label, PolicyKind
from sync.protocol.common import OrderStatus, Outcome, Response


class ProductPublic(Response):
    sku: str
    name: str
    brand: str
    category: str
    unit: str
    pack_size: int
    price_cents: int
    barcode: str
    supplier_id: int | None
    discontinued: bool
    alternatives: list[str] = []


class WarehousePublic(Response):
    id: int
    code: str
    name: str
    handling_days: int


class SupplierPublic(Response):
    id: int
    name: str
    lead_time_mean_days: float
    lead_time_sd_days: float
    contact_name: str = ""
    email: str = ""
    phone: str = ""


class SupplierHistoryPublic(Response):
    """How late a supplier's last closed receipts were: one fill curve per date promise,
    [sku, basis, [[days of slip, fraction of the promise arrived], ...]] (app.domain.slip).
    Every device builds the same slip book as the server from these, so its offline dates are
    the server's. supplier_id 0: receipts with no supplier."""

    supplier_id: int
    curves: list[list[Any]]


class StockPublic(Response):
    sku: str
    warehouse_id: int
    on_hand: int
    reserved: int

    @property
    def free(self) -> int:
        return max(self.on_hand - self.reserved, 0)


class ReceiptPublic(Response):
    """A scheduled receipt (a purchase-order line, or one scheduled by hand); `remaining` is
    what is still to come (quantity - received). Its lateness is learned against its current
    promise: `moved` once its date was moved from the first (`first_expected`), `base` units of
    which `arrived` are in. Drafts are not supply."""

    id: int
    supplier_id: int | None
    sku: str
    warehouse_id: int
    quantity: int
    received: int
    remaining: int
    expected: date
    kind: EtaKind
    status: Literal["draft", "scheduled", "received", "cancelled"]
    first_expected: date | None = None
    moved: bool = False
    base: int = 0
    arrived: int = 0
    po_id: int | None = None
    ordered_on: date | None = None


class AccountPublic(Response):
    id: int
    code: str
    name: str
    rep_id: int
    warehouse_id: int
    tier: int
    delivery_days: list[int]
    default_policy: PolicyKind
    default_cap: int | None
    credit_hold: bool
    contact_name: str
    contact_phone: str
    contact_email: str
    contact_address: str
    contact_version: int


class QueueEntryPublic(Response):
    """One open backordered line in an item's demand queue, anonymised: no account, rep or order
    is named. The device builds `QueuedLine(line_id=entry_id, order_id=entry_id, ...)` from these
    to date its own lines behind (or, under priority, among) everyone else's."""

    entry_id: str
    sku: str
    warehouse_id: int
    waiting: int
    committed_at: datetime
    tier: int
    order_value: int
    policy: PolicyKind


class LinePublic(Response):
    line_no: int
    sku: str
    quantity: int
    price_cents: int
    label: Label  # the label at commit
    allocated: int  # units reserved or allocated so far (shipped included)
    waiting: int  # units still in the demand queue
    cancelled: int
    shipped: int
    backordered: int  # units not available at commit
    eta: date | None  # the current completion ETA of the waiting units
    eta_kind: EtaKind | None
    first_eta: date | None  # the first date shown for the backordered part (None: no date)
    alternatives: list[str] = []
    # The customer's date: the day the line reaches them under the order's shipment policy,
    # as last shown or told (every change of it is an ETA change); and the likely day.
    told: date | None = None
    told_kind: EtaKind | None = None
    likely: date | None = None


class ShipmentLinePublic(Response):
    line_no: int
    sku: str
    quantity: int


class ShipmentPublic(Response):
    """planned: projected by the order's plan; ready: may leave now; shipped: gone."""

    id: int
    status: Literal["planned", "ready", "shipped"]
    date: date | None
    lines: list[ShipmentLinePublic]
    shipped_at: datetime | None = None


class OrderPublic(Response):
    id: uuid.UUID
    account_id: int
    rep_id: int
    warehouse_id: int
    status: OrderStatus
    outcome: Outcome
    reason: str | None
    differences: list[str]
    needs_attention: bool
    version: int
    policy: PolicyKind
    cap: int | None
    note: str
    review_note: str
    client_time: datetime
    committed_at: datetime
    total_cents: int
    has_backorders: bool
    lines: list[LinePublic]
    shipments: list[ShipmentPublic]
    unscheduled: list[ShipmentLinePublic] = []


class EtaChangePublic(Response):
    id: int
    order_id: uuid.UUID
    line_no: int
    sku: str
    old: date | None
    old_kind: EtaKind | None
    new: date | None
    new_kind: EtaKind | None
    message: str  # e.g. "ETA moved from 10 Dec to 17 Dec"
    cause: str
    at: datetime


class ConflictPublic(Response):
    """An overlapping edit: `winner_value` was kept (the later arrival), `loser_value` lost."""

    id: int
    entity: str
    key: str
    field: str
    winner_value: str
    loser_value: str
    base_version: int
    at: datetime
