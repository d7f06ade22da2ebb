"""What the device does when the server will not take a change, against the real server in
process: another user signing in on a device, a push too large for the server's body limit,
and business refusals of cancels and contact edits, which stay listed with the server's words."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlmodel import func, select

from app.store import (
    Accounts,
    CartService,
    Orders,
    OrderState,
    Store,
    sign_out,
    sync_state,
    sync_status,
)
from app.ui.state.syncbar import sync_bar
from app.ui.state.updates import UpdatesState
from sync.engine import Backoff, SignInError, SyncEngine
from sync.protocol import PROTOCOL_HEADER, PROTOCOL_VERSION
from sync.server.models import Account, Device, Order
from tests.integration.conftest import (
    URL,
    Server,
    World,
    device_store,
    make_server,
    no_sleep,
    sign_in,
)


@dataclass
class Recorder(httpx.AsyncBaseTransport):
    """The real server's transport, noting each push: how many mutations, what status."""

    inner: httpx.AsyncBaseTransport
    pushes: list[tuple[int, int]] = field(default_factory=list)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.url.path.endswith("/sync/push"):
            sent = httpx.Response(200, content=await request.aread()).json()
            self.pushes.append((len(sent["mutations"]), response.status_code))
        return response


async def sign_out_of(engine: SyncEngine) -> None:
    """As the app does: tell the server, then forget the token here."""
    with engine.store.read() as s:
        token = sync_state(s).token
    answer = await engine.client.post(
        f"{URL}/auth/sign-out",
        headers={"Authorization": f"Bearer {token}", PROTOCOL_HEADER: str(PROTOCOL_VERSION)},
    )
    assert answer.status_code == 204, answer.text
    with engine.store.write() as s:
        sign_out(s)


def devices_of(server: Server, user_id: int) -> int:
    with server.db.session() as s:
        return s.exec(
            select(func.count()).select_from(Device).where(Device.user_id == user_id)
        ).one()


def place(store: Store, account: int, *skus: str, note: str = "") -> str:
    cart = CartService(store)
    cart.set_account(str(account))
    for sku in skus:
        cart.add(sku, 1)
    if note:
        cart.set_note(note)
    return cart.place().order_id


# -- another user on the same device ---------------------------------------------------------


async def test_another_user_signs_in_on_the_device_and_sees_only_their_own_data(
    server: Server, world: World, make_engine
):
    ana, bob = world.user("ana"), world.user("bob")
    anas, bobs = world.account("ana"), world.account("bob")
    world.product("P-1", on_hand=50)
    engine = make_engine("shared")
    await engine.sign_in("ana", "demo")
    assert (await engine.sync()).ok
    anas_order = place(engine.store, anas, "P-1")
    assert (await engine.sync()).ok
    with engine.store.read() as s:
        anas_device = sync_state(s).device_id
    await sign_out_of(engine)

    answer = await engine.sign_in("bob", "demo")  # was: 403, the device belongs to ana
    report = await engine.sync()
    assert report.ok, report.error
    assert report.snapshot_records > 0, "bob starts from a full snapshot of his own data"
    with engine.store.read() as s:
        state = sync_state(s)
    assert (state.user_name, state.device_id) == ("bob", str(answer.device_id))
    assert state.device_id != anas_device and devices_of(server, bob) == 1
    assert [a.id for a in Accounts(engine.store).list_accounts()] == [str(bobs)]
    assert Orders(engine.store).list_orders() == []

    bobs_order = place(engine.store, bobs, "P-1")
    assert (await engine.sync()).ok
    assert [o.id for o in Orders(engine.store).list_orders()] == [bobs_order]
    with server.db.session() as s:
        owners = {str(o.id): o.rep_id for o in s.exec(select(Order))}
    assert owners == {anas_order: ana, bobs_order: bob}, "each order under its own rep"


