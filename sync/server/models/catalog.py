"""Catalog and supply: products, warehouses, stock per warehouse, suppliers, scheduled receipts."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Index
from sqlmodel import Field

from sync.server.models.base import ServerModel
from sync.server.models.types import JSON, UTCDateTime


class SupplierBase(ServerModel):
    name: str = Field(max_length=120)
    lead_time_mean_days: float = Field(ge=0, le=365)
    lead_time_sd_days: float = Field(ge=0, le=365)


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
    __tablename__ = "scheduled_receipt"
    __table_args__ = (
        Index("ix_receipt_open", "sku", "warehouse_id", "status"),
        CheckConstraint("received >= 0 AND received <= quantity", name="received"),
    )
    id: int | None = Field(default=None, primary_key=True)
    received: int = 0
    status: str = Field(default="scheduled", max_length=12)  # scheduled | received | cancelled
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)

    @property
    def remaining(self) -> int:
        return self.quantity - self.received


class ReceiptCreate(ReceiptBase):
    pass
