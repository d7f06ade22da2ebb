"""The wire contract between the device and the server (and the supervisor API), versioned.

Every request carries the protocol version in the `X-Protocol-Version` header; the server answers
a mismatch with 426 and a message that says which side must be updated. Bump PROTOCOL_VERSION on
any change a peer of the previous version would misread.

Conventions: quantities are whole units (ints), money is integer cents, calendar dates are ISO
dates, moments are timezone-aware datetimes. Requests forbid unknown fields (a typo is a 422 that
names the field); responses ignore unknown fields (a newer server may add some).

The device uploads intents (`Mutation`), never rows: each carries a strictly increasing
`mutation_id` per device, and orders carry a UUID made on the device, so a retried push is
harmless. A business "no" is a `rejected` outcome inside a 2xx answer, never an HTTP error.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from app.domain.model import AllocationPolicy, EtaKind, Label, PolicyKind

# 2: snapshot pages carry rows under named columns
# 3: the snapshot carries the rep's ETA changes and conflicts (a resync or a new device keeps
#    the history the change log delivered before)
# 4: a line's promise carries the quoted price, a cancel the order version the rep saw (a
#    server of 3 would refuse both fields)
PROTOCOL_VERSION = 4
PROTOCOL_HEADER = "X-Protocol-Version"

MAX_BATCH = 100  # mutations per push
MAX_LINES = 200  # lines per order
MAX_QUANTITY = 100_000  # units per line
MAX_PAGE = 5000  # changes or records per pull/snapshot page
MAX_SHIPMENT_CAP = 50
MAX_PRICE_CENTS = 100_000_000  # a unit price, as the catalog allows


class Request(BaseModel):
    """What a client sends: unknown fields are an error that names them."""

    model_config = ConfigDict(extra="forbid")


class Response(BaseModel):
    """What the server sends: unknown fields are ignored, so older devices tolerate additions."""

    model_config = ConfigDict(extra="ignore")


Sku = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
Quantity = Annotated[int, Field(strict=True, ge=1, le=MAX_QUANTITY)]
Units = Annotated[int, Field(strict=True, ge=0, le=MAX_QUANTITY)]
Id = Annotated[int, Field(strict=True, ge=1, le=2**31 - 1)]
ShortText = Annotated[str, StringConstraints(max_length=500)]
Outcome = Literal["accepted", "accepted_with_changes", "backordered", "rejected"]
OrderStatus = Literal["open", "on_hold", "approved", "rejected", "cancelled", "fulfilled"]
Role = Literal["rep", "supervisor"]


# ------------------------------------------------------------------------------------------
# Records: the public shape of what the server stores (pull changes and snapshot pages).
# ------------------------------------------------------------------------------------------


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


class StockPublic(Response):
    sku: str
    warehouse_id: int
    on_hand: int
    reserved: int

    @property
    def free(self) -> int:
        return max(self.on_hand - self.reserved, 0)


class ReceiptPublic(Response):
    """A scheduled receipt; `remaining` is what is still to come (quantity - received)."""

    id: int
    supplier_id: int | None
    sku: str
    warehouse_id: int
    quantity: int
    received: int
    remaining: int
    expected: date
    kind: EtaKind
    status: Literal["scheduled", "received", "cancelled"]


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
    eta: date | None  # the current completion ETA
    eta_kind: EtaKind | None
    first_eta: date | None
    alternatives: list[str] = []


class ShipmentPublic(Response):
    """planned: projected by the order's plan; ready: may leave now; shipped: gone."""

    id: int
    status: Literal["planned", "ready", "shipped"]
    date: date | None
    lines: list[ShipmentLinePublic]
    shipped_at: datetime | None = None


class ShipmentLinePublic(Response):
    line_no: int
    sku: str
    quantity: int


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


# ------------------------------------------------------------------------------------------
# Mutations: what the device's outbox holds, one intent each.
# ------------------------------------------------------------------------------------------


class MutationBase(Request):
    mutation_id: Annotated[int, Field(strict=True, ge=1, le=2**62)]
    client_time: AwareDatetime


class PromisedLine(Request):
    """What the rep saw (and told the customer) for a line before submitting."""

    label: Label
    now: Units
    eta: date | None = None
    eta_kind: EtaKind | None = None
    # The unit price the rep quoted (None from an app that did not send it: not compared).
    price_cents: Annotated[int, Field(strict=True, ge=0, le=MAX_PRICE_CENTS)] | None = None


