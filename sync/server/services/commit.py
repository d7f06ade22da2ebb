"""Order commit (the `place_order` mutation), in one transaction.

Lock the stock rows of the order's items (in sku order), build each item's supply and demand
queue from the database, label and date the lines with app.domain.availability.check_cart
exactly as the device did, reserve what is free, queue the rest, plan shipments with
app.domain.plans and app.domain.allocation.releasable, and compare with what the rep promised.

This is the hot path of the server, so it reads and writes with SQLAlchemy Core (no ORM objects
to build, track and flush) and publishes its change rows from the values it already has.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam, insert, select, update

from app.domain.allocation import completion_eta
from app.domain.availability import CartLine, NewOrder, check_cart, ship_date
from app.domain.model import (
    AllocationPolicy,
    Availability,
    DomainError,
    PolicyKind,
    ShipmentPolicy,
    Terms,
)
from app.domain.plans import plan_order
from sync import protocol as p
from sync.server.context import Principal, Tx
from sync.server.fastsql import Fast, pipeline
from sync.server.models import (
    Account,
    Order,
    OrderEvent,
    OrderLine,
    Product,
    Shipment,
    Stock,
)
from sync.server.models import Warehouse as WarehouseTable
from sync.server.services import publish as pub
from sync.server.services.orders import _difference, _result, _verdict, verdict_of
from sync.server.services.planning import (
    line_days,
    plan_lines,
    record_eta_change,
    replan_orders,
)
from sync.server.services.refusals import Refusal
from sync.server.services.stockbook import Waiting, lock_books, redate

_A = Account.__table__.c  # type: ignore[attr-defined]
_W = WarehouseTable.__table__.c  # type: ignore[attr-defined]
_P = Product.__table__.c  # type: ignore[attr-defined]
_O = Order.__table__.c  # type: ignore[attr-defined]
_L = OrderLine.__table__.c  # type: ignore[attr-defined]
_S = Stock.__table__.c  # type: ignore[attr-defined]
_SH = Shipment.__table__.c  # type: ignore[attr-defined]

# Built once: the commit runs these on every order, and building a statement costs more than
# running it.
_ORDER_EXISTS = select(_O.id).where(_O.id == bindparam("order_id"))
_ACCOUNT = (
    select(
        _ORDER_EXISTS.exists().label("seen"),
        _A.id,
        _A.name,
        _A.rep_id,
        _A.warehouse_id,
        _A.tier,
        _A.delivery_days,
        _A.default_policy,
        _A.default_cap,
        _A.credit_hold,
        _W.handling_days,
    )
    .join_from(Account.__table__, WarehouseTable.__table__, _W.id == _A.warehouse_id)  # type: ignore[attr-defined]
    .where(_A.id == bindparam("account_id"))
)
_PRODUCTS = select(_P.sku, _P.price_cents, _P.discontinued, _P.alternatives).where(
    _P.sku.in_(bindparam("skus", expanding=True))
)
_INSERT_ORDER = insert(Order.__table__)  # type: ignore[attr-defined]
_INSERT_LINES = insert(OrderLine.__table__).returning(_L.line_no, _L.id)  # type: ignore[attr-defined]
_RESERVE = (
    update(Stock.__table__)  # type: ignore[attr-defined]
    .where(_S.sku == bindparam("b_sku"), _S.warehouse_id == bindparam("b_wh"))
    .values(reserved=bindparam("b_reserved"))
)
_INSERT_SHIPMENTS = insert(Shipment.__table__).returning(_SH.id, _SH.status, _SH.planned_date)  # type: ignore[attr-defined]
_INSERT_EVENT = insert(OrderEvent.__table__)  # type: ignore[attr-defined]
# ... and run on the DBAPI cursor (see sync/server/fastsql.py).
_ACCOUNT_F = Fast(_ACCOUNT)
_PRODUCTS_F = Fast(_PRODUCTS)
_INSERT_ORDER_F = Fast(_INSERT_ORDER)
_INSERT_LINES_F = Fast(_INSERT_LINES)
_RESERVE_F = Fast(_RESERVE)
_INSERT_SHIPMENTS_F = Fast(_INSERT_SHIPMENTS)
_INSERT_EVENT_F = Fast(_INSERT_EVENT)


@dataclass
class NewLine:
    """The columns of a new order_line row (publish and planning read them by name)."""

    order_id: uuid.UUID
    line_no: int
    sku: str
    warehouse_id: int
    quantity: int
    price_cents: int
    label: str
    allocated: int
    waiting: int
    cancelled: int
    backordered: int
    schedule: list[list[object]]
    eta_date: date | None
    eta_kind: str | None
    first_eta_date: date | None
    promised_label: str | None
    promised_now: int | None
    promised_eta: date | None
    promised_eta_kind: str | None
    promised_price_cents: int | None
    promised_schedule: list[list[object]] | None
    promised_ship: date | None
    alternatives: list[str]
    backordered_at: datetime | None
    likely_date: date | None = None
    told_date: date | None = None
    told_kind: str | None = None
    shipped: int = 0
    filled_at: datetime | None = None
    shipped_at: datetime | None = None
    id: int | None = field(default=None)

    def row(self) -> dict[str, Any]:
        row = vars(self).copy()
        del row["id"]  # the database's
        return row


def place_order(tx: Tx, who: Principal, m: p.PlaceOrder) -> p.MutationResult:
    s = tx.core()
    skus = [line.sku for line in m.lines]
    with pipeline(s):  # one round trip (PostgreSQL)
        account_sent = _ACCOUNT_F.send(s, {"order_id": m.order_id, "account_id": m.account_id})
        products_sent = _PRODUCTS_F.send(s, {"skus": skus})
    account = account_sent.first()
    if (account is not None and account.seen) or (account is None and _exists(tx, m.order_id)):
        existing = tx.session.get(Order, m.order_id)
        if existing.rep_id != who.user_id:
            raise Refusal(f"order_id {m.order_id}: this id is already used by another order")
        return _result(m, verdict_of(tx, existing))  # the same order sent again: same answer
    if account is None or (not who.is_supervisor and account.rep_id != who.user_id):
        raise Refusal(f"account_id {m.account_id}: no such account among yours")
    policy = _policy(m, account)
    if account.credit_hold:
        raise Refusal(f"account {account.name} is on credit hold: call the office before ordering")
    products = {r.sku: r for r in products_sent.rows()}
    for index, line in enumerate(m.lines):
        if line.sku not in products:
            raise Refusal(f"lines[{index}].sku: no product {line.sku!r} in the catalog")

    warehouse = account.warehouse_id
    fifo = tx.policy is AllocationPolicy.FIFO
    stock, books = lock_books(tx, warehouse, skus, products, totals_only=fifo)
    value = sum(products[x.sku].price_cents * x.quantity for x in m.lines)
    # The commit time is the queue rank: later than every line already waiting for these items
    # (another worker may have taken its time "after" ours but got the locks first).
    latest = max((t for b in books.values() if (t := b.latest_commit())), default=None)
    committed_at = tx.now if latest is None else max(tx.now, latest + timedelta(microseconds=1))
    terms = Terms(account.handling_days, frozenset(account.delivery_days or ()))
    befores = {sku: book.snapshot(tx.policy) for sku, book in books.items()}
    avs = check_cart(
        [CartLine(str(i + 1), x.sku, x.quantity) for i, x in enumerate(m.lines)],
        {sku: before[0] for sku, before in befores.items()},
        {sku: before[1] for sku, before in befores.items()},
        NewOrder(str(m.order_id), committed_at, account.tier, value),
        today=tx.today,
        terms=terms,
        policy=tx.policy,
        confidence=tx.confidence,
    )
    if all(av.now == 0 and products[av.item].discontinued for av in avs):
        names = ", ".join(
            f"{av.item} (try {', '.join(av.alternatives) or 'another item'})" for av in avs
        )
        raise Refusal(f"nothing on this order can be supplied: discontinued {names}")

    lines = [
        _new_line(tx, m.order_id, warehouse, i + 1, x, products[x.sku], av)
        for i, (x, av) in enumerate(zip(m.lines, avs, strict=True))
    ]
    ready_day = ship_date(tx.today, terms, tx.today)
    for line in lines:
        line.id = line.line_no  # planned by line number: the ids come with the insert
    planned = plan_lines(
        policy.kind.value, policy.cap, lines, shipped_so_far=0, ready_day=ready_day
    )
    moves = _tell(lines, line_days(planned, lines), m.lines)
    differences = [d for line in lines if (d := _difference(line)) is not None]
    waits = any(line.waiting or line.cancelled for line in lines)
    outcome = "accepted_with_changes" if differences else "backordered" if waits else "accepted"
    order = SimpleNamespace(
        id=m.order_id,
        account_id=account.id,
        rep_id=account.rep_id,
        device_id=who.device_id,
        warehouse_id=warehouse,
        policy=policy.kind.value,
        policy_cap=policy.cap,
        note=m.note,
        client_time=m.client_time,
        status="open",
        outcome=outcome,
        reason=None,
        differences=differences,
        version=1,
        committed_at=committed_at,
        total_cents=value,
        tier=account.tier,
        has_backorders=any(line.backordered for line in lines),
        needs_attention=bool(differences),
        review_note="",
        unscheduled=planned.unscheduled,
    )
    _write(tx, order, lines, stock, planned.shipments)
    if moves:
        _told_otherwise(tx, order, moves)
    moved: set[uuid.UUID] = set()
    if not fifo:
        # Under priority a new line may rank ahead of older ones: re-date those it overtook.
        # (Under FIFO it joins the end of the queue: nobody else's date can move.)
        for line in lines:
            if line.waiting:
                books[line.sku].waiting[line.id] = Waiting.of(line, order, terms)  # type: ignore[arg-type]
        for sku in sorted({line.sku for line in lines if line.waiting}):
            book = books[sku]
            cause = f"an order of a tier {account.tier} account ranks ahead"
            moved |= redate(tx, book, befores[sku], (book.supply(), book.queue(tx.policy)), cause)[
                1
            ]
        replan_orders(tx, moved - {m.order_id})
    verdict = _verdict(order, lines, m.lines)  # type: ignore[arg-type]
    verdict.plan = _plan(lines, avs, policy)
    return _result(m, verdict)


def _tell(
    lines: list[NewLine],
    days: dict[int, tuple[date | None, str | None]],
    wanted: list[p.OrderLineIn],
) -> list[tuple[NewLine, date | None, str | None]]:
    """Each line's customer date: the day it reaches them under the order's policy. The date
    first shown is the rep's (from the promise, as the cart showed it), or the server's when the
    app sent none. Where the server's day differs from the one shown, the customer must be told:
    those lines are returned with the date shown (an ETA change is recorded once written)."""
    moves = []
    for line, x in zip(lines, wanted, strict=True):
        day, kind = days.get(line.line_no, (None, None))
        line.told_date, line.told_kind = day, kind
        promise = x.promise
        shown = day
        if promise is not None and promise.schedule is not None:
            shown = promise.ship
            if shown != day:
                kind_shown = promise.ship_kind.value if promise.ship_kind else None
                moves.append((line, shown, kind_shown))
        if line.backordered:
            line.first_eta_date = shown
    return moves


def _told_otherwise(
    tx: Tx, order: SimpleNamespace, moves: list[tuple[NewLine, date | None, str | None]]
) -> None:
    """The server dates a line otherwise than the rep showed: one ETA change from the date
    shown, so the customer's date never changes silently."""
    for line, shown, shown_kind in moves:
        told = (line.told_date, line.told_kind)
        record_eta_change(tx, order, line, (shown, shown_kind), told, "the server's check")


