"""Catalog and supply: products, warehouses, stock per warehouse, suppliers, scheduled receipts."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Index
from sqlmodel import Field

from sync.server.models.base import ServerModel
from sync.server.models.types import JSON, UTCDateTime


class SupplierBase(ServerModel):
    name: str = Field(max_length=120)
    # The nominal lead time (what the supplier quotes) and its spread as typed in; what they
    # really do is learned from receipts (app.domain.slip, services/slips.py).
    lead_time_mean_days: float = Field(ge=0, le=365)
    lead_time_sd_days: float = Field(ge=0, le=365)
    contact_name: str = Field(default="", max_length=120)
    email: str = Field(default="", max_length=120)
    phone: str = Field(default="", max_length=40)


class Supplier(SupplierBase, table=True):
    id: int | None = Field(default=None, primary_key=True)


class SupplierCreate(SupplierBase):
    pass


class WarehouseBase(ServerModel):
    code: str = Field(max_length=20, unique=True)
    name: str = Field(max_length=120)
    # Days between stock being there and the goods leaving (picking, packing).
    handling_days: int = Field(default=1, ge=0, le=30)


class Warehouse(WarehouseBase, table=True):
    id: int | None = Field(default=None, primary_key=True)


class WarehouseCreate(WarehouseBase):
    pass


class ProductBase(ServerModel):
    sku: str = Field(primary_key=True, max_length=40)
    name: str = Field(max_length=200)
    brand: str = Field(max_length=80)
    category: str = Field(max_length=80, index=True)
    unit: str = Field(max_length=20)
    pack_size: int = Field(ge=1, le=10_000)
    price_cents: int = Field(ge=0, le=100_000_000)
    barcode: str = Field(max_length=13, index=True)
    supplier_id: int | None = Field(default=None, foreign_key="supplier.id")
    discontinued: bool = False
    alternatives: list[str] = Field(default_factory=list, sa_type=JSON)


class Product(ProductBase, table=True):
    pass


class ProductCreate(ProductBase):
    pass


class StockBase(ServerModel):
    sku: str = Field(primary_key=True, foreign_key="product.sku", max_length=40)
    warehouse_id: int = Field(primary_key=True, foreign_key="warehouse.id")
    on_hand: int = Field(default=0, ge=0)
    # Units allocated to order lines and not shipped yet (always <= on_hand).
    reserved: int = Field(default=0, ge=0)


class Stock(StockBase, table=True):
    __table_args__ = (CheckConstraint("reserved >= 0 AND reserved <= on_hand", name="reserved"),)


class ReceiptBase(ServerModel):
    supplier_id: int | None = Field(default=None, foreign_key="supplier.id")
    sku: str = Field(foreign_key="product.sku", max_length=40)
    warehouse_id: int = Field(foreign_key="warehouse.id")
    quantity: int = Field(ge=1, le=10_000_000)
    expected: date
    kind: str = Field(default="confirmed", max_length=12)  # confirmed | estimated


class ScheduledReceipt(ReceiptBase, table=True):
    """Supply to come: a purchase-order line (or, without `po_id`, a receipt scheduled by hand,
    e.g. a transfer). `expected` is its current date; the promise it is measured against for
    slip began on `promise_started` with `base` units, of which `arrived` are in; `moved` once
    the date was moved from the first promise (`first_expected`)."""

    __tablename__ = "scheduled_receipt"
    __table_args__ = (
        Index("ix_receipt_open", "sku", "warehouse_id", "status"),
        Index("ix_receipt_po", "po_id"),
        Index("ix_receipt_supplier_closed", "supplier_id", "closed_at"),
        CheckConstraint("received >= 0 AND received <= quantity", name="received"),
    )
    id: int | None = Field(default=None, primary_key=True)
    received: int = 0
    # draft (a PO line not sent: no supply yet) | scheduled | received | cancelled
    status: str = Field(default="scheduled", max_length=12)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    po_id: int | None = Field(default=None, foreign_key="purchase_order.id")
    ordered_on: date | None = None  # the day the PO was sent (the lead time counts from it)
    first_expected: date | None = None  # the first date promised (None: = expected)
    moved: bool = False
    base: int = 0  # units of the current promise (0: the quantity)
    arrived: int = 0  # of those, units received
    promise_started: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    @property
    def remaining(self) -> int:
        return self.quantity - self.received


class ReceiptCreate(ReceiptBase):
    pass
