"""Supply events: schedule, receive, delay or cancel a receipt; correct stock by a count; ship a
ready shipment. Each re-settles the item: freed units go to the queue by the configured policy,
lines are re-dated, and every line whose ETA moved gets an ETA-change event."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import replace
from datetime import date

from sqlmodel import Session, col, select

from app.domain.allocation import (
    AllocationResult,
    EtaChange,
    after_allocation,
    allocate,
    eta_changes,
)
from app.domain.availability import date_queue, queue_key
from app.domain.model import AllocationPolicy, Eta, EtaKind
from sync import protocol as p
from sync.server.context import Tx
from sync.server.models import (
    Account,
    Order,
    OrderEvent,
    OrderLine,
    Product,
    PurchaseOrder,
    ReceiptDelivery,
    ReceiptPromise,
    ScheduledReceipt,
    Shipment,
    Stock,
    Supplier,
    User,
    Warehouse,
)
from sync.server.services import publish as pub
from sync.server.services.planning import replan, replan_orders
from sync.server.services.refusals import Conflict, NotFound, Unprocessable
from sync.server.services.slips import NO_SUPPLIER
from sync.server.services.stockbook import (
    ItemBook,
    Settled,
    Waiting,
    load_books,
    lock_stock,
    settle,
    terms_for,
)


def _book(tx: Tx, sku: str, warehouse_id: int) -> ItemBook:
    return load_books(tx, warehouse_id, [sku])[sku]


def _receipt(session: Session, receipt_id: int) -> ScheduledReceipt:
    row = session.get(ScheduledReceipt, receipt_id)
    if row is None:
        raise NotFound(f"receipt_id {receipt_id}: no such receipt")
    return row


def locked_receipt(tx: Tx, receipt_id: int) -> tuple[ScheduledReceipt, ItemBook]:
    """Stock row first (the global lock order), then the receipt row."""
    found = _receipt(tx.session, receipt_id)
    book = _book(tx, found.sku, found.warehouse_id)
    query = select(ScheduledReceipt).where(ScheduledReceipt.id == receipt_id)
    if tx.is_postgres:
        query = query.with_for_update()
    receipt = tx.session.exec(query.execution_options(populate_existing=True)).one()
    book.receipts = [r for r in book.receipts if r.id != receipt.id]
    if receipt.status == "scheduled":
        book.receipts.append(receipt)  # the ORM row, so changes to it show in book.supply()
    return receipt, book


def promise(tx: Tx, receipt: ScheduledReceipt, basis: str, expected: date) -> None:
    """A new date promise for what remains of a receipt: its slip is measured from here on
    (services/slips.py). The first promise is the receipt's first date."""
    remaining = receipt.quantity - receipt.received
    if receipt.first_expected is None:
        receipt.first_expected = expected
    receipt.moved = basis == "moved"
    receipt.base, receipt.arrived, receipt.promise_started = remaining, 0, tx.now
    receipt.updated_at = tx.now
    tx.session.add(
        ReceiptPromise(
            receipt_id=receipt.id,
            basis=basis,
            expected=expected,
            base=remaining,
            arrived_before=receipt.received,
            started_at=tx.now,
        )
    )


def arrive(tx: Tx, receipt: ScheduledReceipt, quantity: int) -> None:
    """Units arrived today: a delivery in the receipt's history."""
    receipt.received += quantity
    receipt.arrived += quantity
    receipt.updated_at = tx.now
    tx.session.add(
        ReceiptDelivery(
            receipt_id=receipt.id, quantity=quantity, received_on=tx.today, created_at=tx.now
        )
    )
    if receipt.received == receipt.quantity:
        close(tx, receipt, "received")


def close(tx: Tx, receipt: ScheduledReceipt, status: str) -> None:
    """Nothing more will come: its history is complete, and its supplier's grows."""
    receipt.status, receipt.closed_at, receipt.updated_at = status, tx.now, tx.now
    tx.slips_changed = True
    tx.touch("supplier_history", receipt.supplier_id or NO_SUPPLIER)


