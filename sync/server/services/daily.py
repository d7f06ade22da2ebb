"""A new business day. Dates promised at a confidence move with time even when nothing happens:
an overdue receipt is a day later still (its tail is re-read, app.domain.slip), nothing ships
before today, and a shipment that did not leave yesterday leaves today at the earliest. So
once a day every waiting line is re-dated and every order whose plan lies in the past is
re-planned; each customer date that moves is told (planning.tell), none moves silently."""

from __future__ import annotations

import uuid
from collections import defaultdict

from sqlalchemy import select

from sync import protocol as p
from sync.server.context import Tx
from sync.server.models import Order, OrderLine, ScheduledReceipt, Shipment
from sync.server.services.planning import CLOSED, replan_orders
from sync.server.services.stockbook import load_books, redate

_L = OrderLine.__table__.c  # type: ignore[attr-defined]
_O = Order.__table__.c  # type: ignore[attr-defined]
_R = ScheduledReceipt.__table__.c  # type: ignore[attr-defined]
_S = Shipment.__table__.c  # type: ignore[attr-defined]


def new_day(tx: Tx) -> p.NewDayResult:
    overdue = tx.session.execute(
        select(_R.id).where(_R.status == "scheduled", _R.expected < tx.today)
    ).all()
    cause = "a new day" + (f": {len(overdue)} receipt(s) overdue" if overdue else "")
    items: dict[int, set[str]] = defaultdict(set)
    waiting = select(_L.warehouse_id, _L.sku).where(_L.waiting > 0).distinct()
    for warehouse_id, sku in tx.session.execute(waiting):
        items[warehouse_id].add(sku)
    moved: set[uuid.UUID] = set()
    for warehouse_id in sorted(items):
        books = load_books(tx, warehouse_id, items[warehouse_id])
        for sku in sorted(books):
            book = books[sku]
            now = book.snapshot(tx.policy)
            moved |= redate(tx, book, now, now, cause)[1]
    stale = select(_S.order_id).where(
        _S.status.in_(("planned", "ready")), _S.planned_date < tx.today
    )
    late = {
        order_id
        for (order_id,) in tx.session.execute(
            select(_O.id).where(_O.id.in_(stale.distinct()), _O.status.not_in(CLOSED))
        )
    }
    tx.cause = cause
    replan_orders(tx, moved | late)
    return p.NewDayResult(
        today=tx.today,
        items=sum(len(skus) for skus in items.values()),
        orders_replanned=len(moved | late),
        overdue_receipts=len(overdue),
    )
