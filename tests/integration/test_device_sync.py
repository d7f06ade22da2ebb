"""The device's sync engine against the real server in process (httpx.ASGITransport), with a real
SQLite store per device: offline orders, verdicts that differ from the promise, two devices."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from app.store import (
    Accounts,
    CartService,
    Catalog,
    Notices,
    Orders,
    OrderState,
    sync_state,
    sync_status,
)
from sync.engine import Backoff, SignInError, SyncEngine
from sync.server.models import Account
from tests.integration.conftest import URL, Server, World, device_store, no_sleep


async def test_sign_in_keeps_the_token_and_refuses_a_wrong_password(world: World, make_engine):
    world.user("rep1")
    engine = make_engine("a")
    with pytest.raises(SignInError, match="wrong user name or password"):
        await engine.sign_in("rep1", "nope")
    answer = await engine.sign_in("rep1", "demo")
    assert answer.user.username == "rep1"
    with engine.store.read() as s:
        state = sync_state(s)
    assert state.signed_in and state.user_name == "rep1" and state.server_url == URL


async def test_sign_in_says_when_the_server_is_unreachable(tmp_path: Path):
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as down:
        engine = SyncEngine(device_store(tmp_path, "x"), down, server_url=URL, sleep=no_sleep)
        with pytest.raises(SignInError, match="cannot reach the server"):
            await engine.sign_in("rep1", "demo")
    assert engine.online is False


async def test_an_offline_order_syncs_and_its_verdict_arrives(world: World, make_engine):
    world.user("rep1")
    account = world.account("rep1")
    world.product("P-1", on_hand=10)
    engine = make_engine("a")
    await engine.sign_in("rep1", "demo")
    first = await engine.sync()
    assert first.ok, first.error
    assert first.snapshot_records > 0

    cart = CartService(engine.store)
    cart.set_account(str(account))
    cart.add("P-1", 4)
    placed = cart.place()
    assert sync_status(engine.store, online=False).pending_count == 1

    report = await engine.sync()
    assert report.ok, report.error
    assert report.pushed == 1
    assert sync_status(engine.store, online=True).pending_count == 0
    order = Orders(engine.store).get(placed.order_id)
    assert (order.summary.verdict, order.summary.state) == ("accepted", OrderState.ACCEPTED)
    assert world.stock("P-1").reserved == 4


async def test_a_verdict_worse_than_the_promise_needs_attention(world: World, make_engine):
    world.user("rep1")
    account = world.account("rep1")
    world.product("P-1", on_hand=10)
    rep_a, rep_b = make_engine("a"), make_engine("b")
    for engine in (rep_a, rep_b):
        await engine.sign_in("rep1", "demo")
        assert (await engine.sync()).ok

    # Both devices promise 8 of the 10 units while offline; the second to sync gets less.
    placed = {}
    for name, engine in (("a", rep_a), ("b", rep_b)):
        cart = CartService(engine.store)
        cart.set_account(str(account))
        cart.add("P-1", 8)
        placed[name] = cart.place()
    assert (await rep_a.sync()).ok
    assert (await rep_b.sync()).ok

    won = Orders(rep_a.store).get(placed["a"].order_id)
    lost = Orders(rep_b.store).get(placed["b"].order_id)
    assert won.summary.state is OrderState.ACCEPTED
    assert lost.summary.state is OrderState.NEEDS_ATTENTION
    assert lost.differences, "the device shows what changed, in words"
    promised, confirmed = lost.lines[0].promise, lost.lines[0].server
    assert promised is not None and confirmed is not None
    assert (promised.now, confirmed.now) == (8, 2)
    assert world.stock("P-1").reserved == 10  # never oversold

    Orders(rep_b.store).acknowledge(placed["b"].order_id)
    assert (await rep_b.sync()).ok
    after = Orders(rep_b.store).get(placed["b"].order_id)
    assert after.summary.state is OrderState.BACKORDERED


async def test_no_signal_is_recorded_not_raised_and_nothing_is_lost(
    server: Server, world: World, tmp_path: Path
):
    world.user("rep1")
    account = world.account("rep1")
    world.product("P-1", on_hand=3)

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("no route to host", request=request)

    store = device_store(tmp_path, "basement")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=server.app)) as up:
        engine = SyncEngine(store, up, server_url=URL, sleep=no_sleep)
        await engine.sign_in("rep1", "demo")
        assert (await engine.sync()).ok
    cart = CartService(store)
    cart.set_account(str(account))
    cart.add("P-1", 2)
    cart.place()
    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as down:
        engine = SyncEngine(store, down, server_url=URL, sleep=no_sleep)
        report = await engine.sync()
    assert report.error is not None and "cannot reach the server" in report.error
    status = sync_status(store, online=engine.online)
    assert (status.online, status.pending_count) == (False, 1)
    assert status.last_error == report.error


async def test_a_device_too_old_for_the_server_is_told_so_and_keeps_its_data(
    server: Server, world: World, tmp_path: Path
):
    world.user("rep1")
    account = world.account("rep1")
    world.product("P-1", on_hand=5)
    store = device_store(tmp_path, "old")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=server.app)) as client:
        engine = SyncEngine(store, client, server_url=URL, sleep=no_sleep)
        await engine.sign_in("rep1", "demo")
        assert (await engine.sync()).ok
    cart = CartService(store)
    cart.set_account(str(account))
    cart.add("P-1", 1)
    cart.place()

    class OldApp(httpx.AsyncBaseTransport):
        """The same device, as an app built for protocol version 0 would speak."""

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            request.headers["X-Protocol-Version"] = "0"
            return await httpx.ASGITransport(app=server.app).handle_async_request(request)

    async with httpx.AsyncClient(transport=OldApp()) as client:
        report = await SyncEngine(store, client, server_url=URL, sleep=no_sleep).sync()
    assert report.error is not None and "too old" in report.error and "update" in report.error
    assert sync_status(store, online=True).pending_count == 1, "nothing is dropped"


async def test_overlapping_contact_edits_keep_the_later_one_and_both_see_the_conflict(
    world: World, make_engine
):
    world.user("rep1")
    account = str(world.account("rep1"))
    first, second = make_engine("a"), make_engine("b")
    for engine in (first, second):
        await engine.sign_in("rep1", "demo")
        assert (await engine.sync()).ok
    Accounts(first.store).update_contact(account, contact_phone="555-1111", contact_name="Bea")
    Accounts(second.store).update_contact(account, contact_phone="555-2222")
    assert (await first.sync()).ok
    assert (await second.sync()).ok
    assert (await first.sync()).ok

    for engine in (first, second):
        contact = Accounts(engine.store).get(account)
        # Non-overlapping fields merge; the overlapping one keeps the later arrival.
        assert (contact.contact_name, contact.contact_phone) == ("Bea", "555-2222")
        (conflict,) = Notices(engine.store).conflicts()
        assert (conflict.field, conflict.winner_value, conflict.loser_value) == (
            "contact_phone",
            "555-2222",
            "555-1111",
        )


async def test_resync_rebuilds_the_cache_and_keeps_the_outbox(world: World, make_engine):
    world.user("rep1")
    account = world.account("rep1")
    world.product("P-1", on_hand=5)
    engine = make_engine("a")
    await engine.sign_in("rep1", "demo")
    assert (await engine.sync()).ok
    cart = CartService(engine.store)
    cart.set_account(str(account))
    cart.add("P-1", 2)
    placed = cart.place()
    world.product("P-2", on_hand=9)  # written behind the change log's back: only a snapshot sees it

    assert "P-2" not in {p.product.sku for p in Catalog(engine.store).search("P-2")}
    report = await engine.resync()
    assert report.ok, report.error
    assert report.snapshot_records > 0 and report.pushed == 1
    assert "P-2" in {p.product.sku for p in Catalog(engine.store).search("P-2")}
    assert Orders(engine.store).get(placed.order_id).summary.state is OrderState.ACCEPTED


async def test_an_order_the_server_refused_survives_a_resync(
    server: Server, world: World, make_engine
):
    """The server keeps no record of an order it refused at commit: the device's copy (with the
    reason) is the only one, and a resync must not drop it."""
    world.user("rep1")
    account = world.account("rep1")
    world.product("P-1", on_hand=5)
    engine = make_engine("a")
    await engine.sign_in("rep1", "demo")
    assert (await engine.sync()).ok
    with server.db.write() as s:  # put on hold after the device last heard of the account
        s.get(Account, account).credit_hold = True
    cart = CartService(engine.store)
    cart.set_account(str(account))
    cart.add("P-1", 2)
    placed = cart.place()
    assert (await engine.sync()).ok
    orders = Orders(engine.store)
    refused = orders.get(placed.order_id)
    # A rejection differs from every promise: the rep must see it before anything else.
    assert refused.summary.state is OrderState.NEEDS_ATTENTION
    assert refused.differences == (f"order rejected: {refused.verdict_reason}",)
    assert "credit hold" in refused.verdict_reason
    assert orders.acknowledge(placed.order_id) == refused.differences
    assert orders.get(placed.order_id).summary.state is OrderState.REJECTED
    # The server has no such order: the acknowledgement stays on the device.
    assert sync_status(engine.store, online=True).pending_count == 0
    assert (await engine.resync()).ok
    kept = orders.get(placed.order_id)
    assert kept.summary.state is OrderState.REJECTED
    assert kept.verdict_reason == refused.verdict_reason


async def test_the_push_answer_settles_the_order_even_when_the_pull_fails(
    server: Server, world: World, tmp_path: Path
):
    world.user("rep1")
    account = world.account("rep1")
    world.product("P-1", on_hand=1)
    store = device_store(tmp_path, "a")

    class NoPull(httpx.AsyncBaseTransport):
        """Signal drops right after the push answer arrives."""

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if request.url.path.endswith("/sync/pull"):
                raise httpx.ConnectError("signal lost", request=request)
            return await httpx.ASGITransport(app=server.app).handle_async_request(request)

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=server.app)) as client:
        engine = SyncEngine(store, client, server_url=URL, sleep=no_sleep)
        await engine.sign_in("rep1", "demo")
        assert (await engine.sync()).ok
    cart = CartService(store)
    cart.set_account(str(account))
    cart.add("P-1", 3)  # one in stock: the server backorders the rest
    placed = cart.place()
    async with httpx.AsyncClient(transport=NoPull()) as client:
        report = await SyncEngine(store, client, server_url=URL, sleep=no_sleep).sync()
    assert report.pushed == 1 and report.error is not None
    order = Orders(store).get(placed.order_id)
    assert order.summary.state is not OrderState.PENDING
    assert order.summary.verdict == "backordered"


class Garbling(httpx.AsyncBaseTransport):
    """The real server, but the snapshot's stock pages arrive as something that is not JSON (a
    captive portal's page, say) once `garble` is set."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner, self.garble = inner, False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if self.garble and request.url.params.get("section") == "stock":
            await response.aread()
            return httpx.Response(200, content=b"<html>Sign in to the hotel wifi</html>")
        return response


async def test_a_page_that_is_not_json_is_an_error_in_words_and_changes_nothing(
    server: Server, world: World, tmp_path: Path
):
    world.user("rep1")
    world.product("P1", on_hand=3)
    transport = Garbling(httpx.ASGITransport(app=server.app))
    async with httpx.AsyncClient(transport=transport) as client:
        engine = SyncEngine(
            device_store(tmp_path, "a"), client, server_url=URL, sleep=no_sleep,
            backoff=Backoff(attempts=1),
        )  # fmt: skip
        await engine.sign_in("rep1", "demo")
        transport.garble = True
        report = await engine.sync()
        assert not report.ok and "not JSON" in (report.error or "")
        with engine.store.read() as s:
            assert sync_state(s).cursor == 0  # the snapshot rolled back whole
        assert Catalog(engine.store).search("P1") == []
        transport.garble = False
        assert (await engine.sync()).ok
        assert [f.product.sku for f in Catalog(engine.store).search("P1")] == ["P1"]