def refresh_po(tx: Tx, po_id: int | None) -> None:
    """A purchase order's state from its lines: draft, sent, confirmed, partly received,
    received (every line closed, something came) or cancelled (nothing came)."""
    if po_id is None:
        return
    order = tx.session.get(PurchaseOrder, po_id)
    lines = list(tx.session.exec(select(ScheduledReceipt).where(ScheduledReceipt.po_id == po_id)))
    if order is None or not lines:
        return
    statuses = {r.status for r in lines}
    if statuses <= {"received", "cancelled"}:
        state = "received" if "received" in statuses else "cancelled"
    elif any(r.received for r in lines):
        state = "partly_received"
    elif "draft" in statuses:
        state = "draft"
    elif any(r.kind == "confirmed" for r in lines if r.status == "scheduled"):
        state = "confirmed"
    else:
        state = "sent"
    order.status = state


def _require_scheduled(receipt: ScheduledReceipt) -> None:
    if receipt.status != "scheduled":
        raise Conflict(f"receipt {receipt.id} is already {receipt.status}")


def finish(
    tx: Tx, book: ItemBook, settled: Settled, receipt: ScheduledReceipt | None
) -> p.SupplyEventResult:
    replan_orders(tx, settled.orders)
    tx.touch("stock", pub.stock_key(book.sku, book.warehouse_id))
    if receipt is not None:
        tx.touch("receipt", receipt.id)
        refresh_po(tx, receipt.po_id)
    return p.SupplyEventResult(
        receipt=pub.receipt(receipt) if receipt is not None else None,
        stock=pub.stock(book.stock),
        allocation=outcome(tx.session, tx.policy, settled.result, settled.changes),
    )


def schedule_receipt(tx: Tx, body: p.ReceiptCreateRequest) -> p.SupplyEventResult:
    if tx.session.get(Product, body.sku) is None:
        raise NotFound(f"sku: no product {body.sku!r}")
    if tx.session.get(Warehouse, body.warehouse_id) is None:
        raise NotFound(f"warehouse_id {body.warehouse_id}: no such warehouse")
    if body.supplier_id is not None and tx.session.get(Supplier, body.supplier_id) is None:
        raise NotFound(f"supplier_id {body.supplier_id}: no such supplier")  # was a 500 (FK)
    book = _book(tx, body.sku, body.warehouse_id)
    before = book.snapshot(tx.policy)
    receipt = ScheduledReceipt(
        supplier_id=body.supplier_id,
        sku=body.sku,
        warehouse_id=body.warehouse_id,
        quantity=body.quantity,
        expected=body.expected,
        kind=body.kind.value,
        created_at=tx.now,
        updated_at=tx.now,
        ordered_on=tx.today,
    )
    tx.session.add(receipt)
    tx.session.flush()
    promise(tx, receipt, body.kind.value, body.expected)
    book.receipts.append(receipt)
    cause = f"receipt {receipt.id} scheduled for {body.expected.isoformat()}"
    settled = settle(tx, book, before, cause=cause, source="receipt")
    return finish(tx, book, settled, receipt)


def receive(
    tx: Tx,
    receipt_id: int,
    quantity: int | None,
    *,
    rest_expected: date | None = None,
    close_rest: bool = False,
) -> p.SupplyEventResult:
    """Units of a receipt arrived. What remains stays open at its date, or at `rest_expected`
    (the supplier's new date for the rest: a new promise), or is closed (`close_rest`)."""
    receipt, book = locked_receipt(tx, receipt_id)
    _require_scheduled(receipt)
    remaining = receipt.quantity - receipt.received
    quantity = remaining if quantity is None else quantity
    if quantity > remaining:
        raise Unprocessable(
            f"quantity: only {remaining} units remain on receipt {receipt_id}, not {quantity}"
        )
    if rest_expected is not None and rest_expected < tx.today:
        raise Unprocessable(
            f"rest_expected: {rest_expected.isoformat()} is in the past (today is "
            f"{tx.today.isoformat()}): give the day the supplier says the rest comes"
        )
    before = book.snapshot(tx.policy)
    arrive(tx, receipt, quantity)
    rest = receipt.quantity - receipt.received
    if rest and close_rest:
        close(tx, receipt, "received")  # the rest will not come: closed short
    elif rest and rest_expected is not None:
        receipt.expected, receipt.kind = rest_expected, EtaKind.CONFIRMED.value
        promise(tx, receipt, "moved", rest_expected)
    book.stock.on_hand += quantity
    cause = f"receipt {receipt_id}: {quantity} received"
    settled = settle(tx, book, before, cause=cause, source="receipt", receipt_id=receipt_id)
    return finish(tx, book, settled, receipt)


