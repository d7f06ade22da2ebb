"""The supervisor's view of synced orders: list and filter, detail, and decisions (approve, hold,
reject) that are versioned: a decision on a stale version is refused with the fresh state."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from sqlalchemy import func
from sqlmodel import Session, col, select

from sync import protocol as p
from sync.server.context import Principal, Tx
from sync.server.models import (
    Account,
    AllocationRecord,
    EtaChangeEvent,
    Order,
    OrderEvent,
    OrderLine,
    User,
)
from sync.server.services import publish as pub
from sync.server.services.orders import release_order
from sync.server.services.planning import CLOSED
from sync.server.services.refusals import Conflict, NotFound


@dataclass(frozen=True)
class OrderFilter:
    status: str | None = None
    rep_id: int | None = None
    account_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None  # inclusive
    has_backorders: bool | None = None
    needs_attention: bool | None = None


def day_start(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time(0), tz)


def _where(f: OrderFilter, tz: tzinfo, *, with_status: bool = True) -> list[object]:
    clauses: list[object] = []
    if with_status and f.status is not None:
        clauses.append(Order.status == f.status)
    if f.rep_id is not None:
        clauses.append(Order.rep_id == f.rep_id)
    if f.account_id is not None:
        clauses.append(Order.account_id == f.account_id)
    if f.date_from is not None:
        clauses.append(col(Order.committed_at) >= day_start(f.date_from, tz))
    if f.date_to is not None:
        clauses.append(col(Order.committed_at) < day_start(f.date_to + timedelta(days=1), tz))
    if f.has_backorders is not None:
        clauses.append(Order.has_backorders == f.has_backorders)
    if f.needs_attention is not None:
        clauses.append(Order.needs_attention == f.needs_attention)
    return clauses


def list_orders(
    session: Session, f: OrderFilter, tz: tzinfo, offset: int, limit: int
) -> p.OrderList:
    clauses = _where(f, tz)
    total = session.exec(select(func.count()).select_from(Order).where(*clauses)).one()
    by_status = session.exec(
        select(Order.status, func.count())
        .where(*_where(f, tz, with_status=False))
        .group_by(Order.status)
    ).all()
    rows = session.exec(
        select(Order, Account.name, User.full_name)
        .join(Account, col(Account.id) == Order.account_id)
        .join(User, col(User.id) == Order.rep_id)
        .where(*clauses)
        .order_by(col(Order.committed_at).desc(), col(Order.id))
        .offset(offset)
        .limit(limit)
    ).all()
    ids = [o.id for o, _, _ in rows]
    lines = dict(  # counted for this page only, not for every order
        session.exec(
            select(OrderLine.order_id, func.count())
            .where(col(OrderLine.order_id).in_(ids))
            .group_by(OrderLine.order_id)
        ).all()
    )
    return p.OrderList(
        items=[
            p.OrderSummary(
                id=o.id,
                account_id=o.account_id,
                account_name=account,
                rep_id=o.rep_id,
                rep_name=rep,
                status=o.status,
                outcome=o.outcome,
                version=o.version,
                committed_at=o.committed_at,
                total_cents=o.total_cents,
                lines=lines.get(o.id, 0),
                has_backorders=o.has_backorders,
                needs_attention=o.needs_attention,
            )
            for o, account, rep in rows
        ],
        total=total,
        offset=offset,
        limit=limit,
        counts=dict(by_status),
    )


def detail(session: Session, order_id: uuid.UUID) -> p.OrderDetail:
    order = session.get(Order, order_id)
    if order is None:
        raise NotFound(f"order_id {order_id}: no such order")
    public = pub.orders(session, [order])[0]
    account = session.get(Account, order.account_id)
    rep = session.get(User, order.rep_id)
    line_no = {
        li.id: li.line_no
        for li in session.exec(select(OrderLine).where(OrderLine.order_id == order_id))
    }
    allocations = session.exec(
        select(AllocationRecord)
        .where(AllocationRecord.order_id == order_id)
        .order_by(AllocationRecord.id)
    ).all()
    changes = session.exec(
        select(EtaChangeEvent)
        .where(EtaChangeEvent.order_id == order_id)
        .order_by(EtaChangeEvent.id)
    ).all()
    history = session.exec(
        select(OrderEvent).where(OrderEvent.order_id == order_id).order_by(OrderEvent.id)
    ).all()
    return p.OrderDetail(
        order=public,
        account_name=account.name,
        rep_name=rep.full_name,
        allocations=[
            p.AllocationPublic(
                line_no=line_no[a.line_id],
                sku=a.sku,
                quantity=a.quantity,
                receipt_id=a.receipt_id,
                source=a.source,
                policy=a.policy,
                at=a.created_at,
            )
            for a in allocations
        ],
        eta_changes=[pub.eta_change(c, line_no[c.line_id]) for c in changes],
        history=[
            p.OrderEventPublic(at=e.at, actor=e.actor, kind=e.kind, message=e.message)
            for e in history
        ],
    )


_NEXT = {"approve": "approved", "hold": "on_hold", "reject": "rejected"}
_ALLOWED_FROM = {
    "approve": ("open", "on_hold"),
    "hold": ("open", "approved"),
    "reject": ("open", "on_hold", "approved"),
}


def decide(tx: Tx, who: Principal, order_id: uuid.UUID, body: p.DecisionRequest) -> p.OrderDetail:
    session = tx.session
    order = session.get(Order, order_id)
    if order is None:
        raise NotFound(f"order_id {order_id}: no such order")
    if body.version != order.version:
        raise Conflict(
            f"version: the order is at version {order.version}, not {body.version}; "
            "here it is as it stands now, decide again",
            {"current": detail(session, order_id).model_dump(mode="json")},
        )
    if order.status not in _ALLOWED_FROM[body.action]:
        raise Conflict(
            f"order {order_id} is {order.status.replace('_', ' ')}: cannot {body.action} it"
        )
    if body.action == "reject":
        # Releases everything (stock rows locked first), marks it rejected, bumps the version.
        release_order(
            tx,
            order,
            None,
            body.note,
            who=who,
            final_status="rejected",
            expect_version=body.version,
        )
    else:
        if tx.is_postgres:
            lock = select(Order).where(Order.id == order_id).with_for_update()
            order = session.exec(lock.execution_options(populate_existing=True)).one()
            if order.version != body.version or order.status in CLOSED:
                raise Conflict(f"order {order_id} changed meanwhile: reload it and decide again")
        order.status = _NEXT[body.action]
        order.version += 1
        session.add(
            OrderEvent(
                order_id=order.id,
                at=tx.now,
                actor=tx.actor,
                kind=body.action,
                message=f"{_NEXT[body.action].replace('_', ' ')}"
                + (f": {body.note}" if body.note else ""),
            )
        )
    order = session.get(Order, order_id)
    if body.action == "reject":
        # The rep sees why, and the order needs their attention until they acknowledge it.
        said = "rejected by the supervisor" + (f": {body.note}" if body.note else "")
        order.reason = said[:300]  # the column's width; the difference keeps it whole
        order.differences = [*(order.differences or []), f"order {said}"]
        order.needs_attention = True
    order.decided_version = order.version  # a rep's cancel based on an older one loses
    order.review_note = body.note
    order.reviewed_by = who.user_id
    order.reviewed_at = tx.now
    tx.touch("order", order.id)
    session.flush()
    return detail(session, order_id)
