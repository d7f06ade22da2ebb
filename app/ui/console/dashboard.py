"""The backorder dashboard for a period: the six metrics with their 12-week trends, the most
backordered items, the accounts most affected, and items under their reorder point; the metrics
table as CSV."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from app.ui.console import fmt
from app.ui.console.export import write_csv
from app.ui.console.session import ConsoleSession
from sync import protocol as p
from sync.supervisor import OrderQuery, SupervisorError

PERIODS: tuple[tuple[str, str, int], ...] = (
    ("7d", "Last 7 days", 7),
    ("28d", "Last 28 days", 28),
    ("13w", "Last 13 weeks", 91),
    ("52w", "Last 52 weeks", 364),
)
ACCOUNT_SCAN_CAP = 5_000  # backordered orders read to rank accounts (the server has no ranking)
LOW_STOCK_SHOWN = 25  # the most urgent; the total is said beside them


@dataclass(frozen=True, slots=True)
class Metric:
    key: str
    title: str
    is_rate: bool  # else: days
    higher_is_better: bool
    detail: Callable[[p.MetricsPublic], str]


def _of(part: int, whole: int, word: str) -> str:
    return f"{part:,} of {whole:,} {word}"


METRICS: tuple[Metric, ...] = (
    Metric("backorder_rate", "Backorder rate", True, False,
           lambda m: _of(m.backordered_orders, m.orders, "orders")),
    Metric("avg_fulfilment_days", "Avg backorder fulfilment", False, False,
           lambda m: f"over {fmt.count(m.filled_lines, 'filled line')}"),
    Metric("cancellation_rate", "Cancellation rate (backordered orders)", True, False,
           lambda m: _of(m.cancelled_backordered_orders, m.backordered_orders, "cancelled")),
    Metric("line_fill_rate", "Line fill rate", True, True,
           lambda m: _of(m.lines - m.backordered_lines, m.lines, "lines")),
    Metric("unit_fill_rate", "Unit fill rate", True, True,
           lambda m: _of(m.units_available, m.units_ordered, "units")),
    Metric("promise_accuracy", "Promise accuracy", True, True,
           lambda m: _of(m.on_time_lines, m.shipped_lines, "on time")),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Card:
    key: str
    title: str
    value: float | None
    value_text: str
    detail: str
    is_rate: bool
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
    backordered_orders: int
    cancelled: int
    value_cents: int

    @property
    def text(self) -> str:
        cancelled = f", {self.cancelled:,} cancelled" if self.cancelled else ""
        return (
            f"{self.name} (#{self.account_id}): "
            f"{fmt.count(self.backordered_orders, 'backordered order')}"
            f"{cancelled} · {fmt.money(self.value_cents)}"
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
    return fmt.pct(value) if metric.is_rate else fmt.days(value)


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
        self.accounts_note = ""
        self.low: list[LowRow] = []
        self.low_total = 0
        self.low_loaded = False
        self.low_note = ""
        self.error = ""
        self._generation = 0  # a period picked while another loads: the newest one wins

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

    async def load(self) -> bool:
        """The period's metrics, trends and most backordered items: one round trip. Low stock
        and the accounts come after (load_low_stock, load_accounts) so the figures show first;
        an answer that arrives after a newer load started is dropped."""
        self._generation += 1
        mine = self._generation
        try:
            start, end = await self._dates()
            report = await self.session.api.metrics(start, end)
        except SupervisorError as problem:
            if mine == self._generation:
                self.error = f"Could not load the dashboard: {problem}"
            return False
        if mine != self._generation:
            return True
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
            low = await self.session.api.low_stock(limit=LOW_STOCK_SHOWN)
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
            is_rate=metric.is_rate,
            trend=tuple((w.week_start, _value(w.metrics, metric.key)) for w in report.trend),
        )

    async def load_accounts(self) -> bool:
        """Accounts most affected, ranked from the period's backordered orders. The metrics
        report has no per-account figures, so they are counted here from the order list."""
        if self.start is None or self.end is None:
            return False
        mine = self._generation
        query = OrderQuery(
            date_from=self.start, date_to=self.end - timedelta(days=1), has_backorders=True
        )
        try:
            orders = await self.session.api.all_orders(query, cap=ACCOUNT_SCAN_CAP)
        except SupervisorError as problem:
            self.accounts_note = f"Could not rank the accounts: {problem}"
            return False
        if mine != self._generation:
            return True  # the period changed meanwhile
        names: dict[int, str] = {}
        tally: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])  # orders, cancelled, cents
        for o in orders:
            names[o.account_id] = o.account_name
            row = tally[o.account_id]
            row[0] += 1
            row[1] += o.status == "cancelled"
            row[2] += o.total_cents
        ranked = sorted(
            (AccountRow(aid, names[aid], *row) for aid, row in tally.items()),
            key=lambda a: (-a.backordered_orders, -a.value_cents, a.name),
        )
        self.accounts = ranked[:10]
        self.accounts_note = (
            f"From the newest {len(orders):,} backordered orders of the period."
            if len(orders) >= ACCOUNT_SCAN_CAP
            else f"From {fmt.count(len(orders), 'backordered order')} in the period."
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
