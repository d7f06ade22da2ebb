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
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, func, text
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
from sync.server.fastsql import Fast, pipeline
from sync.server.models import (
    Account,
    AllocationRecord,
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
    """An open backordered line with what its rank and its date depend on, as plain values (the
    ORM row is loaded only when the line itself changes)."""

    line_id: int
    order_id: uuid.UUID
    rep_id: int
    line_no: int
    sku: str
    waiting: int
    committed_at: datetime
    tier: int
    order_value: int
    policy: str
    terms: Terms
    schedule: list[list[object]]
    eta_date: date | None
    eta_kind: str | None
    likely: date | None = None

    @classmethod
    def of(cls, line: OrderLine, order: Order, terms: Terms) -> Waiting:
        return cls(
            line.id, order.id, order.rep_id, line.line_no, line.sku, line.waiting,
            order.committed_at, order.tier, order.total_cents, order.policy, terms,
            list(line.schedule or []), line.eta_date, line.eta_kind, line.likely_date,
        )  # fmt: skip

    def queued(self) -> QueuedLine:
        return QueuedLine(
            line_id=str(self.line_id),
            order_id=str(self.order_id),
            item=self.sku,
            waiting=self.waiting,
            committed_at=self.committed_at,
            tier=self.tier,
            order_value=self.order_value,
            policy=PolicyKind(self.policy),
        )


@dataclass
class ItemBook:
    product: Any  # a Product, or a row with sku, discontinued, alternatives
    stock: Any  # a Stock row (ORM) or a StockRow
    receipts: list[Any]  # ScheduledReceipt rows (ORM or plain)
    waiting: dict[int, Waiting] = field(default_factory=dict)
    # Under FIFO a new order only needs the units waiting ahead of it: all of them. Loaded that
    # way, the queue is one line standing for all waiting units (see load_books).
    totals: QueuedLine | None = None

    @property
    def sku(self) -> str:
        return self.stock.sku

    @property
    def warehouse_id(self) -> int:
        return self.stock.warehouse_id

    def supply(self) -> Supply:
        receipts = tuple(
            Receipt(
                str(r.id),
                r.sku,
                r.quantity - r.received,
                r.expected,
                EtaKind(r.kind),
                supplier=str(r.supplier_id) if r.supplier_id else None,
                moved=bool(r.moved),
                base=r.base if r.base >= r.arrived + r.quantity - r.received else 0,
                arrived=r.arrived if r.base else 0,
            )
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
        if self.totals is not None:
            return DemandQueue(self.sku, [self.totals], policy)
        lines = (w.queued() for w in self.waiting.values() if w.waiting > 0)
        return DemandQueue(self.sku, lines, policy)

    def latest_commit(self) -> datetime | None:
        if self.totals is not None:
            return self.totals.committed_at
        return max((w.committed_at for w in self.waiting.values()), default=None)

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


@dataclass
class StockRow:
    """A stock row read with Core (the commit path does not build ORM objects)."""

    sku: str
    warehouse_id: int
    on_hand: int
    reserved: int


_SC = Stock.__table__.c  # type: ignore[attr-defined]
_RC = ScheduledReceipt.__table__.c  # type: ignore[attr-defined]
_AC = Account.__table__.c  # type: ignore[attr-defined]
_OLC = OrderLine.__table__.c  # type: ignore[attr-defined]
_WAREHOUSE_OF = select(_AC.id, _AC.warehouse_id).where(_AC.id.in_(bindparam("ids", expanding=True)))
_ITEMS_OF = (
    select(_OLC.warehouse_id, _OLC.sku)
    .where(_OLC.order_id.in_(bindparam("ids", expanding=True)))
    .distinct()
)
_LOCK_ALL = (
    select(_SC.sku)
    .where(_SC.warehouse_id == bindparam("wh"), _SC.sku.in_(bindparam("skus", expanding=True)))
    .order_by(_SC.sku)
    .with_for_update()
)


def _ordered(m: Any, accounts: dict[int, list[str]], _orders: list[uuid.UUID]) -> None:
    accounts.setdefault(m.account_id, []).extend(line.sku for line in m.lines)


def _of_the_order(m: Any, _accounts: dict[int, list[str]], orders: list[uuid.UUID]) -> None:
    orders.append(m.order_id)


def _no_stock(_m: Any, _accounts: dict[int, list[str]], _orders: list[uuid.UUID]) -> None:
    pass


# The stock rows each mutation kind touches, to lock up front: a kind missing here fails
# tests/unit/test_mutation_kinds.py (and, in a batch, with a KeyError) rather than deadlock.
STOCK_TOUCHED = {
    "place_order": _ordered,  # the ordered items at the account's warehouse
    "cancel_order": _of_the_order,
    "cancel_line": _of_the_order,
    "update_account_contact": _no_stock,
    "acknowledge": _no_stock,
}


def lock_batch_stock(session: Any, who: Any, mutations: Iterable[Any]) -> None:
    """PostgreSQL, a push batch: lock every stock row its mutations will touch, up front, in
    (warehouse, sku) order. Each mutation then locks rows it already holds; without this, a
    batch would take its locks mutation by mutation, out of the global order, and two batches
    on the same hot items could deadlock. (Rows a mutation creates are not covered: those are
    new items at a warehouse, and a deadlock is still detected and the batch retried.)"""
    accounts: dict[int, list[str]] = {}
    orders: list[uuid.UUID] = []
    for m in mutations:
        STOCK_TOUCHED[m.name](m, accounts, orders)
    items: set[tuple[int, str]] = set()
    if accounts:
        for account_id, warehouse_id in session.execute(_WAREHOUSE_OF, {"ids": list(accounts)}):
            items.update((warehouse_id, sku) for sku in accounts[account_id])
    if orders:
        items.update((w, sku) for w, sku in session.execute(_ITEMS_OF, {"ids": orders}))
    for warehouse_id in sorted({w for w, _ in items}):
        skus = sorted(sku for w, sku in items if w == warehouse_id)
        session.execute(_LOCK_ALL, {"wh": warehouse_id, "skus": skus}).all()


# Built once (the commit path runs them on every order).
_LOCK_ROWS = (
    select(_SC.sku, _SC.warehouse_id, _SC.on_hand, _SC.reserved)
    .where(_SC.warehouse_id == bindparam("wh"), _SC.sku.in_(bindparam("skus", expanding=True)))
    .order_by(_SC.sku)
)
_LOCK_ROWS_PG = _LOCK_ROWS.with_for_update()
_LOCK_ROWS_F = Fast(_LOCK_ROWS)
_LOCK_ROWS_PG_F = Fast(_LOCK_ROWS_PG)
_RECEIPTS = select(
    _RC.id,
    _RC.sku,
    _RC.quantity,
    _RC.received,
    _RC.expected,
    _RC.kind,
    _RC.status,
    _RC.supplier_id,
    _RC.moved,
    _RC.base,
    _RC.arrived,
).where(
    _RC.warehouse_id == bindparam("wh"),
    _RC.sku.in_(bindparam("skus", expanding=True)),
    _RC.status == "scheduled",
)
_RECEIPTS_F = Fast(_RECEIPTS)


def load_books(
    tx: Tx,
    warehouse_id: int,
    skus: Iterable[str],
    *,
    stock: dict[str, Any] | None = None,
    products: dict[str, Any] | None = None,
) -> dict[str, ItemBook]:
    """Lock (unless given) and load the books of these items of one warehouse. Unknown skus are
    left out: the caller has checked the catalog."""
    wanted = sorted(set(skus))
    if products is None:
        query = select(Product).where(col(Product.sku).in_(wanted))
        products = {x.sku: x for x in tx.session.exec(query)}
    wanted = [s for s in wanted if s in products]
    if stock is None:
        stock = lock_stock(tx, warehouse_id, wanted)
    return _books(
        tx,
        warehouse_id,
        wanted,
        stock,
        products,
        _RECEIPTS_F.run(tx.core(), _in(wanted, warehouse_id)),
        None,
    )


def lock_books(
    tx: Tx, warehouse_id: int, skus: Iterable[str], products: dict[str, Any], *, totals_only: bool
) -> tuple[dict[str, StockRow], dict[str, ItemBook]]:
    """The order commit's `lock_stock` and `load_books`, as plain values: the stock rows of these
    items locked (created if missing), in sku order, then their receipts and queues read. On
    PostgreSQL the three statements go out in one round trip (fastsql.pipeline); each reads
    with its own snapshot, taken once the locks before it are held.

    `totals_only` (a FIFO commit): the queue is loaded as one line per item carrying all its
    waiting units and the latest commit time. A new FIFO line ranks behind every waiting line
    (its commit time is made later than theirs), so for check_cart this queue is exact, and a
    long queue costs one aggregate row instead of one row per waiting line."""
    wanted = sorted({s for s in skus if s in products})
    conn = tx.core()
    params = _in(wanted, warehouse_id)
    lock = _LOCK_ROWS_PG_F if tx.is_postgres else _LOCK_ROWS_F
    with pipeline(conn):
        locked = lock.send(conn, params)
        receipts = _RECEIPTS_F.send(conn, params)
        totals = _TOTALS_F.send(conn, params) if totals_only else None
    stock = {r[0]: StockRow(*r) for r in locked.rows()}
    if len(stock) < len(wanted):  # an item new to this warehouse: make its stock row first
        _ensure_stock_rows(tx, warehouse_id, [x for x in wanted if x not in stock])
        return lock_books(tx, warehouse_id, wanted, products, totals_only=totals_only)
    totals_rows = totals.rows() if totals is not None else None
    return stock, _books(tx, warehouse_id, wanted, stock, products, receipts.rows(), totals_rows)


def _in(skus: list[str], warehouse_id: int) -> dict[str, Any]:
    return {"wh": warehouse_id, "skus": skus}


def _books(
    tx: Tx,
    warehouse_id: int,
    skus: list[str],
    stock: dict[str, Any],
    products: dict[str, Any],
    receipt_rows: list[Any],
    totals: list[Any] | None,
) -> dict[str, ItemBook]:
    """The books from their rows; the queue from `totals` (see lock_books) or, without them,
    read line by line."""
    # Receipts are read as plain rows; an operation that changes one puts its ORM row in their
    # place (see receipts._locked_receipt).
    receipts: dict[str, list[Any]] = {s: [] for s in skus}
    for row in receipt_rows:
        receipts[row.sku].append(row)
    books = {s: ItemBook(products[s], stock[s], receipts[s]) for s in skus}
    tx.hold(books)
    if totals is None:
        _load_queue(tx, warehouse_id, books)
        return books
    for sku, waiting, latest in totals:
        if waiting:  # MAX keeps the column's type: `latest` is an aware datetime
            books[sku].totals = QueuedLine("~", "~", sku, int(waiting), latest)
    return books


_OPEN = text("order_line.waiting > 0")  # a literal, so the partial index applies


def _load_queue(tx: Tx, warehouse_id: int, books: dict[str, ItemBook]) -> None:
    warehouse = tx.get(Warehouse, warehouse_id)
    query = (
        select(
            OrderLine.id,
            OrderLine.line_no,
            OrderLine.sku,
            OrderLine.waiting,
            OrderLine.schedule,
            OrderLine.eta_date,
            OrderLine.eta_kind,
            OrderLine.likely_date,
            Order.id,
            Order.rep_id,
            Order.committed_at,
            Order.tier,
            Order.total_cents,
            Order.policy,
            Account.delivery_days,
        )
        .join(Order, col(Order.id) == OrderLine.order_id)
        .join(Account, col(Account.id) == Order.account_id)
        .where(col(OrderLine.sku).in_(list(books)), OrderLine.warehouse_id == warehouse_id, _OPEN)
    )
    terms: dict[tuple[int, ...], Terms] = {}
    for row in tx.session.exec(query):
        (line_id, line_no, sku, waiting, schedule, eta, kind, likely) = row[:8]
        (order_id, rep_id, committed, tier, value, policy, days) = row[8:]
        key = tuple(days or ())
        if key not in terms:
            terms[key] = terms_for(warehouse, days)
        books[sku].waiting[line_id] = Waiting(
            line_id, order_id, rep_id, line_no, sku, waiting, committed, tier, value, policy,
            terms[key], list(schedule or []), eta, kind, likely,
        )  # fmt: skip


_OC = Order.__table__.c  # type: ignore[attr-defined]
_TOTALS = (
    select(_OLC.sku, func.sum(_OLC.waiting), func.max(_OC.committed_at))
    .join_from(OrderLine.__table__, Order.__table__, _OC.id == _OLC.order_id)  # type: ignore[attr-defined]
    .where(
        _OLC.sku.in_(bindparam("skus", expanding=True)),
        _OLC.warehouse_id == bindparam("wh"),
        _OPEN,
    )
    .group_by(_OLC.sku)
)
_TOTALS_F = Fast(_TOTALS)


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
        line = tx.get(OrderLine, entry.line_id)
        line.allocated += a.quantity
        line.waiting -= a.quantity
        entry.waiting = line.waiting
        book.stock.reserved += a.quantity
        if line.waiting == 0:
            line.filled_at = tx.now
            line.schedule = []
            entry.schedule = []
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


Dates = tuple[list[list[object]], date | None, str | None, date | None]


def dates_of(av: Availability) -> Dates:
    """A waiting line's schedule, completion ETA and likely day, as stored on the line."""
    eta = completion_eta(av)
    kind = eta.kind.value if eta else None
    return schedule_of(av), (eta.date if eta else None), kind, av.likely


def store_dates(line: OrderLine, av: Availability) -> bool:
    """Keep a waiting line's schedule, completion ETA and likely day; True if any moved. (The
    first date shown is the one of the commit: it is never rewritten.)"""
    dates = dates_of(av)
    moved = (line.schedule, line.eta_date, line.eta_kind, line.likely_date) != dates
    line.schedule, line.eta_date, line.eta_kind, line.likely_date = dates
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
    """Re-date every waiting line of the item (only lines whose dates moved are written); the
    completion ETAs that moved since `before` are returned (previews show them). The customer
    is told by the re-plan of each order whose lines moved (planning.tell)."""
    tx.cause = cause
    confidence = tx.confidence
    was = date_queue(
        before[0], before[1], today=tx.today, terms_of=book.terms_of, confidence=confidence
    )
    now = date_queue(
        after[0], after[1], today=tx.today, terms_of=book.terms_of, confidence=confidence
    )
    changes = eta_changes(was, now)
    moved: set[uuid.UUID] = set()
    for line_id, av in now.items():
        entry = book.waiting[int(line_id)]
        dates = dates_of(av)
        if (entry.schedule, entry.eta_date, entry.eta_kind, entry.likely) == dates:
            continue
        line = tx.get(OrderLine, entry.line_id)
        store_dates(line, av)
        entry.schedule, entry.eta_date, entry.eta_kind, entry.likely = dates
        moved.add(entry.order_id)
    return changes, moved