def _exists(tx: Tx, order_id: uuid.UUID) -> bool:
    return tx.core().execute(_ORDER_EXISTS, {"order_id": order_id}).first() is not None


def _policy(m: p.PlaceOrder, account: Any) -> ShipmentPolicy:
    kind = m.policy or PolicyKind(account.default_policy)
    cap = m.cap if m.policy is not None else account.default_cap
    try:
        return ShipmentPolicy(kind, cap if kind is PolicyKind.CAPPED_SPLIT else None)
    except DomainError as error:
        raise Refusal(f"policy: {error}") from None


def _write(
    tx: Tx,
    order: SimpleNamespace,
    lines: list[NewLine],
    stock: dict[str, Any],
    shipments: list[tuple[str, date, list[dict[str, object]]]],
) -> None:
    """Insert the order, its lines and shipments, reserve the stock, and queue the change rows
    (stock rows, queue entries, the order) for the change log."""
    s = tx.core()
    taken: dict[str, int] = {}  # units reserved now, by item: the stock rows that change
    for line in lines:
        if line.allocated:
            taken[line.sku] = taken.get(line.sku, 0) + line.allocated
    for sku, units in taken.items():
        stock[sku].reserved += units
    reserve = [
        {"b_sku": sku, "b_wh": order.warehouse_id, "b_reserved": stock[sku].reserved}
        for sku in taken
    ]
    planned = [
        {
            "order_id": order.id,
            "status": st,
            "planned_date": day,
            "lines": items,
            "created_at": tx.now,
        }
        for st, day, items in shipments
    ]
    event = {
        "order_id": order.id,
        "at": tx.now,
        "actor": tx.actor,
        "kind": "committed",
        "message": f"committed: {order.outcome.replace('_', ' ')}",
    }
    with pipeline(s):  # one round trip (PostgreSQL)
        _INSERT_ORDER_F.send(s, vars(order))
        line_ids = _INSERT_LINES_F.send(s, [line.row() for line in lines])
        _RESERVE_F.send(s, reserve)
        made = _INSERT_SHIPMENTS_F.send(s, planned)
        _INSERT_EVENT_F.send(s, event)
    ids = dict(line_ids.rows())
    for line in lines:
        line.id = ids[line.line_no]
    made_ids = {(st, day): new_id for new_id, st, day in made.rows()}
    rows = [
        SimpleNamespace(
            id=made_ids[(st, day)], status=st, planned_date=day, lines=items, shipped_at=None
        )
        for st, day, items in shipments
    ]
    # The change rows' records as plain dicts (publish.py's *_data): no pydantic per record, and
    # no conversion to JSON values either: dates and UUIDs go straight to JSON text when stored.
    for sku in sorted(taken):
        tx.ready("stock", pub.stock_key(sku, order.warehouse_id), None, pub.stock_data(stock[sku]))
    for line in lines:
        if line.waiting:
            tx.ready("queue_entry", str(line.id), None, pub.queue_entry_data(line, order))
    tx.ready("order", str(order.id), order.rep_id, pub.order_data(order, lines, rows))


