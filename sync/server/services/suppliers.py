"""Suppliers as records: their contact and item links, the scorecard of how they delivered, and
the chase list of overdue receipts with the lines and accounts that wait on them."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date, timedelta
from statistics import fmean

from sqlalchemy import func
from sqlmodel import col, select

from app.domain.availability import DemandQueue
from app.domain.model import Supply
from sync import protocol as p
from sync.server.context import Tx
from sync.server.models import (
    Account,
    ItemSupplier,
    Order,
    OrderLine,
    Product,
    ReceiptDelivery,
    ScheduledReceipt,
    Supplier,
    User,
)
from sync.server.services import publish as pub
from sync.server.services.refusals import NotFound, Unprocessable
from sync.server.services.stockbook import load_books

SCORECARD_DAYS = 365


def _get(tx: Tx, supplier_id: int) -> Supplier:
    found = tx.session.get(Supplier, supplier_id)
    if found is None:
        raise NotFound(f"supplier_id {supplier_id}: no such supplier")
    return found


def create(tx: Tx, body: p.SupplierIn) -> p.SupplierPublic:
    row = Supplier(**body.model_dump())
    tx.session.add(row)
    tx.session.flush()
    tx.touch("supplier", row.id)
    return pub.supplier(row)


def update(tx: Tx, supplier_id: int, body: p.SupplierIn) -> p.SupplierPublic:
    row = _get(tx, supplier_id)
    for name, value in body.model_dump().items():
        setattr(row, name, value)
    tx.touch("supplier", row.id)
    return pub.supplier(row)


def link(tx: Tx, body: p.ItemSupplierIn) -> p.ItemSupplierPublic:
    """Set who supplies an item on what terms. One primary per item: naming another primary
    makes the previous one a backup."""
    if tx.session.get(Product, body.sku) is None:
        raise Unprocessable(f"sku: no product {body.sku!r}")
    if tx.session.get(Supplier, body.supplier_id) is None:
        raise Unprocessable(f"supplier_id: no supplier {body.supplier_id}")
    if body.role == "primary":
        others = select(ItemSupplier).where(
            ItemSupplier.sku == body.sku, ItemSupplier.supplier_id != body.supplier_id
        )
        for other in tx.session.exec(others):
            other.role = "backup"
    row = tx.session.get(ItemSupplier, (body.sku, body.supplier_id))
    if row is None:
        row = ItemSupplier(**body.model_dump())
        tx.session.add(row)
    else:
        for name, value in body.model_dump().items():
            setattr(row, name, value)
    if body.role == "primary":
        product = tx.session.get(Product, body.sku)
        product.supplier_id = body.supplier_id
        tx.touch("product", body.sku)
    tx.session.flush()
    return _link_public(row)


def _link_public(row: ItemSupplier) -> p.ItemSupplierPublic:
    return p.ItemSupplierPublic.model_validate(row, from_attributes=True)


def links(tx: Tx, sku: str | None, supplier_id: int | None) -> list[p.ItemSupplierPublic]:
    query = select(ItemSupplier)
    if sku is not None:
        query = query.where(ItemSupplier.sku == sku)
    if supplier_id is not None:
        query = query.where(ItemSupplier.supplier_id == supplier_id)
    rows = tx.session.exec(query.order_by(ItemSupplier.sku, ItemSupplier.supplier_id))
    return [_link_public(r) for r in rows]


# ------------------------------------------------------------------------------------------
# Scorecard
# ------------------------------------------------------------------------------------------


def _p90(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.9 * len(ordered)) - 1)]


def scorecards(tx: Tx, supplier_ids: list[int]) -> dict[int, p.Scorecard]:
    """Each supplier's last year of closed receipts: on time (its last units came by the first
    date promised: the supplier's confirmed date, or the nominal one), slip, fill rate, the
    lead time realised, and the month by month trend."""
    since = tx.now - timedelta(days=SCORECARD_DAYS)
    receipts = list(
        tx.session.exec(
            select(ScheduledReceipt).where(
                col(ScheduledReceipt.supplier_id).in_(supplier_ids),
                col(ScheduledReceipt.status).in_(("received", "cancelled")),
                col(ScheduledReceipt.closed_at) >= since,
                col(ScheduledReceipt.ordered_on).is_not(None),
            )
        )
    )
    last_day: dict[int, date] = {}
    ids = [r.id for r in receipts]
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        query = (
            select(ReceiptDelivery.receipt_id, func.max(ReceiptDelivery.received_on))
            .where(col(ReceiptDelivery.receipt_id).in_(chunk))
            .group_by(ReceiptDelivery.receipt_id)
        )
        last_day.update({rid: day for rid, day in tx.session.exec(query)})
    by_supplier: dict[int, list[ScheduledReceipt]] = defaultdict(list)
    for r in receipts:
        by_supplier[r.supplier_id].append(r)  # type: ignore[index]
    return {sid: _scorecard(by_supplier.get(sid, []), last_day) for sid in supplier_ids}


def _scorecard(receipts: list[ScheduledReceipt], last_day: dict[int, date]) -> p.Scorecard:
    ordered = sum(r.quantity for r in receipts)
    came = sum(r.received for r in receipts)
    complete = [r for r in receipts if r.received == r.quantity and r.id in last_day]
    slips = [(last_day[r.id] - (r.first_expected or r.expected)).days for r in complete]
    leads = [(last_day[r.id] - r.ordered_on).days for r in complete if r.ordered_on]
    months: dict[date, list[int]] = defaultdict(list)
    for r, slip in zip(complete, slips, strict=True):
        day = last_day[r.id]
        months[date(day.year, day.month, 1)].append(slip)
    return p.Scorecard(
        receipts=len(receipts),
        on_time_rate=(sum(s <= 0 for s in slips) / len(slips)) if slips else None,
        mean_slip_days=round(fmean(slips), 2) if slips else None,
        p90_slip_days=_p90([float(s) for s in slips]),
        fill_rate=(came / ordered) if ordered else None,
        lead_time_mean_days=round(fmean(leads), 2) if leads else None,
        lead_time_p90_days=_p90([float(x) for x in leads]),
        trend=[
            p.ScorecardMonth(
                month=month,
                receipts=len(values),
                on_time_rate=sum(v <= 0 for v in values) / len(values),
                mean_slip_days=round(fmean(values), 2),
            )
            for month, values in sorted(months.items())
        ],
    )


def details(tx: Tx, supplier_ids: list[int] | None = None) -> list[p.SupplierDetail]:
    query = select(Supplier).order_by(Supplier.name, Supplier.id)
    if supplier_ids is not None:
        query = query.where(col(Supplier.id).in_(supplier_ids))
    suppliers = list(tx.session.exec(query))
    ids = [s.id for s in suppliers]
    cards = scorecards(tx, ids)  # type: ignore[arg-type]
    open_rows = tx.session.exec(
        select(ScheduledReceipt.supplier_id, ScheduledReceipt.expected).where(
            col(ScheduledReceipt.supplier_id).in_(ids), ScheduledReceipt.status == "scheduled"
        )
    ).all()
    open_lines: dict[int, int] = defaultdict(int)
    overdue: dict[int, int] = defaultdict(int)
    for sid, expected in open_rows:
        open_lines[sid] += 1
        overdue[sid] += expected < tx.today
    by_supplier: dict[int, list[p.ItemSupplierPublic]] = defaultdict(list)
    for item in links(tx, None, None):
        if item.supplier_id in cards:
            by_supplier[item.supplier_id].append(item)
    return [
        p.SupplierDetail(
            supplier=pub.supplier(s),
            scorecard=cards[s.id],  # type: ignore[index]
            items=by_supplier.get(s.id, []),  # type: ignore[arg-type]
            open_lines=open_lines.get(s.id, 0),  # type: ignore[arg-type]
            overdue_lines=overdue.get(s.id, 0),  # type: ignore[arg-type]
        )
        for s in suppliers
    ]


def detail(tx: Tx, supplier_id: int) -> p.SupplierDetail:
    _get(tx, supplier_id)
    return details(tx, [supplier_id])[0]


# ------------------------------------------------------------------------------------------
# The chase list
# ------------------------------------------------------------------------------------------


def chase_list(tx: Tx) -> p.ChaseList:
    """Overdue receipts, most late first, each with the waiting lines its units would go to
    (the queue walked against supply in date order, as the domain dates them)."""
    overdue = list(
        tx.session.exec(
            select(ScheduledReceipt).where(
                ScheduledReceipt.status == "scheduled", ScheduledReceipt.expected < tx.today
            )
        )
    )
    items: dict[int, set[str]] = defaultdict(set)
    for r in overdue:
        items[r.warehouse_id].add(r.sku)
    waits: dict[int, list[tuple[int, int]]] = defaultdict(list)  # receipt -> (line id, units)
    for warehouse_id, skus in items.items():
        for book in load_books(tx, warehouse_id, skus).values():
            _who_waits(book.supply(), book.queue(tx.policy), waits)
    line_ids = sorted({line_id for found in waits.values() for line_id, _ in found})
    info = _line_info(tx, line_ids)
    names = {s.id: s.name for s in tx.session.exec(select(Supplier))}
    out = []
    for r in sorted(overdue, key=lambda r: (r.expected, r.id)):
        out.append(
            p.OverdueReceipt(
                receipt=pub.receipt(r),
                supplier_name=names.get(r.supplier_id, "") if r.supplier_id else "",
                days_late=(tx.today - r.expected).days,
                lines=[
                    p.ChaseLine(**info[line_id], waiting=units)
                    for line_id, units in waits.get(r.id, [])
                    if line_id in info
                ],
            )
        )
    return p.ChaseList(items=out)


def _who_waits(supply: Supply, queue: DemandQueue, waits: dict[int, list[tuple[int, int]]]) -> None:
    """Walk the queue against supply (free stock first, then receipts in date order): the
    units of each waiting line that each receipt would fill."""
    ranges = []
    low = supply.free_now
    for receipt, high in zip(supply.receipts, supply.ends, strict=True):
        ranges.append((int(receipt.receipt_id), low, high))
        low = high
    ahead = 0
    for line in queue.lines:
        start, end = ahead, ahead + line.waiting
        for receipt_id, low, high in ranges:
            covered = min(end, high) - max(start, low)
            if covered > 0:
                waits[receipt_id].append((int(line.line_id), covered))
        ahead = end


def _line_info(tx: Tx, line_ids: list[int]) -> dict[int, dict[str, object]]:
    if not line_ids:
        return {}
    query = (
        select(
            OrderLine.id,
            OrderLine.order_id,
            OrderLine.line_no,
            OrderLine.told_date,
            Account.name,
            User.full_name,
        )
        .join(Order, col(Order.id) == OrderLine.order_id)
        .join(Account, col(Account.id) == Order.account_id)
        .join(User, col(User.id) == Order.rep_id)
        .where(col(OrderLine.id).in_(line_ids))
    )
    return {
        row[0]: {
            "order_id": row[1],
            "line_no": row[2],
            "told": row[3],
            "account_name": row[4],
            "rep_name": row[5],
        }
        for row in tx.session.exec(query)
    }
