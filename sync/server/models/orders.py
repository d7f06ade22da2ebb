"""Orders and what happens to them: lines, allocations, shipments, ETA changes, history."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import CheckConstraint, Index, UniqueConstraint, text
from sqlmodel import Field

from sync.server.models.base import ServerModel
from sync.server.models.types import JSON, UTCDateTime


class OrderBase(ServerModel):
    account_id: int = Field(foreign_key="account.id")
    policy: str = Field(max_length=20)
    policy_cap: int | None = None
    note: str = Field(default="", max_length=500)
    client_time: datetime = Field(sa_type=UTCDateTime)


class Order(OrderBase, table=True):
    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_orders_committed", "committed_at"),
        Index("ix_orders_status_committed", "status", "committed_at"),
        Index("ix_orders_rep_committed", "rep_id", "committed_at"),
        Index("ix_orders_account_committed", "account_id", "committed_at"),
        Index("ix_orders_backorders_committed", "has_backorders", "committed_at"),
    )
    id: uuid.UUID = Field(primary_key=True)  # made by the device
    rep_id: int = Field(foreign_key="app_user.id")
    device_id: uuid.UUID | None = None
    warehouse_id: int = Field(foreign_key="warehouse.id")
    # open | on_hold | approved | rejected | cancelled | fulfilled
    status: str = Field(default="open", max_length=12)
    # The commit verdict: accepted | accepted_with_changes | backordered | rejected
    outcome: str = Field(max_length=24)
    reason: str | None = Field(default=None, max_length=300)
    differences: list[str] = Field(default_factory=list, sa_type=JSON)
    version: int = 1
    committed_at: datetime = Field(sa_type=UTCDateTime)
    total_cents: int = 0  # the value ordered (the priority tie-break; kept when lines cancel)
    tier: int = 3  # the account's tier at commit (its rank under the priority policy)
    has_backorders: bool = False
    needs_attention: bool = False
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    review_note: str = Field(default="", max_length=500)
    reviewed_by: int | None = Field(default=None, foreign_key="app_user.id")
    reviewed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decided_version: int | None = None  # the version the last approve/hold/reject made
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    fulfilled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Units the current shipment plan has no date for: [{"line_no": n, "quantity": q}, ...]
    unscheduled: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)


class OrderLine(ServerModel, table=True):
    """One line. Units: quantity = allocated + waiting + cancelled; shipped <= allocated."""

    __tablename__ = "order_line"
    __table_args__ = (
        UniqueConstraint("order_id", "line_no", name="uq_order_line_line_no"),
        # The demand queue of an item: open backordered lines only (a small partial index).
        Index(
            "ix_order_line_queue",
            "sku",
            "warehouse_id",
            postgresql_where=text("waiting > 0"),
            sqlite_where=text("waiting > 0"),
        ),
        Index("ix_order_line_sku", "sku"),
        CheckConstraint(
            "allocated >= 0 AND waiting >= 0 AND cancelled >= 0 AND shipped >= 0 "
            "AND shipped <= allocated AND allocated + waiting + cancelled = quantity",
            name="units",
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    order_id: uuid.UUID = Field(foreign_key="orders.id", index=True)
    line_no: int
    sku: str = Field(foreign_key="product.sku", max_length=40)
    warehouse_id: int = Field(foreign_key="warehouse.id")
    quantity: int
    price_cents: int
    label: str = Field(max_length=16)  # the label at commit
    allocated: int = 0
    waiting: int = 0
    cancelled: int = 0
    shipped: int = 0
    backordered: int = 0  # units not available at commit
    # When the waiting units can ship, as last dated: [[iso date or null, units], ...].
    schedule: list[list[Any]] = Field(default_factory=list, sa_type=JSON)
    eta_date: date | None = None  # the current completion ETA
    eta_kind: str | None = Field(default=None, max_length=12)
    first_eta_date: date | None = None  # the first ETA shown for the backordered part
    promised_label: str | None = Field(default=None, max_length=16)
    promised_now: int | None = None
    promised_eta: date | None = None
    promised_eta_kind: str | None = Field(default=None, max_length=12)
    promised_price_cents: int | None = None  # the unit price the rep quoted
    # What the rep showed for the line, as the cart showed it: [[iso date or null, units], ...]
    # (units now, dated parts, units with no date) and the day the line reaches the customer
    # under the order's shipment policy (None: part of it had no date).
    promised_schedule: list[list[Any]] | None = Field(default=None, sa_type=JSON)
    promised_ship: date | None = None
    # The customer's date: the last date shown or told by a notice. A change of the line's
    # date is measured against it, and each change makes exactly one ETA-change event.
    told_date: date | None = None
    told_kind: str | None = Field(default=None, max_length=12)
    likely_date: date | None = None  # the day the line most likely completes (the median)
    alternatives: list[str] = Field(default_factory=list, sa_type=JSON)
    backordered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    filled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    shipped_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AllocationRecord(ServerModel, table=True):
    """Units given to a waiting line: from a receipt, from a cancellation, from a count."""

    __tablename__ = "allocation"
    id: int | None = Field(default=None, primary_key=True)
    line_id: int = Field(foreign_key="order_line.id", index=True)
    order_id: uuid.UUID = Field(foreign_key="orders.id", index=True)
    sku: str = Field(max_length=40)
    warehouse_id: int
    receipt_id: int | None = Field(default=None, foreign_key="scheduled_receipt.id")
    source: str = Field(max_length=12)  # receipt | release | count
    policy: str = Field(max_length=12)  # the allocation policy in force
    quantity: int
    created_at: datetime = Field(sa_type=UTCDateTime)


class Shipment(ServerModel, table=True):
    """A shipment of one order: planned (projected from the plan), ready (may ship now) or
    shipped. Lines: [{"line_no": n, "sku": s, "quantity": q}, ...]."""

    __table_args__ = (
        Index("ix_shipment_order_status", "order_id", "status"),
        Index("ix_shipment_status", "status", "planned_date"),
    )
    id: int | None = Field(default=None, primary_key=True)
    order_id: uuid.UUID = Field(foreign_key="orders.id")
    status: str = Field(max_length=10)
    planned_date: date | None = None
    lines: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    created_at: datetime = Field(sa_type=UTCDateTime)
    shipped_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class EtaChangeEvent(ServerModel, table=True):
    __tablename__ = "eta_change"
    id: int | None = Field(default=None, primary_key=True)
    line_id: int = Field(foreign_key="order_line.id", index=True)
    order_id: uuid.UUID = Field(foreign_key="orders.id", index=True)
    rep_id: int = Field(foreign_key="app_user.id")
    sku: str = Field(max_length=40)
    old_date: date | None = None
    old_kind: str | None = Field(default=None, max_length=12)
    new_date: date | None = None
    new_kind: str | None = Field(default=None, max_length=12)
    message: str = Field(max_length=200)
    cause: str = Field(max_length=200)
    created_at: datetime = Field(sa_type=UTCDateTime)


class OrderEvent(ServerModel, table=True):
    """The order's history as people read it."""

    __tablename__ = "order_event"
    id: int | None = Field(default=None, primary_key=True)
    order_id: uuid.UUID = Field(foreign_key="orders.id", index=True)
    at: datetime = Field(sa_type=UTCDateTime)
    actor: str = Field(max_length=60)
    kind: str = Field(max_length=20)
    message: str = Field(max_length=500)