def delay(tx: Tx, receipt_id: int, body: p.DelayRequest) -> p.SupplyEventResult:
    receipt, book = locked_receipt(tx, receipt_id)
    _require_scheduled(receipt)
    if body.expected < tx.today:
        raise Unprocessable(
            f"expected: {body.expected.isoformat()} is in the past (today is "
            f"{tx.today.isoformat()}): a delay moves a receipt to a day still to come"
        )
    before = book.snapshot(tx.policy)
    old = receipt.expected
    receipt.expected, receipt.kind, receipt.updated_at = body.expected, body.kind.value, tx.now
    promise(tx, receipt, "moved", body.expected)
    cause = f"receipt {receipt_id} moved from {old.isoformat()} to {body.expected.isoformat()}"
    settled = settle(tx, book, before, cause=cause, source="receipt")
    return finish(tx, book, settled, receipt)


def cancel_receipt(tx: Tx, receipt_id: int) -> p.SupplyEventResult:
    receipt, book = locked_receipt(tx, receipt_id)
    _require_scheduled(receipt)
    before = book.snapshot(tx.policy)
    close(tx, receipt, "cancelled")
    settled = settle(tx, book, before, cause=f"receipt {receipt_id} cancelled", source="receipt")
    return finish(tx, book, settled, receipt)


def count(tx: Tx, body: p.StockCountRequest) -> p.SupplyEventResult:
    if tx.session.get(Product, body.sku) is None:
        raise NotFound(f"sku: no product {body.sku!r}")
    warehouse = tx.session.get(Warehouse, body.warehouse_id)
    if warehouse is None:
        raise NotFound(f"warehouse_id {body.warehouse_id}: no such warehouse")
    book = _book(tx, body.sku, body.warehouse_id)
    before = book.snapshot(tx.policy)
    stock = book.stock
    cause = f"stock count: {stock.on_hand} -> {body.counted}"
    taken_back = []
    if body.counted < stock.reserved:
        taken_back = _take_back(tx, book, warehouse, stock.reserved - body.counted)
    stock.on_hand = body.counted
    settled = settle(tx, book, before, cause=cause, source="count")
    moved = _lost_reservations(tx, book, taken_back, cause)
    settled.orders |= moved
    return finish(tx, book, settled, None)


def _take_back(
    tx: Tx, book: ItemBook, warehouse: Warehouse, deficit: int
) -> list[tuple[OrderLine, Eta]]:
    """A count found fewer units than are reserved: un-reserve from the last in queue order
    (newest first under FIFO, lowest rank under priority); those units wait again."""
    query = (
        select(OrderLine, Order, Account.delivery_days)
        .join(Order, col(Order.id) == OrderLine.order_id)
        .join(Account, col(Account.id) == Order.account_id)
        .where(
            OrderLine.sku == book.sku,
            OrderLine.warehouse_id == book.warehouse_id,
            col(OrderLine.allocated) > col(OrderLine.shipped),
        )
    )
    holders = list(tx.session.exec(query.execution_options(populate_existing=True)))
    holders.sort(
        key=lambda h: queue_key(
            tx.policy,
            committed_at=h[1].committed_at,
            tier=h[1].tier,
            order_value=h[1].total_cents,
            order_id=str(h[1].id),
            line_id=str(h[0].id),
        ),
        reverse=True,
    )
    taken = []
    for line, order, days in holders:
        if deficit == 0:
            break
        take = min(deficit, line.allocated - line.shipped)
        was = (
            Eta(line.eta_date, EtaKind(line.eta_kind)) if line.eta_date and line.eta_kind else None
        )
        line.allocated -= take
        line.waiting += take
        line.filled_at = None
        book.stock.reserved -= take
        deficit -= take
        book.waiting[line.id] = Waiting.of(line, order, terms_for(warehouse, days))
        tx.touch("queue_entry", line.id)
        if was is not None:
            taken.append((line, was))
    return taken