async def test_a_rep_signs_in_where_a_supervisor_signed_out_of_the_console(
    world: World, make_engine
):
    world.user("boss", role="supervisor")
    world.user("rep1")
    account = world.account("rep1")
    world.product("P-1", on_hand=5)
    engine = make_engine("office")
    await engine.sign_in("boss", "demo")
    await sign_out_of(engine)
    await engine.sign_in("rep1", "demo")
    assert (await engine.sync()).ok
    with engine.store.read() as s:
        assert (sync_state(s).user_name, sync_state(s).role) == ("rep1", "rep")
    assert [a.id for a in Accounts(engine.store).list_accounts()] == [str(account)]


async def test_another_user_waits_while_the_first_ones_changes_are_unsent(
    server: Server, world: World, make_engine
):
    world.user("ana")
    bob = world.user("bob")
    anas = world.account("ana")
    world.product("P-1", on_hand=5)
    engine = make_engine("shared")
    await engine.sign_in("ana", "demo")
    assert (await engine.sync()).ok
    order_id = place(engine.store, anas, "P-1")  # made offline, not sent yet
    await sign_out_of(engine)

    with pytest.raises(SignInError, match="1 change made by ana is not sent yet"):
        await engine.sign_in("bob", "demo")
    assert devices_of(server, bob) == 0, "refused before the server registered a device"
    with engine.store.read() as s:
        assert sync_state(s).user_name == "ana"

    await engine.sign_in("ana", "demo")  # her own device again: sent under her name
    assert (await engine.sync()).ok
    with server.db.session() as s:
        assert s.get(Order, uuid.UUID(order_id)) is not None
    await sign_out_of(engine)
    await engine.sign_in("bob", "demo")
    assert (await engine.sync()).ok
    assert Orders(engine.store).list_orders() == []


# -- a push too large for the server's body limit -----------------------------------------------


async def test_a_batch_too_large_is_halved_and_one_too_large_change_is_refused(
    database_url: str, tmp_path: Path
):
    server = make_server(database_url, max_body_bytes=4096)
    try:
        world = World(server.db).setup()
        world.user("rep1")
        account = world.account("rep1")
        skus = [world.product(f"P-{n:02d}", on_hand=100) for n in range(40)]
        recorder = Recorder(httpx.ASGITransport(app=server.app))
        async with httpx.AsyncClient(transport=recorder) as client:
            engine = SyncEngine(device_store(tmp_path, "rep"), client, server_url=URL)
            engine.sleep, engine.backoff = no_sleep, Backoff(attempts=3)
            await engine.sign_in("rep1", "demo")
            assert (await engine.sync()).ok
            before = [place(engine.store, account, sku) for sku in skus[:6]]
            huge = place(engine.store, account, *skus, note="x" * 500)  # alone > 4096 bytes
            after = [place(engine.store, account, sku) for sku in skus[6:12]]

            report = await engine.sync()
            assert report.ok, report.error
            assert (report.pushed, report.dead) == (12, 1)
            assert recorder.pushes[0] == (13, 413), "the whole outbox at first: too large"
            assert (1, 413) in recorder.pushes, "halved down to the one that never fits"
            assert all(n < 13 for n, status in recorder.pushes[1:] if status == 200)

            with server.db.session() as s:
                on_server = {str(o.id) for o in s.exec(select(Order))}
                device = s.exec(select(Device)).one()
            assert on_server == set(before + after), "the queue behind it moved"
            assert device.last_mutation_id == 12, "renumbered without a gap"
            refused = Orders(engine.store).get(huge)
            assert refused.summary.status == "rejected"
            assert "too large to send" in (refused.verdict_reason or "")
            (row,) = UpdatesState(engine.store).refused_rows()
            assert row.text == f"Order {huge[:8]} for Account 1"
            assert re.search(r"even on its own \([\d,]+ bytes\); it was not sent", row.reason)
            assert sync_status(engine.store, online=True).pending_count == 0

            pushes = len(recorder.pushes)
            assert (await engine.sync()).ok
            assert len(recorder.pushes) == pushes, "never sent again"
            later = place(engine.store, account, skus[0])
            assert (await engine.sync()).ok
            with server.db.session() as s:
                assert s.get(Order, uuid.UUID(later)) is not None
    finally:
        server.db.dispose()


