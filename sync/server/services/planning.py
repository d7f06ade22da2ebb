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

from app.domain.allocation import EtaChange, LineState, releasable
from app.domain.availability import ship_date
from app.domain.model import Eta, EtaKind, PolicyKind, ShipmentPolicy, Terms
from app.domain.plans import PlanLine, line_dates, plan_shipments
from sync.server.context import Tx
from sync.server.models import (
    Account,
    EtaChangeEvent,
    Order,
    OrderEvent,
    OrderLine,
    Shipment,
    Warehouse,
)
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
    tell(tx, order, lines, planned)


def line_days(
    planned: PlannedShipments, lines: Sequence[Any]
) -> dict[int, tuple[date | None, str | None]]:
    """Each open line's date under its order's policy (app.domain.plans.line_dates) and kind,
    by line number; shipped and cancelled lines have none."""
    dated = line_dates(
        [(day, [str(i["line_no"]) for i in items]) for _status, day, items in planned.shipments],
        [str(i["line_no"]) for i in planned.unscheduled],
        [str(li.line_no) for li in lines if li.waiting and li.eta_kind == "estimated"],
    )
    out: dict[int, tuple[date | None, str | None]] = {}
    for li in lines:
        if li.shipped >= li.quantity - li.cancelled:
            continue  # shipped (or cancelled): nothing more to tell
        eta = dated.get(str(li.line_no))
        out[li.line_no] = (eta.date, eta.kind.value) if eta else (None, None)
    return out


def tell(tx: Tx, order: Order, lines: Sequence[OrderLine], planned: PlannedShipments) -> None:
    """The notice rule: a line's date is what the customer was last told (shown or noticed);
    whenever its date under the plan differs, one ETA-change event tells it, naming the date
    told before, and that date becomes the customer's date."""
    days = line_days(planned, lines)
    moved = False
    for line in lines:
        if line.line_no not in days:
            continue  # shipped or cancelled
        day, kind = days[line.line_no]
        if day == line.told_date:
            line.told_kind = kind  # sureness alone is not a new date
            continue
        old = (line.told_date, line.told_kind)
        record_eta_change(tx, order, line, old, (day, kind), tx.cause or "re-planned")
        line.told_date, line.told_kind = day, kind
        moved = True
    if moved:
        tx.session.flush()


Told = tuple[date | None, str | None]  # a date and its kind; (None, None): no date


def record_eta_change(tx: Tx, order: Any, line: Any, old: Told, new: Told, cause: str) -> None:
    """One ETA-change event for a line (and a line in the order's history), naming the date
    the customer had before."""
    was = Eta(old[0], EtaKind(old[1] or "confirmed")) if old[0] else None
    now = Eta(new[0], EtaKind(new[1] or "confirmed")) if new[0] else None
    words = EtaChange(str(line.id), was, now).describe()
    event = EtaChangeEvent(
        line_id=line.id,
        order_id=order.id,
        rep_id=order.rep_id,
        sku=line.sku,
        old_date=old[0],
        old_kind=old[1] if old[0] else None,
        new_date=new[0],
        new_kind=new[1] if new[0] else None,
        message=words[:200],
        cause=cause[:200],
        created_at=tx.now,
    )
    tx.session.add(event)
    tx.session.add(
        OrderEvent(
            order_id=order.id,
            at=tx.now,
            actor="system",
            kind="eta",
            message=f"line {line.line_no}: {words} ({cause})"[:500],
        )
    )
    tx.session.flush()
    tx.touch("eta_change", event.id)


def _item(line: Any, quantity: int) -> dict[str, object]:
    return {"line_no": line.line_no, "sku": line.sku, "quantity": quantity}
