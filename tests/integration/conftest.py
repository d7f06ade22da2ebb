"""The real server in process over httpx.ASGITransport, on a SQLite file always and on PostgreSQL
when TEST_DATABASE_URL is set (each test gets a fresh schema there, dropped afterwards).

`world` builds exactly the data a test needs (products, stock, receipts, accounts, users) with
plain inserts; `sign_in` returns the headers of a signed-in device.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import create_engine, text
from sqlmodel import select

from app.store import Store
from sync.engine import Backoff, SyncEngine
from sync.protocol import PROTOCOL_HEADER, PROTOCOL_VERSION
from sync.server.app import create_app
from sync.server.clock import FixedClock
from sync.server.db import Database
from sync.server.db import make_engine as make_db_engine
from sync.server.migrate import upgrade
from sync.server.models import (
    Account,
    Product,
    ReceiptPromise,
    ScheduledReceipt,
    Stock,
    Supplier,
    User,
    Warehouse,
)
from sync.server.settings import Settings

PG_URL = os.environ.get("TEST_DATABASE_URL")
# A Monday morning, so delivery weekdays are easy to reason about.
START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
PASSWORD = "demo"

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@cache
def password_hash() -> str:
    """An argon2 hash of PASSWORD with the cheapest parameters: verifying a hash costs what its
    own parameters say, and real ones (slow on purpose) would dominate the suite's time."""
    return PasswordHash((Argon2Hasher(time_cost=1, memory_cost=64, parallelism=1),)).hash(PASSWORD)


