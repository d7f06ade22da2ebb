"""The change log, read side: pull pages after a cursor, and full snapshot pages, both scoped to
the caller (their accounts and orders; catalog, stock, receipts and the anonymised queue are
everyone's)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import or_, tuple_
from sqlmodel import Session, col, select

from sync import protocol as p
from sync.server.context import Principal
from sync.server.models import (
    Account,
    ChangeRow,
    Order,
    OrderLine,
    Product,
    ScheduledReceipt,
    Stock,
    Supplier,
    Warehouse,
)
from sync.server.services import publish as pub
from sync.server.services.changes import latest_seq


class BadAfter(ValueError):
    """`after` is not a key of the section asked for."""


class CursorAhead(Exception):
    """The device's cursor is beyond anything this server has: it must resync from a snapshot."""


def pull(session: Session, who: Principal, cursor: int, limit: int) -> dict[str, Any]:
    # Read the high-water mark first: every seq up to it is committed (see changes.py), so
    # everything in (cursor, high] is final and the cursor may move to `high`.
    high = latest_seq(session)
    if cursor > high:
        raise CursorAhead(f"cursor {cursor} is ahead of the server's latest change {high}")
    query = select(ChangeRow).where(ChangeRow.seq > cursor, ChangeRow.seq <= high)
    if not who.is_supervisor:
        query = query.where(or_(col(ChangeRow.rep_id).is_(None), ChangeRow.rep_id == who.user_id))
    rows = session.exec(query.order_by(ChangeRow.seq).limit(limit + 1)).all()
    has_more = len(rows) > limit
    rows = rows[:limit]
    return {
        "changes": [
            {"seq": r.seq, "entity": r.entity, "key": r.key, "op": r.op, "data": r.data}
            for r in rows
        ],
        "cursor": rows[-1].seq if has_more else high,
        "has_more": has_more,
    }


Section = tuple[
    Callable[[Session, Principal, str | None, int], Sequence[Any]],  # fetch a page after a key
    Callable[[Any], str],  # the key of a row
    str,  # change entity
    Callable[[Session, Sequence[Any]], list[Any]],  # rows to public records
]


def _simple(model: Any, key_col: Any, cast: Callable[[str], Any] = str) -> Any:
    def fetch(session: Session, _who: Principal, after: str | None, limit: int) -> Sequence[Any]:
        query = select(model)
        if after is not None:
            query = query.where(key_col > cast(after))
        return session.exec(query.order_by(key_col).limit(limit)).all()

    return fetch


def _stock(session: Session, _who: Principal, after: str | None, limit: int) -> Sequence[Any]:
    query = select(Stock)
    if after is not None:
        sku, warehouse_id = after.rsplit("@", 1)
        query = query.where(tuple_(Stock.sku, Stock.warehouse_id) > tuple_(sku, int(warehouse_id)))
    return session.exec(query.order_by(Stock.sku, Stock.warehouse_id).limit(limit)).all()


def _accounts(session: Session, who: Principal, after: str | None, limit: int) -> Sequence[Any]:
    query = select(Account)
    if not who.is_supervisor:
        query = query.where(Account.rep_id == who.user_id)
    if after is not None:
        query = query.where(Account.id > int(after))
    return session.exec(query.order_by(Account.id).limit(limit)).all()


def _orders(session: Session, who: Principal, after: str | None, limit: int) -> Sequence[Any]:
    query = select(Order)
    if not who.is_supervisor:
        query = query.where(Order.rep_id == who.user_id)
    if after is not None:
        query = query.where(Order.id > uuid.UUID(after))
    return session.exec(query.order_by(Order.id).limit(limit)).all()


def _queue(session: Session, _who: Principal, after: str | None, limit: int) -> Sequence[Any]:
    query = select(OrderLine, Order).join(Order, col(Order.id) == OrderLine.order_id)
    query = query.where(OrderLine.waiting > 0)
    if after is not None:
        query = query.where(OrderLine.id > int(after))
    return session.exec(query.order_by(OrderLine.id).limit(limit)).all()


def _each(convert: Callable[[Any], Any]) -> Callable[[Session, Sequence[Any]], list[Any]]:
    return lambda _session, rows: [convert(r) for r in rows]


SECTIONS: dict[str, Section] = {
    "warehouses": (
        _simple(Warehouse, Warehouse.id, int),
        lambda r: str(r.id),
        "warehouse",
        _each(pub.warehouse),
    ),
    "suppliers": (
        _simple(Supplier, Supplier.id, int),
        lambda r: str(r.id),
        "supplier",
        _each(pub.supplier),
    ),
    "products": (_simple(Product, Product.sku), lambda r: r.sku, "product", _each(pub.product)),
    "stock": (_stock, lambda r: pub.stock_key(r.sku, r.warehouse_id), "stock", _each(pub.stock)),
    "receipts": (
        _simple(ScheduledReceipt, ScheduledReceipt.id, int),
        lambda r: str(r.id),
        "receipt",
        _each(pub.receipt),
    ),
    "accounts": (_accounts, lambda r: str(r.id), "account", _each(pub.account)),
    "orders": (_orders, lambda r: str(r.id), "order", lambda s, rows: pub.orders(s, rows)),
    "queue": (
        _queue,
        lambda r: str(r[0].id),
        "queue_entry",
        _each(lambda r: pub.queue_entry(r[0], r[1])),
    ),
}


def snapshot(
    session: Session, who: Principal, section: str, after: str | None, limit: int
) -> dict[str, Any]:
    cursor = latest_seq(session)  # read first: the snapshot is at least this new
    fetch, key_of, entity, convert = SECTIONS[section]
    try:
        rows = fetch(session, who, after, limit + 1)
    except ValueError:
        raise BadAfter(f"after: {after!r} is not a key of section {section}") from None
    has_more = len(rows) > limit
    rows = rows[:limit]
    records = convert(session, rows)
    return {
        "section": section,
        "records": [
            {
                "seq": 0,
                "entity": entity,
                "key": key_of(row),
                "op": "upsert",
                "data": record.model_dump(mode="json"),
            }
            for row, record in zip(rows, records, strict=True)
        ],
        "after": key_of(rows[-1]) if rows else after,
        "has_more": has_more,
        "cursor": cursor,
    }


def snapshot_sections() -> tuple[str, ...]:
    return p.SNAPSHOT_SECTIONS
