"""Order mutations: place (commit against real stock), cancel an order or a line, acknowledge.

Commit, in one transaction: lock the stock rows of the order's items (in sku order), build each
item's supply and demand queue from the database, label and date the lines with
app.domain.availability.check_cart exactly as the device did, reserve what is free, queue the
rest, plan shipments with app.domain.plans, and compare with what the rep promised.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlmodel import col, select

from app.domain.allocation import completion_eta
from app.domain.availability import CartLine, NewOrder, check_cart
from app.domain.model import (
    AllocationPolicy,
    Availability,
    DomainError,
    Label,
    PolicyKind,
    ShipmentPolicy,
)
from app.domain.plans import plan_order
from sync import protocol as p
from sync.server.context import Principal, Tx
from sync.server.models import Account, Order, OrderEvent, OrderLine, Product, Warehouse
from sync.server.services import publish as pub
from sync.server.services.planning import CLOSED, replan, replan_orders
from sync.server.services.refusals import Refusal
from sync.server.services.stockbook import (
    Waiting,
    load_books,
    lock_stock,
    redate,
    settle,
    terms_for,
)

_LABEL_RANK = {
    Label.IN_STOCK: 0,
    Label.PARTIAL: 1,
    Label.BACKORDERED: 2,
    Label.OUT_OF_STOCK: 3,
    Label.DISCONTINUED: 4,
}


def own_account(tx: Tx, who: Principal, account_id: int) -> Account:
    account = tx.session.get(Account, account_id)
    if account is None or (not who.is_supervisor and account.rep_id != who.user_id):
        raise Refusal(f"account_id {account_id}: no such account among yours")
    return account


def own_order(tx: Tx, who: Principal, order_id: uuid.UUID, *, lock: bool = False) -> Order:
    query = select(Order).where(Order.id == order_id)
    if lock and tx.is_postgres:
        query = query.with_for_update()
    order = tx.session.exec(query.execution_options(populate_existing=lock)).first()
    if order is None or (not who.is_supervisor and order.rep_id != who.user_id):
        raise Refusal(f"order_id {order_id}: no such order among yours")
    return order


def _event(tx: Tx, order_id: uuid.UUID, kind: str, message: str) -> None:
    tx.session.add(
        OrderEvent(order_id=order_id, at=tx.now, actor=tx.actor, kind=kind, message=message[:500])
    )


# ------------------------------------------------------------------------------------------
# place_order
# ------------------------------------------------------------------------------------------


def place_order(tx: Tx, who: Principal, m: p.PlaceOrder) -> p.MutationResult:
    session = tx.session
    existing = session.get(Order, m.order_id)
    if existing is not None:
        if existing.rep_id != who.user_id:
            raise Refusal(f"order_id {m.order_id}: this id is already used by another order")
        return _result(m, verdict_of(tx, existing))  # the same order sent again: same answer
    account = own_account(tx, who, m.account_id)
    kind = m.policy or PolicyKind(account.default_policy)
    cap = m.cap if m.policy is not None else account.default_cap
    if kind is not PolicyKind.CAPPED_SPLIT:
        cap = None
    try:
        policy = ShipmentPolicy(kind, cap)
    except DomainError as error:
        raise Refusal(f"policy: {error}") from None
    if account.credit_hold:
        raise Refusal(f"account {account.name} is on credit hold: call the office before ordering")
    skus = [line.sku for line in m.lines]
    products = {x.sku: x for x in session.exec(select(Product).where(col(Product.sku).in_(skus)))}
    for index, line in enumerate(m.lines):
        if line.sku not in products:
            raise Refusal(f"lines[{index}].sku: no product {line.sku!r} in the catalog")
    books = load_books(tx, account.warehouse_id, skus)
    order_value = sum(products[x.sku].price_cents * x.quantity for x in m.lines)
    warehouse_terms = terms_for(
        tx.session.get(Warehouse, account.warehouse_id), account.delivery_days
    )
    befores = {sku: book.snapshot(tx.policy) for sku, book in books.items()}
    cart = [CartLine(str(i + 1), x.sku, x.quantity) for i, x in enumerate(m.lines)]
    avs = check_cart(
        cart,
        {sku: before[0] for sku, before in befores.items()},
        {sku: before[1] for sku, before in befores.items()},
        NewOrder(str(m.order_id), tx.now, account.tier, order_value),
        today=tx.today,
        terms=warehouse_terms,
        policy=tx.policy,
    )
    if all(av.now == 0 and products[av.item].discontinued for av in avs):
        names = ", ".join(
            f"{av.item} (try {', '.join(av.alternatives) or 'another item'})" for av in avs
        )
        raise Refusal(f"nothing on this order can be supplied: discontinued {names}")

    order = Order(
        id=m.order_id,
        account_id=account.id,
        rep_id=account.rep_id,
        device_id=who.device_id,
        warehouse_id=account.warehouse_id,
        policy=policy.kind.value,
        policy_cap=policy.cap,
        note=m.note,
        client_time=m.client_time,
        outcome="accepted",
        committed_at=tx.now,
        total_cents=order_value,
        tier=account.tier,
    )
    session.add(order)
    lines = [
        _new_line(tx, order, i + 1, x, products[x.sku], av)
        for i, (x, av) in enumerate(zip(m.lines, avs, strict=True))
    ]
    session.add_all(lines)
    session.flush()

    waiting_skus = set()
    for line, av in zip(lines, avs, strict=True):
        book = books[line.sku]
        book.stock.reserved += av.now
        tx.touch("stock", pub.stock_key(line.sku, line.warehouse_id))
        if line.waiting:
            book.waiting[line.id] = Waiting(line, order, warehouse_terms)
            tx.touch("queue_entry", line.id)
            waiting_skus.add(line.sku)
    moved: set[uuid.UUID] = set()
    if tx.policy is AllocationPolicy.PRIORITY:
        # A new line may rank ahead of older ones: re-date the lines it overtook.
        for sku in sorted(waiting_skus):
            book = books[sku]
            after = (book.supply(), book.queue(tx.policy))
            _, changed = redate(
                tx, book, befores[sku], after, f"order by a tier {order.tier} account ranks ahead"
            )
            moved |= changed
    # (Under FIFO a new line joins at the end of the queue: nobody else's date can move.)

    differences = [d for line in lines if (d := _difference(line)) is not None]
    backordered = any(line.waiting or line.cancelled for line in lines)
    order.has_backorders = any(line.backordered for line in lines)
    order.outcome = (
        "accepted_with_changes" if differences else "backordered" if backordered else "accepted"
    )
    order.differences = differences
    order.needs_attention = bool(differences)
    replan(tx, order)
    replan_orders(tx, moved - {order.id})
    _event(tx, order.id, "committed", f"committed: {order.outcome.replace('_', ' ')}")
    plan = plan_order([(str(li.line_no), av) for li, av in zip(lines, avs, strict=True)], policy)
    verdict = _verdict(order, lines, m.lines)
    verdict.plan = p.ShipmentPlanPublic(
        policy=policy.kind,
        cap=policy.cap,
        shipments=[
            p.PlannedShipment(
                date=s.date,
                lines=[_plan_item(lines, x.line_id, x.quantity) for x in s.lines],
            )
            for s in plan.shipments
        ],
        unscheduled=[_plan_item(lines, x.line_id, x.quantity) for x in plan.unscheduled],
        total_wait_days=plan.total_wait_days,
    )
    return _result(m, verdict)


def _plan_item(lines: Sequence[OrderLine], line_no: str, quantity: int) -> p.ShipmentLinePublic:
    line = lines[int(line_no) - 1]
    return p.ShipmentLinePublic(line_no=line.line_no, sku=line.sku, quantity=quantity)


def _new_line(
    tx: Tx, order: Order, line_no: int, wanted: p.OrderLineIn, product: Product, av: Availability
) -> OrderLine:
    short = wanted.quantity - av.now
    # A discontinued item is never restocked: what stock cannot cover will not come.
    unavailable = short if product.discontinued else 0
    eta = completion_eta(av)
    schedule = [] if product.discontinued else _waiting_schedule(av)
    promise = wanted.promise
    return OrderLine(
        order_id=order.id,
        line_no=line_no,
        sku=product.sku,
        warehouse_id=order.warehouse_id,
        quantity=wanted.quantity,
        price_cents=product.price_cents,
        label=av.label.value,
        allocated=av.now,
        waiting=short - unavailable,
        cancelled=unavailable,
        backordered=short,
        schedule=schedule,
        eta_date=eta.date if eta else None,
        eta_kind=eta.kind.value if eta else None,
        first_eta_date=(av.eta.date if short and av.eta else None),
        promised_label=promise.label.value if promise else None,
        promised_now=promise.now if promise else None,
        promised_eta=promise.eta if promise else None,
        promised_eta_kind=promise.eta_kind.value if promise and promise.eta_kind else None,
        alternatives=list(av.alternatives),
        backordered_at=tx.now if short else None,
    )


def _waiting_schedule(av: Availability) -> list[list[object]]:
    """When the backordered units can ship: the dated parts, then the undated rest."""
    parts: list[list[object]] = [[x.eta.date.isoformat(), x.quantity] for x in av.dated]
    if av.undated:
        parts.append([None, av.undated])
    return parts


def _difference(line: OrderLine) -> str | None:
    """In words, how the server's answer is worse than what the rep promised (None if not)."""
    if line.promised_label is None:
        return None
    said = []
    if line.promised_now is not None and line.allocated < min(line.promised_now, line.quantity):
        said.append(f"only {line.allocated} of {line.quantity} now (you saw {line.promised_now})")
    if line.cancelled:
        said.append(f"{line.cancelled} cannot be supplied (discontinued)")
    elif line.waiting:
        if line.eta_date is None and line.promised_eta is not None:
            said.append(f"no restock date (you saw ETA {line.promised_eta.isoformat()})")
        elif line.eta_date and line.promised_eta and line.eta_date > line.promised_eta:
            said.append(
                f"ETA {line.eta_date.isoformat()} (you saw {line.promised_eta.isoformat()})"
            )
    if not said and _LABEL_RANK[Label(line.label)] > _LABEL_RANK[Label(line.promised_label)]:
        said.append(
            f"now {line.label.replace('_', ' ')} (you saw {line.promised_label.replace('_', ' ')})"
        )
    if not said:
        return None
    return f"line {line.line_no} {line.sku}: " + "; ".join(said)