def _new_line(
    tx: Tx,
    order_id: uuid.UUID,
    warehouse_id: int,
    line_no: int,
    wanted: p.OrderLineIn,
    product: Any,
    av: Availability,
) -> NewLine:
    short = wanted.quantity - av.now
    # A discontinued item is never restocked: what stock cannot cover will not come.
    unavailable = short if product.discontinued else 0
    eta = completion_eta(av)
    promise = wanted.promise
    return NewLine(
        order_id=order_id,
        line_no=line_no,
        sku=product.sku,
        warehouse_id=warehouse_id,
        quantity=wanted.quantity,
        price_cents=product.price_cents,
        label=av.label.value,
        allocated=av.now,
        waiting=short - unavailable,
        cancelled=unavailable,
        backordered=short,
        schedule=[] if product.discontinued else _waiting_schedule(av),
        eta_date=eta.date if eta else None,
        eta_kind=eta.kind.value if eta else None,
        first_eta_date=None,  # the date shown: set once the plan dates the line (_tell)
        promised_label=promise.label.value if promise else None,
        promised_now=promise.now if promise else None,
        promised_eta=promise.eta if promise else None,
        promised_eta_kind=promise.eta_kind.value if promise and promise.eta_kind else None,
        promised_price_cents=promise.price_cents if promise else None,
        promised_schedule=(
            [[d.isoformat() if d else None, q] for d, q in promise.schedule]
            if promise is not None and promise.schedule is not None
            else None
        ),
        promised_ship=promise.ship if promise else None,
        alternatives=list(av.alternatives),
        likely_date=av.likely if short else None,
        backordered_at=tx.now if short else None,
    )


