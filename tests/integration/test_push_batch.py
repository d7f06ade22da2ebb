"""A push batch is one transaction with a savepoint per mutation: a failing mutation is still
dead-lettered alone, a fault a retry may cure re-runs the whole batch exactly once, a gap stops
the batch where it is, the change rows of an entity touched by several mutations are merged
into its final state, and two devices pushing batches on the same hot items in opposite orders
neither deadlock nor oversell."""

from __future__ import annotations

import json
import logging
import threading
import uuid
from datetime import UTC, datetime

from sqlalchemy import func, text
from sqlalchemy.exc import OperationalError
from sqlmodel import select

from sync import protocol as p
from sync.server.context import Principal
from sync.server.models import AppliedMutation, ChangeRow, DeadLetter, Device, Order, OrderEvent
from sync.server.services import changes as changes_module
from sync.server.services import push as push_module
from sync.server.services.push import Pusher
from tests.integration.conftest import days, place_order, sign_in
from tests.integration.test_concurrency import check_no_oversell


async def test_a_dead_letter_in_the_middle_keeps_the_mutations_around_it(server, client, world):
    world.user("rep1")
    account = world.account("rep1")
    world.product("A", 10)
    world.product("BROKEN", 10)
    with server.db.write() as s:  # a corrupt catalog row makes the commit raise on the server
        s.execute(text("UPDATE product SET alternatives = '12' WHERE sku = 'BROKEN'"))
    device = await sign_in(client, "rep1")
    answer = await device.push(
        place_order(account, ("A", 1)),
        place_order(account, ("A", 2), ("BROKEN", 1)),
        place_order(account, ("A", 3)),
    )
    assert [r["status"] for r in answer["results"]] == ["applied", "dead_lettered", "applied"]
    assert answer["last_applied"] == 3
    assert world.stock("A").reserved == 4 and world.stock("BROKEN").reserved == 0
    with server.db.session() as s:
        assert s.exec(select(func.count()).select_from(Order)).one() == 2
        assert [d.mutation_id for d in s.exec(select(DeadLetter))] == [2]
        recorded = s.exec(select(AppliedMutation).order_by(AppliedMutation.mutation_id)).all()
        assert [(r.mutation_id, r.result["status"]) for r in recorded] == [
            (1, "applied"),
            (2, "dead_lettered"),
            (3, "applied"),
        ]
        assert s.get(Device, uuid.UUID(device.device_id)).last_mutation_id == 3


async def test_a_fault_a_retry_cures_reruns_the_whole_batch_once(
    server, client, world, monkeypatch
):
    world.user("rep1")
    account = world.account("rep1")
    world.product("A", 10)
    device = await sign_in(client, "rep1")
    real = push_module.HANDLERS["place_order"]
    calls = []

    def flaky(tx, who, m):
        calls.append(m.mutation_id)
        if len(calls) == 2:  # the second mutation of the first attempt: "database is locked"
            raise OperationalError("INSERT ...", {}, Exception("database is locked"))
        return real(tx, who, m)

    monkeypatch.setitem(push_module.HANDLERS, "place_order", flaky)
    answer = await device.push(*(place_order(account, ("A", n)) for n in (1, 2, 3)))
    assert calls == [1, 2, 1, 2, 3]  # the batch ran again from its first mutation
    assert [r["status"] for r in answer["results"]] == ["applied"] * 3
    assert world.stock("A").reserved == 6  # once each
    with server.db.session() as s:
        assert s.exec(select(func.count()).select_from(Order)).one() == 3
        assert s.exec(select(func.count()).select_from(AppliedMutation)).one() == 3


async def test_a_gap_inside_a_batch_stops_it_there(server, client, world):
    world.user("rep1")
    account = world.account("rep1")
    world.product("A", 10)
    device = await sign_in(client, "rep1")
    batch = [device.stamp(place_order(account, ("A", 1))) for _ in range(2)]
    device.next_id += 1  # mutation 3 is missing
    batch.append(device.stamp(place_order(account, ("A", 1))))
    response = await device.raw_push(batch)
    assert response.status_code == 200
    answer = response.json()
    assert answer["last_applied"] == 2 and len(answer["results"]) == 2
    assert world.stock("A").reserved == 2


