"""Promises that hold, on the real server in process: dates at the business's confidence from
each supplier's slip history, the same on the device (offline) as in the server's verdict; an
overdue receipt re-projected every new day, never "today"; every change of a customer's date
told exactly once, naming the date told before; bad supply dates refused."""

from __future__ import annotations

import httpx
from sqlmodel import select

from app.store import CartService
from sync.server.models import EtaChangeEvent, OrderLine
from tests.integration.conftest import Server, World, days, make_server, sign_in


async def late_history(client: httpx.AsyncClient, world: World, boss, supplier: int, slips):
    """Closed receipts of `supplier`, each received through the API `slip` days after its
    date: the supplier's history."""
    sku = world.product(f"H{supplier}", 0)
    for slip in slips:
        receipt = world.receipt(sku, 1, days(-slip), supplier_id=supplier)
        answer = await boss.post(f"/warehouse/receipts/{receipt}/receive", {})
        assert answer.status_code == 200, answer.text


async def test_a_slipping_suppliers_receipt_is_promised_later_than_its_date(server, client, world):
    world.user("rep1")
    world.user("boss", role="supervisor")
    account = world.account("rep1")
    boss = await sign_in(client, "boss")
    punctual, slipping = world.supplier("Punctual"), world.supplier("Slipping")
    # Enough history that the supplier's own weighs 100 / (100 + 10) against the pool.
    await late_history(client, world, boss, punctual, [0] * 100)
    await late_history(client, world, boss, slipping, [0] * 30 + [6] * 70)
    world.product("P", 0)
    world.product("S", 0)
    world.receipt("P", 10, days(10), supplier_id=punctual)
    world.receipt("S", 10, days(10), supplier_id=slipping)
    rep = await sign_in(client, "rep1")
    order = await rep.order(account, ("P", 2), ("S", 2))
    lines = {line["sku"]: line for line in order["lines"]}
    assert lines["P"]["eta"] == days(10).isoformat()  # a punctual supplier's date holds
    assert lines["S"]["eta"] == days(16).isoformat()  # 95%: six days late 7 times in 10
    assert lines["S"]["likely"] == days(16).isoformat()
    assert lines["S"]["ship"] == days(16).isoformat()


async def test_trusting_receipt_dates_is_a_setting(tmp_path, sqlite_template):
    import shutil

    target = tmp_path / "server.db"
    shutil.copy(sqlite_template, target)
    server = make_server(f"sqlite:///{target}", promise_confidence=None)
    try:
        world = World(server.db).setup()
        world.user("rep1")
        world.user("boss", role="supervisor")
        account = world.account("rep1")
        async with server.client() as client:
            boss = await sign_in(client, "boss")
            await late_history(client, world, boss, world.supplier_id, [6] * 20)
            world.product("S", 0)
            world.receipt("S", 10, days(10))
            rep = await sign_in(client, "rep1")
            order = await rep.order(account, ("S", 2))
            assert order["lines"][0]["eta"] == days(10).isoformat()
    finally:
        server.db.dispose()


async def test_the_device_promises_offline_what_the_server_confirms(
    server: Server, world: World, make_engine
):
    world.user("rep1")
    world.user("boss", role="supervisor")
    account = world.account("rep1")
    async with server.client() as client:
        boss = await sign_in(client, "boss")
        slipping = world.supplier("Slipping")
        await late_history(client, world, boss, slipping, [0] * 10 + [4] * 10 + [9] * 10)
    world.product("S", 3)
    world.receipt("S", 20, days(8), supplier_id=slipping)
    engine = make_engine("phone")
    await engine.sign_in("rep1", "demo")
    assert (await engine.sync()).ok
    cart = CartService(engine.store)
    cart.set_account(str(account))
    cart.add("S", 10)
    check = cart.check()
    (line,) = check.lines
    assert line.availability.now == 3
    assert line.ship is not None and line.ship.date == days(17)  # 8 + 9 days: 95%
    assert line.availability.likely == days(12)
    cart.place()
    report = await engine.sync()
    assert report.ok, report.error
    with server.db.session() as s:
        stored = s.exec(select(OrderLine).where(OrderLine.sku == "S")).one()
        assert stored.promised_ship == stored.told_date == days(17)
        assert stored.first_eta_date == days(17)
        assert stored.promised_schedule == [[days(0).isoformat(), 3], [days(17).isoformat(), 7]]
        assert s.exec(select(EtaChangeEvent)).all() == []  # nothing to tell: they agree


