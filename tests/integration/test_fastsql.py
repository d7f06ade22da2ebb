"""sync.server.fastsql: the hot statements on the DBAPI cursor store and read exactly what
SQLAlchemy stores and reads (UUIDs, aware datetimes, dates, JSON, booleans, IN lists, literals,
multi-row INSERT ... RETURNING, executemany), on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, date, timedelta

from sqlalchemy import bindparam, func, insert, update
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import select

from sync.server.db import is_retryable
from sync.server.fastsql import Fast, pipeline
from sync.server.fastsql import commit as fast_commit
from sync.server.models import Order, OrderLine, Shipment
from sync.server.services import commit, stockbook
from tests.integration.conftest import START


def order_row(account_id: int, rep_id: int, warehouse_id: int, **extra) -> dict:
    return {
        "id": uuid.uuid4(),
        "account_id": account_id,
        "rep_id": rep_id,
        "device_id": None,
        "warehouse_id": warehouse_id,
        "policy": "ship_as_available",
        "policy_cap": None,
        "note": 'ünïcode "quoted"',
        "client_time": START,
        "status": "open",
        "outcome": "accepted",
        "reason": None,
        "differences": ["a", "b"],
        "version": 1,
        "committed_at": START + timedelta(microseconds=7),
        "total_cents": 1234,
        "tier": 2,
        "has_backorders": True,
        "needs_attention": False,
        "review_note": "",
        "unscheduled": [{"line_no": 1, "sku": "A", "quantity": 2}],
        **extra,
    }


def line_row(order_id: uuid.UUID, line_no: int, sku: str, warehouse_id: int) -> dict:
    return {
        "order_id": order_id, "line_no": line_no, "sku": sku, "warehouse_id": warehouse_id,
        "quantity": 5, "price_cents": 100, "label": "partial", "allocated": 2, "waiting": 3,
        "cancelled": 0, "backordered": 3, "schedule": [["2025-03-10", 3]],
        "eta_date": date(2025, 3, 10), "eta_kind": "confirmed", "first_eta_date": date(2025, 3, 10),
        "promised_label": None, "promised_now": None, "promised_eta": None,
        "promised_eta_kind": None, "alternatives": ["B"], "backordered_at": START,
        "shipped": 0, "filled_at": None, "shipped_at": None,
    }  # fmt: skip


def test_inserts_store_what_sqlalchemy_stores_and_reads_back(server, world):
    world.user("rep1")
    account = world.account("rep1")
    for sku in ("A", "B", "C"):
        world.product(sku, 4)
    wh = world.warehouse_id
    rep = world.users["rep1"]
    fast_order, slow_order = order_row(account, rep, wh), order_row(account, rep, wh)
    with server.db.write() as s:
        conn = s.connection()
        commit._INSERT_ORDER_F.run(conn, fast_order)
        conn.execute(commit._INSERT_ORDER, slow_order)
        fast_ids = commit._INSERT_LINES_F.run(
            conn, [line_row(fast_order["id"], n, sku, wh) for n, sku in ((1, "A"), (2, "B"))]
        )
        slow_ids = conn.execute(
            commit._INSERT_LINES,
            [line_row(slow_order["id"], n, sku, wh) for n, sku in ((1, "A"), (2, "B"))],
        ).all()
        assert sorted(n for n, _ in fast_ids) == [1, 2] and len(slow_ids) == 2
        made = commit._INSERT_SHIPMENTS_F.run(
            conn,
            [
                {
                    "order_id": fast_order["id"],
                    "status": st,
                    "planned_date": d,
                    "lines": [{"line_no": 1, "sku": "A", "quantity": 1}],
                    "created_at": START,
                }
                for st, d in (("ready", date(2025, 3, 3)), ("planned", date(2025, 3, 10)))
            ],
        )
        assert {(st, d) for _id, st, d in made} == {
            ("ready", date(2025, 3, 3)),
            ("planned", date(2025, 3, 10)),
        }
        assert all(isinstance(i, int) for i, _, _ in made)
    with server.db.session() as s:
        fast, slow = s.get(Order, fast_order["id"]), s.get(Order, slow_order["id"])
        skip = {"id"}
        assert {k: v for k, v in fast.model_dump().items() if k not in skip} == {
            k: v for k, v in slow.model_dump().items() if k not in skip
        }
        assert fast.committed_at == START + timedelta(microseconds=7)
        assert fast.committed_at.tzinfo is not None and fast.differences == ["a", "b"]
        lines = {
            (li.order_id, li.line_no): li.model_dump(exclude={"id", "order_id"})
            for li in s.exec(select(OrderLine))
        }
        for n in (1, 2):
            assert lines[(fast_order["id"], n)] == lines[(slow_order["id"], n)]
        shipments = s.exec(select(Shipment).where(Shipment.order_id == fast_order["id"])).all()
        assert {x.planned_date for x in shipments} == {date(2025, 3, 3), date(2025, 3, 10)}
        # ...and a Core read through Fast gives the same values as through SQLAlchemy
        read = sa_select(Order.__table__).where(Order.__table__.c.id == bindparam("id"))
        fast_row = Fast(read).first(s.connection(), {"id": fast_order["id"]})
        slow_row = s.connection().execute(read, {"id": fast_order["id"]}).first()
        assert tuple(fast_row) == tuple(slow_row)
        assert fast_row._asdict() == dict(slow_row._mapping)


def test_selects_updates_in_lists_and_literals(server, world):
    world.user("rep1")
    account = world.account("rep1")
    for sku in ("A", "B", "C"):
        world.product(sku, 9)
    world.receipt("A", 5, date(2025, 3, 9))
    world.receipt("B", 6, date(2025, 3, 12), kind="estimated")
    wh = world.warehouse_id
    with server.db.write() as s:
        conn = s.connection()
        statement = stockbook._LOCK_ROWS_PG_F if server.db.is_postgres else stockbook._LOCK_ROWS_F
        rows = statement.run(conn, {"wh": wh, "skus": ["C", "A", "Z"]})
        assert [tuple(r) for r in rows] == [("A", wh, 9, 0), ("C", wh, 9, 0)]
        commit._RESERVE_F.run(
            conn,
            [
                {"b_sku": "A", "b_wh": wh, "b_reserved": 2},
                {"b_sku": "B", "b_wh": wh, "b_reserved": 3},
            ],
        )
        update_one = Fast(
            update(stockbook.Stock.__table__)
            .where(stockbook._SC.sku == bindparam("b_sku"))
            .values(on_hand=bindparam("b_on_hand"))
        )
        update_one.run(conn, {"b_sku": "C", "b_on_hand": 11})
    with server.db.session() as s:
        conn = s.connection()
        params = {"wh": wh, "skus": ["A", "B", "C"]}
        fast = stockbook._RECEIPTS_F.run(conn, params)  # holds the literal status = 'scheduled'
        slow = conn.execute(stockbook._RECEIPTS, params).all()
        assert sorted(map(tuple, fast)) == sorted(map(tuple, slow)) and len(fast) == 2
        assert {type(r.expected) for r in fast} == {date}
        stock = {r.sku: (r.on_hand, r.reserved) for r in stockbook._LOCK_ROWS_F.run(conn, params)}
        assert stock == {"A": (9, 2), "B": (9, 3), "C": (11, 0)}
        account_row = commit._ACCOUNT_F.first(
            conn, {"order_id": uuid.uuid4(), "account_id": account}
        )
        slow_account = conn.execute(
            commit._ACCOUNT, {"order_id": uuid.uuid4(), "account_id": account}
        ).first()
        assert tuple(account_row) == tuple(slow_account)
        assert account_row.seen is False and account_row.credit_hold is False
        products = commit._PRODUCTS_F.run(conn, {"skus": ["A", "B"]})
        assert {(p.sku, p.discontinued, tuple(p.alternatives)) for p in products} == {
            ("A", False, ()),
            ("B", False, ()),
        }


def test_a_long_multi_row_insert_is_sent_in_chunks(server, world):
    world.user("rep1")
    account = world.account("rep1")
    world.product("A", 1)
    orders = [order_row(account, world.users["rep1"], world.warehouse_id) for _ in range(450)]
    with server.db.write() as s:
        conn = s.connection()
        Fast(insert(Order.__table__)).run(conn, orders)
    with server.db.session() as s:
        found = {o.id: o for o in s.exec(select(Order))}
    assert set(found) == {o["id"] for o in orders}
    assert all(o.committed_at == START + timedelta(microseconds=7) for o in found.values())
    assert all(o.committed_at.tzinfo == UTC for o in found.values())


def test_an_insert_must_name_every_column_it_fills(server, world):
    world.user("rep1")
    account = world.account("rep1")
    row = order_row(account, world.users["rep1"], world.warehouse_id)
    del row["status"]  # has a Python-side default: SQLAlchemy would fill it, Fast refuses
    with server.db.write() as s:
        try:
            commit._INSERT_ORDER_F.run(s.connection(), row)
        except ValueError as error:
            assert "status" in str(error)
        else:
            raise AssertionError("an insert without a defaulted column was accepted")


def test_driver_errors_surface_as_sqlalchemys_so_retries_still_work(server, world):
    """A busy SQLite database or a PostgreSQL deadlock must stay a fault a retry may cure."""
    world.user("rep1")
    account = world.account("rep1")
    row = order_row(account, world.users["rep1"], world.warehouse_id)
    with server.db.write() as s:
        commit._INSERT_ORDER_F.run(s.connection(), row)
    with server.db.write() as s:
        try:
            commit._INSERT_ORDER_F.run(s.connection(), row)  # the same primary key again
        except IntegrityError as error:
            assert not is_retryable(error)
        else:
            raise AssertionError("a duplicate key was accepted")
    if server.db.is_sqlite:  # a real busy database: another connection holds the write lock
        import sqlite3

        other = sqlite3.connect(server.db.engine.url.database, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            with server.db.session() as s:
                conn = s.connection()
                conn.exec_driver_sql("PRAGMA busy_timeout=1")
                try:
                    commit._INSERT_ORDER_F.run(conn, {**row, "id": uuid.uuid4()})
                except OperationalError as error:
                    assert is_retryable(error)
                else:
                    raise AssertionError("wrote past another connection's write lock")
                conn.exec_driver_sql("PRAGMA busy_timeout=30000")
        finally:
            other.execute("ROLLBACK")
            other.close()


def test_a_statement_without_parameters_runs(server, world):
    world.user("rep1")
    world.product("A", 3)
    count = Fast(sa_select(func.count()).select_from(stockbook.Stock.__table__))
    with server.db.session() as s:
        assert count.first(s.connection()) == (1,)


def test_a_pipeline_sends_statements_together_and_reads_rows_after(server, world):
    """In a pipeline block (psycopg's pipeline mode; plain execution on SQLite) each statement
    reads with a snapshot taken when it runs: a select after an insert sees it. The COMMIT sent
    in the block commits: another connection sees the rows before SQLAlchemy's own commit."""
    world.user("rep1")
    account = world.account("rep1")
    world.product("A", 3)
    rep, wh = world.users["rep1"], world.warehouse_id
    orders = [order_row(account, rep, wh) for _ in range(2)]
    read = Fast(
        sa_select(Order.__table__.c.id).where(
            Order.__table__.c.id.in_(bindparam("ids", expanding=True))
        )
    )
    with server.db.write() as s:
        conn = s.connection()
        with pipeline(conn):
            commit._INSERT_ORDER_F.send(conn, orders[0])
            lines = commit._INSERT_LINES_F.send(conn, [line_row(orders[0]["id"], 1, "A", wh)])
            commit._INSERT_ORDER_F.send(conn, orders[1])
            seen = read.send(conn, {"ids": [o["id"] for o in orders]})
            fast_commit(conn)
        assert [n for n, _ in lines.rows()] == [1]
        assert {r.id for r in seen.rows()} == {o["id"] for o in orders}
        if server.db.is_postgres:  # (SQLite's writer lock is still held: no one else can read)
            with server.db.session() as other:
                assert len(other.exec(select(Order)).all()) == 2
    with server.db.session() as s:
        assert len(s.exec(select(Order)).all()) == 2


def test_a_failure_in_a_pipeline_surfaces_as_sqlalchemys_and_undoes_the_transaction(server, world):
    world.user("rep1")
    account = world.account("rep1")
    row = order_row(account, world.users["rep1"], world.warehouse_id)
    try:
        with server.db.write() as s:
            conn = s.connection()
            with pipeline(conn):
                commit._INSERT_ORDER_F.send(conn, row)
                commit._INSERT_ORDER_F.send(conn, row)  # the same primary key again
                fast_commit(conn)
    except IntegrityError as error:
        assert not is_retryable(error)
    else:
        raise AssertionError("a duplicate key was accepted")
    with server.db.session() as s:
        assert s.exec(select(Order)).all() == []


def test_rows_of_a_long_insert_come_back_from_every_chunk_in_a_pipeline(server, world):
    world.user("rep1")
    account = world.account("rep1")
    world.product("A", 1)
    order = order_row(account, world.users["rep1"], world.warehouse_id)
    lines = [line_row(order["id"], n, "A", world.warehouse_id) for n in range(1, 951)]
    with server.db.write() as s:
        conn = s.connection()
        with pipeline(conn):
            commit._INSERT_ORDER_F.send(conn, order)
            sent = commit._INSERT_LINES_F.send(conn, lines)
            again = commit._INSERT_LINES_F.send(conn, [line_row(order["id"], 951, "A", 1)])
    assert sorted(n for n, _ in sent.rows()) == list(range(1, 951))
    assert [n for n, _ in again.rows()] == [951]