def migrated_sqlite(path: Path) -> Path:
    """A migrated, empty SQLite server database at `path`, all in the one file (to copy)."""
    engine = make_db_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, empty SQLite database, copied for each test (faster than migrating each)."""
    return migrated_sqlite(tmp_path_factory.mktemp("template") / "server.db")


def pg_schema_url(schema: str) -> str:
    assert PG_URL is not None
    joiner = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{joiner}options=-csearch_path%3D{schema}"


@pytest.fixture
def pg_schema() -> Iterator[str]:
    """A fresh PostgreSQL schema for one test; dropped afterwards."""
    if not PG_URL:
        pytest.skip("TEST_DATABASE_URL is not set: PostgreSQL tests skipped")
    schema = f"it_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield schema
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    if request.param == "sqlite":
        target = tmp_path / "server.db"
        shutil.copy(sqlite_template, target)
        return f"sqlite:///{target}"
    schema = request.getfixturevalue("pg_schema")
    return pg_schema_url(schema)


@dataclass
class Server:
    app: Any
    settings: Settings
    clock: FixedClock
    db: Database

    def client(self, **headers: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app),
            base_url="http://server",
            headers={PROTOCOL_HEADER: str(PROTOCOL_VERSION), **headers},
        )


def make_server(database_url: str, **overrides: Any) -> Server:
    # Tests sign in many devices of one user from one address, with a clock that stands
    # still: the per-user device limit and the per-address rate would retire or refuse them.
    # The tests of those limits set them (test_token_lifetime.py, test_signin_limits.py).
    overrides.setdefault("max_devices_per_user", 1000)
    overrides.setdefault("signin_address_burst", 1000)
    settings = Settings(database_url=database_url, seed_on_start=False, **overrides)
    clock = FixedClock(START)
    app = create_app(settings, clock=clock)
    return Server(app, settings, clock, app.state.db)


@pytest.fixture
def server(database_url: str) -> Iterator[Server]:
    srv = make_server(database_url)
    yield srv
    srv.db.dispose()


@pytest.fixture
async def client(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with server.client() as c:
        yield c


@dataclass
class World:
    """Test data, inserted directly. Warehouse "WH1" (handling 0 days) and a supplier exist."""

    db: Database
    warehouse_id: int = 0
    supplier_id: int = 0
    users: dict[str, int] = field(default_factory=dict)
    _next_account: int = 1

    def setup(self) -> World:
        with self.db.write() as s:
            wh = Warehouse(code="WH1", name="Main", handling_days=0)
            sup = Supplier(name="Acme", lead_time_mean_days=7, lead_time_sd_days=2)
            s.add_all([wh, sup])
            s.flush()
            self.warehouse_id, self.supplier_id = wh.id, sup.id
        return self

    def user(self, username: str, role: str = "rep") -> int:
        with self.db.write() as s:
            u = User(
                username=username,
                full_name=username.title(),
                role=role,
                team="north",
                password_hash=password_hash(),
            )
            s.add(u)
            s.flush()
            self.users[username] = u.id
            return u.id

    def product(
        self,
        sku: str,
        on_hand: int = 0,
        *,
        price: int = 1000,
        discontinued: bool = False,
        alternatives: tuple[str, ...] = (),
    ) -> str:
        with self.db.write() as s:
            s.add(
                Product(
                    sku=sku,
                    name=f"Product {sku}",
                    brand="Brand",
                    category="Dry Goods",
                    unit="case",
                    pack_size=12,
                    price_cents=price,
                    barcode="4006381333931",
                    supplier_id=self.supplier_id,
                    discontinued=discontinued,
                    alternatives=list(alternatives),
                )
            )
            s.flush()
            s.add(Stock(sku=sku, warehouse_id=self.warehouse_id, on_hand=on_hand))
        return sku

    def receipt(
        self,
        sku: str,
        quantity: int,
        expected: date,
        kind: str = "confirmed",
        *,
        supplier_id: int | None = None,
    ) -> int:
        """A scheduled receipt with its first date promise (as services/receipts.py makes)."""
        with self.db.write() as s:
            r = ScheduledReceipt(
                supplier_id=supplier_id or self.supplier_id,
                sku=sku,
                warehouse_id=self.warehouse_id,
                quantity=quantity,
                expected=expected,
                kind=kind,
                created_at=START,
                updated_at=START,
                first_expected=expected,
                base=quantity,
                promise_started=START,
                ordered_on=START.date(),
            )
            s.add(r)
            s.flush()
            s.add(
                ReceiptPromise(
                    receipt_id=r.id,
                    basis=kind,
                    expected=expected,
                    base=quantity,
                    arrived_before=0,
                    started_at=START,
                )
            )
            return r.id

    def supplier(self, name: str) -> int:
        with self.db.write() as s:
            sup = Supplier(name=name, lead_time_mean_days=7, lead_time_sd_days=2)
            s.add(sup)
            s.flush()
            return sup.id

    def account(
        self,
        rep: str,
        *,
        tier: int = 3,
        policy: str = "ship_as_available",
        cap: int | None = None,
        credit_hold: bool = False,
        delivery_days: tuple[int, ...] = (),
    ) -> int:
        with self.db.write() as s:
            n = self._next_account
            self._next_account += 1
            a = Account(
                code=f"A{n:04d}",
                name=f"Account {n}",
                rep_id=self.users[rep],
                warehouse_id=self.warehouse_id,
                tier=tier,
                delivery_days=list(delivery_days),
                default_policy=policy,
                default_cap=cap,
                credit_hold=credit_hold,
                contact_name="Ann",
                contact_phone="555-0100",
                contact_email="ann@example.com",
                contact_address="1 Main St",
            )
            s.add(a)
            s.flush()
            return a.id

    def stock(self, sku: str) -> Stock:
        with self.db.session() as s:
            return s.get(Stock, (sku, self.warehouse_id))

    def all_stock(self) -> list[Stock]:
        with self.db.session() as s:
            return list(s.exec(select(Stock)))


@pytest.fixture
def world(server: Server) -> World:
    return World(server.db).setup()


@dataclass
class Device:
    """A signed-in device: its headers and its own mutation counter."""

    client: httpx.AsyncClient
    token: str
    device_id: str
    user_id: int
    next_id: int = 1

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def stamp(self, mutation: dict[str, Any]) -> dict[str, Any]:
        """Give a mutation the next id and a client time."""
        mutation = {"mutation_id": self.next_id, "client_time": START.isoformat(), **mutation}
        self.next_id = mutation["mutation_id"] + 1
        return mutation

    async def push(self, *mutations: dict[str, Any], expect: int = 200) -> dict[str, Any]:
        body = {"device_id": self.device_id, "mutations": [self.stamp(m) for m in mutations]}
        response = await self.client.post("/sync/push", json=body, headers=self.headers)
        assert response.status_code == expect, response.text
        return response.json()

    async def raw_push(self, mutations: list[dict[str, Any]]) -> httpx.Response:
        body = {"device_id": self.device_id, "mutations": mutations}
        return await self.client.post("/sync/push", json=body, headers=self.headers)

    async def get(self, url: str, **params: Any) -> httpx.Response:
        return await self.client.get(url, params=params, headers=self.headers)

    async def post(self, url: str, body: Any = None) -> httpx.Response:
        return await self.client.post(url, json=body, headers=self.headers)

    async def order(self, account_id: int, *lines: tuple[str, int], **extra: Any) -> dict[str, Any]:
        """Place an order; return its verdict (the order part of the mutation result)."""
        mutation = place_order(account_id, *lines, **extra)
        answer = await self.push(mutation)
        result = answer["results"][0]
        assert result["status"] == "applied", result
        return result["order"]


def place_order(account_id: int, *lines: tuple[str, int], **extra: Any) -> dict[str, Any]:
    return {
        "name": "place_order",
        "order_id": str(extra.pop("order_id", uuid.uuid4())),
        "account_id": account_id,
        "lines": [{"sku": sku, "quantity": q} for sku, q in lines],
        **extra,
    }


async def sign_in(client: httpx.AsyncClient, username: str, **extra: Any) -> Device:
    response = await client.post(
        "/auth/sign-in", json={"username": username, "password": PASSWORD, **extra}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    return Device(client, body["token"], body["device_id"], body["user"]["id"])


def days(n: int) -> date:
    return START.date() + timedelta(days=n)


# -- devices: a real SQLite store and the sync engine, against the server in process ----------

URL = "http://server"


def device_store(tmp_path: Path, name: str) -> Store:
    return Store.open(tmp_path / f"{name}.db", clock=lambda: START + timedelta(hours=1))


async def no_sleep(_seconds: float) -> None:
    return None


@pytest.fixture
async def asgi_client(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=server.app)) as c:
        yield c


@pytest.fixture
def make_engine(tmp_path: Path, asgi_client: httpx.AsyncClient) -> Callable[[str], SyncEngine]:
    def make(name: str, client: httpx.AsyncClient | None = None) -> SyncEngine:
        return SyncEngine(
            device_store(tmp_path, name),
            client or asgi_client,
            server_url=URL,
            sleep=no_sleep,
            backoff=Backoff(attempts=3),
        )

    return make