class OrderLineIn(Request):
    sku: Sku
    quantity: Quantity
    promise: PromisedLine | None = None


class PlaceOrder(MutationBase):
    name: Literal["place_order"]
    order_id: uuid.UUID
    account_id: Id
    lines: Annotated[list[OrderLineIn], Field(min_length=1, max_length=MAX_LINES)]
    policy: PolicyKind | None = None  # None: the account's default policy
    cap: Annotated[int, Field(strict=True, ge=1, le=MAX_SHIPMENT_CAP)] | None = None
    note: ShortText = ""

    @field_validator("lines")
    @classmethod
    def _one_line_per_item(cls, lines: list[OrderLineIn]) -> list[OrderLineIn]:
        seen: dict[str, int] = {}
        for index, line in enumerate(lines):
            if line.sku in seen:
                raise ValueError(
                    f"SKU {line.sku} is on lines {seen[line.sku]} and {index}: "
                    "put its whole quantity on one line"
                )
            seen[line.sku] = index
        return lines

    @model_validator(mode="after")
    def _cap_goes_with_capped_split(self) -> PlaceOrder:
        if self.policy is PolicyKind.CAPPED_SPLIT and self.cap is None:
            raise ValueError("cap: capped_split needs a cap (the most shipments allowed)")
        if self.policy is not PolicyKind.CAPPED_SPLIT and self.cap is not None:
            raise ValueError("cap: only the capped_split policy takes a cap")
        return self


# The order version the rep saw when cancelling: a supervisor's decision made after it wins
# (the cancel is refused and logged as a conflict). None: not compared (an older app).
BaseVersion = Annotated[int, Field(strict=True, ge=0, le=2**31 - 1)] | None


class CancelOrder(MutationBase):
    name: Literal["cancel_order"]
    order_id: uuid.UUID
    reason: ShortText = ""
    base_version: BaseVersion = None


class CancelLine(MutationBase):
    name: Literal["cancel_line"]
    order_id: uuid.UUID
    line_no: Annotated[int, Field(strict=True, ge=1, le=MAX_LINES)]
    reason: ShortText = ""
    base_version: BaseVersion = None


class ContactChanges(Request):
    """Only the fields the rep changed; at least one."""

    contact_name: Annotated[str, StringConstraints(max_length=120)] | None = None
    contact_phone: Annotated[str, StringConstraints(max_length=40)] | None = None
    contact_email: Annotated[str, StringConstraints(max_length=120)] | None = None
    contact_address: Annotated[str, StringConstraints(max_length=300)] | None = None

    @model_validator(mode="after")
    def _something(self) -> ContactChanges:
        if not self.changed():
            raise ValueError("changes: name at least one contact field to change")
        return self

    def changed(self) -> dict[str, str]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


class UpdateAccountContact(MutationBase):
    name: Literal["update_account_contact"]
    account_id: Id
    base_version: Annotated[int, Field(strict=True, ge=0, le=2**31 - 1)]
    changes: ContactChanges


class Acknowledge(MutationBase):
    """The rep has seen a verdict that differed from their promise."""

    name: Literal["acknowledge"]
    order_id: uuid.UUID


Mutation = Annotated[
    PlaceOrder | CancelOrder | CancelLine | UpdateAccountContact | Acknowledge,
    Field(discriminator="name"),
]


# ------------------------------------------------------------------------------------------
# Verdicts and results
# ------------------------------------------------------------------------------------------


class LineResult(Response):
    """The server's answer for one line, beside what the rep promised."""

    line_no: int
    sku: str
    quantity: int
    label: Label
    reserved: int  # units taken from stock now
    backordered: int  # units queued (dated or not)
    unavailable: int = 0  # units that will not come (a discontinued item without stock)
    eta: date | None
    eta_kind: EtaKind | None
    alternatives: list[str] = []
    promised: PromisedLine | None = None
    difference: str | None = None  # in words, when the result is worse than the promise


class PlannedShipment(Response):
    date: date
    lines: list[ShipmentLinePublic]


class ShipmentPlanPublic(Response):
    policy: PolicyKind
    cap: int | None
    shipments: list[PlannedShipment]
    unscheduled: list[ShipmentLinePublic]
    total_wait_days: int