def _line_result(line: OrderLine, promise: p.PromisedLine | None) -> p.LineResult:
    return p.LineResult(
        line_no=line.line_no,
        sku=line.sku,
        quantity=line.quantity,
        label=line.label,
        reserved=line.allocated,
        backordered=line.waiting,
        unavailable=line.cancelled,
        eta=line.eta_date,
        eta_kind=line.eta_kind,
        alternatives=line.alternatives or [],
        promised=promise,
        difference=_difference(line),
    )


def _verdict(
    order: Order, lines: Sequence[OrderLine], wanted: Sequence[p.OrderLineIn] | None = None
) -> p.OrderVerdict:
    promises: list[p.PromisedLine | None] = [x.promise for x in wanted] if wanted else []
    if not promises:
        promises = [_stored_promise(li) for li in lines]
    return p.OrderVerdict(
        order_id=order.id,
        outcome=order.outcome,
        reason=order.reason,
        status=order.status,
        version=order.version,
        lines=[_line_result(li, pr) for li, pr in zip(lines, promises, strict=True)],
        differences=order.differences or [],
    )


def _stored_promise(line: OrderLine) -> p.PromisedLine | None:
    if line.promised_label is None:
        return None
    return p.PromisedLine(
        label=line.promised_label,
        now=line.promised_now or 0,
        eta=line.promised_eta,
        eta_kind=line.promised_eta_kind,
    )