async def test_an_overdue_receipt_is_re_projected_each_day_and_each_move_is_told(
    server, client, world
):
    world.user("rep1")
    world.user("boss", role="supervisor")
    account = world.account("rep1")
    boss = await sign_in(client, "boss")
    late = world.supplier("Late")
    await late_history(client, world, boss, late, [0] * 20 + [3] * 5 + [8] * 5)
    world.product("S", 0)
    receipt = world.receipt("S", 10, days(2), supplier_id=late)
    rep = await sign_in(client, "rep1")
    order = await rep.order(account, ("S", 4))
    told = [order["lines"][0]["ship"]]
    assert told == [days(10).isoformat()]  # 2 + 8 at 95%
    for day in range(1, 13):  # past all history: day 11 is 9 days late, history says 8
        server.clock.advance(days=1)
        answer = await boss.post("/warehouse/new-day")
        assert answer.status_code == 200, answer.text
        with server.db.session() as s:
            line = s.exec(select(OrderLine).where(OrderLine.sku == "S")).one()
        assert line.told_date is not None and line.told_date >= days(day)  # never in the past
        if day > 2:  # overdue: estimated, never "today"
            assert line.told_kind == "estimated" and line.told_date > days(day)
        if line.told_date.isoformat() != told[-1]:
            told.append(line.told_date.isoformat())
    with server.db.session() as s:
        events = s.exec(select(EtaChangeEvent).order_by(EtaChangeEvent.id)).all()
    # Every move was told once, each naming the date told before: a chain, no silent step.
    assert [e.old_date.isoformat() for e in events] == told[:-1]
    assert [e.new_date.isoformat() for e in events] == told[1:]
    assert len(told) > 1
    received = await boss.post(f"/warehouse/receipts/{receipt}/receive", {})
    assert received.status_code == 200


async def test_a_part_delivery_can_give_the_rest_a_new_date_or_close_it(server, client, world):
    world.user("boss", role="supervisor")
    boss = await sign_in(client, "boss")
    world.product("A", 0)
    receipt = world.receipt("A", 10, days(3))
    past = await boss.post(
        f"/warehouse/receipts/{receipt}/receive",
        {"quantity": 4, "rest_expected": days(-1).isoformat()},
    )
    assert past.status_code == 422 and past.json()["detail"].startswith("rest_expected")
    part = await boss.post(
        f"/warehouse/receipts/{receipt}/receive",
        {"quantity": 4, "rest_expected": days(9).isoformat()},
    )
    assert part.status_code == 200, part.text
    body = part.json()["receipt"]
    assert (body["received"], body["expected"], body["moved"], body["base"], body["arrived"]) == (
        4,
        days(9).isoformat(),
        True,
        6,
        0,
    )
    closed = await boss.post(
        f"/warehouse/receipts/{receipt}/receive", {"quantity": 2, "close_rest": True}
    )
    assert closed.status_code == 200
    assert (closed.json()["receipt"]["status"], closed.json()["receipt"]["received"]) == (
        "received",
        6,
    )


async def test_short_deliveries_do_not_leave_full_receipts_undatable(server, client, world):
    # A supplier that short-closes one receipt in three (the rest never comes): the history
    # is of the units that came, so a full receipt of it can still be promised at 95%.
    world.user("rep1")
    world.user("boss", role="supervisor")
    account = world.account("rep1")
    boss = await sign_in(client, "boss")
    short = world.supplier("Short")
    world.product("H", 0)
    for i in range(30):
        receipt = world.receipt("H", 10, days(0), supplier_id=short)
        body = {"quantity": 6, "close_rest": True} if i % 3 == 0 else {}
        answer = await boss.post(f"/warehouse/receipts/{receipt}/receive", body)
        assert answer.status_code == 200, answer.text
    world.product("X", 0)
    world.receipt("X", 10, days(10), supplier_id=short)
    rep = await sign_in(client, "rep1")
    order = await rep.order(account, ("X", 10))
    # on the day the supplier said: what came always came on time
    assert order["lines"][0]["eta"] == days(10).isoformat()


async def test_a_delay_to_the_past_is_refused_and_changes_nothing(server, client, world):
    world.user("boss", role="supervisor")
    boss = await sign_in(client, "boss")
    world.product("A", 0)
    receipt = world.receipt("A", 10, days(3))
    answer = await boss.post(
        f"/warehouse/receipts/{receipt}/delay", {"expected": days(-5).isoformat()}
    )
    assert answer.status_code == 422
    assert answer.json()["detail"].startswith("expected:")
    with server.db.session() as s:
        assert s.exec(select(EtaChangeEvent)).all() == []
