"""One item in one warehouse as the domain sees it: its stock row (locked), its open receipts and
its demand queue. Every operation that changes supply or demand loads the books of the items it
touches, changes rows, then `settle`s: freed units go to the queue (app.domain.allocation) and
every waiting line is re-dated (app.domain.availability), with an ETA-change event for each line
whose promised date moved.

Locks: stock rows are locked first, in (warehouse, sku) order, by every writer that touches
stock, so two writers can never wait on each other's stock rows in a cycle.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select

from app.domain.allocation import (
    AllocationResult,
    EtaChange,
    after_allocation,
    allocate,
    completion_eta,
    eta_changes,
)
from app.domain.availability import DemandQueue, date_queue
from app.domain.model import (
    AllocationPolicy,
    Availability,
    EtaKind,
    PolicyKind,
    QueuedLine,
    Receipt,
    Supply,
    Terms,
)
from sync.server.context import Tx
from sync.server.models import (
    Account,
    AllocationRecord,
    EtaChangeEvent,
    Order,
    OrderEvent,
    OrderLine,
    Product,
    ScheduledReceipt,
    Stock,
    Warehouse,
)
from sync.server.services.publish import stock_key


@dataclass
class Waiting:
    """An open backordered line with what its rank and its date depend on."""

    line: OrderLine
    order: Order
    terms: Terms

    def queued(self) -> QueuedLine:
        return QueuedLine(
            line_id=str(self.line.id),
            order_id=str(self.order.id),
            item=self.line.sku,
            waiting=self.line.waiting,
            committed_at=self.order.committed_at,
            tier=self.order.tier,
            order_value=self.order.total_cents,
            policy=PolicyKind(self.order.policy),
        )


@dataclass
class ItemBook:
    product: Product
    stock: Stock
    receipts: list[ScheduledReceipt]
    waiting: dict[int, Waiting] = field(default_factory=dict)

    @property
    def sku(self) -> str:
        return self.stock.sku

    @property
    def warehouse_id(self) -> int:
        return self.stock.warehouse_id

    def supply(self) -> Supply:
        receipts = tuple(
            Receipt(str(r.id), r.sku, r.quantity - r.received, r.expected, EtaKind(r.kind))
            for r in self.receipts
            if r.status == "scheduled" and r.quantity > r.received
        )
        return Supply(
            item=self.sku,
            free_now=max(self.stock.on_hand - self.stock.reserved, 0),
            receipts=receipts,
            discontinued=self.product.discontinued,
            alternatives=tuple(self.product.alternatives or ()),
        )

    def queue(self, policy: AllocationPolicy) -> DemandQueue:
        lines = (w.queued() for w in self.waiting.values() if w.line.waiting > 0)
        return DemandQueue(self.sku, lines, policy)

    def terms_of(self, line: QueuedLine) -> Terms:
        found = self.waiting.get(int(line.line_id))
        return found.terms if found is not None else Terms()

    def snapshot(self, policy: AllocationPolicy) -> tuple[Supply, DemandQueue]:
        return self.supply(), self.queue(policy)


def terms_for(warehouse: Warehouse, delivery_days: Iterable[int]) -> Terms:
    return Terms(
        handling_days=warehouse.handling_days, delivery_weekdays=frozenset(delivery_days or ())
    )


def _ensure_stock_rows(tx: Tx, warehouse_id: int, skus: list[str]) -> None:
    rows = [{"sku": s, "warehouse_id": warehouse_id, "on_hand": 0, "reserved": 0} for s in skus]
    insert = pg_insert if tx.is_postgres else sqlite_insert
    tx.session.execute(insert(Stock).values(rows).on_conflict_do_nothing())


def lock_stock(tx: Tx, warehouse_id: int, skus: Iterable[str]) -> dict[str, Stock]:
    """Lock the stock rows of these items (creating empty ones), in sku order."""
    wanted = sorted(set(skus))
    query = (
        select(Stock)
        .where(Stock.warehouse_id == warehouse_id, col(Stock.sku).in_(wanted))
        .order_by(Stock.sku)
    )
    if tx.is_postgres:
        query = query.with_for_update()
    query = query.execution_options(populate_existing=True)
    found = {s.sku: s for s in tx.session.exec(query)}
    missing = [s for s in wanted if s not in found]
    if missing:
        _ensure_stock_rows(tx, warehouse_id, missing)
        again = query.where(col(Stock.sku).in_(missing))
        found.update({s.sku: s for s in tx.session.exec(again)})
    return found


def load_books(
    tx: Tx, warehouse_id: int, skus: Iterable[str], *, stock: dict[str, Stock] | None = None
) -> dict[str, ItemBook]:
    """Lock (unless given) and load the books of these items of one warehouse. Unknown skus are
    left out: the caller has checked the catalog."""
    wanted = sorted(set(skus))
    session = tx.session
    products = {p.sku: p for p in session.exec(select(Product).where(col(Product.sku).in_(wanted)))}
    wanted = [s for s in wanted if s in products]
    if stock is None:
        stock = lock_stock(tx, warehouse_id, wanted)
    receipts: dict[str, list[ScheduledReceipt]] = {s: [] for s in wanted}
    query = select(ScheduledReceipt).where(
        ScheduledReceipt.warehouse_id == warehouse_id,
        col(ScheduledReceipt.sku).in_(wanted),
        ScheduledReceipt.status == "scheduled",
    )
    for r in session.exec(query):
        receipts[r.sku].append(r)
    books = {s: ItemBook(products[s], stock[s], receipts[s]) for s in wanted}
    warehouse = session.get(Warehouse, warehouse_id)
    queue = (
        select(OrderLine, Order, Account.delivery_days)
        .join(Order, col(Order.id) == OrderLine.order_id)
        .join(Account, col(Account.id) == Order.account_id)
        .where(
            col(OrderLine.sku).in_(wanted),
            OrderLine.warehouse_id == warehouse_id,
            text("order_line.waiting > 0"),  # literal, so the partial index applies
        )
    )
    for line, order, days in session.exec(queue.execution_options(populate_existing=True)):
        books[line.sku].waiting[line.id] = Waiting(line, order, terms_for(warehouse, days))
    return books


def record_allocations(
    tx: Tx,
    book: ItemBook,
    result: AllocationResult,
    *,
    source: str,
    receipt_id: int | None,
) -> set[uuid.UUID]:
    """Write an allocation result: lines take the units, the stock reserves them."""
    orders: set[uuid.UUID] = set()
    for a in result.allocations:
        entry = book.waiting[int(a.line_id)]
        line = entry.line
        line.allocated += a.quantity
        line.waiting -= a.quantity
        book.stock.reserved += a.quantity
        if line.waiting == 0:
            line.filled_at = tx.now
            line.schedule = []
        tx.session.add(
            AllocationRecord(
                line_id=line.id,
                order_id=line.order_id,
                sku=line.sku,
                warehouse_id=line.warehouse_id,
                receipt_id=receipt_id,
                source=source,
                policy=tx.policy.value,
                quantity=a.quantity,
                created_at=tx.now,
            )
        )
        tx.session.add(
            OrderEvent(
                order_id=line.order_id,
                at=tx.now,
                actor="system",
                kind="allocated",
                message=f"line {line.line_no}: {a.quantity} x {line.sku} allocated ({source})",
            )
        )
        tx.touch("queue_entry", line.id)
        orders.add(line.order_id)
    if result.allocations:
        tx.touch("stock", stock_key(book.sku, book.warehouse_id))
    return orders


def schedule_of(av: Availability) -> list[list[object]]:
    return [[d.isoformat() if d else None, q] for d, q in av.schedule()]


def store_dates(line: OrderLine, av: Availability) -> bool:
    """Keep a waiting line's schedule and completion ETA; True if either moved."""
    schedule = schedule_of(av)
    eta = completion_eta(av)
    eta_date: date | None = eta.date if eta else None
    eta_kind = eta.kind.value if eta else None
    moved = (line.schedule, line.eta_date, line.eta_kind) != (schedule, eta_date, eta_kind)
    line.schedule, line.eta_date, line.eta_kind = schedule, eta_date, eta_kind
    if line.backordered and line.first_eta_date is None and eta_date is not None:
        line.first_eta_date = eta_date
    return moved


