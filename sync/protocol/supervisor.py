"""The supervisor's and the warehouse's API (the console's; the device never uses it)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from app.domain.model import AllocationPolicy, EtaKind
from sync.protocol.common import (
    Id,
    OrderStatus,
    Outcome,
    Quantity,
    Request,
    Response,
    ShortText,
    Sku,
)
from sync.protocol.mutations import ContactChanges
from sync.protocol.records import (
    EtaChangePublic,
    OrderPublic,
    ReceiptPublic,
    ShipmentPublic,
    StockPublic,
    SupplierPublic,
)


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
    """Units of a scheduled receipt that arrived (default: all that remain). The rest stays
    open at its date, or at `rest_expected` (the supplier's new date for it), or is closed
    (`close_rest`: it will not come)."""

    quantity: Quantity | None = None
    rest_expected: date | None = None
    close_rest: bool = False


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
    cancelled_backordered_orders: int  # cancelled whole, or a backordered line of them
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
    promise_accuracy: float | None  # of lines promised with a date, shipped by it
    # Optional, so that a server without them still answers a newer console.
    undated_lines: int = 0  # backordered lines promised with no date (not in accuracy)
    cancelled_backordered_lines: int = 0  # backordered lines the customer cancelled
    line_cancellation_rate: float | None = None  # ... / backordered_lines
    # Over the lines in promise accuracy, mean calendar days from backorder:
    promised_wait_days: float | None = None  # to the first date shown
    actual_wait_days: float | None = None  # to shipping
    padding_days: float | None = None  # promised minus actual (> 0: promised longer)


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
    cancelled_backordered_orders: int  # cancelled whole, or a backordered line of them
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


class NewDayResult(Response):
    """What a new business day moved: items re-dated, orders re-planned (each customer date
    that moved was told by an ETA change), receipts now overdue."""

    today: date
    items: int
    orders_replanned: int
    overdue_receipts: int


# ------------------------------------------------------------------------------------------
# Suppliers and purchase orders
# ------------------------------------------------------------------------------------------

Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, max_length=120, pattern=r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$"
    ),
]
Days = Annotated[int, Field(strict=True, ge=0, le=365)]


class SupplierIn(Request):
    """A supplier's record: its name, what it quotes as lead time, and whom to call."""

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
    lead_time_mean_days: Annotated[float, Field(ge=0, le=365)]
    lead_time_sd_days: Annotated[float, Field(ge=0, le=365)] = 0.0
    contact_name: Annotated[str, StringConstraints(max_length=120)] = ""
    email: Email = ""
    phone: Annotated[str, StringConstraints(max_length=40)] = ""


class ItemSupplierIn(Request):
    """Who supplies an item, on what terms: the primary supplier, or a backup."""

    sku: Sku
    supplier_id: Id
    role: Literal["primary", "backup"] = "primary"
    lead_time_days: Days
    min_order_qty: Annotated[int, Field(strict=True, ge=1, le=10_000_000)] = 1
    pack_multiple: Annotated[int, Field(strict=True, ge=1, le=100_000)] = 1
    unit_cost_cents: Annotated[int, Field(strict=True, ge=0, le=100_000_000)] = 0


class ItemSupplierPublic(Response):
    sku: str
    supplier_id: int
    role: Literal["primary", "backup"]
    lead_time_days: int
    min_order_qty: int
    pack_multiple: int
    unit_cost_cents: int


class ScorecardMonth(Response):
    month: date  # its first day
    receipts: int
    on_time_rate: float | None
    mean_slip_days: float | None


class Scorecard(Response):
    """How a supplier delivered over the last year, from its closed receipts: on time against
    the first date promised, slip (days after it), the share of ordered units that came, and
    the lead time realised from order to the last delivery."""

    receipts: int
    on_time_rate: float | None
    mean_slip_days: float | None
    p90_slip_days: float | None
    fill_rate: float | None
    lead_time_mean_days: float | None
    lead_time_p90_days: float | None
    trend: list[ScorecardMonth]


class SupplierDetail(Response):
    supplier: SupplierPublic
    scorecard: Scorecard
    items: list[ItemSupplierPublic]
    open_lines: int
    overdue_lines: int


class PurchaseOrderLineIn(Request):
    sku: Sku
    quantity: Quantity


class PurchaseOrderCreate(Request):
    supplier_id: Id
    warehouse_id: Id
    lines: Annotated[list[PurchaseOrderLineIn], Field(min_length=1, max_length=200)]
    note: ShortText = ""


POStatus = Literal["draft", "sent", "confirmed", "partly_received", "received", "cancelled"]


class PurchaseOrderPublic(Response):
    """A purchase order; its lines are receipts (ReceiptPublic: received, expected, kind)."""

    id: int
    supplier_id: int
    supplier_name: str
    warehouse_id: int
    status: POStatus
    note: str
    created_at: datetime
    sent_on: date | None
    lines: list[ReceiptPublic]


class PurchaseOrderList(Response):
    items: list[PurchaseOrderPublic]
    total: int


class LineDate(Request):
    receipt_id: Id
    expected: date


class PurchaseOrderConfirm(Request):
    """The dates the supplier confirmed: one for every open line, or one per line."""

    expected: date | None = None
    lines: Annotated[list[LineDate], Field(max_length=200)] = []


class FromAdviceRequest(Request):
    """Turn reorder advice into draft purchase orders (all items advised, or these)."""

    warehouse_id: Id | None = None
    skus: Annotated[list[Sku], Field(max_length=1000)] | None = None


class AdviceSkipped(Response):
    sku: str
    reason: str


class DraftsFromAdvice(Response):
    orders: list[PurchaseOrderPublic]
    skipped: list[AdviceSkipped]


class ChaseLine(Response):
    """A backordered line that waits on an overdue receipt."""

    order_id: uuid.UUID
    account_name: str
    rep_name: str
    line_no: int
    waiting: int
    told: date | None  # the customer's date


class OverdueReceipt(Response):
    receipt: ReceiptPublic
    supplier_name: str
    days_late: int
    lines: list[ChaseLine]


class ChaseList(Response):
    """Overdue receipts (past their date, not received), most late first, with the lines and
    accounts that wait on each: whom to chase, and who to call."""

    items: list[OverdueReceipt]