def verdict_of(tx: Tx, order: Order) -> p.OrderVerdict:
    lines = _lines(tx, order)
    return _verdict(order, lines)


def _lines(tx: Tx, order: Order, *, fresh: bool = False) -> list[OrderLine]:
    query = select(OrderLine).where(OrderLine.order_id == order.id).order_by(OrderLine.line_no)
    return list(tx.session.exec(query.execution_options(populate_existing=fresh)))


def _result(m: p.MutationBase, verdict: p.OrderVerdict) -> p.MutationResult:
    return p.MutationResult(
        mutation_id=m.mutation_id,
        name=m.name,  # type: ignore[attr-defined]
        status="applied",
        outcome=verdict.outcome,
        reason=verdict.reason,
        order=verdict,
    )


# ------------------------------------------------------------------------------------------
# cancel_order, cancel_line
# ------------------------------------------------------------------------------------------


def cancel_order(tx: Tx, who: Principal, m: p.CancelOrder) -> p.MutationResult:
    order = own_order(tx, who, m.order_id)
    verdict = release_order(tx, order, None, m.reason, who=who, final_status="cancelled")
    return _result(m, verdict)


def cancel_line(tx: Tx, who: Principal, m: p.CancelLine) -> p.MutationResult:
    order = own_order(tx, who, m.order_id)
    verdict = release_order(tx, order, m.line_no, m.reason, who=who, final_status="cancelled")
    return _result(m, verdict)


