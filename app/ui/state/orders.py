"""The orders screen's state: tabs by state, one order with promise and verdict line by line."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from app.documents.confirmation import confirmation, render_pdf
from app.domain.model import Label
from app.store import Accounts, CartService, Orders, OrderState, Store
from app.store.views import LineResult, OrderDetail, OrderLineView
from app.ui.state.text import day, eta, money, plural

STATE_NAMES = {
    OrderState.NEEDS_ATTENTION: "Needs attention",
    OrderState.PENDING: "Pending in outbox",
    OrderState.ON_HOLD: "On hold",
    OrderState.ACCEPTED: "Accepted",
    OrderState.BACKORDERED: "Backordered",
    OrderState.SHIPPED: "Shipped",
    OrderState.CANCELLED: "Cancelled",
    OrderState.REJECTED: "Rejected",
}
TABS = tuple(STATE_NAMES)  # attention first: it is what the rep must act on
_CLOSED = frozenset({OrderState.SHIPPED, OrderState.CANCELLED, OrderState.REJECTED})
# The server's word that an order is over, also while it waits for the rep to acknowledge
# (its state on the device is then "needs attention").
_ENDED = {"rejected": "Rejected", "cancelled": "Cancelled"}
_SERVER_CLOSED = frozenset({"rejected", "cancelled", "shipped"})
_POLICY = {
    "all_or_nothing": "All at once",
    "ship_as_available": "Ship as available",
    "capped_split": "At most {shipments}",
}


def result_words(result: LineResult | None, quantity: int) -> str:
    """One side of the comparison: "5 now, 5 on backorder, ETA 12 Dec"."""
    if result is None:
        return "waiting for the server"
    later = result.backordered if result.backordered is not None else quantity - result.now
    if result.label is Label.DISCONTINUED and not result.now:
        return "discontinued, not available"
    parts = []
    if result.now:
        parts.append("all now" if result.now >= quantity else f"{result.now:,} now")
    if later > 0:
        parts.append(f"{later:,} on backorder, ETA {eta(result.eta)}")
    return ", ".join(parts) or "nothing"


@dataclass(frozen=True, slots=True)
class OrderRow:
    id: str
    short_id: str
    account: str
    placed: str
    total: str
    lines: int
    state: OrderState
    state_text: str
    cancel_requested: bool


@dataclass(frozen=True, slots=True)
class LineCompare:
    line_id: str
    sku: str
    name: str
    quantity: int
    promised: str
    confirmed: str
    differs: bool
    status: str  # "open", "shipped 5", "cancelled", "cancel requested"
    can_cancel: bool
    # What the customer was told for the units still to come, and the likely day:
    # "Customer told: ~15 Dec (est.) · likely 12 Dec"; "" when nothing waits.
    customer: str = ""


@dataclass(frozen=True, slots=True)
class OrderScreen:
    id: str
    short_id: str
    account: str
    state: OrderState
    state_text: str
    placed: str
    policy: str
    note: str
    verdict: str | None
    differences: tuple[str, ...]
    lines: tuple[LineCompare, ...]
    total: str
    can_acknowledge: bool
    can_cancel: bool
    cancel_requested: bool
    can_copy: bool = False  # a rejected or cancelled order: its lines into a new cart


# The business named on customer documents (FIELDSALES_BUSINESS_NAME).
BUSINESS_NAME = os.environ.get("FIELDSALES_BUSINESS_NAME", "").strip() or "Field Sales Distribution"


def short(order_id: str) -> str:
    return order_id[:8]


class OrdersState:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.orders = Orders(store)
        self.tab: OrderState = OrderState.NEEDS_ATTENTION
        self.message = ""
        self.error = False

    def counts(self) -> dict[OrderState, int]:
        return self.orders.counts()

    def first_tab_with_orders(self) -> OrderState:
        counts = self.counts()
        return next((s for s in TABS if counts.get(s)), OrderState.PENDING)

    def rows(self, state: OrderState | None = None) -> list[OrderRow]:
        today = self.store.today()
        return [
            OrderRow(
                id=o.id,
                short_id=short(o.id),
                account=o.account_name or o.account_id,
                placed=day(o.placed_at.astimezone().date(), today=today),
                total=money(o.total_cents),
                lines=o.lines,
                state=o.state,
                state_text=STATE_NAMES[o.state],
                cancel_requested=o.cancel_requested,
            )
            for o in self.orders.list_orders(state or self.tab)
        ]

    def screen(self, order_id: str) -> OrderScreen:
        detail = self.orders.get(order_id)
        s = detail.summary
        policy = _POLICY[detail.policy.kind.value].format(
            shipments=plural(detail.policy.cap or 0, "shipment")
        )
        closed = s.state in _CLOSED or s.status in _SERVER_CLOSED
        ended = s.state in (OrderState.REJECTED, OrderState.CANCELLED) or s.status in _ENDED
        return OrderScreen(
            id=s.id,
            short_id=short(s.id),
            account=s.account_name or s.account_id,
            state=s.state,
            state_text=STATE_NAMES[s.state],
            placed=day(s.placed_at.astimezone().date(), today=self.store.today()),
            policy=policy,
            note=detail.note,
            verdict=_verdict(detail),
            differences=detail.differences,
            lines=tuple(_compare(detail, line, closed) for line in detail.lines),
            total=money(s.total_cents),
            can_acknowledge=s.state is OrderState.NEEDS_ATTENTION,
            can_cancel=not closed and not s.cancel_requested,
            cancel_requested=s.cancel_requested,
            can_copy=ended,
        )

    def _do(self, action: Callable[[], object], done: str) -> bool:
        try:
            action()
        except ValueError as problem:
            self.message, self.error = str(problem), True
            return False
        self.message, self.error = done, False
        return True

    def confirmation(self, order_id: str) -> tuple[str, bytes]:
        """The customer's confirmation of an order as a PDF (file name, bytes), made here with
        no signal from what the device holds."""
        detail = self.orders.get(order_id)
        account = Accounts(self.store).get(detail.summary.account_id)
        made = confirmation(detail, account, business=BUSINESS_NAME, today=self.store.today())
        return f"order-{made.reference}.pdf", render_pdf(made)

    def copy_to_cart(self, order_id: str) -> bool:
        """A rejected or cancelled order's lines, at their quantities, into the cart for its
        account (with its shipment policy): the supervisor's note often asks to re-order.
        Refused while the cart holds lines for another account."""
        detail = self.orders.get(order_id)
        account_id = detail.summary.account_id
        name = detail.summary.account_name or account_id
        cart = CartService(self.store)
        current = cart.view()
        if current.lines and (current.account is None or current.account.id != account_id):
            other = current.account.name if current.account else "no account"
            self.message = (
                f"The cart holds {plural(len(current.lines), 'line')} for {other}: "
                "place the order or empty the cart first"
            )
            self.error = True
            return False
        copied, missing = 0, []
        try:
            cart.set_account(account_id)
            cart.set_policy(detail.policy.kind.value, detail.policy.cap)
            for line in detail.lines:
                try:
                    cart.add(line.sku, line.quantity)
                    copied += 1
                except ValueError:  # no longer in the catalog
                    missing.append(line.sku)
        except ValueError as problem:
            self.message, self.error = str(problem), True
            return False
        self.message = (
            f"{plural(copied, 'line')} of order {short(order_id)} copied to the cart for {name}"
        )
        if missing:
            self.message += f"; not in the catalog any more: {', '.join(missing)}"
        self.error = copied == 0
        return copied > 0

    def acknowledge(self, order_id: str) -> bool:
        return self._do(
            lambda: self.orders.acknowledge(order_id),
            "Acknowledged: the server's verdict is what you tell the customer now",
        )

    def cancel_line(self, order_id: str, line_id: str) -> bool:
        return self._do(
            lambda: self.orders.cancel_line(order_id, line_id),
            f"Cancelling line {line_id}: sent at the next sync",
        )

    def cancel_order(self, order_id: str) -> bool:
        return self._do(
            lambda: self.orders.cancel(order_id), "Cancelling the order: sent at the next sync"
        )


def _verdict(detail: OrderDetail) -> str | None:
    reason = detail.verdict_reason
    ended = _ENDED.get(detail.summary.status)
    if ended:  # the end of the story, not the first verdict ("Accepted: rejected by ...")
        if reason.lower().startswith(ended.lower()):
            return reason[:1].upper() + reason[1:]
        return f"{ended}: {reason}" if reason else ended
    if detail.summary.verdict is None:
        return None
    text = detail.summary.verdict.replace("_", " ").capitalize()
    return f"{text}: {reason}" if reason else text


def _customer(line: OrderLineView) -> str:
    """The customer's date (as last told; before the server's word, the day the cart showed)
    and, when it differs, the likely day."""
    waits = (
        line.waiting
        if line.server is not None
        else line.quantity - (line.promise.now if line.promise else 0)
    )
    if line.state != "open" or waits <= 0:
        return ""
    told = line.told or line.promised_ship
    if told is None:
        return "Customer told: no date yet"
    text = f"Customer told: {eta(told)}"
    if line.likely is not None and line.likely != told.date:
        text += f" · likely {day(line.likely)}"
    return text


def _compare(detail: OrderDetail, line: OrderLineView, closed: bool) -> LineCompare:
    promised = result_words(line.promise, line.quantity)
    confirmed = result_words(line.server, line.quantity)
    if line.state == "cancelled":  # what the server said first no longer holds
        confirmed = (
            f"cancelled after {line.shipped:,} shipped"
            if line.shipped
            else "cancelled, nothing ships"
        )
    prefix = (
        f"line {line.line_id} "  # the store says "line 2 (SKU): ..", the server "line 2 SKU: .."
    )
    differs = any(d.startswith(prefix) for d in detail.differences)
    if line.server is not None and line.promise is not None and not differs:
        differs = promised != confirmed
    if line.cancel_requested:
        status = "cancel requested"
    elif line.state == "shipped":
        status = "shipped"
    elif line.state == "cancelled":
        status = "cancelled"
    elif line.shipped:
        status = f"{line.shipped:,} shipped"
    else:
        status = "open"
    can_cancel = (
        not closed
        and not detail.summary.cancel_requested
        and line.state == "open"
        and not line.cancel_requested
    )
    return LineCompare(
        line_id=line.line_id,
        sku=line.sku,
        name=line.name or line.sku,
        quantity=line.quantity,
        promised=promised,
        confirmed=confirmed,
        differs=differs,
        status=status,
        can_cancel=can_cancel,
        customer=_customer(line),
    )
