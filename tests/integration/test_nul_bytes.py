"""A NUL byte in any text is refused at the edge as a 422 naming the field, on SQLite and on
PostgreSQL alike (PostgreSQL cannot store one: it was a 500, and a dead letter in a push; SQLite
stored it). In a device's push the mutation is set aside with the reason, not dead-lettered,
and the rest of the outbox still goes."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import select

from app.store import CartService, Orders, sync_status
from app.store.outbox import set_aside
from sync.server.models import DeadLetter, Device, Order, Supplier
from tests.integration.conftest import PASSWORD, place_order, sign_in


def _count(server, model) -> int:
    with server.db.session() as s:
        return s.exec(select(func.count()).select_from(model)).one()


async def test_sign_in_with_a_nul_byte_is_422_naming_the_field(server, client, world):
    world.user("rep1")
    for field, body in (
        ("username", {"username": "rep\x001", "password": PASSWORD}),
        ("password", {"username": "rep1", "password": "de\x00mo"}),
        ("device_name", {"username": "rep1", "password": PASSWORD, "device_name": "a\x00"}),
    ):
        response = await client.post("/auth/sign-in", json=body)
        assert response.status_code == 422, (field, response.text)
        message = response.json()["message"]
        assert message.startswith(f"body.{field}: ") and "NUL byte" in message, message
    assert _count(server, Device) == 0


async def test_a_push_with_a_nul_byte_is_422_naming_the_mutation_field(server, client, world):
    world.user("rep1")
    account = world.account("rep1")
    world.product("P-1", on_hand=5)
    rep = await sign_in(client, "rep1")
    good = place_order(account, ("P-1", 1))
    bad = place_order(account, ("P-1", 1), note="call\x00me")
    good, bad = rep.stamp(good), rep.stamp(bad)
    response = await rep.raw_push([good, bad])
    assert response.status_code == 422, response.text
    assert response.json()["message"].startswith("body.mutations[1].note: must not contain a NUL")
    line = place_order(account, ("P-\x001", 1))
    response = await rep.raw_push([{**line, "mutation_id": 1, "client_time": "2025-03-03T09:00Z"}])
    assert response.status_code == 422
    assert response.json()["message"].startswith("body.mutations[0].lines[0].sku: must not contain")
    # Nothing written, nothing dead-lettered; the same mutations without the NUL go through.
    assert _count(server, Order) == _count(server, DeadLetter) == 0
    again = await rep.raw_push([{**good, "mutation_id": 1}])
    assert again.status_code == 200 and again.json()["last_applied"] == 1


async def test_supervisor_bodies_and_query_parameters_with_a_nul_byte_are_422(
    server, client, world
):
    world.user("rep1")
    world.user("boss", role="supervisor")
    rep = await sign_in(client, "rep1")
    boss = await sign_in(client, "boss")
    created = await boss.post("/supervisor/suppliers", {"name": "Bad\x00Co"})
    assert created.status_code == 422, created.text
    assert created.json()["message"].startswith("body.name: must not contain a NUL byte")
    assert _count(server, Supplier) == 1  # the world's own
    snapshot = await rep.get("/sync/snapshot", section="products", after="x\x00")
    assert snapshot.status_code == 422
    assert snapshot.json()["message"].startswith("query.after: must not contain a NUL byte")
    listed = await boss.get("/supervisor/item-suppliers", sku="A\x00")
    assert listed.status_code == 422 and listed.json()["message"].startswith("query.sku: ")


async def test_a_device_order_with_a_nul_byte_is_refused_with_the_reason_and_the_rest_goes(
    world, make_engine
):
    world.user("rep1")
    account = world.account("rep1")
    world.product("P-1", on_hand=10)
    engine = make_engine("a")
    await engine.sign_in("rep1", "demo")
    assert (await engine.sync()).ok
    cart = CartService(engine.store)
    placed = []
    for note in ("fine", "gate code \x00 1234", "also fine"):
        cart.set_account(str(account))
        cart.add("P-1", 1)
        cart.set_note(note)
        placed.append(cart.place())
    report = await engine.sync()
    assert report.ok, report.error
    assert sync_status(engine.store, online=True).pending_count == 0
    with engine.store.read() as s:
        aside = set_aside(s)
    assert [e.state for e in aside] == ["refused"]
    assert "note: must not contain a NUL byte" in (aside[0].last_error or "")
    orders = Orders(engine.store)
    verdicts = [orders.get(o.order_id).summary.verdict for o in placed]
    assert verdicts == ["accepted", "rejected", "accepted"]
    assert world.stock("P-1").reserved == 2
    assert _count_dead(world) == 0


def _count_dead(world) -> int:
    with world.db.session() as s:
        return s.exec(select(func.count()).select_from(DeadLetter)).one()
