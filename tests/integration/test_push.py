"""Push: exactly once under replays and duplicates, gaps refused, dead letters never block, and
business refusals are verdicts (2xx)."""

from __future__ import annotations

import asyncio
import json
import uuid

from sqlalchemy import text
from sqlmodel import select

from sync.protocol import MAX_BATCH
from sync.server.models import DeadLetter, Order, OrderLine
from tests.integration.conftest import START, place_order, sign_in


def ack(order_id: str) -> dict:
    return {"name": "acknowledge", "order_id": order_id}


async def test_a_replayed_push_is_answered_from_the_record_and_applied_once(server, client, world):
    world.user("rep1")
    account = world.account("rep1")
    world.product("A", 10)
    device = await sign_in(client, "rep1")
    batch = [
        device.stamp(place_order(account, ("A", 3))),
        device.stamp(place_order(account, ("A", 2))),
    ]
    first = await device.raw_push(batch)
    again = await device.raw_push(batch)  # the response was lost; the device sends it all again
    assert first.status_code == again.status_code == 200
    one, two = first.json(), again.json()
    assert [r["status"] for r in one["results"]] == ["applied", "applied"]
    assert [r["status"] for r in two["results"]] == ["duplicate", "duplicate"]
    assert [r["order"] for r in one["results"]] == [r["order"] for r in two["results"]]
    assert one["last_applied"] == two["last_applied"] == 2
    assert world.stock("A").reserved == 5
    with server.db.session() as s:
        assert len(s.exec(select(Order)).all()) == 2


async def test_duplicated_concurrent_pushes_apply_each_mutation_once(server, client, world):
    world.user("rep1")
    account = world.account("rep1")
    world.product("A", 100)
    device = await sign_in(client, "rep1")
    batch = [device.stamp(place_order(account, ("A", 1))) for _ in range(5)]
    answers = await asyncio.gather(*(device.raw_push(batch) for _ in range(4)))
    assert all(a.status_code in (200, 409) for a in answers)
    assert world.stock("A").reserved == 5
    with server.db.session() as s:
        assert len(s.exec(select(Order)).all()) == 5


async def test_the_same_order_uuid_under_a_new_mutation_id_is_not_placed_twice(client, world):
    world.user("rep1")
    account = world.account("rep1")
    world.product("A", 10)
    device = await sign_in(client, "rep1")
    order_id = str(uuid.uuid4())
    first = await device.order(account, ("A", 4), order_id=order_id)
    second = await device.order(account, ("A", 4), order_id=order_id)
    assert first == {**second, "plan": first["plan"]}
    assert world.stock("A").reserved == 4


async def test_a_gap_is_refused_with_the_id_to_send_next(server, client, world):
    world.user("rep1")
    account = world.account("rep1")
    world.product("A", 10)
    device = await sign_in(client, "rep1")
    await device.order(account, ("A", 1))  # mutation 1
    device.next_id = 3  # mutation 2 got lost
    response = await device.raw_push([device.stamp(place_order(account, ("A", 1)))])
    assert response.status_code == 409
    assert response.json()["last_applied"] == 1 and response.json()["expected"] == 2
    assert "send mutation 2 next" in response.json()["detail"]
    assert world.stock("A").reserved == 1


async def test_a_failing_mutation_is_dead_lettered_and_does_not_block_the_next(
    server, client, world
):
    world.user("rep1")
    account = world.account("rep1")
    world.product("A", 10)
    world.product("BROKEN", 10)
    with server.db.write() as s:  # a corrupt catalog row makes the commit raise on the server
        s.execute(text("UPDATE product SET alternatives = '12' WHERE sku = 'BROKEN'"))
    device = await sign_in(client, "rep1")
    broken = place_order(account, ("A", 2), ("BROKEN", 1))
    answer = await device.push(broken, place_order(account, ("A", 3)))
    first, second = answer["results"]
    assert first["status"] == "dead_lettered" and "set it aside" in first["error"]
    assert second["status"] == "applied" and second["outcome"] == "accepted"
    assert answer["last_applied"] == 2
    assert world.stock("A").reserved == 3  # the failed order's effects were rolled back
    with server.db.session() as s:
        letters = s.exec(select(DeadLetter)).all()
        assert [(d.mutation_id, d.name) for d in letters] == [(1, "place_order")]
        assert len(s.exec(select(OrderLine)).all()) == 1
    # The same mutation again (a lost answer) is a duplicate with its stored answer; id 1
    # for another order is a reuse (a device restored from an older copy): nothing applied.
    replay = await device.raw_push([{**broken, "mutation_id": 1, "client_time": START.isoformat()}])
    assert replay.json()["results"][0]["status"] == "duplicate"
    other = place_order(account, ("A", 1))
    reused = await device.raw_push([{**other, "mutation_id": 1, "client_time": START.isoformat()}])
    assert reused.json()["results"][0]["status"] == "reused"
    assert reused.json()["last_applied"] == 2 and world.stock("A").reserved == 3


async def test_business_refusals_are_rejected_verdicts_with_2xx(client, world):
    world.user("rep1")
    world.user("rep2")
    mine = world.account("rep1")
    held = world.account("rep1", credit_hold=True)
    theirs = world.account("rep2")
    world.product("A", 10)
    device = await sign_in(client, "rep1")
    answer = await device.push(
        place_order(held, ("A", 1)),
        place_order(theirs, ("A", 1)),
        place_order(mine, ("NOPE", 1)),
        {"name": "cancel_order", "order_id": str(uuid.uuid4())},
    )
    reasons = [(r["status"], r["outcome"], r["reason"]) for r in answer["results"]]
    assert all(status == "applied" and outcome == "rejected" for status, outcome, _ in reasons)
    assert "credit hold" in reasons[0][2]
    assert f"account_id {theirs}" in reasons[1][2]
    assert "lines[0].sku" in reasons[2][2] and "NOPE" in reasons[2][2]
    assert "order_id" in reasons[3][2]
    assert answer["last_applied"] == 4
    assert world.stock("A").reserved == 0