def release_order(
    tx: Tx,
    order: Order,
    line_no: int | None,
    reason: str,
    *,
    who: Principal,
    final_status: str,
    expect_version: int | None = None,
) -> p.OrderVerdict:
    """Cancel one line or every line (a rep's cancel, a supervisor's reject): unshipped units are
    released and the freed stock goes at once to the queue."""
    if order.status in CLOSED:
        raise Refusal(f"order {order.id} is already {order.status}")
    known = _lines(tx, order)
    if line_no is not None and all(li.line_no != line_no for li in known):
        raise Refusal(f"line_no {line_no}: order {order.id} has no such line")
    skus = sorted({li.sku for li in known if line_no is None or li.line_no == line_no})
    stock = lock_stock(tx, order.warehouse_id, skus)  # stock rows first, then the order row
    order = own_order(tx, who, order.id, lock=True)
    if order.status in CLOSED:
        raise Refusal(f"order {order.id} is already {order.status}")
    if expect_version is not None and order.version != expect_version:
        raise Refusal(f"order {order.id} changed meanwhile: reload it and decide again")
    lines = _lines(tx, order, fresh=True)  # as they are now that nobody else can move them
    targets = [
        li
        for li in lines
        if (line_no is None or li.line_no == line_no) and li.allocated - li.shipped + li.waiting
    ]
    if not targets:
        what = "order" if line_no is None else f"line_no {line_no}: the line"
        raise Refusal(f"{what} has nothing left to cancel")
    books = load_books(tx, order.warehouse_id, skus, stock=stock)
    befores = {sku: book.snapshot(tx.policy) for sku, book in books.items()}
    for line in targets:
        book = books[line.sku]
        unshipped = line.allocated - line.shipped
        book.stock.reserved -= unshipped
        line.cancelled += line.waiting + unshipped
        line.allocated = line.shipped
        line.waiting = 0
        line.schedule = []
        book.waiting.pop(line.id, None)
        tx.touch("queue_entry", line.id)
        tx.touch("stock", pub.stock_key(line.sku, line.warehouse_id))
    cause = f"order {str(order.id)[:8]} {final_status}"
    moved: set[uuid.UUID] = set()
    for sku, book in books.items():
        moved |= settle(tx, book, befores[sku], cause=cause, source="release").orders
    order.version += 1
    remaining = [li for li in lines if li.quantity - li.cancelled > li.shipped]
    if not remaining:
        shipped_any = any(li.shipped for li in lines)
        order.status = "fulfilled" if shipped_any and final_status == "cancelled" else final_status
        if order.status != "fulfilled":
            order.cancelled_at = tx.now
    what = "order" if line_no is None else f"line {line_no}"
    _event(tx, order.id, final_status, f"{what} {final_status}" + (f": {reason}" if reason else ""))
    replan(tx, order)
    replan_orders(tx, moved - {order.id})
    return _verdict(order, lines)


# ------------------------------------------------------------------------------------------
# acknowledge
# ------------------------------------------------------------------------------------------


def acknowledge(tx: Tx, who: Principal, m: p.Acknowledge) -> p.MutationResult:
    order = own_order(tx, who, m.order_id)
    if order.needs_attention:
        order.needs_attention = False
        order.acknowledged_at = tx.now
        _event(tx, order.id, "acknowledged", "the rep has seen the differences")
        tx.touch("order", order.id)
    return _result(m, verdict_of(tx, order))