class OrderVerdict(Response):
    order_id: uuid.UUID
    outcome: Outcome
    reason: str | None = None
    status: OrderStatus | None = None
    version: int | None = None
    lines: list[LineResult] = []
    plan: ShipmentPlanPublic | None = None
    differences: list[str] = []


class ContactResult(Response):
    account: AccountPublic
    conflicts: list[ConflictPublic] = []


class MutationResult(Response):
    mutation_id: int
    name: str
    # applied: this push applied it; duplicate: applied before, this is the stored answer;
    # dead_lettered: it failed on the server and was set aside (it will not block the queue).
    status: Literal["applied", "duplicate", "dead_lettered"]
    outcome: Outcome | None = None
    reason: str | None = None
    order: OrderVerdict | None = None
    contact: ContactResult | None = None
    error: str | None = None


# ------------------------------------------------------------------------------------------
# Push, pull, snapshot
# ------------------------------------------------------------------------------------------


class PushRequest(Request):
    device_id: uuid.UUID
    mutations: Annotated[list[Mutation], Field(min_length=1, max_length=MAX_BATCH)]

    @field_validator("mutations")
    @classmethod
    def _increasing(cls, mutations: list[Any]) -> list[Any]:
        for index in range(1, len(mutations)):
            if mutations[index].mutation_id <= mutations[index - 1].mutation_id:
                raise ValueError(
                    f"mutation ids must increase: mutations[{index}].mutation_id "
                    f"{mutations[index].mutation_id} follows {mutations[index - 1].mutation_id}"
                )
        return mutations


class PushResponse(Response):
    device_id: uuid.UUID
    last_applied: int  # the device may drop every outbox entry up to this id
    results: list[MutationResult]


class GapDetail(Response):
    """409 body when a push skips mutation ids: send from `expected` on."""

    detail: str
    last_applied: int
    expected: int


class ChangeBase(Response):
    seq: int  # 0 in snapshot pages
    key: str
    op: Literal["upsert", "delete"]


class ProductChange(ChangeBase):
    entity: Literal["product"]
    data: ProductPublic | None = None


class WarehouseChange(ChangeBase):
    entity: Literal["warehouse"]
    data: WarehousePublic | None = None


class SupplierChange(ChangeBase):
    entity: Literal["supplier"]
    data: SupplierPublic | None = None


class StockChange(ChangeBase):
    entity: Literal["stock"]
    data: StockPublic | None = None


class ReceiptChange(ChangeBase):
    entity: Literal["receipt"]
    data: ReceiptPublic | None = None


class AccountChange(ChangeBase):
    entity: Literal["account"]
    data: AccountPublic | None = None


class OrderChange(ChangeBase):
    entity: Literal["order"]
    data: OrderPublic | None = None


class QueueEntryChange(ChangeBase):
    entity: Literal["queue_entry"]
    data: QueueEntryPublic | None = None


class EtaChangeChange(ChangeBase):
    entity: Literal["eta_change"]
    data: EtaChangePublic | None = None


class ConflictChange(ChangeBase):
    entity: Literal["conflict"]
    data: ConflictPublic | None = None


Change = Annotated[
    ProductChange
    | WarehouseChange
    | SupplierChange
    | StockChange
    | ReceiptChange
    | AccountChange
    | OrderChange
    | QueueEntryChange
    | EtaChangeChange
    | ConflictChange,
    Field(discriminator="entity"),
]
ENTITIES = (
    "product",
    "warehouse",
    "supplier",
    "stock",
    "receipt",
    "account",
    "order",
    "queue_entry",
    "eta_change",
    "conflict",
)


class PullPage(Response):
    """Changes after the cursor the device sent, oldest first. Apply the page atomically, then
    store `cursor`; ask again while `has_more`."""

    changes: list[Change]
    cursor: int
    has_more: bool


SnapshotSection = Literal[
    "warehouses",
    "suppliers",
    "products",
    "stock",
    "receipts",
    "accounts",
    "orders",
    "queue",
    "eta_changes",
    "conflicts",
]
SNAPSHOT_SECTIONS: tuple[str, ...] = (
    "warehouses",
    "suppliers",
    "products",
    "stock",
    "receipts",
    "accounts",
    "orders",
    "queue",
    "eta_changes",
    "conflicts",
)