async def test_push_with_another_devices_id_is_forbidden(client, world):
    world.user("rep1")
    one = await sign_in(client, "rep1")
    two = await sign_in(client, "rep1")
    body = {"device_id": two.device_id, "mutations": [one.stamp(ack(str(uuid.uuid4())))]}
    response = await client.post("/sync/push", json=body, headers=one.headers)
    assert response.status_code == 403 and "device_id" in response.json()["detail"]


async def test_oversized_batches_and_bodies_are_refused_clearly(server, client, world):
    world.user("rep1")
    device = await sign_in(client, "rep1")
    too_many = [device.stamp(ack(str(uuid.uuid4()))) for _ in range(MAX_BATCH + 1)]
    response = await device.raw_push(too_many)
    assert response.status_code == 422
    assert (
        "mutations" in response.json()["message"] and str(MAX_BATCH) in response.json()["message"]
    )
    huge = {
        "device_id": device.device_id,
        "mutations": [],
        "pad": "x" * (server.settings.max_body_bytes + 1),
    }
    response = await client.post("/sync/push", json=huge, headers=device.headers)
    assert response.status_code == 413 and "fewer mutations" in response.json()["detail"]
    # The same sent in chunks, with no declared length: 413 too, not the app's 400.
    raw = json.dumps(huge).encode()

    async def chunks():
        for start in range(0, len(raw), 64 * 1024):
            yield raw[start : start + 64 * 1024]

    chunked = await client.post("/sync/push", content=chunks(), headers=device.headers)
    assert chunked.status_code == 413 and "fewer mutations" in chunked.json()["detail"]


async def test_mutation_ids_must_increase_within_a_batch(client, world):
    world.user("rep1")
    device = await sign_in(client, "rep1")
    batch = [device.stamp(ack(str(uuid.uuid4()))), device.stamp(ack(str(uuid.uuid4())))]
    batch.reverse()
    response = await device.raw_push(batch)
    assert (
        response.status_code == 422 and "mutation ids must increase" in response.json()["message"]
    )


async def test_a_push_checks_its_token_in_its_own_transaction_and_applies_nothing_if_refused(
    server, client, world
):
    """The push route checks the device token inside the push's transaction (one round trip
    with its BEGIN): an unknown or revoked token, or a disabled user, is still a 401 and nothing
    of the batch is applied."""
    world.user("rep1")
    world.user("boss", role="supervisor")
    account = world.account("rep1")
    world.product("A", 10)
    device = await sign_in(client, "rep1")
    batch = [device.stamp(place_order(account, ("A", 2)))]
    body = {"device_id": device.device_id, "mutations": batch}
    unknown = await client.post(
        "/sync/push", json=body, headers={**device.headers, "Authorization": "Bearer nonsense"}
    )
    assert unknown.status_code == 401 and "sign in" in unknown.json()["detail"]
    with server.db.write() as s:
        s.exec(text("UPDATE app_user SET active = false WHERE username = 'rep1'"))
    disabled = await device.raw_push(batch)
    assert disabled.status_code == 401 and "disabled" in disabled.json()["detail"]
    with server.db.write() as s:
        s.exec(text("UPDATE app_user SET active = true WHERE username = 'rep1'"))
    boss = await sign_in(client, "boss")
    assert (await boss.post(f"/auth/devices/{device.device_id}/revoke")).status_code == 200
    revoked = await device.raw_push(batch)
    assert revoked.status_code == 401 and "revoked" in revoked.json()["detail"]
    assert world.stock("A").reserved == 0
    with server.db.session() as s:
        assert s.exec(select(Order)).all() == []
    # A supervisor's revoke holds until they restore the device (issue 15 item 4).
    assert (await boss.post(f"/supervisor/devices/{device.device_id}/restore")).status_code == 200
    again = await sign_in(client, "rep1", device_id=device.device_id)
    again.next_id = 1
    answer = await again.push(again.stamp(place_order(account, ("A", 2))))
    assert answer["last_applied"] == 1 and world.stock("A").reserved == 2


async def test_checking_a_token_leaves_the_pooled_connection_as_it_was(server, client, world):
    """Other routes check the token on a pooled connection of their own, on PostgreSQL in
    autocommit (no BEGIN, no ROLLBACK: a ROLLBACK makes psycopg forget its prepared
    statements): the connection must go back to the pool in its usual transaction mode."""
    world.user("rep1")
    device = await sign_in(client, "rep1")
    for _ in range(3):
        assert (await device.get("/auth/me")).status_code == 200
    with server.db.engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        if server.db.is_postgres:
            assert raw.autocommit is False
        else:
            assert raw.isolation_level is None  # BEGIN is ours (see sync/server/db.py)


async def test_a_client_time_with_no_utc_equivalent_is_bad_input_not_a_dead_letter(
    server, client, world
):
    world.user("rep1")
    account = world.account("rep1")
    world.product("A", 10)
    device = await sign_in(client, "rep1")
    late = "9999-12-31T23:59:59-23:59"  # past the last day once in UTC
    answer = await device.raw_push([{**place_order(account, ("A", 1)), "mutation_id": 1,
                                     "client_time": late}])  # fmt: skip
    assert answer.status_code == 422, answer.text
    assert "client_time" in answer.json()["message"] and "UTC" in answer.json()["message"]
    with server.db.session() as s:
        assert s.exec(select(DeadLetter)).all() == []
    assert world.stock("A").reserved == 0