async def test_change_rows_of_one_batch_hold_each_entitys_final_state(server, client, world):
    world.user("rep1")
    account = world.account("rep1")
    world.product("A", 10)
    device = await sign_in(client, "rep1")
    with server.db.session() as s:
        before = s.exec(select(func.max(ChangeRow.seq))).one() or 0
    await device.push(*(place_order(account, ("A", 2)) for _ in range(3)))
    with server.db.session() as s:
        rows = s.exec(select(ChangeRow).where(ChangeRow.seq > before)).all()
    stock = [r for r in rows if r.entity == "stock"]
    assert len(stock) == 1 and stock[0].data["reserved"] == 6
    assert len([r for r in rows if r.entity == "order"]) == 3
    assert rows[0].entity == "stock"  # at the place of its first change


def _batches(device_id: str, account: int, skus: list[str], start: int, n: int) -> list:
    """Batches of 10 orders, each order on ONE item, the items taken in the order given: a
    batch that committed order by order would lock them in that order."""
    batch = []
    for k in range(n):
        lines = [(skus[k % len(skus)], 1 + (k % 2))]
        batch.append(
            {
                **place_order(account, *lines),
                "mutation_id": start + k,
                "client_time": datetime.now(UTC).isoformat(),
            }
        )
    return [
        p.PushRequest.model_validate({"device_id": device_id, "mutations": batch[i : i + 10]})
        for i in range(0, n, 10)
    ]


