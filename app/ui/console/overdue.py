"""The chase list: receipts past their date and not received, most late first, each with the
customer lines whose units it would bring, the accounts and reps waiting, and the date each
customer was told: whom to chase and whom to call."""

from __future__ import annotations

from dataclasses import dataclass

from app.ui.console import fmt
from app.ui.console.session import ConsoleSession
from sync import protocol as p
from sync.supervisor import SupervisorError


@dataclass(frozen=True, slots=True)
class Waiting:
    order_id: str
    text: str  # "Cafe Roma (Ana Ruiz) · order 1a2b3c4d line 2: 4 units, told 10 Mar 2025"


@dataclass(frozen=True, slots=True)
class OverdueRow:
    receipt_id: int
    po_id: int | None
    supplier: str
    sku: str
    remaining: int
    expected: str
    days_late: int
    waiting: tuple[Waiting, ...]

    @property
    def title(self) -> str:
        po = f"PO {self.po_id}, " if self.po_id else ""
        who = self.supplier or "No supplier"
        return f"{who}: {self.remaining:,} x {self.sku} ({po}line {self.receipt_id})"

    @property
    def words(self) -> str:
        waits = (
            f"{fmt.count(len(self.waiting), 'customer line')} wait on it"
            if self.waiting
            else "no customer line waits on it"
        )
        return (
            f"{self.title}: expected {self.expected}, "
            f"{fmt.count(self.days_late, 'day')} late; {waits}"
        )


def overdue_row(o: p.OverdueReceipt) -> OverdueRow:
    r = o.receipt
    return OverdueRow(
        receipt_id=r.id,
        po_id=r.po_id,
        supplier=o.supplier_name,
        sku=r.sku,
        remaining=r.remaining,
        expected=fmt.day(r.expected),
        days_late=o.days_late,
        waiting=tuple(
            Waiting(
                str(line.order_id),
                f"{line.account_name} ({line.rep_name}) · order {fmt.short_id(line.order_id)} "
                f"line {line.line_no}: {fmt.count(line.waiting, 'unit')}, "
                f"told {fmt.day(line.told)}",
            )
            for line in o.lines
        ),
    )


class OverdueState:
    def __init__(self, session: ConsoleSession) -> None:
        self.session = session
        self.rows: list[OverdueRow] = []
        self.message = ""
        self.ok = True

    @property
    def summary(self) -> str:
        if not self.rows:
            return "Nothing is overdue: every open receipt is still within its date."
        lines = sum(len(r.waiting) for r in self.rows)
        return (
            f"{fmt.count(len(self.rows), 'receipt')} overdue; "
            f"{fmt.count(lines, 'customer line')} wait on them."
        )

    async def load(self) -> bool:
        try:
            found = await self.session.api.overdue()
        except SupervisorError as problem:
            self.message, self.ok = f"Could not load the overdue receipts: {problem}", False
            return False
        # The server lists most late first; those with customers waiting lead.
        rows = [overdue_row(o) for o in found.items]
        self.rows = sorted(rows, key=lambda r: (not r.waiting, -r.days_late, r.receipt_id))
        self.message, self.ok = "", True
        return True
