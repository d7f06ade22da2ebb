"""An order the server has answered keeps counting against the device's stock until a pull has
brought what it reserved and queued. Signal often drops between the push answer and the pull:
if the order then stopped counting, its units would show as free again and the rep could
promise them twice. The real server in process, a real SQLite device, a transport that cuts
every pull after the server has answered it."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from app.domain.model import Availability, Label
from app.store import CartService, Catalog, Orders, OrderState, Store
from sync.engine import Backoff, SyncEngine
from sync.server.models import Account
from tests.integration.conftest import URL, Server, World, days, device_store, no_sleep, sign_in
from tests.integration.faults import FaultyTransport, Odds

CUT_EVERY_PULL = Odds(
    drop_request=0, drop_response=0, duplicate=0, delay=0, cut_pull=1.0, max_delay=0
)


class Device:
    """One rep's device: syncs in full signal, or with every pull cut mid-answer."""

    def __init__(self, store: Store, server: Server) -> None:
        self.store, self.server = store, server

    async def sync(self, *, cut_pulls: bool = False) -> tuple[int, str | None]:
        inner: httpx.AsyncBaseTransport = httpx.ASGITransport(app=self.server.app)
        if cut_pulls:
            inner = FaultyTransport(inner, random.Random(0), CUT_EVERY_PULL)
        async with httpx.AsyncClient(transport=inner) as client:
            engine = SyncEngine(
                self.store, client, server_url=URL, sleep=no_sleep, backoff=Backoff(attempts=2)
            )
            report = await engine.sync()
        return report.pushed, report.error

    def place(self, account: int, sku: str, quantity: int) -> str:
        cart = CartService(self.store)
        cart.set_account(str(account))
        cart.add(sku, quantity)
        return cart.place().order_id

    def quote(self, account: int, sku: str, quantity: int) -> Availability:
        """What a new cart for these units would say (and the catalog agrees)."""
        cart = CartService(self.store)
        cart.set_account(str(account))
        cart.add(sku, quantity)
        (line,) = cart.check().lines
        cart.clear()
        shown = Catalog(self.store).availability(sku, quantity, account_id=str(account))
        assert shown == line.availability
        return line.availability

    def stock(self, sku: str) -> tuple[int, int]:
        with self.store.read() as s:
            found = s.connection().exec_driver_sql(
                "SELECT on_hand, reserved FROM stock WHERE sku = ?", (sku,)
            )
            return tuple(found.one())  # type: ignore[return-value]


@pytest.fixture
async def device(server: Server, world: World, tmp_path: Path) -> AsyncIterator[Device]:
    world.user("rep1")
    store = device_store(tmp_path, "a")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=server.app)) as client:
        await SyncEngine(store, client, server_url=URL, sleep=no_sleep).sign_in("rep1", "demo")
    yield Device(store, server)
    store.close()


def server_stock(world: World, sku: str) -> tuple[int, int]:
    found = world.stock(sku)
    return found.on_hand, found.reserved


async def test_the_last_units_stay_taken_when_the_pull_after_the_push_is_cut(
    world: World, device: Device
):
    account = world.account("rep1")
    world.product("P-1", on_hand=2)
    world.receipt("P-1", 1, days(7))
    world.receipt("P-1", 10, days(14))
    assert (await device.sync())[1] is None
    device.place(account, "P-1", 3)  # the last 2 units now, and the 1 coming on day 7

    pushed, error = await device.sync(cut_pulls=True)
    assert pushed == 1 and error is not None
    assert server_stock(world, "P-1") == (2, 2)
    assert device.stock("P-1") == (2, 0)  # the cache has not heard of the reservation
    after = device.quote(account, "P-1", 1)
    assert (after.label, after.now, after.eta and after.eta.date) == (
        Label.BACKORDERED,
        0,
        days(14),  # behind the rep's own unit waiting for day 7
    )

    assert await device.sync() == (0, None)  # signal back: a complete pull
    assert device.stock("P-1") == server_stock(world, "P-1") == (2, 2)
    again = device.quote(account, "P-1", 1)
    assert (again.label, again.now, again.eta and again.eta.date) == (
        Label.BACKORDERED,
        0,
        days(14),
    )