# The record each snapshot section lists, in the order a device applies them.
SNAPSHOT_RECORDS: dict[str, tuple[str, type[Response]]] = {
    "warehouses": ("warehouse", WarehousePublic),
    "suppliers": ("supplier", SupplierPublic),
    "products": ("product", ProductPublic),
    "stock": ("stock", StockPublic),
    "receipts": ("receipt", ReceiptPublic),
    "accounts": ("account", AccountPublic),
    "orders": ("order", OrderPublic),
    "queue": ("queue_entry", QueueEntryPublic),
    "eta_changes": ("eta_change", EtaChangePublic),
    "conflicts": ("conflict", ConflictPublic),
}
assert tuple(SNAPSHOT_RECORDS) == SNAPSHOT_SECTIONS


def snapshot_columns(section: str) -> tuple[str, ...]:
    """A section's columns: the record's key (as a change would name it), then its fields."""
    return ("key", *SNAPSHOT_RECORDS[section][1].model_fields)


class SnapshotPage(Response):
    """One page of a full snapshot: every record of the section that exists, as a row of values
    under `columns` (`snapshot_columns(section)`: "key", then the fields of the section's
    *Public record, in order). Rows instead of change objects: a 100,000-product catalog is a
    third of the bytes, and a device can check and store it a column at a time.

    Fetch every section page by page (pass `after` back), then pull from the `cursor` of the
    FIRST page fetched: changes that happened while the snapshot was read are replayed and,
    being upserts in order, end in the right state."""

    section: SnapshotSection
    entity: str
    columns: list[str]
    rows: list[list[Any]]
    after: str | None  # pass back to get the next page
    has_more: bool
    cursor: int

    def records(self) -> list[dict[str, Any]]:
        """The rows as record dicts (the section's *Public fields, without the key)."""
        names = self.columns[1:]
        return [dict(zip(names, row[1:], strict=True)) for row in self.rows]


class SnapshotCounts(Response):
    """How many records a full snapshot holds for the caller, per section: a device draws its
    first download's progress against their sum (records may come or go meanwhile)."""

    sections: dict[SnapshotSection, int]


class ServerInfo(Response):
    protocol_version: int
    allocation_policy: AllocationPolicy
    timezone: str
    today: date
    max_batch: int
    max_page: int


# ------------------------------------------------------------------------------------------
# Auth
# ------------------------------------------------------------------------------------------


class SignInRequest(Request):
    username: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    device_name: Annotated[str, StringConstraints(min_length=1, max_length=120)] = "device"
    # An existing device of this user signing in again keeps its id and its mutation counter.
    device_id: uuid.UUID | None = None


class UserPublic(Response):
    id: int
    username: str
    full_name: str
    role: Role
    team: str


class SignInResponse(Response):
    token: str  # send as "Authorization: Bearer <token>"
    device_id: uuid.UUID
    last_mutation_id: int
    user: UserPublic
    server: ServerInfo


class DevicePublic(Response):
    id: uuid.UUID
    user_id: int
    name: str
    created_at: datetime
    revoked_at: datetime | None
    last_mutation_id: int


# ------------------------------------------------------------------------------------------
# Supervisor API
# ------------------------------------------------------------------------------------------


class OrderSummary(Response):
    id: uuid.UUID
    account_id: int
    account_name: str
    rep_id: int
    rep_name: str
    status: OrderStatus
    outcome: Outcome
    version: int
    committed_at: datetime
    total_cents: int
    lines: int
    has_backorders: bool
    needs_attention: bool


class OrderList(Response):
    items: list[OrderSummary]
    total: int
    offset: int
    limit: int
    counts: dict[str, int]  # orders per status among those matching the filter


class AllocationPublic(Response):
    line_no: int
    sku: str
    quantity: int
    receipt_id: int | None
    source: str
    policy: AllocationPolicy
    at: datetime


class OrderEventPublic(Response):
    at: datetime
    actor: str
    kind: str
    message: str


class OrderDetail(Response):
    order: OrderPublic
    account_name: str
    rep_name: str
    allocations: list[AllocationPublic]
    eta_changes: list[EtaChangePublic]
    history: list[OrderEventPublic]


class DecisionRequest(Request):
    action: Literal["approve", "hold", "reject"]
    note: ShortText = ""
    version: Annotated[int, Field(strict=True, ge=1, le=2**31 - 1)]


