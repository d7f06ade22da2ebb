"""Purchase orders, the way supply is scheduled: draft -> sent -> confirmed -> partly received ->
received, or cancelled. Their lines are scheduled_receipt rows: a draft line is not supply yet;
a sent one is estimated at the supplier's nominal lead time; a confirmed one carries the date the
supplier gave. Each date is a promise whose slip the supplier's history keeps (receipts.promise).
Reorder advice becomes draft orders in one step, rounded to the supplier's minimum and pack
multiple, from the backup supplier when the primary would come later than the demand needs."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlmodel import col, select

from app.domain.slip import Need, SlipBasis, promise_day
from sync import protocol as p
from sync.server.context import Tx
from sync.server.models import (
    ItemSupplier,
    Product,
    PurchaseOrder,
    ScheduledReceipt,
    Supplier,
    Warehouse,
)
from sync.server.services import publish as pub
from sync.server.services import reports
from sync.server.services.receipts import (
    close,
    finish,
    locked_receipt,
    promise,
    refresh_po,
)
from sync.server.services.refusals import Conflict, NotFound, Unprocessable
from sync.server.services.stockbook import settle

OPEN = ("draft", "scheduled")


def _supplier(tx: Tx, supplier_id: int, field: str = "supplier_id") -> Supplier:
    found = tx.session.get(Supplier, supplier_id)
    if found is None:
        raise Unprocessable(f"{field}: no supplier {supplier_id}")
    return found


def _links(tx: Tx, skus: Iterable[str]) -> dict[tuple[str, int], ItemSupplier]:
    query = select(ItemSupplier).where(col(ItemSupplier.sku).in_(sorted(set(skus))))
    return {(x.sku, x.supplier_id): x for x in tx.session.exec(query)}


def _order(tx: Tx, po_id: int, *, lock: bool = False) -> PurchaseOrder:
    query = select(PurchaseOrder).where(PurchaseOrder.id == po_id)
    if lock and tx.is_postgres:
        query = query.with_for_update()
    found = tx.session.exec(query.execution_options(populate_existing=lock)).first()
    if found is None:
        raise NotFound(f"po_id {po_id}: no such purchase order")
    return found


def _lines(tx: Tx, po_id: int) -> list[ScheduledReceipt]:
    query = select(ScheduledReceipt).where(ScheduledReceipt.po_id == po_id)
    return sorted(tx.session.exec(query), key=lambda r: (r.sku, r.id))


def public(tx: Tx, order: PurchaseOrder) -> p.PurchaseOrderPublic:
    supplier = tx.session.get(Supplier, order.supplier_id)
    return p.PurchaseOrderPublic(
        id=order.id,
        supplier_id=order.supplier_id,
        supplier_name=supplier.name if supplier else "",
        warehouse_id=order.warehouse_id,
        status=order.status,
        note=order.note,
        created_at=order.created_at,
        sent_on=order.sent_on,
        lines=[pub.receipt(r) for r in sorted(_lines(tx, order.id), key=lambda r: r.id)],
    )


def _check_quantity(link: ItemSupplier, quantity: int, field: str, supplier: Supplier) -> None:
    if quantity < link.min_order_qty:
        raise Unprocessable(
            f"{field}: {supplier.name} takes at least {link.min_order_qty} of {link.sku}, "
            f"got {quantity}"
        )
    if quantity % link.pack_multiple:
        raise Unprocessable(
            f"{field}: {supplier.name} sells {link.sku} in packs of {link.pack_multiple}, "
            f"got {quantity} (use {rounded(link, quantity)})"
        )


def rounded(link: ItemSupplier, quantity: int) -> int:
    """At least the supplier's minimum, in whole packs."""
    wanted = max(quantity, link.min_order_qty)
    return math.ceil(wanted / link.pack_multiple) * link.pack_multiple


def create(tx: Tx, body: p.PurchaseOrderCreate) -> p.PurchaseOrderPublic:
    supplier = _supplier(tx, body.supplier_id)
    if tx.session.get(Warehouse, body.warehouse_id) is None:
        raise Unprocessable(f"warehouse_id: no warehouse {body.warehouse_id}")
    links = _links(tx, (x.sku for x in body.lines))
    seen: set[str] = set()
    for i, line in enumerate(body.lines):
        if tx.session.get(Product, line.sku) is None:
            raise Unprocessable(f"lines[{i}].sku: no product {line.sku!r}")
        if line.sku in seen:
            raise Unprocessable(f"lines[{i}].sku: {line.sku} is on the order twice")
        seen.add(line.sku)
        link = links.get((line.sku, supplier.id))
        if link is None:
            raise Unprocessable(f"lines[{i}].sku: {supplier.name} does not supply {line.sku}")
        _check_quantity(link, line.quantity, f"lines[{i}].quantity", supplier)
    lines = [(x.sku, x.quantity) for x in body.lines]
    return _draft(tx, supplier, body.warehouse_id, lines, body.note)


