"""Who supplies what, purchase orders, and every delivery and date promise a receipt had: the
history slip distributions are learned from (app.domain.slip, services/slips.py)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Index
from sqlmodel import Field

from sync.server.models.base import ServerModel
from sync.server.models.types import UTCDateTime


class ItemSupplier(ServerModel, table=True):
    """An item's supplier: the primary one, or a backup used when the primary is too slow."""

    __tablename__ = "item_supplier"
    __table_args__ = (
        CheckConstraint("role IN ('primary', 'backup')", name="role"),
        Index("ix_item_supplier_supplier", "supplier_id"),
    )
    sku: str = Field(primary_key=True, foreign_key="product.sku", max_length=40)
    supplier_id: int = Field(primary_key=True, foreign_key="supplier.id")
    role: str = Field(max_length=8)
    lead_time_days: int = Field(ge=0, le=365)  # nominal: what the supplier quotes
    min_order_qty: int = Field(default=1, ge=1)
    pack_multiple: int = Field(default=1, ge=1)
    unit_cost_cents: int = Field(default=0, ge=0)


class PurchaseOrder(ServerModel, table=True):
    """A purchase order to one supplier for one warehouse; its lines are scheduled_receipt rows.
    draft -> sent -> confirmed -> partly_received -> received, or cancelled."""

    __tablename__ = "purchase_order"
    __table_args__ = (Index("ix_purchase_order_status", "status", "created_at"),)
    id: int | None = Field(default=None, primary_key=True)
    supplier_id: int = Field(foreign_key="supplier.id")
    warehouse_id: int = Field(foreign_key="warehouse.id")
    status: str = Field(default="draft", max_length=16)
    note: str = Field(default="", max_length=500)
    created_at: datetime = Field(sa_type=UTCDateTime)
    sent_on: date | None = None
    created_by: str = Field(default="", max_length=60)


class ReceiptDelivery(ServerModel, table=True):
    """Units of a receipt that arrived, on the business day they arrived."""

    __tablename__ = "receipt_delivery"
    id: int | None = Field(default=None, primary_key=True)
    receipt_id: int = Field(foreign_key="scheduled_receipt.id", index=True)
    quantity: int
    received_on: date
    created_at: datetime = Field(sa_type=UTCDateTime)


class ReceiptPromise(ServerModel, table=True):
    """A date a receipt was promised for: the first (confirmed or estimated) and every move
    after it (basis "moved"), with the units still to come when it was made. Each promise of a
    closed receipt is one fill curve of its supplier's history."""

    __tablename__ = "receipt_promise"
    id: int | None = Field(default=None, primary_key=True)
    receipt_id: int = Field(foreign_key="scheduled_receipt.id", index=True)
    basis: str = Field(max_length=10)  # confirmed | estimated | moved
    expected: date
    base: int  # units still to come when it was made
    arrived_before: int  # units of the receipt received before it was made
    started_at: datetime = Field(sa_type=UTCDateTime)
