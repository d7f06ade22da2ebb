"""Token lifetimes (issue 15 item 4): a token unused for the settable idle time stops working
(the device is told to sign in again and keeps its outbox); a supervisor's revoke holds until a
supervisor restores the device (tests/integration/test_auth.py); a user signing in on more
devices than allowed retires the least recently used tokens."""

from __future__ import annotations

from sqlmodel import select

from app.store import CartService, Orders, sync_status
from sync.server.models import Device
from tests.integration.conftest import PASSWORD, World, make_server, place_order, sign_in


async def test_a_token_unused_for_the_idle_time_expires_and_use_keeps_it_alive(
    server, client, world
):
    assert server.settings.token_idle_days == 30
    world.user("rep1")
    account = world.account("rep1")
    world.product("A", 10)
    device = await sign_in(client, "rep1")
    for _ in range(3):  # 87 days in all, never 30 without a request
        server.clock.advance(days=29)
        assert (await device.get("/sync/info")).status_code == 200
    server.clock.advance(days=30, minutes=1)
    expired = await device.get("/auth/me")
    assert expired.status_code == 401
    assert "expired after 30 days without use: sign in again" in expired.json()["detail"]
    pushed = await device.raw_push([device.stamp(place_order(account, ("A", 1)))])
    assert pushed.status_code == 401 and world.stock("A").reserved == 0
    pulled = await device.get("/sync/pull")
    assert pulled.status_code == 401
    again = await sign_in(client, "rep1", device_id=device.device_id)
    assert (await again.get("/auth/me")).status_code == 200


async def test_a_push_keeps_a_token_alive_too(server, client, world):
    world.user("rep1")
    account = world.account("rep1")
    world.product("A", 10)
    device = await sign_in(client, "rep1")
    server.clock.advance(days=29)
    await device.push(place_order(account, ("A", 1)))
    server.clock.advance(days=29)
    assert (await device.get("/auth/me")).status_code == 200


async def test_an_expired_device_keeps_its_outbox_and_sends_it_after_signing_in(
    server, world, make_engine
):
    world.user("rep1")
    account = world.account("rep1")
    world.product("P-1", on_hand=10)
    engine = make_engine("a")
    await engine.sign_in("rep1", PASSWORD)
    assert (await engine.sync()).ok
    cart = CartService(engine.store)
    cart.set_account(str(account))
    cart.add("P-1", 2)
    placed = cart.place()
    server.clock.advance(days=31)
    report = await engine.sync()
    assert not report.ok and "sign in again" in (report.error or "")
    assert "expired" in report.error
    assert sync_status(engine.store, online=True).pending_count == 1
    await engine.sign_in("rep1", PASSWORD)
    report = await engine.sync()
    assert report.ok, report.error
    assert report.pushed == 1
    verdict = Orders(engine.store).get(placed.order_id).summary.verdict
    assert verdict in ("accepted", "accepted_with_changes")  # a month later: dates moved
    assert world.stock("P-1").reserved == 2


async def test_signing_in_on_more_devices_than_allowed_retires_the_least_recently_used(
    database_url,
):
    server = make_server(database_url, max_devices_per_user=2)
    try:
        world = World(server.db).setup()
        world.user("rep1")
        world.user("rep2")
        async with server.client() as client:
            phone = await sign_in(client, "rep1", device_name="phone")
            server.clock.advance(hours=2)
            tablet = await sign_in(client, "rep1", device_name="tablet")
            server.clock.advance(hours=2)
            assert (await phone.get("/auth/me")).status_code == 200  # the phone is used later
            other = await sign_in(client, "rep2")
            server.clock.advance(hours=2)
            laptop = await sign_in(client, "rep1", device_name="laptop")
            retired = await tablet.get("/auth/me")
            assert retired.status_code == 401
            assert "more devices than allowed: sign in again" in retired.json()["detail"]
            for kept in (phone, laptop, other):
                assert (await kept.get("/auth/me")).status_code == 200
            # Signing in again on a device already counted retires nobody.
            again = await sign_in(client, "rep1", device_id=laptop.device_id, device_name="laptop")
            assert (await phone.get("/auth/me")).status_code == 200
            assert (await again.get("/auth/me")).status_code == 200
        with server.db.session() as s:
            live = s.exec(select(Device).where(Device.revoked_at.is_(None))).all()  # type: ignore[union-attr]
        assert sorted(d.name for d in live) == ["device", "laptop", "phone"]
    finally:
        server.db.dispose()


async def test_a_rep_revoking_their_own_device_signs_it_out_without_blocking_it(client, world):
    world.user("rep1")
    first = await sign_in(client, "rep1")
    second = await sign_in(client, "rep1")
    revoked = await second.post(f"/auth/devices/{first.device_id}/revoke")
    assert revoked.status_code == 200 and revoked.json()["blocked_at"] is None
    assert (await first.get("/auth/me")).status_code == 401
    back = await sign_in(client, "rep1", device_id=first.device_id)
    assert (await back.get("/auth/me")).status_code == 200


async def test_restoring_an_unknown_device_is_404(client, world):
    world.user("boss", role="supervisor")
    boss = await sign_in(client, "boss")
    missing = await boss.post("/supervisor/devices/00000000-0000-4000-8000-000000000009/restore")
    assert missing.status_code == 404 and "not found" in missing.json()["detail"]