async def test_after_the_complete_pull_the_order_counts_once_not_twice(
    world: World, device: Device
):
    account = world.account("rep1")
    world.product("P-1", on_hand=5)
    assert (await device.sync())[1] is None
    device.place(account, "P-1", 3)

    assert (await device.sync(cut_pulls=True))[0] == 1
    assert (await device.sync(cut_pulls=True))[1] is not None  # still no pull gets through
    while_cut = device.quote(account, "P-1", 3)
    assert (while_cut.label, while_cut.now) == (Label.PARTIAL, 2)

    assert await device.sync() == (0, None)
    assert device.stock("P-1") == server_stock(world, "P-1") == (5, 3)
    pulled = device.quote(account, "P-1", 3)
    assert (pulled.label, pulled.now) == (Label.PARTIAL, 2)  # not 0: the order counts once


async def test_an_order_refused_at_commit_reserved_nothing_and_holds_nothing(
    server: Server, world: World, device: Device
):
    account = world.account("rep1")
    world.product("P-1", on_hand=2)
    assert (await device.sync())[1] is None
    with server.db.write() as s:  # put on hold after the device last heard of the account
        s.get(Account, account).credit_hold = True
    refused = device.place(account, "P-1", 2)
    assert device.quote(account, "P-1", 1).label is Label.OUT_OF_STOCK  # pending: it counts

    assert (await device.sync(cut_pulls=True))[0] == 1
    assert Orders(device.store).get(refused).summary.verdict == "rejected"
    assert server_stock(world, "P-1") == (2, 0)
    assert (device.quote(account, "P-1", 2).label, device.stock("P-1")) == (Label.IN_STOCK, (2, 0))


async def test_an_order_cancelled_in_the_same_push_holds_nothing(world: World, device: Device):
    account = world.account("rep1")
    world.product("P-1", on_hand=2)
    assert (await device.sync())[1] is None
    placed = device.place(account, "P-1", 2)
    Orders(device.store).cancel(placed, "the customer changed their mind")

    assert (await device.sync(cut_pulls=True))[0] == 2
    assert Orders(device.store).get(placed).summary.state is OrderState.CANCELLED
    assert server_stock(world, "P-1") == (2, 0)
    assert device.quote(account, "P-1", 2).label is Label.IN_STOCK


class FirstPullPagesOnly(httpx.AsyncBaseTransport):
    """Signal drops after `pages` pull pages have arrived: later pulls never reach the server."""

    def __init__(self, inner: httpx.AsyncBaseTransport, pages: int) -> None:
        self.inner, self.pages = inner, pages

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/sync/pull"):
            if self.pages == 0:
                raise httpx.ConnectError("no signal", request=request)
            self.pages -= 1
        return await self.inner.handle_async_request(request)


async def test_a_pull_cut_after_its_first_page_keeps_counting_the_order(
    server: Server, world: World, device: Device, client: httpx.AsyncClient
):
    """Only a complete pull brings everything the order did: here a change of another item
    comes first, the order's stock row on a later page that never arrives."""
    account = world.account("rep1")
    world.product("P-1", on_hand=2)
    world.product("P-2", on_hand=5)
    world.user("boss", role="supervisor")
    assert (await device.sync())[1] is None
    boss = await sign_in(client, "boss")
    counted = await boss.post(
        "/warehouse/stock/count",
        {"sku": "P-2", "warehouse_id": world.warehouse_id, "counted": 4},
    )
    assert counted.status_code == 200, counted.text
    device.place(account, "P-1", 2)  # the last 2 units

    transport = FirstPullPagesOnly(httpx.ASGITransport(app=server.app), pages=1)
    async with httpx.AsyncClient(transport=transport) as cut:
        engine = SyncEngine(device.store, cut, server_url=URL, sleep=no_sleep,
                            backoff=Backoff(attempts=1), page_size=1)  # fmt: skip
        report = await engine.sync()
    assert report.pushed == 1 and report.pulled == 1 and report.error is not None
    assert device.stock("P-2") == (4, 0), "the first page (the count) arrived"
    assert device.stock("P-1") == (2, 0), "the order's stock row did not"
    after = device.quote(account, "P-1", 1)
    assert (after.label, after.now) == (Label.OUT_OF_STOCK, 0), "still taken by the order"
