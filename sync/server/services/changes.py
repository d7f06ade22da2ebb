"""The change log, write side: entities a transaction touched become change rows at its end.

Cursor safety. Devices pull "changes after seq N". A plain sequence is not enough on PostgreSQL:
transaction A takes seq 10, B takes 11 and commits first, a pull returns 11 and the device's
cursor passes 10 before A commits. So on PostgreSQL every writer takes one transaction-scoped
advisory lock right before it numbers its change rows and holds it to commit: numbers are then
handed out in commit order, and once seq N is visible every seq below it is too. (SQLite writers
are serialised by BEGIN IMMEDIATE, which gives the same guarantee.) The lock is taken last, after
every row lock, so it cannot take part in a deadlock, and held only for the insert and the commit,
which go to the database together (see `publish`, and the end of a push).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, text
from sqlmodel import Session, select

from sync.server.context import Tx
from sync.server.fastsql import Fast, commit, pipeline
from sync.server.models import (
    Account,
    ChangeRow,
    ConflictRecord,
    EtaChangeEvent,
    Order,
    OrderLine,
    Product,
    ScheduledReceipt,
    Stock,
    Supplier,
    Warehouse,
)
from sync.server.services import publish as pub

CHANGE_LOCK_KEY = 0x46534348  # any constant shared by all writers ("FSCH")
_ADVISORY_LOCK = Fast(text("SELECT pg_advisory_xact_lock(:key)"))
_INSERT_CHANGES = Fast(insert(ChangeRow.__table__))  # type: ignore[attr-defined]


def append_changes(
    session: Session, rows: Sequence[dict[str, Any]], *, is_postgres: bool, guard: bool = True
) -> None:
    """Insert change rows (entity, key, op, rep_id, warehouse_id, data, created_at).
    `guard=False` is only for the test that shows what goes wrong without the lock."""
    if not rows:
        return
    conn = session.connection()
    if is_postgres and guard:
        _ADVISORY_LOCK.run(conn, {"key": CHANGE_LOCK_KEY})
    _INSERT_CHANGES.run(conn, list(rows))


def publish(tx: Tx) -> int:
    """Write one change row per entity the transaction touched (its state now, or a tombstone)
    and commit: the transaction's last step. The change-log lock, the rows and the COMMIT go to
    PostgreSQL in one round trip (fastsql.pipeline): the lock is held while the database
    finishes, never while a Python thread waits for its turn."""
    rows = prepare(tx)  # (reads with the ORM, which cannot run inside a pipeline)
    conn = tx.core()
    with pipeline(conn):
        append_changes(tx.session, rows, is_postgres=tx.is_postgres)
        commit(conn)
    return len(rows)


def prepare(tx: Tx) -> list[dict[str, Any]]:
    """The change rows of what the transaction touched, read now (and forgotten by the tx)."""
    tx.session.flush()
    rows = []
    for (entity, key), (rep_id, record) in tx.prepared.items():
        if (entity, key) in tx.touched:  # a touched entity is read back: it may have moved
            continue
        data = _dump(record)
        rows.append(
            {
                "entity": entity,
                "key": key,
                "op": "upsert",
                "rep_id": rep_id,
                "warehouse_id": _warehouse(tx.session, entity, key, data),
                "data": data,
                "created_at": tx.now,
            }
        )
    rows += [_row(tx, entity, key) for entity, key in tx.touched]
    tx.touched.clear()
    tx.prepared.clear()
    return rows


def _row(tx: Tx, entity: str, key: str) -> dict[str, Any]:
    data, rep_id = _state(tx.session, entity, key)
    return {
        "entity": entity,
        "key": key,
        "op": "upsert" if data is not None else "delete",
        "rep_id": rep_id,
        "warehouse_id": _warehouse(tx.session, entity, key, data),
        "data": data,
        "created_at": tx.now,
    }


_IN_A_WAREHOUSE = frozenset({"stock", "receipt", "queue_entry"})


def _warehouse(session: Session, entity: str, key: str, data: dict[str, Any] | None) -> int | None:
    """The warehouse a stock, receipt or queue row (or its tombstone) belongs to; None for
    entities scoped otherwise, or a tombstone whose warehouse is gone with it (it carries
    nothing but a key)."""
    if entity not in _IN_A_WAREHOUSE:
        return None
    if data is not None:
        return int(data["warehouse_id"])
    if entity == "stock":
        return pub.stock_key_parts(key)[1]
    if entity == "queue_entry":
        line = session.get(OrderLine, int(key))
        return line.warehouse_id if line is not None else None
    return None


def _state(session: Session, entity: str, key: str) -> tuple[dict[str, Any] | None, int | None]:
    """The entity's public record (None if it is gone) and whose it is (None: everyone's)."""
    match entity:
        case "product":
            row = session.get(Product, key)
            return (_dump(pub.product(row)) if row else None), None
        case "warehouse":
            row = session.get(Warehouse, int(key))
            return (_dump(pub.warehouse(row)) if row else None), None
        case "supplier":
            row = session.get(Supplier, int(key))
            return (_dump(pub.supplier(row)) if row else None), None
        case "supplier_history":
            return _dump(pub.supplier_history(session, int(key))), None
        case "stock":
            row = session.get(Stock, pub.stock_key_parts(key))
            return (_dump(pub.stock(row)) if row else None), None
        case "receipt":
            row = session.get(ScheduledReceipt, int(key))
            return (_dump(pub.receipt(row)) if row else None), None
        case "account":
            row = session.get(Account, int(key))
            return (_dump(pub.account(row)) if row else None), (row.rep_id if row else None)
        case "order":
            row = session.get(Order, uuid.UUID(key))
            if row is None:
                return None, None
            return _dump(pub.orders(session, [row])[0]), row.rep_id
        case "queue_entry":
            line = session.get(OrderLine, int(key))
            if line is None or line.waiting <= 0:
                return None, None
            head = session.get(Order, line.order_id)
            return _dump(pub.queue_entry(line, head)), None
        case "eta_change":
            row = session.get(EtaChangeEvent, int(key))
            if row is None:
                return None, None
            line = session.get(OrderLine, row.line_id)
            return _dump(pub.eta_change(row, line.line_no)), row.rep_id
        case "conflict":
            row = session.get(ConflictRecord, int(key))
            return (_dump(pub.conflict(row)) if row else None), (row.rep_id if row else None)
    raise ValueError(f"unknown change entity {entity!r}")


def _dump(record: Any) -> dict[str, Any]:
    """A public record as JSON data: a pydantic model, or a dict (publish.py's *_data) whose
    dates and UUIDs the JSON column writes as `model_dump(mode="json")` would."""
    return record if isinstance(record, dict) else record.model_dump(mode="json")


def latest_seq(session: Session) -> int:
    return session.exec(select(ChangeRow.seq).order_by(ChangeRow.seq.desc()).limit(1)).first() or 0
