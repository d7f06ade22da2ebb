"""Incoming stock: pick a scheduled receipt (or record an unplanned arrival), see side by side
what first-come-first-served and priority would allocate and whose ETA would move, commit it;
or record a receipt's delay and see the ETAs it moved.

The server allocates with its configured policy; the preview shows both so the supervisor sees
what the other one would have done (the API takes no policy per receipt)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from app.domain.model import EtaKind
from app.ui.console import fmt
from app.ui.console.session import ConsoleSession
from sync import protocol as p
from sync.supervisor import SupervisorError, Unreachable

SHOWN = 200  # receipts listed at once; the search narrows the rest


@dataclass(frozen=True, slots=True)
class ReceiptRow:
    id: int
    sku: str
    warehouse_id: int
    warehouse: str
    remaining: int
    expected_on: date
    kind: str
    waiting_units: int
    waiting_lines: int

    @property
    def expected(self) -> str:
        return fmt.day(self.expected_on)

    @property
    def words(self) -> str:
        waiting = (
            f"{fmt.count(self.waiting_lines, 'line')} wait for {self.waiting_units:,} units"
            if self.waiting_lines
            else "nothing waits for it"
        )
        return (
            f"Receipt {self.id}: {self.remaining:,} x {self.sku} into {self.warehouse}, "
            f"expected {self.expected} ({self.kind}) · {waiting}"
        )


@dataclass(frozen=True, slots=True)
class Allocated:
    order_id: str
    line_no: int
    quantity: int
    text: str  # "Cafe Roma (Ann Lee) · order 1a2b3c4d line 2: 4 units, fills the line"


@dataclass(frozen=True, slots=True)
class Moved:
    order_id: str
    text: str  # "Cafe Roma · order 1a2b3c4d line 1: ETA from 10 Dec 2025 (...) to 17 Dec ..."


@dataclass(frozen=True, slots=True)
class OutcomeView:
    policy: str
    title: str
    allocations: tuple[Allocated, ...]
    moves: tuple[Moved, ...]
    leftover: int
    will_apply: bool  # the server's configured policy: what Commit does

    @property
    def summary(self) -> str:
        units = sum(a.quantity for a in self.allocations)
        return (
            f"{_n(len(self.allocations), 'line gets', 'lines get')} {units:,} units · "
            f"{_n(len(self.moves), 'ETA moves', 'ETAs move')} · "
            f"{self.leftover:,} units left as free stock"
        )


def _n(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def outcome_view(o: p.AllocationOutcome, *, configured: str) -> OutcomeView:
    return OutcomeView(
        policy=o.policy.value,
        title=("First come, first served" if o.policy.value == "fifo" else "Priority")
        + (" (the server's policy: Commit does this)" if o.policy.value == configured else ""),
        allocations=tuple(
            Allocated(
                str(a.order_id),
                a.line_no,
                a.quantity,
                f"{a.account_name} ({a.rep_name}) · order {fmt.short_id(a.order_id)} "
                f"line {a.line_no}: {fmt.count(a.quantity, 'unit')}"
                + (", fills the line" if a.fills_line else ", part of the line"),
            )
            for a in o.allocations
        ),
        moves=tuple(
            Moved(
                str(m.order_id),
                f"{m.account_name} · order {fmt.short_id(m.order_id)} line {m.line_no}: "
                # Words, not an arrow: the web client's bundled font has no arrow glyph.
                f"ETA from {fmt.eta(m.old, m.old_kind)} to {fmt.eta(m.new, m.new_kind)}",
            )
            for m in o.eta_moves
        ),
        leftover=o.leftover,
        will_apply=o.policy.value == configured,
    )


@dataclass(frozen=True, slots=True)
class PreviewView:
    receipt: ReceiptRow
    quantity: int
    fifo: OutcomeView
    priority: OutcomeView

    @property
    def same(self) -> bool:
        """Who gets what and whose ETA moves, regardless of the order listed."""
        return _gets(self.fifo) == _gets(self.priority) and set(self.fifo.moves) == set(
            self.priority.moves
        )

    def only_in(self, side: OutcomeView) -> set[tuple[str, int, int]]:
        """Allocations (order, line, units) this side makes and the other does not."""
        other = self.priority if side is self.fifo else self.fifo
        return _gets(side) - _gets(other)


def _gets(o: OutcomeView) -> set[tuple[str, int, int]]:
    return {(a.order_id, a.line_no, a.quantity) for a in o.allocations}


@dataclass(frozen=True, slots=True)
class ResultView:
    title: str
    outcome: OutcomeView
    stock_text: str


class IncomingState:
    def __init__(self, session: ConsoleSession) -> None:
        self.session = session
        self.all: list[ReceiptRow] = []
        self.warehouses: dict[int, str] = {}
        self.search = ""
        self.selected: ReceiptRow | None = None
        self.preview: PreviewView | None = None
        self.result: ResultView | None = None
        self.created: int | None = None  # an unplanned arrival recorded as a receipt for today
        self.message = ""
        self.ok = True
        self.policy = "fifo"  # the server's configured allocation policy

    def _say(self, text: str, *, ok: bool) -> bool:
        self.message, self.ok = text, ok
        return ok

    # -- the list -------------------------------------------------------------------------

    async def load(self) -> bool:
        api = self.session.api
        try:
            info, receipts, waiting, warehouses = await asyncio.gather(
                self.session.info(fresh=True), api.receipts(), api.waiting(), api.warehouses()
            )
        except SupervisorError as problem:
            return self._say(f"Could not load the receipts: {problem}", ok=False)
        self.policy = info.allocation_policy.value
        self.warehouses = {w.id: f"{w.code} {w.name}" for w in warehouses}
        demand: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0])
        for entry in waiting:
            row = demand[(entry.sku, entry.warehouse_id)]
            row[0] += entry.waiting
            row[1] += 1
        rows = [self._row(r, demand.get((r.sku, r.warehouse_id), [0, 0]))
                for r in receipts if r.status == "scheduled"]  # fmt: skip
        # Receipts that someone waits for first, soonest first: that is where decisions are.
        rows.sort(key=lambda r: (-r.waiting_lines, r.expected_on, r.id))
        self.all = rows
        if self.selected is not None:
            self.selected = next((r for r in rows if r.id == self.selected.id), None)
        return True

    def _row(self, r: p.ReceiptPublic, demand: list[int]) -> ReceiptRow:
        return ReceiptRow(
            id=r.id,
            sku=r.sku,
            warehouse_id=r.warehouse_id,
            warehouse=self.warehouses.get(r.warehouse_id, f"warehouse {r.warehouse_id}"),
            remaining=r.remaining,
            expected_on=r.expected,
            kind=r.kind.value,
            waiting_units=demand[0],
            waiting_lines=demand[1],
        )

    def visible(self) -> list[ReceiptRow]:
        needle = self.search.strip().lower()
        rows = [r for r in self.all if needle in r.sku.lower() or needle == str(r.id)]
        return rows[:SHOWN]

    def select(self, receipt_id: int) -> None:
        self.selected = next((r for r in self.all if r.id == receipt_id), None)
        self.preview = self.result = None
        self.message = ""

    # -- preview and commit ---------------------------------------------------------------

    def _quantity(self, text: str) -> int | str:
        """Units typed (empty: all that remain), or the problem in words."""
        assert self.selected is not None
        text = text.strip().replace(",", "")
        if not text:
            return self.selected.remaining
        if not text.isdigit() or int(text) < 1:
            return "Quantity: a whole number of units, 1 or more"
        if int(text) > self.selected.remaining:
            return f"Quantity: only {self.selected.remaining:,} units remain on this receipt"
        return int(text)

    async def make_preview(self, quantity_text: str = "") -> bool:
        if self.selected is None:
            return self._say("Pick a receipt first", ok=False)
        quantity = self._quantity(quantity_text)
        if isinstance(quantity, str):
            return self._say(quantity, ok=False)
        try:
            answer = await self.session.api.preview(self.selected.id, quantity)
        except SupervisorError as problem:
            return self._say(f"Could not preview receipt {self.selected.id}: {problem}", ok=False)
        configured = answer.configured_policy.value
        self.policy = configured
        self.preview = PreviewView(
            receipt=self.selected,
            quantity=answer.quantity,
            fifo=outcome_view(answer.fifo, configured=configured),
            priority=outcome_view(answer.priority, configured=configured),
        )
        self.result = None
        return self._say("", ok=True)

    async def commit(self) -> bool:
        """Receive the previewed quantity (the server allocates with its configured policy)."""
        preview = self.preview
        if preview is None:
            return self._say("Preview the receipt before committing it", ok=False)
        rid = preview.receipt.id
        try:
            done = await self.session.api.receive(rid, preview.quantity)
        except Unreachable as lost:
            await self.load()  # the receipt's own figures say whether it went through
            self.preview = None
            return self._say(f"Receipt {rid} may not be recorded: {lost}", ok=False)
        except SupervisorError as problem:
            return self._say(f"Receipt {rid} was not recorded: {problem}", ok=False)
        self.result = self._result(f"Received {preview.quantity:,} x {preview.receipt.sku}", done)
        self.preview, self.created = None, None
        await self.load()
        self.selected = None
        return self._say(f"Receipt {rid}: {preview.quantity:,} units received.", ok=True)

    def _result(self, title: str, done: p.SupplyEventResult) -> ResultView:
        s = done.stock
        return ResultView(
            title=title,
            outcome=outcome_view(done.allocation, configured=done.allocation.policy.value),
            stock_text=f"{s.sku} in warehouse {s.warehouse_id}: {s.on_hand:,} on hand, "
            f"{s.reserved:,} reserved",
        )

    # -- delays ---------------------------------------------------------------------------

    async def delay(self, date_text: str, kind: str = "confirmed") -> bool:
        if self.selected is None:
            return self._say("Pick a receipt first", ok=False)
        try:
            when = fmt.parse_day(date_text, "New date")
        except ValueError as problem:
            return self._say(str(problem), ok=False)
        if when is None:
            return self._say("New date: enter the date the supplier now gives", ok=False)
        rid = self.selected.id
        try:
            done = await self.session.api.delay(rid, when, EtaKind(kind))
        except SupervisorError as problem:
            return self._say(f"Receipt {rid} was not moved: {problem}", ok=False)
        self.result = self._result(f"Receipt {rid} now expected {fmt.eta(when, kind)}", done)
        self.preview = None
        await self.load()
        moved = len(done.allocation.eta_moves)
        return self._say(
            f"Receipt {rid} moved to {fmt.day(when)}: {fmt.count(moved, 'ETA')} moved.", ok=True
        )

    # -- unplanned arrivals ---------------------------------------------------------------

    async def record_arrival(self, sku: str, warehouse_id: int | None, quantity_text: str) -> bool:
        """Stock that arrived without a scheduled receipt: the server previews only receipts,
        so it is recorded as one due today, then previewed; Discard cancels it."""
        sku = sku.strip().upper()
        if not sku:
            return self._say("SKU: enter the item's code", ok=False)
        if warehouse_id is None:
            return self._say("Warehouse: pick where it arrived", ok=False)
        text = quantity_text.strip().replace(",", "")
        if not text.isdigit() or int(text) < 1:
            return self._say("Quantity: a whole number of units, 1 or more", ok=False)
        try:
            today = await self.session.today()
            made = await self.session.api.schedule_receipt(sku, warehouse_id, int(text), today)
        except SupervisorError as problem:
            return self._say(f"Could not record the arrival: {problem}", ok=False)
        assert made.receipt is not None
        self.created = made.receipt.id
        await self.load()
        self.select(made.receipt.id)
        return await self.make_preview()

    async def discard(self) -> bool:
        """Drop the preview; an unplanned arrival recorded for it is cancelled again."""
        created, self.preview = self.created, None
        if created is None:
            return self._say("", ok=True)
        try:
            await self.session.api.cancel_receipt(created)
        except SupervisorError as problem:
            return self._say(
                f"Receipt {created} (the unplanned arrival) is still scheduled: {problem}",
                ok=False,
            )
        self.created, self.selected = None, None
        await self.load()
        return self._say(f"Receipt {created} cancelled: nothing was received.", ok=True)