def _lost_reservations(
    tx: Tx, book: ItemBook, taken: list[tuple[OrderLine, Eta]], cause: str
) -> set[uuid.UUID]:
    """Orders whose lines lost reserved units: they wait again, and the re-plan of each tells
    its customer the new date (planning.tell)."""
    tx.cause = cause
    return {line.order_id for line, _was in taken}


# ------------------------------------------------------------------------------------------
# Preview: what a receipt would allocate under each policy (nothing is written)
# ------------------------------------------------------------------------------------------


def preview(tx: Tx, receipt_id: int, quantity: int | None) -> p.ReceiptPreview:
    receipt = _receipt(tx.session, receipt_id)
    _require_scheduled(receipt)
    remaining = receipt.quantity - receipt.received
    quantity = remaining if quantity is None else quantity
    if quantity > remaining:
        raise Unprocessable(f"quantity: only {remaining} units remain on receipt {receipt_id}")
    book = load_books(tx, receipt.warehouse_id, [receipt.sku], stock=_unlocked(tx, receipt))[
        receipt.sku
    ]
    outcomes = {}
    for policy in (AllocationPolicy.FIFO, AllocationPolicy.PRIORITY):
        supply, queue = book.supply(), book.queue(policy)
        free = supply.free_now + quantity
        result = allocate(free, queue)
        receipts = tuple(
            replace(r, quantity=r.quantity - quantity) if r.receipt_id == str(receipt_id) else r
            for r in supply.receipts
        )
        after_supply = replace(
            supply,
            free_now=free - result.allocated,
            receipts=tuple(r for r in receipts if r.quantity > 0),
        )
        # Dated as settle() dates them (at the promise confidence): the "from" of each move is
        # the date the line has now, the "to" the one committing would give it.
        was = date_queue(
            supply, queue, today=tx.today, terms_of=book.terms_of, confidence=tx.confidence
        )
        now = date_queue(
            after_supply,
            after_allocation(queue, result),
            today=tx.today,
            terms_of=book.terms_of,
            confidence=tx.confidence,
        )
        outcomes[policy] = outcome(tx.session, policy, result, eta_changes(was, now))
    return p.ReceiptPreview(
        receipt=pub.receipt(receipt),
        quantity=quantity,
        fifo=outcomes[AllocationPolicy.FIFO],
        priority=outcomes[AllocationPolicy.PRIORITY],
        configured_policy=tx.policy,
    )


def _unlocked(tx: Tx, receipt: ScheduledReceipt) -> dict[str, Stock]:
    stock = tx.session.get(Stock, (receipt.sku, receipt.warehouse_id))
    if stock is None:
        stock = Stock(sku=receipt.sku, warehouse_id=receipt.warehouse_id)
    return {receipt.sku: stock}


def outcome(
    session: Session,
    policy: AllocationPolicy,
    result: AllocationResult,
    changes: Iterable[EtaChange],
) -> p.AllocationOutcome:
    changes = list(changes)
    line_ids = {int(a.line_id) for a in result.allocations} | {int(c.line_id) for c in changes}
    info = _line_info(session, line_ids)
    return p.AllocationOutcome(
        policy=policy,
        allocations=[
            p.AllocationLine(
                order_id=info[int(a.line_id)][0],
                account_name=info[int(a.line_id)][1],
                rep_name=info[int(a.line_id)][2],
                line_no=info[int(a.line_id)][3],
                quantity=a.quantity,
                fills_line=a.fills_line,
            )
            for a in result.allocations
        ],
        leftover=result.leftover,
        eta_moves=[
            p.EtaMove(
                order_id=info[int(c.line_id)][0],
                account_name=info[int(c.line_id)][1],
                line_no=info[int(c.line_id)][3],
                old=c.old.date if c.old else None,
                old_kind=c.old.kind if c.old else None,
                new=c.new.date if c.new else None,
                new_kind=c.new.kind if c.new else None,
                message=c.describe(),
            )
            for c in changes
        ],
    )