class ContactEdit(Request):
    """A supervisor's edit of an account's contact data (the same merge as the rep's)."""

    base_version: Annotated[int, Field(strict=True, ge=0, le=2**31 - 1)]
    changes: ContactChanges


class ConflictDetail(Response):
    """409 body: the decision was based on a stale version; here is the fresh state."""

    detail: str
    current: OrderDetail


class ReceiptCreateRequest(Request):
    supplier_id: Id | None = None
    sku: Sku
    warehouse_id: Id
    quantity: Quantity
    expected: date
    kind: EtaKind = EtaKind.CONFIRMED


class ReceiveRequest(Request):
    """Units of a scheduled receipt that arrived (default: all that remain)."""

    quantity: Quantity | None = None


class ReceiptPreviewRequest(Request):
    receipt_id: Id
    quantity: Quantity | None = None


class DelayRequest(Request):
    expected: date
    kind: EtaKind = EtaKind.CONFIRMED


class StockCountRequest(Request):
    sku: Sku
    warehouse_id: Id
    counted: Annotated[int, Field(strict=True, ge=0, le=100_000_000)]


class AllocationLine(Response):
    order_id: uuid.UUID
    account_name: str
    rep_name: str
    line_no: int
    quantity: int
    fills_line: bool


class EtaMove(Response):
    order_id: uuid.UUID
    account_name: str
    line_no: int
    old: date | None
    old_kind: EtaKind | None
    new: date | None
    new_kind: EtaKind | None
    message: str


class AllocationOutcome(Response):
    policy: AllocationPolicy
    allocations: list[AllocationLine]
    leftover: int  # units no line waits for: they become free stock
    eta_moves: list[EtaMove]


class ReceiptPreview(Response):
    receipt: ReceiptPublic
    quantity: int
    fifo: AllocationOutcome
    priority: AllocationOutcome
    configured_policy: AllocationPolicy


class SupplyEventResult(Response):
    """What a receipt, a delay, a cancellation or a count did."""

    receipt: ReceiptPublic | None = None
    stock: StockPublic
    allocation: AllocationOutcome


class ShipResult(Response):
    shipment: ShipmentPublic
    order: OrderPublic
    stock: list[StockPublic]


class MetricsPublic(Response):
    orders: int
    backordered_orders: int
    cancelled_backordered_orders: int
    lines: int
    backordered_lines: int
    filled_lines: int
    units_ordered: int
    units_available: int
    shipped_lines: int
    on_time_lines: int
    shipped_without_eta: int
    backorder_rate: float | None
    avg_fulfilment_days: float | None
    cancellation_rate: float | None
    line_fill_rate: float | None
    unit_fill_rate: float | None
    promise_accuracy: float | None


class WeekMetrics(Response):
    week_start: date
    metrics: MetricsPublic


class ItemBackordersPublic(Response):
    sku: str
    lines: int
    backordered_lines: int
    units_ordered: int
    backordered_units: int


class MetricsReport(Response):
    start: date
    end: date  # exclusive
    metrics: MetricsPublic
    trend: list[WeekMetrics]  # 12 ISO weeks ending with the week of `end - 1 day`
    top_items: list[ItemBackordersPublic]


class AccountBackordersPublic(Response):
    """One account's backorders over a period (orders committed in it)."""

    account_id: int
    account_name: str
    orders: int  # all the account's orders of the period
    backordered_orders: int  # orders with at least one backordered line
    cancelled_backordered_orders: int
    backordered_lines: int
    backordered_units: int
    backordered_value_cents: int  # what the backordered orders were worth when placed


class AccountsAffected(Response):
    """The accounts most affected by backorders: most backordered orders first, then lines,
    then units, then account id."""

    start: date
    end: date  # exclusive
    items: list[AccountBackordersPublic]
    total: int  # accounts with at least one backordered order in the period


class LowStockItem(Response):
    sku: str
    name: str
    warehouse_id: int
    free_now: int
    inbound: int
    backordered: int
    projected_free: int
    safety_stock: int
    reorder_point: int
    suggested_quantity: int
    mean_daily_demand: float
    lead_time_days: float


class LowStockList(Response):
    items: list[LowStockItem]
    total: int


ShipmentPublic.model_rebuild()
