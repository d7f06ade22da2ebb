"""Re-plan an order's shipments after anything moved: what may leave now
(app.domain.allocation.releasable) becomes a `ready` shipment, the rest is planned by the order's
policy (app.domain.plans) from each line's dated schedule."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func
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
    account = tx.get(Account, order.account_id)
    warehouse = tx.get(Warehouse, order.warehouse_id)
    return terms_for(warehouse, account.delivery_days if account else ())


def replan_orders(tx: Tx, order_ids: Iterable[uuid.UUID]) -> None:
    for order_id in sorted(set(order_ids)):
        order = tx.session.get(Order, order_id)
        if order is not None:
            replan(tx, order)


@dataclass(frozen=True)
class PlannedShipments:
    """Shipments to store for an order (status, date, items) and the units with no date."""

    shipments: list[tuple[str, date, list[dict[str, object]]]]
    unscheduled: list[dict[str, object]]


def plan_lines(
    policy_kind: str,
    cap: int | None,
    lines: Sequence[Any],
    *,
    shipped_so_far: int,
    ready_day: date,
) -> PlannedShipments:
    """The shipments of one order from its lines as they stand (objects with id, line_no, sku,
    quantity, cancelled, allocated, shipped, waiting, schedule): what may leave now, by
    app.domain.allocation.releasable, as a `ready` shipment; the rest planned by
    app.domain.plans.plan_shipments from each line's dated schedule."""
    live = [li for li in lines if li.shipped < li.quantity - li.cancelled]
    if not live:
        return PlannedShipments([], [])
    policy = ShipmentPolicy.parse(policy_kind, cap)
    states = [
        LineState(str(li.id), li.quantity - li.cancelled, li.allocated, li.shipped) for li in live
    ]
    release = releasable(states, policy, shipments_so_far=shipped_so_far)
    by_id = {li.id: li for li in live}
    released = {int(r.line_id): r.quantity for r in release.lines}
    out: list[tuple[str, date, list[dict[str, object]]]] = []
    if release.ships:
        out.append(("ready", ready_day, [_item(by_id[i], q) for i, q in released.items()]))
    parts_of = []
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
            parts_of.append(PlanLine(str(li.id), tuple(parts)))
    if not parts_of:
        return PlannedShipments(out, [])
    if policy.kind is PolicyKind.CAPPED_SPLIT:
        used = shipped_so_far + (1 if release.ships else 0)
        policy = ShipmentPolicy(PolicyKind.CAPPED_SPLIT, max(1, (policy.cap or 1) - used))
    plan = plan_shipments(parts_of, policy)
    for s in plan.shipments:
        out.append(("planned", s.date, [_item(by_id[int(x.line_id)], x.quantity) for x in s.lines]))
    return PlannedShipments(
        out, [_item(by_id[int(x.line_id)], x.quantity) for x in plan.unscheduled]
    )


def replan(tx: Tx, order: Order) -> None:
    """Replace an order's planned and ready shipments by a fresh plan."""
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
    order.unscheduled = []
    if order.status in CLOSED:
        return
    shipped = session.exec(
        select(func.count())
        .select_from(Shipment)
        .where(Shipment.order_id == order.id, Shipment.status == "shipped")
    ).one()
    terms = order_terms(tx, order)
    planned = plan_lines(
        order.policy,
        order.policy_cap,
        [li for li in lines if li.quantity > li.cancelled],
        shipped_so_far=shipped,
        ready_day=ship_date(tx.today, terms, tx.today),
    )
    for status, day, items in planned.shipments:
        session.add(
            Shipment(
                order_id=order.id, status=status, planned_date=day, lines=items, created_at=tx.now
            )
        )
    order.unscheduled = planned.unscheduled


def _item(line: Any, quantity: int) -> dict[str, object]:
    return {"line_no": line.line_no, "sku": line.sku, "quantity": quantity}
