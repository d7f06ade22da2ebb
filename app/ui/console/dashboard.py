"""The backorder dashboard for a period: the metrics with their 12-week trends (fill and
backorders, waiting and cancels, promises: accuracy over the lines promised a date, padding,
lines promised with no date), the most backordered items, the accounts most affected, items
under their reorder point, and the conflict log's entries of the period; the metrics table as
CSV."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta, tzinfo
from pathlib import Path
from typing import Any, Literal, TypeVar

from app.ui.console import fmt
from app.ui.console.export import write_csv
from app.ui.console.session import ConsoleSession
from app.ui.state.text import FIELD_NAMES
from sync import protocol as p
from sync.supervisor import SupervisorError

T = TypeVar("T")

PERIODS: tuple[tuple[str, str, int], ...] = (
    ("7d", "Last 7 days", 7),
    ("28d", "Last 28 days", 28),
    ("13w", "Last 13 weeks", 91),
    ("52w", "Last 52 weeks", 364),
)
ACCOUNTS_SHOWN = 10  # the most affected; how many have backorders is said beside them
LOW_STOCK_SHOWN = 25  # the most urgent; the total is said beside them
CONFLICTS_SHOWN = 10  # the newest; how many the period holds is said beside them


Unit = Literal["rate", "days", "padding", "lines"]  # padding: signed days


@dataclass(frozen=True, slots=True)
class Metric:
    key: str
    title: str
    unit: Unit
    higher_is_better: bool
    detail: Callable[[p.MetricsPublic], str]


def _of(part: int, whole: int, word: str) -> str:
    return f"{part:,} of {whole:,} {word}"


def _waits(m: p.MetricsPublic) -> str:
    if m.promised_wait_days is None or m.actual_wait_days is None:
        return "no line promised a date has shipped"
    return (
        f"promised {fmt.days(m.promised_wait_days)}, waited {fmt.days(m.actual_wait_days)} "
        f"on average ({fmt.count(m.shipped_lines, 'dated line')})"
    )


def _undated(m: p.MetricsPublic) -> str:
    share = fmt.pct(m.undated_lines / m.backordered_lines) if m.backordered_lines else "none"
    return f"{share} of {fmt.count(m.backordered_lines, 'backordered line')}; not in accuracy"


# Three to a row on a wide screen: fill, then waiting and cancels, then promises.
METRICS: tuple[Metric, ...] = (
    Metric("backorder_rate", "Backorder rate", "rate", False,
           lambda m: _of(m.backordered_orders, m.orders, "orders")),
    Metric("line_fill_rate", "Line fill rate", "rate", True,
           lambda m: _of(m.lines - m.backordered_lines, m.lines, "lines")),
    Metric("unit_fill_rate", "Unit fill rate", "rate", True,
           lambda m: _of(m.units_available, m.units_ordered, "units")),
    Metric("avg_fulfilment_days", "Avg backorder fulfilment", "days", False,
           lambda m: f"over {fmt.count(m.filled_lines, 'filled line')}"),
    Metric("cancellation_rate", "Backordered orders cancelled", "rate", False,
           lambda m: _of(m.cancelled_backordered_orders, m.backordered_orders,
                         "orders, whole or by a line")),
    Metric("line_cancellation_rate", "Backordered lines cancelled", "rate", False,
           lambda m: _of(m.cancelled_backordered_lines, m.backordered_lines, "lines")),
    Metric("promise_accuracy", "Promise accuracy", "rate", True,
           lambda m: _of(m.on_time_lines, m.shipped_lines, "dated lines on time")),
    Metric("padding_days", "Padding (promised minus actual wait)", "padding", False, _waits),
    Metric("undated_lines", "Promised with no date", "lines", False, _undated),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Card:
    key: str
    title: str
    value: float | None
    value_text: str
    detail: str
    unit: Unit
    trend: tuple[tuple[date, float | None], ...]  # 12 ISO weeks, oldest first

    @property
    def words(self) -> str:
        return f"{self.title}: {self.value_text} ({self.detail})"


@dataclass(frozen=True, slots=True)
class ItemRow:
    sku: str
    text: str


@dataclass(frozen=True, slots=True)
class AccountRow:
    account_id: int
    name: str
    orders: int  # all its orders of the period
    backordered_orders: int
    cancelled: int  # of the backordered orders
    backordered_lines: int
    backordered_units: int
    value_cents: int  # of the backordered orders

    @property
    def text(self) -> str:
        cancelled = f", {self.cancelled:,} cancelled" if self.cancelled else ""
        return (
            f"{self.name} (#{self.account_id}): {self.backordered_orders:,} of "
            f"{fmt.count(self.orders, 'order')} backordered{cancelled} · "
            f"{fmt.count(self.backordered_units, 'unit')} short · {fmt.money(self.value_cents)}"
        )


@dataclass(frozen=True, slots=True)
class LowRow:
    sku: str
    name: str
    warehouse_id: int
    free_now: int
    inbound: int
    backordered: int
    projected_free: int
    reorder_point: int
    safety_stock: int
    suggested: int

    @property
    def text(self) -> str:
        return (
            f"{self.sku} {self.name} (warehouse {self.warehouse_id}): projected "
            f"{self.projected_free:,} vs reorder point {self.reorder_point:,} "
            f"(safety stock {self.safety_stock:,}) · order {self.suggested:,}"
        )


def _value(m: p.MetricsPublic, key: str) -> float | None:
    value = getattr(m, key)
    return None if value is None else float(value)


def _text(metric: Metric, value: float | None) -> str:
    if metric.unit == "rate":
        return fmt.pct(value)
    if metric.unit == "lines":
        return fmt.count(round(value or 0), "line")
    if metric.unit == "padding" and value is not None:
        return f"{value:+.1f} days"
    return fmt.days(value)


class DashboardState:
    def __init__(self, session: ConsoleSession) -> None:
        self.session = session
        self.period = "28d"
        self.start: date | None = None
        self.end: date | None = None  # exclusive
        self.report: p.MetricsReport | None = None
        self.cards: list[Card] = []
        self.items: list[ItemRow] = []
        self.accounts: list[AccountRow] = []
        self.accounts_total = 0  # accounts with backorders in the period
        self.accounts_note = ""
        self.low: list[LowRow] = []
        self.low_total = 0
        self.low_loaded = False
        self.low_note = ""
        self.conflicts: list[str] = []
        self.conflicts_note = ""
        self.error = ""
        self._generation = 0  # a period picked while another loads: the newest one wins
        # Requests load() sends for the steps after it, so that all run at once, by what
        # they ask for (a step takes an answer only for the period it shows).
        self._pending: dict[tuple[Any, ...], asyncio.Future[Any]] = {}

    # -- period ---------------------------------------------------------------------------

    async def _dates(self) -> tuple[date, date]:
        if self.period == "custom" and self.start and self.end:
            return self.start, self.end
        days = next(n for key, _, n in PERIODS if key == self.period)
        end = await self.session.today() + timedelta(days=1)
        return end - timedelta(days=days), end

    def set_period(self, key: str) -> None:
        if key not in {k for k, _, _ in PERIODS}:
            raise ValueError(f"unknown period {key!r}")
        self.period = key

    def set_custom(self, first: str, last: str) -> str:
        """Typed first and last day (inclusive); the problem in words, or ""."""
        try:
            start = fmt.parse_day(first, "From")
            stop = fmt.parse_day(last, "To")
        except ValueError as problem:
            return str(problem)
        if start is None or stop is None:
            return "From and To: enter both days of the period"
        if stop < start:
            return "To: the last day must not be before the first"
        self.period, self.start, self.end = "custom", start, stop + timedelta(days=1)
        return ""

    @property
    def period_text(self) -> str:
        if self.start is None or self.end is None:
            return ""
        return f"{fmt.day(self.start)} – {fmt.day(self.end - timedelta(days=1))}"

    # -- loading --------------------------------------------------------------------------

    def _ask(self, what: tuple[Any, ...], request: Awaitable[Any]) -> None:
        """Send a request now for a later step to take the answer of (see _answer)."""
        future = asyncio.ensure_future(request)
        future.add_done_callback(_retrieved)
        self._pending[what] = future

    async def _answer(self, what: tuple[Any, ...], request: Callable[[], Awaitable[T]]) -> T:
        """The answer to the request load() sent for this, else to a new one."""
        future = self._pending.pop(what, None)
        return await (future if future is not None else request())

    async def load(self) -> bool:
        """The period's metrics, trends and most backordered items, which show first. As soon
        as they are in, the low-stock items and the account ranking are asked for, together,
        while the figures are drawn: load_low_stock and load_accounts then take those answers.
        An answer that arrives after a newer load started is dropped."""
        self._generation += 1
        mine = self._generation
        api = self.session.api
        self._pending.clear()  # what an earlier load sent and no step took
        try:
            start, end = await self._dates()
            report = await api.metrics(start, end)
        except SupervisorError as problem:
            if mine == self._generation:
                self.error = f"Could not load the dashboard: {problem}"
            return False
        if mine != self._generation:
            return True
        # Asked for now, not sooner: on the server they would slow the figures down (they
        # compete for the same process) more than they would gain.
        self._ask(("low",), api.low_stock(limit=LOW_STOCK_SHOWN))
        self._ask(("accounts", start, end), api.accounts_affected(start, end, ACCOUNTS_SHOWN))
        self.error = ""
        self.start, self.end, self.report = start, end, report
        self.accounts, self.accounts_note = [], ""
        self.cards = [self._card(m, report) for m in METRICS]
        self.items = [
            ItemRow(
                i.sku,
                f"{i.sku}: {i.backordered_lines:,} of {i.lines:,} lines backordered, "
                f"{i.backordered_units:,} of {i.units_ordered:,} units",
            )
            for i in report.top_items
        ]
        return True

    async def load_low_stock(self) -> bool:
        """Items under their reorder point, the most urgent first (not tied to the period)."""
        try:
            low = await self._answer(
                ("low",), lambda: self.session.api.low_stock(limit=LOW_STOCK_SHOWN)
            )
        except SupervisorError as problem:
            self.low_note = f"Could not load the low-stock items: {problem}"
            return False
        self.low_note = ""
        self.low_total = low.total
        self.low = [
            LowRow(i.sku, i.name, i.warehouse_id, i.free_now, i.inbound, i.backordered,
                   i.projected_free, i.reorder_point, i.safety_stock, i.suggested_quantity)
            for i in low.items
        ]  # fmt: skip
        self.low_loaded = True
        return True

    def _card(self, metric: Metric, report: p.MetricsReport) -> Card:
        value = _value(report.metrics, metric.key)
        return Card(
            key=metric.key,
            title=metric.title,
            value=value,
            value_text=_text(metric, value),
            detail=metric.detail(report.metrics),
            unit=metric.unit,
            trend=tuple((w.week_start, _value(w.metrics, metric.key)) for w in report.trend),
        )

    async def load_accounts(self) -> bool:
        """The accounts most affected by backorders in the period, ranked by the server."""
        start, end = self.start, self.end
        if start is None or end is None:
            return False
        mine = self._generation
        try:
            ranking = await self._answer(
                ("accounts", start, end),
                lambda: self.session.api.accounts_affected(start, end, ACCOUNTS_SHOWN),
            )
        except SupervisorError as problem:
            self.accounts_note = f"Could not rank the accounts: {problem}"
            return False
        if mine != self._generation:
            return True  # the period changed meanwhile
        self.accounts = [
            AccountRow(a.account_id, a.account_name, a.orders, a.backordered_orders,
                       a.cancelled_backordered_orders, a.backordered_lines, a.backordered_units,
                       a.backordered_value_cents)
            for a in ranking.items
        ]  # fmt: skip
        self.accounts_total = ranking.total
        self.accounts_note = _accounts_note(ranking.total, len(self.accounts))
        return True

    async def load_conflicts(self) -> bool:
        """The conflict log's entries of the period, newest first: edits where one side lost
        (a contact field two people changed; a rep's cancel a supervisor's decision overruled).
        The rep whose record it is sees the same entry under Updates."""
        start, end = self.start, self.end
        if start is None or end is None:
            return False
        mine = self._generation
        api = self.session.api
        try:
            found, accounts = await asyncio.gather(api.conflicts(), api.accounts())
        except SupervisorError as problem:
            self.conflicts_note = f"Could not load the conflicts: {problem}"
            return False
        if mine != self._generation:
            return True  # the period changed meanwhile
        tz = self.session.tz
        names = {a.id: a.name for a in accounts}
        inside = [c for c in found if start <= c.at.astimezone(tz).date() < end]
        inside.sort(key=lambda c: (c.at, c.id), reverse=True)
        self.conflicts = [conflict_text(c, names, tz) for c in inside[:CONFLICTS_SHOWN]]
        shown = len(self.conflicts)
        self.conflicts_note = (
            "None in the period."
            if not inside
            else f"The {shown:,} newest of {len(inside):,}."
            if shown < len(inside)
            else f"{fmt.count(len(inside), 'conflict')} in the period."
        )
        return True

    # -- export ---------------------------------------------------------------------------

    def metrics_table(self) -> tuple[list[str], list[list[str]]]:
        """The metrics table: one row per metric, the period's value, its basis and the 12
        weekly values (rates as fractions, so a spreadsheet can format them)."""
        report = self.report
        if report is None:
            raise RuntimeError("load the dashboard before exporting it")
        weeks = [w.week_start.isoformat() for w in report.trend]
        header = ["metric", "period_start", "period_end_exclusive", "value", "basis", *weeks]
        rows = []
        for metric in METRICS:
            value = _value(report.metrics, metric.key)
            trend = [_value(w.metrics, metric.key) for w in report.trend]
            rows.append(
                [
                    metric.key,
                    report.start.isoformat(),
                    report.end.isoformat(),
                    "" if value is None else f"{value:.6g}",
                    metric.detail(report.metrics),
                    *("" if v is None else f"{v:.6g}" for v in trend),
                ]
            )
        return header, rows

    def export_csv(self, folder: Path) -> Path:
        header, rows = self.metrics_table()
        return write_csv(folder, "metrics", header, rows)


def conflict_text(c: p.ConflictPublic, accounts: dict[int, str], tz: tzinfo) -> str:
    """ "3 Mar 2025 · Phone of Cafe Roma: kept +1 555 0101, lost +1 555 0199"."""
    if c.entity == "order":
        part = f"{c.field} of " if c.field.startswith("line ") else ""
        what = f"A rep's cancel of {part}order {c.key[:8]} (a decision won)"
    else:
        name = accounts.get(int(c.key), f"account #{c.key}") if c.key.isdigit() else c.key
        what = f"{FIELD_NAMES.get(c.field, c.field).capitalize()} of {name}"
    kept, lost = c.winner_value or "(empty)", c.loser_value or "(empty)"
    return f"{fmt.day(c.at.astimezone(tz).date())} · {what}: kept {kept}, lost {lost}"


def _accounts_note(total: int, shown: int) -> str:
    if not total:
        return "No account had a backordered order in the period."
    if total > shown:
        return f"The {shown:,} most affected of {fmt.count(total, 'account')} with backorders."
    return f"{fmt.count(total, 'account')} with backorders in the period."


def _retrieved(future: asyncio.Future[Any]) -> None:
    """Mark a failure as seen: a request whose step never comes (the figures failed, or a
    newer load replaced it) must not be reported as an exception nobody retrieved."""
    if not future.cancelled():
        future.exception()
