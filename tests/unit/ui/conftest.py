"""A real device store in tmp_path with a small synced snapshot, and a settable clock.

Changes go in through the store's own apply_changes, in the format the sync engine hands over,
so these tests drive the UI's state classes against exactly what a synced device holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from app.store import Store, apply_changes, record_sync
from app.ui.sync_service import SyncService

NOW = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)  # a Monday, noon: the same date in any zone
TODAY = date(2025, 3, 3)


@dataclass
class Clock:
    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def change(entity: str, id: str, /, **data: Any) -> dict[str, Any]:
    return {"entity": entity, "id": id, "op": "upsert", "data": data}


def product(sku: str, name: str, **data: Any) -> dict[str, Any]:
    fields = {"brand": "Acme", "category": "coffee", "unit": "bag", "pack_size": 6,
              "price_cents": 1250, "barcode": "", "discontinued": False, "alternatives": []}  # fmt: skip
    return change("product", sku, name=name, **(fields | data))


def stock(sku: str, on_hand: int, reserved: int = 0) -> dict[str, Any]:
    return change("stock", sku, on_hand=on_hand, reserved=reserved)


def receipt(id: str, sku: str, remaining: int, days: int, kind: str = "confirmed") -> dict:
    expected = (TODAY + timedelta(days=days)).isoformat()
    return change("receipt", id, sku=sku, remaining=remaining, expected=expected, kind=kind)


def day(days: int) -> date:
    return TODAY + timedelta(days=days)


SHOP = [
    product("CF-100", "Arabica Beans 1kg", brand="Kafo", barcode="4000000000017"),
    product("CF-200", "Robusta Ground 500g", brand="Kafo"),
    product("TE-100", "Green Tea Leaves", brand="Lumo", category="tea"),
    product(
        "TE-200",
        "Black Tea Bags",
        brand="Lumo",
        category="tea",
        discontinued=True,
        alternatives=["TE-100"],
    ),
    product("SU-100", "Cane Sugar 1kg", brand="Dulce", category="pantry"),
    stock("CF-100", 124),
    stock("CF-200", 8, reserved=2),  # 6 free: low stock
    stock("TE-100", 0),
    stock("TE-200", 2),
    stock("SU-100", 0),
    receipt("R1", "CF-200", 20, 9),  # confirmed, 12 Mar
    receipt("R2", "TE-100", 10, 14, kind="estimated"),
    change("account", "A1", name="Cafe Roma", code="C001", tier=1, delivery_days=[0, 2, 4]),
    change(
        "account",
        "A2",
        name="Bistro Norte",
        code="C002",
        tier=3,
        credit_hold=True,
        default_policy="capped_split",
        default_cap=2,
    ),
]


def load(store: Store, changes: list[dict[str, Any]], cursor: int | None = None) -> None:
    with store.write() as session:
        apply_changes(session, changes, cursor=cursor)
        record_sync(session, at=store.now())


@pytest.fixture(autouse=True)
def _data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("FIELDSALES_DATA_DIR", str(tmp_path / "data"))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path, clock) -> Store:
    s = Store.open(tmp_path / "device.db", clock=clock)
    yield s
    s.close()


@pytest.fixture
def shop(store) -> Store:
    load(store, SHOP, cursor=1)
    return store


def verdict(store: Store, order_id: str, status: str = "open", version: int = 1, **data: Any):
    """The server's version of an order arriving in a pull (OrderPublic's fields)."""
    data.setdefault("client_time", NOW.isoformat())
    load(
        store, [change("order", order_id, account_id="A1", status=status, version=version, **data)]
    )


def line_data(line_no: int, sku: str, quantity: int, **data: Any) -> dict[str, Any]:
    return {"line_no": line_no, "sku": sku, "quantity": quantity, "price_cents": 1250} | data


@pytest.fixture
def placed(shop) -> str:
    """An order for Cafe Roma of 10 x CF-200: promised 6 now, 4 on backorder, ETA 12 Mar."""
    from app.store import CartService

    cart = CartService(shop)
    cart.set_account("A1")
    cart.add("CF-200", 10)
    return cart.place().order_id


# The real central server in process (its FastAPI app on httpx.ASGITransport), seeded with a
# small demo distributor, and a device with the sync service the views call.
@pytest.fixture(scope="module")
def central(tmp_path_factory):
    from sync.server.app import create_app
    from sync.server.seed import seed_database
    from sync.server.settings import Settings

    url = f"sqlite:///{tmp_path_factory.mktemp('central') / 'server.db'}"
    app = create_app(Settings(database_url=url, seed_on_start=False))
    seed_database(app.state.db, app.state.settings, products=60, history=False)
    yield app
    app.state.db.dispose()


@pytest.fixture
def device(tmp_path, central):
    store = Store.open(tmp_path / "device.db")
    sync = SyncService(store, device_name="test", transport=httpx.ASGITransport(app=central))
    yield store, sync
    sync.close()
    store.close()
