"""The review queue: synced orders filtered by status, backorders, rep, account and dates, with
counts per status, a page at a time, and a CSV of everything in view."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import date, tzinfo
from pathlib import Path

from app.ui.console import fmt
from app.ui.console.export import write_csv
from app.ui.console.session import ConsoleSession
from sync import protocol as p
from sync.supervisor import OrderQuery, SupervisorError

# (key, status sent to the server, label); "review" is the default: open orders wait for a look.
VIEWS: tuple[tuple[str, p.OrderStatus | None, str], ...] = (
    ("review", "open", "Needs review"),
    ("on_hold", "on_hold", "On hold"),
    ("approved", "approved", "Approved"),
    ("rejected", "rejected", "Rejected"),
    ("cancelled", "cancelled", "Cancelled"),
    ("fulfilled", "fulfilled", "Fulfilled"),
    ("all", None, "All"),
)
_STATUS_OF = {key: status for key, status, _ in VIEWS}
CSV_HEADER = (
    "order_id", "committed_at", "account_id", "account", "rep_id", "rep", "status", "outcome",
    "version", "lines", "total", "has_backorders", "needs_attention",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Filters:
    view: str = "review"
    backorders_only: bool = False
    rep_id: int | None = None
    account_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None  # inclusive

    def query(self) -> OrderQuery:
        return OrderQuery(
            status=_STATUS_OF[self.view],
            rep_id=self.rep_id,
            account_id=self.account_id,
            date_from=self.date_from,
            date_to=self.date_to,
            has_backorders=True if self.backorders_only else None,
        )


@dataclass(frozen=True, slots=True)
class OrderRow:
    id: str
    short_id: str
    account: str
    rep: str
    placed: str
    status: str
    status_text: str
    outcome_text: str
    lines: int
    total: str
    backorders: bool
    attention: bool

    @property
    def words(self) -> str:
        """One line for screen readers and tests."""
        extra = " · has backorders" if self.backorders else ""
        return (
            f"{self.account} · {self.rep} · order {self.short_id} · {self.placed} · "
            f"{fmt.count(self.lines, 'line')} · {self.total} · {self.status_text}{extra}"
        )


@dataclass(frozen=True, slots=True)
class ViewChip:
    key: str
    label: str
    count: int
    selected: bool

    @property
    def text(self) -> str:
        return f"{self.label} ({self.count:,})"


@dataclass(frozen=True, slots=True)
class Choice:
    id: int
    label: str


class QueueState:
    page_size = 50

    def __init__(self, session: ConsoleSession) -> None:
        self.session = session
        self.filters = Filters()
        self.offset = 0
        self.rows: list[OrderRow] = []
        self.total = 0
        self.counts: dict[str, int] = {}
        self.backorder_count = 0
        self.error = ""  # the last failure in words; the rows shown are then the previous ones
        self.loaded = False
        self.rep_names: dict[int, str] = {}
        self.accounts: list[Choice] = []
        self.rep_ids: set[int] = set()
        self._generation = 0  # loads overlap when filters change fast: the newest one wins

    # -- loading --------------------------------------------------------------------------

    async def load(self) -> bool:
        """The page for the current filters. An answer that arrives after a newer load
        started is dropped (True: the newer one shows)."""
        self._generation += 1
        mine = self._generation
        api = self.session.api
        query = self.filters.query()
        try:
            await self.session.info()  # times are shown in the server's zone
            page, with_backorders = await asyncio.gather(
                api.orders(query, offset=self.offset, limit=self.page_size),
                api.orders(replace(query, has_backorders=True), limit=1),
            )
        except SupervisorError as problem:
            if mine == self._generation:
                self.error = f"Could not load the orders: {problem}"
            return False
        if mine != self._generation:
            return True
        self.error = ""
        self.loaded = True
        self.total, self.counts = page.total, page.counts
        self.backorder_count = with_backorders.total
        for item in page.items:
            self.rep_names[item.rep_id] = item.rep_name
        self.rows = [self._row(item) for item in page.items]
        return True

    async def load_choices(self) -> bool:
        """Accounts and reps for the filters (once): the account list names every rep id."""
        if self.accounts:
            return True
        try:
            accounts = await self.session.api.accounts()
        except SupervisorError as problem:
            self.error = f"Could not load the accounts for the filters: {problem}"
            return False
        self.accounts = sorted(
            (Choice(a.id, f"{a.name} ({a.code})") for a in accounts), key=lambda c: c.label
        )
        self.rep_ids = {a.rep_id for a in accounts}
        return True

    def reps(self) -> list[Choice]:
        """Rep ids from the accounts, named once an order of theirs was seen (the server has no
        list of reps for supervisors)."""
        ids = self.rep_ids | set(self.rep_names)
        return sorted(
            (Choice(i, self.rep_names.get(i, f"Rep #{i}")) for i in ids), key=lambda c: c.label
        )

    def _row(self, o: p.OrderSummary) -> OrderRow:
        return OrderRow(
            id=str(o.id),
            short_id=fmt.short_id(o.id),
            account=o.account_name,
            rep=o.rep_name,
            placed=fmt.moment(o.committed_at, self.session.tz),
            status=o.status,
            status_text=fmt.STATUS_WORDS.get(o.status, o.status),
            outcome_text=fmt.OUTCOME_WORDS.get(o.outcome, o.outcome),
            lines=o.lines,
            total=fmt.money(o.total_cents),
            backorders=o.has_backorders,
            attention=o.needs_attention,
        )

    # -- filters --------------------------------------------------------------------------

    def chips(self) -> list[ViewChip]:
        everything = sum(self.counts.values())
        return [
            ViewChip(
                key,
                label,
                everything if status is None else self.counts.get(status, 0),
                key == self.filters.view,
            )
            for key, status, label in VIEWS
        ]

    def _set(self, **changes: object) -> None:
        self.filters = replace(self.filters, **changes)  # type: ignore[arg-type]
        self.offset = 0

    def set_view(self, key: str) -> None:
        if key not in _STATUS_OF:
            raise ValueError(f"unknown view {key!r}")
        self._set(view=key)

    def set_backorders_only(self, on: bool) -> None:
        self._set(backorders_only=on)

    def set_rep(self, rep_id: int | None) -> None:
        self._set(rep_id=rep_id)

    def set_account(self, account_id: int | None) -> None:
        self._set(account_id=account_id)

    def set_dates(self, date_from: str, date_to: str) -> str:
        """Typed dates (YYYY-MM-DD, empty for none); returns the problem in words, or ""."""
        try:
            first = fmt.parse_day(date_from, "From")
            last = fmt.parse_day(date_to, "To")
        except ValueError as problem:
            return str(problem)
        if first and last and last < first:
            return "To: the last day must not be before the first"
        self._set(date_from=first, date_to=last)
        return ""

    def clear_filters(self) -> None:
        self.filters = Filters(view=self.filters.view)
        self.offset = 0

    # -- pages ----------------------------------------------------------------------------

    @property
    def page_text(self) -> str:
        if not self.total:
            return "No orders"
        last = min(self.offset + self.page_size, self.total)
        return f"{self.offset + 1:,}–{last:,} of {self.total:,}"

    @property
    def has_next(self) -> bool:
        return self.offset + self.page_size < self.total

    @property
    def has_previous(self) -> bool:
        return self.offset > 0

    def next_page(self) -> None:
        if self.has_next:
            self.offset += self.page_size

    def previous_page(self) -> None:
        self.offset = max(self.offset - self.page_size, 0)

    # -- export ---------------------------------------------------------------------------

    async def export_csv(self, folder: Path) -> Path:
        """Every order matching the filters (not only this page) as CSV; raises
        SupervisorError when the server cannot be read (nothing is written then)."""
        orders = await self.session.api.all_orders(self.filters.query())
        tz = self.session.tz
        rows = [_csv_row(o, tz) for o in orders]
        return write_csv(folder, "orders", CSV_HEADER, rows)


def _csv_row(o: p.OrderSummary, tz: tzinfo) -> tuple[object, ...]:
    return (
        str(o.id),
        o.committed_at.astimezone(tz).isoformat(),
        o.account_id,
        o.account_name,
        o.rep_id,
        o.rep_name,
        o.status,
        o.outcome,
        o.version,
        o.lines,
        f"{o.total_cents / 100:.2f}",
        o.has_backorders,
        o.needs_attention,
    )
