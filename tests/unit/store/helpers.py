"""Builders for store tests: a real SQLite file in tmp_path, a settable clock, and changes in
the exact format the sync engine hands to apply_changes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from app.store import Store, apply_changes, record_sync

NOW = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)  # a Monday, noon: the same date in any zone
TODAY = date(2025, 3, 3)


@dataclass
class Clock:
    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def open_store(tmp_path: Path, clock: Clock | None = None) -> Store:
    return Store.open(tmp_path / "device.db", clock=clock or Clock())


def change(entity: str, id: str, /, **data: Any) -> dict[str, Any]:
    return {"entity": entity, "id": id, "op": "upsert", "data": data}


def tombstone(entity: str, id: str) -> dict[str, Any]:
    return {"entity": entity, "id": id, "op": "delete", "data": {}}


def product(sku: str, name: str, **data: Any) -> dict[str, Any]:
    fields = {
        "brand": "Acme",
        "category": "coffee",
        "unit": "bag",
        "pack_size": 1,
        "price_cents": 1000,
        "barcode": "",
        "discontinued": False,
        "alternatives": [],
    }
    return change("product", sku, name=name, **(fields | data))


def stock(sku: str, on_hand: int, reserved: int = 0, warehouse: str = "") -> dict[str, Any]:
    key = f"{sku}@{warehouse}" if warehouse else sku
    return change("stock", key, on_hand=on_hand, reserved=reserved)


def receipt(
    id: str, sku: str, remaining: int, expected: date, kind: str = "confirmed", **data: Any
) -> dict[str, Any]:
    day = expected.isoformat()
    return change("receipt", id, sku=sku, remaining=remaining, expected=day, kind=kind, **data)


def demand(id: str, sku: str, waiting: int, committed_at: datetime, **data: Any) -> dict:
    return change(
        "queue_entry", id, sku=sku, waiting=waiting, committed_at=committed_at.isoformat(), **data
    )


def account(id: str, name: str, **data: Any) -> dict[str, Any]:
    return change("account", id, name=name, **data)


def order(id: str, account_id: str, status: str, version: int = 1, **data: Any) -> dict:
    """An order as the server sends it (OrderPublic's fields); `lines` may be embedded."""
    data.setdefault("client_time", NOW.isoformat())
    return change("order", id, account_id=account_id, status=status, version=version, **data)


def line(order_id: str, line_no: int, sku: str, quantity: int, **data: Any) -> dict:
    """An order_line change of its own (LinePublic's fields)."""
    data.setdefault("price_cents", 1000)
    return change("order_line", f"{order_id}:{line_no}", sku=sku, quantity=quantity, **data)


def line_data(line_no: int, sku: str, quantity: int, **data: Any) -> dict[str, Any]:
    """A line as embedded in an order's `lines`."""
    return {"line_no": line_no, "sku": sku, "quantity": quantity, "price_cents": 1000} | data


def load(store: Store, changes: list[dict[str, Any]], cursor: int | None = None) -> None:
    """Apply changes as one pulled page and record a successful sync at the store's clock."""
    with store.write() as session:
        apply_changes(session, changes, cursor=cursor)
        record_sync(session, at=store.now())


def d(days: int) -> date:
    return TODAY + timedelta(days=days)


# A small catalog: every label appears for one unit-ish of demand.
SMALL = [
    product("CF-100", "Arabica Coffee Beans 1kg", brand="Kafo", barcode="4000000000017"),
    product("CF-200", "Robusta Coffee Ground 500g", brand="Kafo", barcode="4000000000024"),
    product("TE-100", "Green Tea Leaves", brand="Lumo", category="tea", barcode="4000000000031"),
    product(
        "TE-200",
        "Black Tea Bags",
        brand="Lumo",
        category="tea",
        discontinued=True,
        alternatives=["TE-100"],
    ),
    product("SU-100", "Cane Sugar 1kg", brand="Dulce", category="pantry"),
    stock("CF-100", 10),
    stock("CF-200", 5, reserved=2),  # 3 free
    stock("TE-100", 0),
    stock("TE-200", 2),
    stock("SU-100", 0),
    receipt("R1", "CF-200", 20, TODAY + timedelta(days=7)),
    receipt("R2", "TE-100", 10, TODAY + timedelta(days=14), kind="estimated"),
    account("A1", "Cafe Central", tier=2),
    account("A2", "Bistro Norte", tier=3, default_policy="capped_split", default_cap=2),
]