def _waiting_schedule(av: Availability) -> list[list[object]]:
    """When the backordered units can ship: the dated parts, then the undated rest."""
    parts: list[list[object]] = [[x.eta.date.isoformat(), x.quantity] for x in av.dated]
    if av.undated:
        parts.append([None, av.undated])
    return parts


def _plan(
    lines: list[NewLine], avs: tuple[Availability, ...], policy: ShipmentPolicy
) -> p.ShipmentPlanPublic:
    """The plan as the device previews it: app.domain.plans.plan_order over the availabilities."""
    plan = plan_order([(str(li.line_no), av) for li, av in zip(lines, avs, strict=True)], policy)

    def item(line_no: str, quantity: int) -> p.ShipmentLinePublic:
        line = lines[int(line_no) - 1]
        return p.ShipmentLinePublic(line_no=line.line_no, sku=line.sku, quantity=quantity)

    return p.ShipmentPlanPublic(
        policy=policy.kind,
        cap=policy.cap,
        shipments=[
            p.PlannedShipment(date=s.date, lines=[item(x.line_id, x.quantity) for x in s.lines])
            for s in plan.shipments
        ],
        unscheduled=[item(x.line_id, x.quantity) for x in plan.unscheduled],
        total_wait_days=plan.total_wait_days,
    )
