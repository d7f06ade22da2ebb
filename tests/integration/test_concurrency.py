"""Real concurrency: many devices committing against a few scarce items at once must never
oversell; and a change that commits late must never be skipped by a pulling device."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import func
from sqlalchemy.exc import OperationalError
from sqlmodel import select

from sync.server import db as db_module
from sync.server.context import Principal
from sync.server.db import Database, make_engine
from sync.server.migrate import upgrade
from sync.server.models import ConflictRecord, OrderLine, Stock
from sync.server.services import feed
from sync.server.services.changes import append_changes
from tests.integration.conftest import days, pg_schema_url, place_order, sign_in

SUPERVISOR = Principal(user_id=0, username="t", full_name="t", role="supervisor", device_id=None)


def check_no_oversell(db: Database) -> int:
    """Every stock row: 0 <= reserved <= on_hand, and reserved is exactly what lines hold."""
    with db.session() as s:
        held: dict[tuple[str, int], int] = {}
        query = select(
            OrderLine.sku, OrderLine.warehouse_id, func.sum(OrderLine.allocated - OrderLine.shipped)
        ).group_by(OrderLine.sku, OrderLine.warehouse_id)
        for sku, warehouse_id, units in s.exec(query):
            held[(sku, warehouse_id)] = units or 0
        rows = s.exec(select(Stock)).all()
    for row in rows:
        assert 0 <= row.reserved <= row.on_hand, row
        assert row.reserved == held.get((row.sku, row.warehouse_id), 0), row
    return sum(r.reserved for r in rows)


async def test_concurrent_devices_never_oversell_scarce_items(server, world):
    world.user("boss", role="supervisor")
    hot = [world.product(f"H{i}", 7) for i in range(3)]
    for sku in hot:
        world.receipt(sku, 5, days(10))
    devices = []
    async with server.client() as client:
        for n in range(8):
            world.user(f"rep{n}")
            account = world.account(f"rep{n}")
            devices.append((await sign_in(client, f"rep{n}"), account))

        async def run(device, account, n):
            results = []
            for k in range(4):
                lines = [(hot[(n + k) % 3], 2), (hot[(n + k + 1) % 3], 1)]
                answer = await device.push(place_order(account, *lines))
                results += answer["results"]
            return results

        answers = await asyncio.gather(*(run(d, a, n) for n, (d, a) in enumerate(devices)))
    results = [r for batch in answers for r in batch]
    assert len(results) == 32 and all(r["status"] == "applied" for r in results)
    reserved = check_no_oversell(server.db)
    assert reserved == 3 * 7  # every unit on hand went to someone, and no more
    with server.db.session() as s:
        waiting = s.exec(select(func.sum(OrderLine.waiting))).one()
    assert reserved + waiting == 32 * 3  # the rest waits in the queue


async def test_a_cancel_racing_a_decision_never_undoes_an_approval(server, world):
    """A rep's cancel (based on version 1) and a supervisor's approval (of version 1) of the same
    order, at once: either the approval comes first and the cancel loses (logged as a conflict),
    or the cancel comes first and the approval is refused. Never both applied."""
    world.user("rep1")
    world.user("boss", role="supervisor")
    account = world.account("rep1")
    world.product("A", 1000)
    async with server.client() as client:
        boss = await sign_in(client, "boss")
        placed = []
        for _ in range(20):  # a device each: their pushes run side by side
            device = await sign_in(client, "rep1")
            placed.append((device, (await device.order(account, ("A", 2)))["order_id"]))

        async def cancel(device, order_id):
            answer = await device.push(
                {"name": "cancel_order", "order_id": order_id, "base_version": 1}
            )
            return answer["results"][0]

        async def approve(order_id):
            return await boss.post(
                f"/supervisor/orders/{order_id}/decision", {"action": "approve", "version": 1}
            )

        races = [asyncio.gather(cancel(d, o), approve(o)) for d, o in placed]
        outcomes = await asyncio.gather(*races)
        conflicts = 0
        for (_device, order_id), (cancelled, approved) in zip(placed, outcomes, strict=True):
            status = (await boss.get(f"/supervisor/orders/{order_id}")).json()["order"]["status"]
            if approved.status_code == 200:  # the decision came first: the cancel lost
                assert status == "approved" and cancelled["outcome"] == "rejected", order_id
                conflicts += 1
            else:  # the cancel came first: the decision was refused on the fresh state
                assert approved.status_code == 409, approved.text
                assert status == "cancelled" and cancelled["outcome"] == "accepted", order_id
    with server.db.session() as s:
        logged = s.exec(select(func.count()).select_from(ConflictRecord)).one()
    assert logged == conflicts
    check_no_oversell(server.db)


def _push_orders(url: str, device_id: str, user_id: int, account: int, skus: list, n: int) -> int:
    """A child process: push `n` orders, one push each, through the real push path."""
    import uuid as uuid_

    from sync import protocol as p
    from sync.server.clock import SystemClock
    from sync.server.services.push import Pusher
    from sync.server.settings import Settings

    db = Database(make_engine(url))
    who = Principal(user_id, "rep", "Rep", "rep", uuid_.UUID(device_id))
    pusher = Pusher(db, SystemClock(), Settings(database_url=url, seed_on_start=False))
    applied = 0
    for k in range(n):
        lines = [{"sku": skus[(k + i) % len(skus)], "quantity": 1 + (k + i) % 3} for i in range(2)]
        body = p.PushRequest.model_validate(
            {
                "device_id": device_id,
                "mutations": [
                    {
                        **place_order(account, *[(x["sku"], x["quantity"]) for x in lines]),
                        "mutation_id": k + 1,
                        "client_time": datetime.now(UTC).isoformat(),
                    }
                ],
            }
        )
        applied += sum(r.status == "applied" for r in pusher.push(who, body).results)
    db.dispose()
    return applied


async def test_two_processes_never_oversell(server, world, client):
    import multiprocessing

    world.user("rep1")
    account = world.account("rep1")
    hot = [world.product(f"H{i}", 9) for i in range(3)]
    devices = [await sign_in(client, "rep1") for _ in range(2)]
    context = multiprocessing.get_context("spawn")
    url = str(server.db.engine.url.render_as_string(hide_password=False))
    with context.Pool(2) as pool:
        runs = [
            pool.apply_async(_push_orders, (url, d.device_id, d.user_id, account, hot, 15))
            for d in devices
        ]
        applied = [r.get(timeout=120) for r in runs]
    assert applied == [15, 15]
    assert check_no_oversell(server.db) == 3 * 9


def _change(key: str) -> dict:
    return {
        "entity": "product",
        "key": key,
        "op": "delete",
        "rep_id": None,
        "data": None,
        "created_at": datetime.now(UTC),
    }


def race(db: Database, *, guard: bool) -> set[str]:
    """Transaction A numbers a change and stays open; B tries to number one and commit (blocked
    until A commits when guarded, asserted); a device pulls; then A commits and the device pulls
    again from its cursor. Returns the keys it saw. PostgreSQL only."""
    a_written, a_may_commit, b_done = threading.Event(), threading.Event(), threading.Event()

    def writer_a() -> None:
        with db.write() as s:
            append_changes(s, [_change("a")], is_postgres=db.is_postgres, guard=guard)
            a_written.set()
            a_may_commit.wait(10)

    def writer_b() -> None:
        with db.write() as s:
            append_changes(s, [_change("b")], is_postgres=db.is_postgres, guard=guard)
        b_done.set()

    seen: set[str] = set()
    first = threading.Thread(target=writer_a)
    first.start()
    assert a_written.wait(10)
    second = threading.Thread(target=writer_b)
    second.start()
    try:
        if guard:
            # The guard holds B's numbering until A commits: B must still be waiting.
            assert not b_done.wait(0.5), "B committed while A was open: the guard did not hold it"
        else:
            # Without it, B numbers its change after A's and commits while A is still open.
            assert b_done.wait(10), "B did not commit while A was open"
            assert first.is_alive()
        with db.session() as s:
            page = feed.pull(s, SUPERVISOR, 0, 100)
        seen |= {c["key"] for c in page["changes"]}
    finally:
        a_may_commit.set()
    assert b_done.wait(10), "B did not commit after A did"
    first.join(10)
    second.join(10)
    with db.session() as s:
        page = feed.pull(s, SUPERVISOR, page["cursor"], 100)
    seen |= {c["key"] for c in page["changes"]}
    return seen


@pytest.fixture
def fresh_db(pg_schema: str):
    """PostgreSQL only: the guard is a PostgreSQL advisory lock (off on SQLite, where writers
    serialise anyway, so the race cannot happen there and a SQLite variant could not fail)."""
    db = Database(make_engine(pg_schema_url(pg_schema)))
    upgrade(db.engine)
    yield db
    db.dispose()


@pytest.mark.postgres
def test_a_late_commit_is_never_skipped_by_the_cursor(fresh_db):
    assert race(fresh_db, guard=True) == {"a", "b"}


@pytest.mark.postgres
def test_without_the_guard_a_plain_sequence_skips_a_late_commit(pg_schema):
    """The failure the guard prevents, shown on real PostgreSQL: B's seq (higher) commits first,
    the device's cursor passes A's seq, and A's change is never pulled."""
    db = Database(make_engine(pg_schema_url(pg_schema)))
    upgrade(db.engine)
    try:
        assert race(db, guard=False) == {"b"}
    finally:
        db.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("idle_before_ping", [0.0, 3600.0])
def test_a_connection_dropped_while_idle_in_the_pool_is_replaced(
    pg_schema, monkeypatch, idle_before_ping
):
    """Connections are pinged before use only after being idle (not at every checkout, which
    would cost every request a round trip): one the database dropped meanwhile is replaced.
    Without the ping (a connection idle for less than IDLE_BEFORE_PING) the next use fails."""
    monkeypatch.setattr(db_module, "IDLE_BEFORE_PING", idle_before_ping)
    db = Database(make_engine(pg_schema_url(pg_schema), pool_size=1))
    try:
        with db.session() as s:
            backend = s.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar()
        killer = make_engine(pg_schema_url(pg_schema))
        with killer.begin() as other:  # as a restarting database would
            other.exec_driver_sql(f"SELECT pg_terminate_backend({backend})")
        killer.dispose()
        if idle_before_ping:
            with pytest.raises(OperationalError), db.session() as s:
                s.connection().exec_driver_sql("SELECT 1")
        else:
            with db.session() as s:
                assert s.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar() != backend
    finally:
        db.dispose()
