"""Table rows to public (wire) records. Routes and the change log both go through here, so a
record looks the same whether it is pulled, snapshotted or returned by an endpoint."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic_core import to_jsonable_python
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
from sync.server.services.slips import history


def product(row: Product) -> p.ProductPublic:
    return p.ProductPublic.model_validate(row, from_attributes=True)


def warehouse(row: Warehouse) -> p.WarehousePublic:
    return p.WarehousePublic.model_validate(row, from_attributes=True)


def supplier(row: Supplier) -> p.SupplierPublic:
    return p.SupplierPublic.model_validate(row, from_attributes=True)


def supplier_history(session: Session, supplier_id: int) -> p.SupplierHistoryPublic:
    found = history(session, [supplier_id]).get(supplier_id, [])
    return p.SupplierHistoryPublic(supplier_id=supplier_id, curves=[c.wire() for c in found])


def stock(row: Stock) -> p.StockPublic:
    return p.StockPublic(
        sku=row.sku, warehouse_id=row.warehouse_id, on_hand=row.on_hand, reserved=row.reserved
    )


def stock_key(sku: str, warehouse_id: int) -> str:
    return f"{sku}@{warehouse_id}"


def stock_key_parts(key: str) -> tuple[str, int]:
    """stock_key's (sku, warehouse id); ValueError if `key` is not one."""
    sku, warehouse_id = key.rsplit("@", 1)
    return sku, int(warehouse_id)


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
        first_expected=row.first_expected,
        moved=bool(row.moved),
        base=row.base,
        arrived=row.arrived,
        po_id=row.po_id,
        ordered_on=row.ordered_on,
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
        told=row.told_date,
        told_kind=row.told_kind,
        likely=row.likely_date,
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


def _shipment_order(row: Any) -> tuple[int, str, int]:
    rank = _SHIPMENT_RANK.get(row.status, 3)
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


# ------------------------------------------------------------------------------------------
# The same records as plain dicts, for the hot paths (the order commit's change rows, snapshot
# pages): no pydantic model per record. `json_data` turns one into exactly what
# `model_dump(mode="json")` of its model gives (tests/integration/test_feed_fast.py and
# test_push_batch.py compare them).
# ------------------------------------------------------------------------------------------

_SHIPMENT_RANK = {"shipped": 0, "ready": 1, "planned": 2}


def json_data(record: dict[str, Any]) -> dict[str, Any]:
    return to_jsonable_python(record)


def stock_data(row: Any) -> dict[str, Any]:
    return {
        "sku": row.sku,
        "warehouse_id": row.warehouse_id,
        "on_hand": row.on_hand,
        "reserved": row.reserved,
    }


def queue_entry_data(row: Any, head: Any) -> dict[str, Any]:
    return {
        "entry_id": str(row.id),
        "sku": row.sku,
        "warehouse_id": row.warehouse_id,
        "waiting": row.waiting,
        "committed_at": head.committed_at,
        "tier": head.tier,
        "order_value": head.total_cents,
        "policy": head.policy,
    }


def _item(item: dict[str, Any]) -> dict[str, Any]:
    return {"line_no": item["line_no"], "sku": item["sku"], "quantity": item["quantity"]}


def line_data(r: Any) -> dict[str, Any]:
    return {
        "line_no": r.line_no,
        "sku": r.sku,
        "quantity": r.quantity,
        "price_cents": r.price_cents,
        "label": r.label,
        "allocated": r.allocated,
        "waiting": r.waiting,
        "cancelled": r.cancelled,
        "shipped": r.shipped,
        "backordered": r.backordered,
        "eta": r.eta_date,
        "eta_kind": r.eta_kind,
        "first_eta": r.first_eta_date,
        "alternatives": list(r.alternatives or []),
        "told": r.told_date,
        "told_kind": r.told_kind,
        "likely": r.likely_date,
    }


def order_data(h: Any, lines: Sequence[Any], shipments: Sequence[Any]) -> dict[str, Any]:
    """An OrderPublic as a dict, from an order row and its line and shipment rows (ORM rows,
    Core rows or anything with the columns as attributes)."""
    return {
        "id": h.id,
        "account_id": h.account_id,
        "rep_id": h.rep_id,
        "warehouse_id": h.warehouse_id,
        "status": h.status,
        "outcome": h.outcome,
        "reason": h.reason,
        "differences": list(h.differences or []),
        "needs_attention": bool(h.needs_attention),
        "version": h.version,
        "policy": h.policy,
        "cap": h.policy_cap,
        "note": h.note,
        "review_note": h.review_note,
        "client_time": h.client_time,
        "committed_at": h.committed_at,
        "total_cents": h.total_cents,
        "has_backorders": bool(h.has_backorders),
        "lines": [line_data(r) for r in sorted(lines, key=lambda r: r.line_no)],
        "shipments": [
            {
                "id": s.id,
                "status": s.status,
                "date": s.planned_date,
                "lines": [_item(x) for x in s.lines or []],
                "shipped_at": s.shipped_at,
            }
            for s in sorted(shipments, key=_shipment_order)
        ],
        "unscheduled": [_item(x) for x in h.unscheduled or []],
    }


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
