"""The server's tables (SQLModel). Importing this package registers every table on the
server's own MetaData (`metadata`), which Alembic compares against."""

from sync.server.models.base import ServerModel, metadata
from sync.server.models.catalog import (
    Product,
    ProductCreate,
    ReceiptCreate,
    ScheduledReceipt,
    Stock,
    Supplier,
    SupplierCreate,
    Warehouse,
    WarehouseCreate,
)
from sync.server.models.orders import (
    AllocationRecord,
    EtaChangeEvent,
    Order,
    OrderEvent,
    OrderLine,
    Shipment,
)
from sync.server.models.people import (
    CONTACT_FIELDS,
    Account,
    AccountCreate,
    Device,
    User,
    UserCreate,
)
from sync.server.models.supply import ItemSupplier, PurchaseOrder, ReceiptDelivery, ReceiptPromise
from sync.server.models.sync import AppliedMutation, ChangeRow, ConflictRecord, DeadLetter

__all__ = [
    "CONTACT_FIELDS",
    "Account",
    "AccountCreate",
    "AllocationRecord",
    "AppliedMutation",
    "ChangeRow",
    "ConflictRecord",
    "DeadLetter",
    "Device",
    "EtaChangeEvent",
    "ItemSupplier",
    "Order",
    "OrderEvent",
    "OrderLine",
    "Product",
    "ProductCreate",
    "PurchaseOrder",
    "ReceiptCreate",
    "ReceiptDelivery",
    "ReceiptPromise",
    "ScheduledReceipt",
    "ServerModel",
    "Shipment",
    "Stock",
    "Supplier",
    "SupplierCreate",
    "User",
    "UserCreate",
    "Warehouse",
    "WarehouseCreate",
    "metadata",
]
