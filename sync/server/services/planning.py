"""Re-plan an order's shipments after anything moved: what may leave now
(app.domain.allocation.releasable) becomes a `ready` shipment, the rest is planned by the order's
policy (app.domain.plans) from each line's dated schedule."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date

from sqlmodel import col, delete, select

from app.domain.allocation import LineState, releasable
from app.domain.availability import ship_date
from app.domain.model import PolicyKind, ShipmentPolicy, Terms
from app.domain.plans import PlanLine, plan_shipments
from sync.server.context import Tx
from sync.server.models import Account, Order, OrderLine, Shipment, Warehouse
from sync.server.services.stockbook import terms_for

CLOSED = ("cancelled", "rejected", "fulfilled")


def order_terms(tx: Tx, order: Order) -> Terms:
    account = tx.session.get(Account, order.account_id)
    warehouse = tx.session.get(Warehouse, order.warehouse_id)
    return terms_for(warehouse, account.delivery_days if account else ())


def replan_orders(tx: Tx, order_ids: Iterable[uuid.UUID]) -> None:
    for order_id in sorted(set(order_ids)):
        order = tx.session.get(Order, order_id)
        if order is not None:
            replan(tx, order)


def replan(tx: Tx, order: Order) -> None:
    session = tx.session
    if tx.is_postgres:  # two transactions must not re-plan one order at once
        lock = select(Order).where(Order.id == order.id).with_for_update()
        session.exec(lock.execution_options(populate_existing=True)).one()
    fresh = select(OrderLine).where(OrderLine.order_id == order.id).order_by(OrderLine.line_no)
    lines = list(session.exec(fresh.execution_options(populate_existing=True)))
    session.exec(
        delete(Shipment).where(
            col(Shipment.order_id) == order.id, col(Shipment.status).in_(("planned", "ready"))
        )
    )
    tx.touch("order", order.id)
    live = [
        li
        for li in lines
        if li.quantity - li.cancelled > 0 and li.shipped < li.quantity - li.cancelled
    ]
    if order.status in CLOSED or not live:
        order.unscheduled = []
        return
    shipped = session.exec(
        select(Shipment.id).where(Shipment.order_id == order.id, Shipment.status == "shipped")
    ).all()
    policy = ShipmentPolicy.parse(order.policy, order.policy_cap)
    states = [
        LineState(str(li.id), li.quantity - li.cancelled, li.allocated, li.shipped) for li in live
    ]
    release = releasable(states, policy, shipments_so_far=len(shipped))
    terms = order_terms(tx, order)
    ready_day = ship_date(tx.today, terms, tx.today)
    by_id = {li.id: li for li in live}
    released = {int(r.line_id): r.quantity for r in release.lines}
    if release.ships:
        session.add(
            Shipment(
                order_id=order.id,
                status="ready",
                planned_date=ready_day,
                lines=[_item(by_id[i], q) for i, q in released.items()],
                created_at=tx.now,
            )
        )
    plan_lines = []
    for li in live:
        parts: list[tuple[date | None, int]] = []
        held = li.allocated - li.shipped - released.get(li.id, 0)
        if held:
            parts.append((ready_day, held))
        if li.waiting:
            parts.extend(
                (date.fromisoformat(d) if d else None, int(q)) for d, q in li.schedule or []
            )
            dated = sum(q for _, q in parts) - held
            if dated < li.waiting:  # never dated yet: the rest has no date
                parts.append((None, li.waiting - dated))
        if parts:
            plan_lines.append(PlanLine(str(li.id), tuple(parts)))
    order.unscheduled = []
    if not plan_lines:
        return
    if policy.kind is PolicyKind.CAPPED_SPLIT:
        used = len(shipped) + (1 if release.ships else 0)
        policy = ShipmentPolicy(PolicyKind.CAPPED_SPLIT, max(1, (policy.cap or 1) - used))
    plan = plan_shipments(plan_lines, policy)
    for s in plan.shipments:
        session.add(
            Shipment(
                order_id=order.id,
                status="planned",
                planned_date=s.date,
                lines=[_item(by_id[int(x.line_id)], x.quantity) for x in s.lines],
                created_at=tx.now,
            )
        )
    order.unscheduled = [_item(by_id[int(x.line_id)], x.quantity) for x in plan.unscheduled]


def _item(line: OrderLine, quantity: int) -> dict[str, object]:
    return {"line_no": line.line_no, "sku": line.sku, "quantity": quantity}