async def test_batches_on_hot_items_in_opposite_orders_neither_deadlock_nor_oversell(
    server, client, world, caplog
):
    world.user("rep1")
    world.user("rep2")
    one, two = world.account("rep1"), world.account("rep2")
    hot = [world.product(f"H{i}", 20) for i in range(4)]  # 22-23 units wanted of each
    devices = [await sign_in(client, "rep1"), await sign_in(client, "rep2")]
    pushers = [Pusher(server.db, server.clock, server.settings) for _ in devices]
    work = [
        (devices[0], one, hot),
        (devices[1], two, list(reversed(hot))),  # lines in the opposite order
    ]
    errors: list[BaseException] = []
    results: list[list] = [[], []]
    together = threading.Barrier(2)

    def run(n: int) -> None:
        device, account, skus = work[n]
        who = Principal(device.user_id, "rep", "Rep", "rep", uuid.UUID(device.device_id))
        try:
            for request in _batches(device.device_id, account, skus, 1, 30):
                together.wait(30)
                results[n] += pushers[n].push(who, request).results
        except BaseException as error:
            errors.append(error)

    caplog.set_level(logging.INFO, logger="sync.server.db")
    threads = [threading.Thread(target=run, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert [len(r) for r in results] == [30, 30]
    assert all(r.status == "applied" for batch in results for r in batch)
    assert "retrying" not in caplog.text  # no deadlock had to be broken
    assert check_no_oversell(server.db) == 4 * 20


async def test_a_database_error_in_the_middle_of_a_batch_is_dead_lettered_alone(
    server, client, world, monkeypatch
):
    """A mutation whose write the database refuses (here: an ORM flush that breaks a foreign
    key) is rolled back to its savepoint; the session stays usable for the next ones."""
    world.user("rep1")
    account = world.account("rep1")
    world.product("A", 10)
    device = await sign_in(client, "rep1")
    real = push_module.HANDLERS["acknowledge"]

    def broken(tx, who, m):
        tx.session.add(
            OrderEvent(order_id=uuid.uuid4(), at=tx.now, actor="x", kind="x", message="x")
        )
        tx.session.flush()  # no such order: the database refuses the row
        return real(tx, who, m)

    monkeypatch.setitem(push_module.HANDLERS, "acknowledge", broken)
    first = place_order(account, ("A", 1))
    answer = await device.push(
        first,
        {"name": "acknowledge", "order_id": first["order_id"]},
        place_order(account, ("A", 2)),
        {"name": "acknowledge", "order_id": first["order_id"]},
        place_order(account, ("A", 3)),
    )
    statuses = [r["status"] for r in answer["results"]]
    assert statuses == ["applied", "dead_lettered", "applied", "dead_lettered", "applied"]
    assert world.stock("A").reserved == 6
    with server.db.session() as s:
        assert [d.mutation_id for d in s.exec(select(DeadLetter))] == [2, 4]
        assert s.exec(select(func.count()).select_from(AppliedMutation)).one() == 5
        assert s.exec(select(func.count()).select_from(OrderEvent)).one() == 3  # committed x3
    # ... and as the first of a batch (it runs without a savepoint: the whole attempt is
    # rolled back and the batch runs again with its dead letter decided)
    again = await device.push(
        {"name": "acknowledge", "order_id": first["order_id"]}, place_order(account, ("A", 1))
    )
    assert [r["status"] for r in again["results"]] == ["dead_lettered", "applied"]
    assert world.stock("A").reserved == 7
    with server.db.session() as s:
        assert [d.mutation_id for d in s.exec(select(DeadLetter))] == [2, 4, 6]


async def test_change_rows_written_by_the_commit_equal_the_records_read_back(server, client, world):
    """The commit writes its change rows from the values it has, as plain dicts: each must be
    what publish.py's pydantic records of the committed rows give (the slow path)."""
    world.user("rep1")
    account = world.account("rep1", delivery_days=(1, 3), policy="capped_split", cap=2)
    world.product("A", 3, price=1999)
    world.product("B", 0)
    world.receipt("B", 4, days(5))
    world.product("OLD", 1, discontinued=True, alternatives=("A",))
    device = await sign_in(client, "rep1")
    promise = {"label": "in_stock", "now": 5, "eta": None}
    await device.push(
        place_order(
            account,
            ("A", 5),
            ("B", 2),
            ("OLD", 3),
            note='ünï "q"',
        )
        | {
            "lines": [
                {"sku": "A", "quantity": 5, "promise": promise},
                {"sku": "B", "quantity": 2},
                {"sku": "OLD", "quantity": 3},
            ]
        },
        place_order(account, ("B", 3)),
    )
    with server.db.session() as s:
        last: dict[tuple[str, str], ChangeRow] = {}
        for row in s.exec(select(ChangeRow).order_by(ChangeRow.seq)):
            last[(row.entity, row.key)] = row
        entities = {entity for entity, _ in last}
        assert {"order", "stock", "queue_entry"} <= entities
        for (entity, key), row in last.items():
            data, rep_id = changes_module._state(s, entity, key)
            assert json.dumps(row.data, sort_keys=True) == json.dumps(data, sort_keys=True), key
            assert row.rep_id == rep_id


async def test_a_batch_with_refusals_runs_at_most_twice(server, client, world, monkeypatch):
    """Optimistic first, without savepoints; at the first failure the batch runs again with
    that outcome decided and a savepoint around every mutation, so later failures cost no
    third run."""
    world.user("rep1")
    account = world.account("rep1")
    held = world.account("rep1", credit_hold=True)
    world.product("A", 10)
    device = await sign_in(client, "rep1")
    real = push_module.HANDLERS["place_order"]
    calls: list[int] = []

    def counted(tx, who, m):
        calls.append(m.mutation_id)
        return real(tx, who, m)

    monkeypatch.setitem(push_module.HANDLERS, "place_order", counted)
    answer = await device.push(
        place_order(account, ("A", 1)),
        place_order(held, ("A", 1)),  # refused: credit hold
        place_order(account, ("A", 2)),
        place_order(held, ("A", 1)),  # refused again
        place_order(account, ("A", 3)),
    )
    assert [r["outcome"] for r in answer["results"]] == [
        "accepted",
        "rejected",
        "accepted",
        "rejected",
        "accepted",
    ]
    assert calls == [1, 2, 1, 3, 4, 5]
    assert world.stock("A").reserved == 6
