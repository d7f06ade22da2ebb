"""Table rows to public (wire) records. Routes and the change log both go through here, so a
record looks the same whether it is pulled, snapshotted or returned by an endpoint."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from sqlmodel import Session, col, select

from sync import protocol as p
from sync.server.models import (
    Account,
    ConflictRecord,
    EtaChangeEvent,
    Order,
    OrderLine,
    Product,
    ScheduledReceipt,
    Shipment,
    Stock,
    Supplier,
    Warehouse,
)


def product(row: Product) -> p.ProductPublic:
    return p.ProductPublic.model_validate(row, from_attributes=True)


def warehouse(row: Warehouse) -> p.WarehousePublic:
    return p.WarehousePublic.model_validate(row, from_attributes=True)


def supplier(row: Supplier) -> p.SupplierPublic:
    return p.SupplierPublic.model_validate(row, from_attributes=True)


def stock(row: Stock) -> p.StockPublic:
    return p.StockPublic(
        sku=row.sku, warehouse_id=row.warehouse_id, on_hand=row.on_hand, reserved=row.reserved
    )


def stock_key(sku: str, warehouse_id: int) -> str:
    return f"{sku}@{warehouse_id}"


def receipt(row: ScheduledReceipt) -> p.ReceiptPublic:
    return p.ReceiptPublic(
        id=row.id,
        supplier_id=row.supplier_id,
        sku=row.sku,
        warehouse_id=row.warehouse_id,
        quantity=row.quantity,
        received=row.received,
        remaining=row.quantity - row.received,
        expected=row.expected,
        kind=row.kind,
        status=row.status,
    )


def account(row: Account) -> p.AccountPublic:
    return p.AccountPublic.model_validate(row, from_attributes=True)


def line(row: OrderLine) -> p.LinePublic:
    return p.LinePublic(
        line_no=row.line_no,
        sku=row.sku,
        quantity=row.quantity,
        price_cents=row.price_cents,
        label=row.label,
        allocated=row.allocated,
        waiting=row.waiting,
        cancelled=row.cancelled,
        shipped=row.shipped,
        backordered=row.backordered,
        eta=row.eta_date,
        eta_kind=row.eta_kind,
        first_eta=row.first_eta_date,
        alternatives=row.alternatives or [],
    )


def shipment(row: Shipment) -> p.ShipmentPublic:
    return p.ShipmentPublic(
        id=row.id,
        status=row.status,
        date=row.planned_date,
        lines=[p.ShipmentLinePublic(**item) for item in row.lines],
        shipped_at=row.shipped_at,
    )


def order(row: Order, lines: Sequence[OrderLine], shipments: Sequence[Shipment]) -> p.OrderPublic:
    return p.OrderPublic(
        id=row.id,
        account_id=row.account_id,
        rep_id=row.rep_id,
        warehouse_id=row.warehouse_id,
        status=row.status,
        outcome=row.outcome,
        reason=row.reason,
        differences=row.differences or [],
        needs_attention=row.needs_attention,
        version=row.version,
        policy=row.policy,
        cap=row.policy_cap,
        note=row.note,
        review_note=row.review_note,
        client_time=row.client_time,
        committed_at=row.committed_at,
        total_cents=row.total_cents,
        has_backorders=row.has_backorders,
        lines=[line(item) for item in sorted(lines, key=lambda li: li.line_no)],
        shipments=[shipment(s) for s in sorted(shipments, key=_shipment_order)],
        unscheduled=[p.ShipmentLinePublic(**item) for item in row.unscheduled or []],
    )


def _shipment_order(row: Shipment) -> tuple[int, str, int]:
    rank = {"shipped": 0, "ready": 1, "planned": 2}.get(row.status, 3)
    return (rank, (row.planned_date.isoformat() if row.planned_date else "9999"), row.id or 0)


def orders(session: Session, rows: Iterable[Order]) -> list[p.OrderPublic]:
    """Several orders with their lines and shipments in three queries."""
    rows = list(rows)
    ids = [r.id for r in rows]
    if not ids:
        return []
    lines: dict[uuid.UUID, list[OrderLine]] = {i: [] for i in ids}
    for item in session.exec(select(OrderLine).where(col(OrderLine.order_id).in_(ids))):
        lines[item.order_id].append(item)
    shipments: dict[uuid.UUID, list[Shipment]] = {i: [] for i in ids}
    for s in session.exec(select(Shipment).where(col(Shipment.order_id).in_(ids))):
        shipments[s.order_id].append(s)
    return [order(r, lines[r.id], shipments[r.id]) for r in rows]


def order_by_id(session: Session, order_id: uuid.UUID) -> p.OrderPublic | None:
    row = session.get(Order, order_id)
    return orders(session, [row])[0] if row is not None else None


def queue_entry(row: OrderLine, head: Order) -> p.QueueEntryPublic:
    return p.QueueEntryPublic(
        entry_id=str(row.id),
        sku=row.sku,
        warehouse_id=row.warehouse_id,
        waiting=row.waiting,
        committed_at=head.committed_at,
        tier=head.tier,
        order_value=head.total_cents,
        policy=head.policy,
    )


def eta_change(row: EtaChangeEvent, line_no: int) -> p.EtaChangePublic:
    return p.EtaChangePublic(
        id=row.id,
        order_id=row.order_id,
        line_no=line_no,
        sku=row.sku,
        old=row.old_date,
        old_kind=row.old_kind,
        new=row.new_date,
        new_kind=row.new_kind,
        message=row.message,
        cause=row.cause,
        at=row.created_at,
    )


def conflict(row: ConflictRecord) -> p.ConflictPublic:
    return p.ConflictPublic(
        id=row.id,
        entity=row.entity,
        key=row.key,
        field=row.field,
        winner_value=row.winner_value,
        loser_value=row.loser_value,
        base_version=row.base_version,
        at=row.created_at,
    )