def _line_info(session: Session, line_ids: set[int]) -> dict[int, tuple[uuid.UUID, str, str, int]]:
    if not line_ids:
        return {}
    query = (
        select(OrderLine.id, OrderLine.order_id, Account.name, User.full_name, OrderLine.line_no)
        .join(Order, col(Order.id) == OrderLine.order_id)
        .join(Account, col(Account.id) == Order.account_id)
        .join(User, col(User.id) == Order.rep_id)
        .where(col(OrderLine.id).in_(sorted(line_ids)))
    )
    return {row[0]: (row[1], row[2], row[3], row[4]) for row in session.exec(query)}


# ------------------------------------------------------------------------------------------
# Shipping
# ------------------------------------------------------------------------------------------


def ship(tx: Tx, shipment_id: int) -> p.ShipResult:
    session = tx.session
    found = session.get(Shipment, shipment_id)
    if found is None:
        raise NotFound(f"shipment_id {shipment_id}: no such shipment")
    order = session.get(Order, found.order_id)
    skus = sorted({item["sku"] for item in found.lines})
    stock = lock_stock(tx, order.warehouse_id, skus)  # stock rows first, then the shipment
    query = select(Shipment).where(Shipment.id == shipment_id)
    if tx.is_postgres:
        query = query.with_for_update()
    shipment = session.exec(query.execution_options(populate_existing=True)).first()
    if shipment is None:
        raise NotFound(f"shipment_id {shipment_id}: no such shipment")
    session.refresh(order)
    if shipment.status != "ready":
        why = (
            "it has already shipped"
            if shipment.status == "shipped"
            else "its units are not all allocated, or the order's policy holds them back"
        )
        raise Conflict(f"shipment {shipment_id} is {shipment.status}, not ready: {why}")
    if order.status in ("on_hold", "rejected", "cancelled"):
        raise Conflict(f"order {order.id} is {order.status.replace('_', ' ')}: it cannot ship")
    lines = {
        li.line_no: li
        for li in session.exec(select(OrderLine).where(OrderLine.order_id == order.id))
    }
    for item in shipment.lines:
        line = lines[item["line_no"]]
        quantity = item["quantity"]
        if line.allocated - line.shipped < quantity:
            raise Conflict(
                f"shipment {shipment_id} is stale: line {line.line_no} has fewer units allocated"
            )
        line.shipped += quantity
        row = stock[line.sku]
        row.on_hand -= quantity
        row.reserved -= quantity
        tx.touch("stock", pub.stock_key(line.sku, line.warehouse_id))
        if line.shipped == line.quantity - line.cancelled:
            line.shipped_at = tx.now
    shipment.status, shipment.shipped_at = "shipped", tx.now
    if all(li.shipped == li.quantity - li.cancelled for li in lines.values()):
        order.status, order.fulfilled_at = "fulfilled", tx.now
    session.add(
        OrderEvent(
            order_id=order.id,
            at=tx.now,
            actor=tx.actor,
            kind="shipped",
            message=f"shipment {shipment_id} shipped: "
            + ", ".join(f"{i['quantity']} x {i['sku']}" for i in shipment.lines),
        )
    )
    replan(tx, order)
    session.flush()
    shipments = list(session.exec(select(Shipment).where(Shipment.order_id == order.id)))
    return p.ShipResult(
        shipment=pub.shipment(shipment),
        order=pub.order(order, list(lines.values()), shipments),
        stock=[pub.stock(stock[s]) for s in skus],
    )