def _draft(
    tx: Tx, supplier: Supplier, warehouse_id: int, lines: list[tuple[str, int]], note: str
) -> p.PurchaseOrderPublic:
    order = PurchaseOrder(
        supplier_id=supplier.id,
        warehouse_id=warehouse_id,
        status="draft",
        note=note,
        created_at=tx.now,
        created_by=tx.actor,
    )
    tx.session.add(order)
    tx.session.flush()
    links = _links(tx, (sku for sku, _ in lines))
    for sku, quantity in lines:
        lead = links[(sku, supplier.id)].lead_time_days
        tx.session.add(
            ScheduledReceipt(
                supplier_id=supplier.id,
                sku=sku,
                warehouse_id=warehouse_id,
                quantity=quantity,
                expected=tx.today + timedelta(days=lead),
                kind="estimated",
                status="draft",
                po_id=order.id,
                created_at=tx.now,
                updated_at=tx.now,
            )
        )
    tx.session.flush()
    return public(tx, order)


def _each_line(
    tx: Tx, order: PurchaseOrder, change: Callable[[ScheduledReceipt], str | None]
) -> None:
    """Apply `change` to every line of an order, item by item (stock rows are locked in sku
    order, the global lock order), and re-settle each item it changed: its queue is re-dated
    and each customer date that moves is told."""
    for line in _lines(tx, order.id):
        receipt, book = locked_receipt(tx, line.id)
        before = book.snapshot(tx.policy)
        cause = change(receipt)
        if cause is None:
            continue
        book.receipts = [r for r in book.receipts if r.id != receipt.id]
        if receipt.status == "scheduled":
            book.receipts.append(receipt)
        settled = settle(tx, book, before, cause=cause, source="receipt")
        finish(tx, book, settled, receipt)
    refresh_po(tx, order.id)


def send(tx: Tx, po_id: int) -> p.PurchaseOrderPublic:
    """Sent to the supplier: every line is supply now, estimated at the nominal lead time."""
    order = _order(tx, po_id, lock=True)
    if order.status != "draft":
        raise Conflict(f"purchase order {po_id} is {order.status.replace('_', ' ')}, not a draft")
    links = _links(tx, (r.sku for r in _lines(tx, po_id)))

    def sent(receipt: ScheduledReceipt) -> str:
        lead = links[(receipt.sku, order.supplier_id)].lead_time_days
        expected = tx.today + timedelta(days=lead)
        receipt.status, receipt.kind, receipt.expected = "scheduled", "estimated", expected
        receipt.ordered_on = tx.today
        promise(tx, receipt, SlipBasis.ESTIMATED.value, expected)
        return f"purchase order {po_id} sent: {receipt.sku} expected {expected.isoformat()}"

    order.sent_on = tx.today
    _each_line(tx, order, sent)
    return public(tx, order)


def confirm(tx: Tx, po_id: int, body: p.PurchaseOrderConfirm) -> p.PurchaseOrderPublic:
    """The supplier's dates: each open line is a confirmed promise from now on."""
    order = _order(tx, po_id, lock=True)
    if order.status not in ("sent", "confirmed", "partly_received"):
        state = order.status.replace("_", " ")
        raise Conflict(f"purchase order {po_id} is {state}: send it first")
    lines = {r.id: r for r in _lines(tx, po_id)}
    dates: dict[int, date] = {}
    for i, item in enumerate(body.lines):
        if item.receipt_id not in lines:
            raise Unprocessable(f"lines[{i}].receipt_id: {item.receipt_id} is not on order {po_id}")
        dates[item.receipt_id] = item.expected
    for receipt_id, receipt in lines.items():
        if receipt_id not in dates and body.expected is not None and receipt.status == "scheduled":
            dates[receipt_id] = body.expected
    if not dates:
        raise Unprocessable("expected: give a date for every line, or lines with their dates")
    fields = [("expected", body.expected)]
    fields += [(f"lines[{i}].expected", x.expected) for i, x in enumerate(body.lines)]
    for field, day in fields:
        if day is not None and day < tx.today:
            raise Unprocessable(f"{field}: {day.isoformat()} is in the past")

    def confirmed(receipt: ScheduledReceipt) -> str | None:
        day = dates.get(receipt.id)
        if day is None or receipt.status != "scheduled":
            return None
        first_confirmation = receipt.kind == "estimated" and not receipt.moved
        receipt.kind, receipt.expected = "confirmed", day
        promise(tx, receipt, SlipBasis.CONFIRMED.value, day)
        if first_confirmation:  # the supplier's own first date: what on time is measured by
            receipt.first_expected = day
        return f"purchase order {po_id}: {receipt.sku} confirmed for {day.isoformat()}"

    _each_line(tx, order, confirmed)
    return public(tx, order)


