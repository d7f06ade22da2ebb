"""Order mutations after commit (see commit.py for place_order): cancel an order or a line,
acknowledge a verdict; and the verdict a device gets, beside what the rep promised."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

from sqlmodel import select

from app.domain.model import Label, money
from sync import protocol as p
from sync.server.context import Principal, Tx
from sync.server.models import Account, ConflictRecord, Order, OrderEvent, OrderLine
from sync.server.services import publish as pub
from sync.server.services.planning import CLOSED, replan, replan_orders
from sync.server.services.refusals import Refusal
from sync.server.services.stockbook import (
    load_books,
    lock_stock,
    settle,
)

_LABEL_RANK = {
    Label.IN_STOCK: 0,
    Label.PARTIAL: 1,
    Label.BACKORDERED: 2,
    Label.OUT_OF_STOCK: 3,
    Label.DISCONTINUED: 4,
}


def own_account(tx: Tx, who: Principal, account_id: int) -> Account:
    account = tx.get(Account, account_id)
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


def _difference(line: OrderLine) -> str | None:
    """In words, how the server's answer is worse than what the rep promised, or its price
    other than the one quoted (None if neither)."""
    if line.promised_label is None:
        return None
    said = []
    if line.promised_now is not None and line.allocated < min(line.promised_now, line.quantity):
        said.append(f"only {line.allocated} of {line.quantity} now (you saw {line.promised_now})")
    if line.cancelled:
        said.append(f"{line.cancelled} cannot be supplied (discontinued)")
    elif line.promised_schedule is not None:  # the promise as the cart showed it: its date
        shown, told = line.promised_ship, line.told_date
        if told is None and shown is not None:
            said.append(f"no date for all of it (you showed {shown.isoformat()})")
        elif told is not None and shown is not None and told > shown:
            said.append(f"reaches the customer {told.isoformat()} (you showed {shown.isoformat()})")
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
    quoted = line.promised_price_cents
    if quoted is not None and quoted != line.price_cents:  # either way: the customer was told
        said.append(f"price {money(line.price_cents)} (you quoted {money(quoted)})")
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
        ship=line.told_date,
        ship_kind=line.told_kind,
        likely=line.likely_date,
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
        price_cents=line.promised_price_cents,
        schedule=(
            [(date.fromisoformat(d) if d else None, q) for d, q in line.promised_schedule]
            if line.promised_schedule is not None
            else None
        ),
        ship=line.promised_ship,
    )


def verdict_of(tx: Tx, order: Order) -> p.OrderVerdict:
    lines = _lines(tx, order)
    return _verdict(order, lines)


def _lines(tx: Tx, order: Order, *, fresh: bool = False) -> list[OrderLine]:
    query = select(OrderLine).where(OrderLine.order_id == order.id).order_by(OrderLine.line_no)
    return list(tx.session.exec(query.execution_options(populate_existing=fresh)))


def _result(m: p.MutationBase, verdict: p.OrderVerdict) -> p.MutationResult:
    """The answer to a mutation about an order: for place_order the commit outcome; for the
    others (cancel, acknowledge) "accepted", with the order as it now stands."""
    name = m.name  # type: ignore[attr-defined]
    return p.MutationResult(
        mutation_id=m.mutation_id,
        name=name,
        status="applied",
        outcome=verdict.outcome if name == "place_order" else "accepted",
        reason=verdict.reason,
        order=verdict,
    )


# ------------------------------------------------------------------------------------------
# cancel_order, cancel_line
# ------------------------------------------------------------------------------------------


class Overruled(Exception):
    """A supervisor decided on the order after the version a rep's cancel was based on."""

    def __init__(self, order: Order) -> None:
        super().__init__(f"order {order.id} was decided at version {order.decided_version}")
        self.order = order


def cancel_order(tx: Tx, who: Principal, m: p.CancelOrder) -> p.MutationResult:
    return _cancel(tx, who, m, None)


def cancel_line(tx: Tx, who: Principal, m: p.CancelLine) -> p.MutationResult:
    return _cancel(tx, who, m, m.line_no)


def _cancel(
    tx: Tx, who: Principal, m: p.CancelOrder | p.CancelLine, line_no: int | None
) -> p.MutationResult:
    order = own_order(tx, who, m.order_id)
    try:
        verdict = release_order(
            tx, order, line_no, m.reason, who=who, final_status="cancelled",
            base_version=m.base_version,
        )  # fmt: skip
    except Overruled as lost:
        return _overruled(tx, who, m, lost.order, line_no)
    return _result(m, verdict)


def _overruled(
    tx: Tx, who: Principal, m: p.CancelOrder | p.CancelLine, order: Order, line_no: int | None
) -> p.MutationResult:
    """Supervisor decisions win over a rep's edit of status (ARCHITECTURE, sync 5): the cancel
    is not applied, and the conflict is logged where the rep and the supervisor both see it.
    Applied as an answer, not a refusal: a refusal would undo the conflict record too."""
    decided = order.status.replace("_", " ")
    what = "order" if line_no is None else f"line {line_no}"
    conflict = ConflictRecord(
        entity="order",
        key=str(order.id),
        field="status" if line_no is None else f"line {line_no}",
        rep_id=order.rep_id,
        winner_value=decided,
        loser_value="cancelled",
        winner_user_id=order.reviewed_by,
        loser_user_id=who.user_id,
        base_version=m.base_version or 0,
        created_at=tx.now,
    )
    tx.session.add(conflict)
    tx.session.flush()
    tx.touch("conflict", conflict.id)
    _event(tx, order.id, "conflict", f"the rep's cancel of the {what} lost: the order is {decided}")
    reason = (
        f"not cancelled: a supervisor {decided} this order after your device last heard of "
        "it; cancel it again if the customer still wants to"
    )
    return rejected(m, reason, verdict_of(tx, order))


def rejected(
    m: p.MutationBase, reason: str, order: p.OrderVerdict | None = None
) -> p.MutationResult:
    """A business "no" as an answer (applied, outcome rejected), with the order it concerns."""
    return p.MutationResult(
        mutation_id=m.mutation_id,
        name=m.name,  # type: ignore[attr-defined]
        status="applied",
        outcome="rejected",
        reason=reason,
        order=order,
    )


def release_order(
    tx: Tx,
    order: Order,
    line_no: int | None,
    reason: str,
    *,
    who: Principal,
    final_status: str,
    expect_version: int | None = None,
    base_version: int | None = None,
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
    if base_version is not None and (order.decided_version or 0) > base_version:
        raise Overruled(order)  # checked with the order row locked: no decision slips past
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
    # Said to the reps whose lines move: which order freed the units is not theirs to know.
    cause = f"units freed: another order was {final_status}"
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
