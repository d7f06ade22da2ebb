"""Purchase orders: listed by state; drafts made from the reorder advice in one step; sent;
confirmed with the supplier's date; a line received whole or in part (the rest at a new date,
or closed); cancelled.

The server checks every value: a refusal (422) names its field ("expected: 2025-03-01 is in the
past"), and the screen shows those words at that field, as the server wrote them."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import date

from app.ui.console import fmt
from app.ui.console.session import ConsoleSession
from sync import protocol as p
from sync.supervisor import Refused, SupervisorError

OPEN_STATES = ("draft", "sent", "confirmed", "partly_received")
STATES = (*OPEN_STATES, "received", "cancelled")
STATE_WORDS = {
    "open": "Open",
    "draft": "Draft",
    "sent": "Sent",
    "confirmed": "Confirmed",
    "partly_received": "Partly received",
    "received": "Received",
    "cancelled": "Cancelled",
}
SHOWN = 100  # orders listed per state
_FIELD = re.compile(r"^(?:body\.)?(?:lines\[\d+\]\.)?([a-z_]+):")


def field_of(message: str) -> str | None:
    """The field a server refusal names first ("rest_expected: ..." -> "rest_expected")."""
    found = _FIELD.match(message)
    return found.group(1) if found else None


@dataclass(frozen=True, slots=True)
class LineView:
    receipt_id: int
    sku: str
    quantity: int
    received: int
    remaining: int
    expected_on: date
    kind: str
    status: str
    overdue: bool

    @property
    def open(self) -> bool:
        return self.status == "scheduled"

    @property
    def words(self) -> str:
        got = f", {self.received:,} received" if self.received else ""
        if self.status == "scheduled":
            when = f"expected {fmt.eta(self.expected_on, self.kind)}"
            if self.overdue:
                when = f"OVERDUE: was expected {fmt.day(self.expected_on)}"
            return f"{self.sku}: {self.quantity:,} ordered{got}, {when}"
        if self.status == "draft":
            return f"{self.sku}: {self.quantity:,} to order (draft)"
        short = f", {self.remaining:,} never came" if self.remaining and self.received else ""
        return f"{self.sku}: {self.quantity:,} ordered{got}{short} ({self.status})"


@dataclass(frozen=True, slots=True)
class OrderView:
    id: int
    supplier: str
    warehouse: str
    status: str
    sent_on: date | None
    note: str
    lines: tuple[LineView, ...]

    @property
    def state(self) -> str:
        return STATE_WORDS.get(self.status, self.status)

    @property
    def overdue(self) -> int:
        return sum(line.overdue for line in self.lines)

    @property
    def title(self) -> str:
        return f"PO {self.id} · {self.supplier}"

    @property
    def words(self) -> str:
        sent = f", sent {fmt.day(self.sent_on)}" if self.sent_on else ""
        late = f", {fmt.count(self.overdue, 'line')} overdue" if self.overdue else ""
        return (
            f"PO {self.id} to {self.supplier} for {self.warehouse}: {self.state}{sent}, "
            f"{fmt.count(len(self.lines), 'line')}{late}"
        )

    @property
    def can_send(self) -> bool:
        return self.status == "draft"

    @property
    def can_confirm(self) -> bool:
        return self.status in ("sent", "confirmed", "partly_received")

    @property
    def can_cancel(self) -> bool:
        return self.status not in ("received", "cancelled")


class PurchasingState:
    def __init__(self, session: ConsoleSession) -> None:
        self.session = session
        self.filter = "open"
        self.orders: list[OrderView] = []
        self.counts: dict[str, int] = {}
        self.warehouses: dict[int, str] = {}
        self.today: date | None = None
        self.selected: OrderView | None = None
        self.receiving: int | None = None  # the line being received
        self.errors: dict[str, str] = {}  # field -> the server's (or our) words
        self.loaded = False
        self.message = ""
        self.ok = True

    def _say(self, text: str, *, ok: bool) -> bool:
        self.message, self.ok = text, ok
        return ok

    def _refused(self, problem: SupervisorError, what: str, fields: tuple[str, ...]) -> bool:
        """A refusal naming one of the screen's fields goes to that field; any other to the
        banner. Either way, the server's words as they are."""
        said = str(problem)
        field = field_of(said) if isinstance(problem, Refused) else None
        if field in fields:
            self.errors[field] = said  # type: ignore[index]
            return self._say(f"{what}: {said}", ok=False)
        return self._say(f"{what}: {said}", ok=False)

    # -- the list -------------------------------------------------------------------------

    async def load(self) -> bool:
        api = self.session.api
        wanted = OPEN_STATES if self.filter == "open" else (self.filter,)
        try:
            info, warehouses, *pages = await asyncio.gather(
                self.session.info(fresh=True),
                api.warehouses(),
                *(api.purchase_orders(s, limit=SHOWN) for s in STATES),
            )
        except SupervisorError as problem:
            return self._say(f"Could not load the purchase orders: {problem}", ok=False)
        self.today = info.today
        self.warehouses = {w.id: f"{w.code} {w.name}" for w in warehouses}
        by_state = dict(zip(STATES, pages, strict=True))
        self.counts = {s: page.total for s, page in by_state.items()}
        self.counts["open"] = sum(self.counts[s] for s in OPEN_STATES)
        orders = [self._view(o) for s in wanted for o in by_state[s].items]
        # Overdue lines first (whom to chase), then drafts (what to send), newest first.
        orders.sort(key=lambda o: (-o.overdue, o.status != "draft", -o.id))
        self.orders, self.loaded = orders, True
        if self.selected is not None:
            found = [o for s in STATES for o in by_state[s].items if o.id == self.selected.id]
            self.selected = self._view(found[0]) if found else self.selected
        return True

    def _view(self, o: p.PurchaseOrderPublic) -> OrderView:
        today = self.today or date.min
        return OrderView(
            id=o.id,
            supplier=o.supplier_name,
            warehouse=self.warehouses.get(o.warehouse_id, f"warehouse {o.warehouse_id}"),
            status=o.status,
            sent_on=o.sent_on,
            note=o.note,
            lines=tuple(
                LineView(
                    receipt_id=r.id,
                    sku=r.sku,
                    quantity=r.quantity,
                    received=r.received,
                    remaining=r.remaining,
                    expected_on=r.expected,
                    kind=r.kind.value,
                    status=r.status,
                    overdue=r.status == "scheduled" and r.expected < today,
                )
                for r in o.lines
            ),
        )

    @property
    def summary(self) -> str:
        """What the list holds, in words."""
        if not self.loaded:
            return "Loading…"
        what = STATE_WORDS[self.filter].lower()
        shown = len(self.orders)
        total = self.counts.get(self.filter, shown)
        more = f" (the newest {shown:,} of {total:,} per state)" if shown < total else ""
        late = sum(o.overdue > 0 for o in self.orders)
        first = f"; {fmt.count(late, 'has', 'have')} overdue lines, listed first" if late else ""
        return f"{fmt.count(shown, what + ' purchase order')}{more}{first}"

    async def show(self, state: str) -> bool:
        self.filter = state
        return await self.load()

    def select(self, po_id: int | None) -> None:
        self.selected = next((o for o in self.orders if o.id == po_id), None)
        self.receiving = None
        self.errors = {}
        self.message = ""

    async def _reselect(self, po: p.PurchaseOrderPublic) -> None:
        self.selected = self._view(po)
        await self.load()

    # -- actions --------------------------------------------------------------------------

    async def drafts_from_advice(self) -> bool:
        """Every item the reorder advice names becomes a draft line, grouped per supplier."""
        try:
            made = await self.session.api.drafts_from_advice()
        except SupervisorError as problem:
            return self._say(f"No drafts were made: {problem}", ok=False)
        self.filter = "draft"
        self.selected = None
        await self.load()
        lines = sum(len(o.lines) for o in made.orders)
        skipped = f"; {fmt.count(len(made.skipped), 'item')} skipped" if made.skipped else ""
        reasons = sorted({s.reason for s in made.skipped})
        why = f" ({', '.join(reasons)})" if reasons else ""
        if not made.orders:
            return self._say(f"The reorder advice names nothing to order{skipped}{why}.", ok=True)
        return self._say(
            f"{fmt.count(len(made.orders), 'draft order')} with "
            f"{fmt.count(lines, 'line')} made from the reorder advice{skipped}{why}.",
            ok=True,
        )

    async def send(self) -> bool:
        order = self.selected
        if order is None:
            return self._say("Pick a purchase order first", ok=False)
        try:
            done = await self.session.api.send_po(order.id)
        except SupervisorError as problem:
            return self._say(f"PO {order.id} was not sent: {problem}", ok=False)
        await self._reselect(done)
        return self._say(f"PO {order.id} sent to {order.supplier}.", ok=True)

    async def confirm(self, date_text: str) -> bool:
        """The date the supplier confirmed, for every open line."""
        order = self.selected
        self.errors = {}
        if order is None:
            return self._say("Pick a purchase order first", ok=False)
        try:
            when = fmt.parse_day(date_text, "expected")
        except ValueError as problem:
            self.errors["expected"] = str(problem)
            return self._say(str(problem), ok=False)
        if when is None:
            self.errors["expected"] = "expected: enter the date the supplier confirmed"
            return self._say(self.errors["expected"], ok=False)
        try:
            done = await self.session.api.confirm_po(order.id, when)
        except SupervisorError as problem:
            return self._refused(problem, f"PO {order.id} was not confirmed", ("expected",))
        await self._reselect(done)
        return self._say(f"PO {order.id} confirmed for {fmt.day(when)}.", ok=True)

    def start_receiving(self, receipt_id: int | None) -> None:
        self.receiving = receipt_id
        self.errors = {}

    async def receive(
        self, quantity_text: str, rest: str = "keep", rest_date_text: str = ""
    ) -> bool:
        """Units of the line being received arrived (empty: all that remain). The rest keeps
        its date ("keep"), comes on a new date ("date") or will not come ("close")."""
        order, rid = self.selected, self.receiving
        self.errors = {}
        if order is None or rid is None:
            return self._say("Pick a line to receive first", ok=False)
        text = quantity_text.strip().replace(",", "")
        if text and not text.lstrip("-").isdigit():
            self.errors["quantity"] = "quantity: a whole number of units"
            return self._say(self.errors["quantity"], ok=False)
        quantity = int(text) if text else None
        rest_day = None
        if rest == "date":
            try:
                rest_day = fmt.parse_day(rest_date_text, "rest_expected")
            except ValueError as problem:
                self.errors["rest_expected"] = str(problem)
                return self._say(str(problem), ok=False)
            if rest_day is None:
                self.errors["rest_expected"] = "rest_expected: the date the supplier gives"
                return self._say(self.errors["rest_expected"], ok=False)
        try:
            done = await self.session.api.receive(
                rid, quantity, rest_expected=rest_day, close_rest=rest == "close"
            )
        except ValueError as bad:  # the protocol model refused it before sending (e.g. 0)
            self.errors["quantity"] = f"quantity: {_first_error(bad)}"
            return self._say(self.errors["quantity"], ok=False)
        except SupervisorError as problem:
            return self._refused(
                problem, f"Line {rid} was not received", ("quantity", "rest_expected")
            )
        assert done.receipt is not None
        got = quantity if quantity is not None else "all"
        after = {
            "keep": "",
            "date": f"; the rest is due {fmt.day(rest_day)}",
            "close": "; the rest is closed",
        }[rest]
        if done.receipt.remaining == 0 or rest == "close":
            after = "" if rest != "close" else after
        self.receiving = None
        try:
            po = await self.session.api.purchase_order(order.id)
        except SupervisorError:
            po = None
        if po is not None:
            await self._reselect(po)
        moved = len(done.allocation.eta_moves)
        return self._say(
            f"Line {rid}: {got} x {done.receipt.sku} received{after}; "
            f"{fmt.count(moved, 'customer date')} moved.",
            ok=True,
        )

    async def cancel(self) -> bool:
        order = self.selected
        if order is None:
            return self._say("Pick a purchase order first", ok=False)
        try:
            done = await self.session.api.cancel_po(order.id)
        except SupervisorError as problem:
            return self._say(f"PO {order.id} was not cancelled: {problem}", ok=False)
        await self._reselect(done)
        return self._say(f"PO {order.id} cancelled.", ok=True)


def _first_error(bad: ValueError) -> str:
    errors = getattr(bad, "errors", None)
    if callable(errors):
        found = errors()
        if found:
            return str(found[0].get("msg", bad))
    return str(bad)