@dataclass
class Settled:
    result: AllocationResult
    changes: tuple[EtaChange, ...]
    orders: set[uuid.UUID]  # orders whose lines or dates changed: re-plan them


def settle(
    tx: Tx,
    book: ItemBook,
    before: tuple[Supply, DemandQueue],
    *,
    cause: str,
    source: str,
    receipt_id: int | None = None,
) -> Settled:
    """After an event changed the book: give free units to the queue, re-date every waiting line
    and record an ETA-change event for each line whose date moved since `before`."""
    queue = book.queue(tx.policy)
    free = max(book.stock.on_hand - book.stock.reserved, 0)
    result = allocate(free, queue)
    orders = record_allocations(tx, book, result, source=source, receipt_id=receipt_id)
    changes, moved = redate(
        tx, book, before, (book.supply(), after_allocation(queue, result)), cause
    )
    return Settled(result, changes, orders | moved)


def redate(
    tx: Tx,
    book: ItemBook,
    before: tuple[Supply, DemandQueue],
    after: tuple[Supply, DemandQueue],
    cause: str,
) -> tuple[tuple[EtaChange, ...], set[uuid.UUID]]:
    was = date_queue(before[0], before[1], today=tx.today, terms_of=book.terms_of)
    now = date_queue(after[0], after[1], today=tx.today, terms_of=book.terms_of)
    changes = eta_changes(was, now)
    moved: set[uuid.UUID] = set()
    for line_id, av in now.items():
        line = book.waiting[int(line_id)].line
        if store_dates(line, av):
            moved.add(line.order_id)
    events = []
    for change in changes:
        entry = book.waiting[int(change.line_id)]
        event = EtaChangeEvent(
            line_id=entry.line.id,
            order_id=entry.order.id,
            rep_id=entry.order.rep_id,
            sku=book.sku,
            old_date=change.old.date if change.old else None,
            old_kind=change.old.kind.value if change.old else None,
            new_date=change.new.date if change.new else None,
            new_kind=change.new.kind.value if change.new else None,
            message=change.describe()[:200],
            cause=cause[:200],
            created_at=tx.now,
        )
        tx.session.add(event)
        tx.session.add(
            OrderEvent(
                order_id=entry.order.id,
                at=tx.now,
                actor="system",
                kind="eta",
                message=f"line {entry.line.line_no}: {change.describe()} ({cause})"[:500],
            )
        )
        events.append(event)
    if events:
        tx.session.flush()
        for event in events:
            tx.touch("eta_change", event.id)
    return changes, moved
