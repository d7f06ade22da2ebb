"""One order as the supervisor reviews it, and the decision on it (approve, hold, reject).

Decisions are versioned: a decision on a version that moved is refused by the server with the
fresh state, which replaces what is shown, with words saying so. A decision that could not be
sent stays as `unsent` (action and note) until it is retried or dropped: nothing is lost
silently."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from app.ui.console import fmt
from app.ui.console.session import ConsoleSession
from sync import protocol as p
from sync.supervisor import Action, StaleOrder, SupervisorError, Unreachable

# What the server accepts from which status (sync/server/services/review.py); buttons that
# cannot work are not offered, the server still has the last word.
ALLOWED_FROM: dict[str, tuple[str, ...]] = {
    "approve": ("open", "on_hold"),
    "hold": ("open", "approved"),
    "reject": ("open", "on_hold", "approved"),
}
DONE_WORDS = {"approve": "Approved", "hold": "Put on hold", "reject": "Rejected"}


@dataclass(frozen=True, slots=True)
class LineRow:
    line_no: int
    sku: str
    quantity: int
    label_text: str  # the label at commit
    reserved: int  # allocated and not shipped yet
    waiting: int
    backordered: int
    shipped: int
    cancelled: int
    eta_text: str
    eta_kind: str | None
    first_eta_text: str
    price: str

    @property
    def words(self) -> str:
        parts = [f"Line {self.line_no}: {self.quantity:,} x {self.sku}", self.label_text]
        parts.append(f"{self.reserved:,} reserved")
        if self.backordered:
            parts.append(f"{self.backordered:,} backordered at commit")
        if self.waiting:
            parts.append(f"{self.waiting:,} waiting, ETA {self.eta_text}")
        if self.shipped:
            parts.append(f"{self.shipped:,} shipped")
        if self.cancelled:
            parts.append(f"{self.cancelled:,} cancelled")
        return " · ".join(parts)


@dataclass(frozen=True, slots=True)
class Event:
    at: datetime
    when: str
    kind: str  # committed, approve, hold, eta, allocation, shipped, ...
    text: str


@dataclass(frozen=True, slots=True)
class ShipmentRow:
    title: str
    lines: str


@dataclass(frozen=True, slots=True)
class OrderView:
    id: str
    short_id: str
    account: str
    rep: str
    status: str
    status_text: str
    outcome_text: str
    reason: str
    version: int
    placed: str
    policy_text: str
    total: str
    note: str
    review_note: str
    differences: tuple[str, ...]
    needs_attention: bool
    lines: tuple[LineRow, ...]
    shipments: tuple[ShipmentRow, ...]
    unscheduled: str
    history: tuple[Event, ...]
    allocations: tuple[str, ...]
    actions: tuple[str, ...]  # the decisions the status allows

    @property
    def headline(self) -> str:
        return (
            f"{self.status_text} · version {self.version} · {self.outcome_text} · "
            f"placed {self.placed} by {self.rep} · {self.policy_text} · {self.total}"
        )


def build(detail: p.OrderDetail, session: ConsoleSession) -> OrderView:
    o, tz = detail.order, session.tz
    lines = tuple(
        LineRow(
            line_no=li.line_no,
            sku=li.sku,
            quantity=li.quantity,
            label_text=fmt.LABEL_WORDS.get(li.label, str(li.label)),
            reserved=li.allocated - li.shipped,
            waiting=li.waiting,
            backordered=li.backordered,
            shipped=li.shipped,
            cancelled=li.cancelled,
            eta_text=(fmt.eta(li.eta, li.eta_kind) if li.eta else "none: no restock date")
            if li.waiting
            else "",
            eta_kind=li.eta_kind.value if li.eta_kind and li.waiting else None,
            first_eta_text=fmt.day(li.first_eta, none=""),
            price=fmt.money(li.price_cents),
        )
        for li in o.lines
    )
    shipments = tuple(
        ShipmentRow(
            title=f"Shipment {n}: {s.status}"
            + (f", {fmt.day(s.date)}" if s.date else "")
            + (f" (shipped {fmt.moment(s.shipped_at, tz)})" if s.shipped_at else ""),
            lines=", ".join(f"{x.quantity:,} x {x.sku}" for x in s.lines),
        )
        for n, s in enumerate(o.shipments, start=1)
    )
    # The server's history already tells allocations and ETA moves as events, in words.
    events = [Event(e.at, fmt.moment(e.at, tz), e.kind, f"{e.message} ({e.actor})")
              for e in detail.history]  # fmt: skip
    allocations = tuple(
        f"{fmt.moment(a.at, tz)} · line {a.line_no} ({a.sku}): {a.quantity:,} from "
        + (f"receipt {a.receipt_id}" if a.receipt_id else a.source)
        + f", by {fmt.policy(a.policy.value)}"
        for a in detail.allocations
    )
    events.sort(key=lambda e: e.at)
    return OrderView(
        id=str(o.id),
        short_id=fmt.short_id(o.id),
        account=detail.account_name,
        rep=detail.rep_name,
        status=o.status,
        status_text=fmt.STATUS_WORDS.get(o.status, o.status),
        outcome_text=fmt.OUTCOME_WORDS.get(o.outcome, o.outcome),
        reason=o.reason or "",
        version=o.version,
        placed=fmt.moment(o.committed_at, tz),
        policy_text=fmt.policy(o.policy.value, o.cap),
        total=fmt.money(o.total_cents),
        note=o.note,
        review_note=o.review_note,
        differences=tuple(o.differences),
        needs_attention=o.needs_attention,
        lines=lines,
        shipments=shipments,
        unscheduled=", ".join(f"{x.quantity:,} x {x.sku}" for x in o.unscheduled),
        history=tuple(events),
        allocations=allocations,
        actions=tuple(a for a, allowed in ALLOWED_FROM.items() if o.status in allowed),
    )


@dataclass(frozen=True, slots=True)
class Unsent:
    action: Action
    note: str
    version: int  # the version it was based on
    maybe_applied: bool


class OrderState:
    def __init__(self, session: ConsoleSession) -> None:
        self.session = session
        self.view: OrderView | None = None
        self.error = ""  # could not load
        self.message = ""  # the outcome of the last decision, in words
        self.ok = True  # whether `message` is good news
        self.unsent: Unsent | None = None
        self.stale = False  # the view was replaced by the server's fresher state
        self.wanted = ""  # the order last asked for

    async def load(self, order_id: uuid.UUID | str) -> bool:
        """Show this order. If another order is asked for meanwhile, this answer is dropped."""
        self.wanted = str(order_id)
        if self.view is None or self.view.id != str(order_id):
            self.message, self.unsent, self.stale = "", None, False
        try:
            await self.session.info()
            detail = await self.session.api.order(order_id)
        except SupervisorError as problem:
            if self.wanted == str(order_id):
                self.error = f"Could not load order {fmt.short_id(order_id)}: {problem}"
            return False
        if self.wanted != str(order_id):
            return True
        self.error = ""
        self.view = build(detail, self.session)
        return True

    async def decide(self, action: Action, note: str = "") -> bool:
        """Send a decision on the version shown. True when the server took it."""
        view = self.view
        if view is None:
            raise RuntimeError("load an order before deciding on it")
        note = note.strip()
        try:
            detail = await self.session.api.decide(view.id, action, version=view.version, note=note)
        except StaleOrder as stale:
            self.view = build(stale.current, self.session)
            self.stale, self.ok, self.unsent = True, False, None
            self.message = (
                f"Not {DONE_WORDS[action].lower()}: someone changed this order while you were "
                f"looking at it (it is now {self.view.status_text.lower()}, version "
                f"{self.view.version}). Below is the order as it stands now; decide again."
            )
            return False
        except Unreachable as lost:
            self.unsent, self.ok = Unsent(action, note, view.version, lost.maybe_applied), False
            self.message = f"Your decision ({action}) was not recorded: {lost}"
            return False
        except SupervisorError as problem:
            self.ok, self.unsent = False, None
            self.message = f"Not {DONE_WORDS[action].lower()}: {problem}"
            return False
        self.view = build(detail, self.session)
        self.stale, self.ok, self.unsent = False, True, None
        self.message = (
            f"{DONE_WORDS[action]} (now version {self.view.version}). "
            "The rep sees it at their next sync."
        )
        return True

    async def retry(self) -> bool:
        """Send the unsent decision again, after reloading when it may have gone through (a
        versioned decision that did is then refused as stale, never applied twice)."""
        unsent = self.unsent
        if unsent is None or self.view is None:
            return False
        if unsent.maybe_applied:
            if not await self.load(self.view.id):
                self.message = f"Still not recorded: {self.error}"
                return False
            view = self.view
            assert view is not None
            target = {"approve": "approved", "hold": "on_hold", "reject": "rejected"}
            if view.version > unsent.version and view.status == target[unsent.action]:
                self.unsent, self.ok = None, True
                self.message = f"{DONE_WORDS[unsent.action]}: it had reached the server."
                return True
        return await self.decide(unsent.action, unsent.note)

    def drop_unsent(self) -> None:
        self.unsent, self.message = None, ""