def cancel(tx: Tx, po_id: int) -> p.PurchaseOrderPublic:
    """Nothing more comes: open lines are cancelled (a part already received stays)."""
    order = _order(tx, po_id, lock=True)
    if order.status in ("received", "cancelled"):
        raise Conflict(f"purchase order {po_id} is already {order.status}")

    def cancelled(receipt: ScheduledReceipt) -> str | None:
        if receipt.status not in OPEN:
            return None
        if receipt.status == "draft":
            receipt.status, receipt.updated_at = "cancelled", tx.now
            return None  # never supply: nothing to re-date
        close(tx, receipt, "received" if receipt.received else "cancelled")
        return f"purchase order {po_id} cancelled"

    _each_line(tx, order, cancelled)
    return public(tx, order)


def get(tx: Tx, po_id: int) -> p.PurchaseOrderPublic:
    return public(tx, _order(tx, po_id))


def listing(
    tx: Tx, status: str | None, supplier_id: int | None, offset: int, limit: int
) -> p.PurchaseOrderList:
    query = select(PurchaseOrder)
    if status is not None:
        query = query.where(PurchaseOrder.status == status)
    if supplier_id is not None:
        query = query.where(PurchaseOrder.supplier_id == supplier_id)
    found = list(tx.session.exec(query.order_by(col(PurchaseOrder.id).desc())))
    return p.PurchaseOrderList(
        items=[public(tx, o) for o in found[offset : offset + limit]], total=len(found)
    )


# ------------------------------------------------------------------------------------------
# From reorder advice
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    link: ItemSupplier
    supplier: Supplier
    arrives: date | None  # at the business's confidence, from the supplier's history


def _arrival(tx: Tx, link: ItemSupplier) -> date | None:
    """When an order sent today would come, at the promise confidence: the nominal date read
    through the supplier's history of estimated receipts."""
    nominal = tx.today + timedelta(days=link.lead_time_days)
    confidence = tx.confidence
    if confidence is None:
        return nominal
    dist = confidence.book.distribution(str(link.supplier_id), link.sku, SlipBasis.ESTIMATED)
    return promise_day([Need(dist, nominal, 1.0)], today=tx.today, confidence=confidence.level).day


def choose(tx: Tx, links: list[ItemSupplier], needed_by: date) -> Choice | None:
    """The primary supplier, unless it would come later than the demand needs the goods and a
    backup comes sooner."""
    if not links:
        return None
    choices = [
        Choice(x, tx.session.get(Supplier, x.supplier_id), _arrival(tx, x))
        for x in sorted(links, key=lambda x: (x.role != "primary", x.supplier_id))
    ]
    primary = choices[0]
    late = primary.arrives is None or primary.arrives > needed_by
    if primary.link.role == "primary" and not late:
        return primary
    sooner = [c for c in choices[1:] if c.arrives is not None]
    best = min(sooner, key=lambda c: c.arrives, default=None)  # type: ignore[arg-type,return-value]
    if best is not None and (primary.arrives is None or best.arrives < primary.arrives):  # type: ignore[operator]
        return best
    return primary


def from_advice(tx: Tx, body: p.FromAdviceRequest) -> p.DraftsFromAdvice:
    advice = reports.low_stock(
        tx.session,
        tx.settings,
        tx.today,
        tx.tz,
        warehouse_id=body.warehouse_id,
        offset=0,
        limit=100_000,
    ).items
    if body.skus is not None:
        wanted = set(body.skus)
        advice = [a for a in advice if a.sku in wanted]
    drafted = {
        (r.sku, r.warehouse_id)
        for r in tx.session.exec(select(ScheduledReceipt).where(ScheduledReceipt.status == "draft"))
    }
    all_links: dict[str, list[ItemSupplier]] = defaultdict(list)
    for link in _links(tx, (a.sku for a in advice)).values():
        all_links[link.sku].append(link)
    groups: dict[tuple[int, int], list[tuple[str, int]]] = defaultdict(list)
    skipped = []
    for item in advice:
        if (item.sku, item.warehouse_id) in drafted:
            skipped.append(p.AdviceSkipped(sku=item.sku, reason="already on a draft order"))
            continue
        days_of_cover = (
            max(item.projected_free, 0) / item.mean_daily_demand if item.mean_daily_demand else 0
        )
        needed_by = tx.today + timedelta(days=int(days_of_cover))
        choice = choose(tx, all_links.get(item.sku, []), needed_by)
        if choice is None:
            skipped.append(p.AdviceSkipped(sku=item.sku, reason="no supplier is linked to it"))
            continue
        quantity = rounded(choice.link, item.suggested_quantity)
        groups[(choice.supplier.id, item.warehouse_id)].append((item.sku, quantity))
    orders = [
        _draft(tx, tx.session.get(Supplier, supplier_id), warehouse_id, lines, "from advice")
        for (supplier_id, warehouse_id), lines in sorted(groups.items())
    ]
    return p.DraftsFromAdvice(orders=orders, skipped=skipped)