# -- business refusals of cancels and contact edits -------------------------------------------


async def test_refused_cancels_and_contact_edits_stay_listed_with_the_servers_reason(
    server: Server, world: World, make_engine
):
    world.user("rep1")
    world.user("rep2")
    account, moved = world.account("rep1"), world.account("rep1")
    world.product("P-1", on_hand=10)
    phone, tablet = make_engine("phone"), make_engine("tablet")
    for engine in (phone, tablet):
        await engine.sign_in("rep1", "demo")
        assert (await engine.sync()).ok
    order_id = place(phone.store, account, "P-1")
    assert (await phone.sync()).ok
    assert (await tablet.sync()).ok
    Orders(phone.store).cancel(order_id, "customer changed their mind")
    assert (await phone.sync()).ok  # the order is cancelled on the server

    Orders(tablet.store).cancel(order_id, "duplicate order")  # the tablet has not heard yet
    with server.db.write() as s:  # the second account goes to another rep meanwhile
        s.get(Account, moved).rep_id = world.users["rep2"]
    Accounts(tablet.store).update_contact(str(moved), contact_phone="+1 555 0199")
    report = await tablet.sync()
    assert report.ok, report.error
    assert report.pushed == 2

    rows = UpdatesState(tablet.store).refused_rows()
    by_text = {r.text: r.reason for r in rows}
    assert by_text == {
        "Contact edit (phone) for Account 2": f"account_id {moved}: no such account among yours",
        f"Cancel of order {order_id[:8]} for Account 1": f"order {order_id} is already cancelled",
    }
    assert not any(r.dead for r in rows)
    assert sync_bar(tablet.store, online=True).pending == (
        "Nothing waiting to send; 2 changes refused by the server"
    )
    order = Orders(tablet.store).get(order_id)
    assert order.summary.state is OrderState.CANCELLED and not order.summary.cancel_requested
    assert Accounts(tablet.store).get(str(moved)).contact_phone == "555-0100", "server's value"

    with server.db.session() as s:
        before = sorted(d.last_mutation_id for d in s.exec(select(Device)))
    assert (await tablet.sync()).ok
    with server.db.session() as s:
        again = sorted(d.last_mutation_id for d in s.exec(select(Device)))
    assert again == before, "a refused change is never sent again"


async def test_a_cancel_a_supervisors_decision_overruled_shows_as_a_conflict(
    server: Server, world: World, make_engine, client: httpx.AsyncClient
):
    world.user("rep1")
    world.user("boss", role="supervisor")
    account = world.account("rep1")
    world.product("P-1", on_hand=10)
    phone = make_engine("phone")
    await phone.sign_in("rep1", "demo")
    assert (await phone.sync()).ok
    order_id = place(phone.store, account, "P-1")
    assert (await phone.sync()).ok
    boss = await sign_in(client, "boss")
    decided = await boss.post(  # the phone has not heard of it when the rep cancels
        f"/supervisor/orders/{order_id}/decision", {"action": "approve", "version": 1}
    )
    assert decided.status_code == 200, decided.text
    Orders(phone.store).cancel(order_id, "customer called")
    assert (await phone.sync()).ok

    order = Orders(phone.store).get(order_id)
    assert order.summary.status == "approved" and not order.summary.cancel_requested
    updates = UpdatesState(phone.store)
    (conflict,) = updates.conflict_rows()
    assert (conflict.title, conflict.kept, conflict.lost, conflict.why_kept) == (
        f"Cancel of order {order_id[:8]} for Account 1",
        "approved",
        "cancelled",
        "supervisor's decision",
    )
    (refused,) = updates.refused_rows()
    assert refused.text == f"Cancel of order {order_id[:8]} for Account 1"
    assert "a supervisor approved this order after your device last heard of it" in refused.reason
    # Having seen the decision, the rep may cancel again: now it applies.
    Orders(phone.store).cancel(order_id, "customer called again")
    assert (await phone.sync()).ok
    assert Orders(phone.store).get(order_id).summary.status == "cancelled"
