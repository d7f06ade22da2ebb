"""Suppliers and their scorecards: over the last year of closed receipts, the share on time (by
the first date promised), mean and p90 slip in days, the share of ordered units that came, the
lead time realised, and the month by month trend. Figures are the server's, unchanged."""

from __future__ import annotations

from dataclasses import dataclass

from app.ui.console import fmt
from app.ui.console.session import ConsoleSession
from sync import protocol as p
from sync.supervisor import SupervisorError


@dataclass(frozen=True, slots=True)
class Month:
    label: str  # "Mar 2025"
    receipts: int
    on_time_rate: float | None
    mean_slip_days: float | None


@dataclass(frozen=True, slots=True)
class SupplierRow:
    id: int
    name: str
    contact: str
    receipts: int
    on_time_rate: float | None
    mean_slip_days: float | None
    p90_slip_days: float | None
    fill_rate: float | None
    lead_time_days: float | None
    nominal_days: float
    items_primary: int
    items_backup: int
    open_lines: int
    overdue_lines: int
    trend: tuple[Month, ...]

    @property
    def trend_words(self) -> str:
        """Better or worse: the last three months against the three before them."""
        rates = [m.on_time_rate for m in self.trend if m.on_time_rate is not None]
        if len(rates) < 6:
            return "not enough months for a trend"
        recent, before = sum(rates[-3:]) / 3, sum(rates[-6:-3]) / 3
        if abs(recent - before) < 0.05:
            return f"steady (last 3 months {fmt.pct(recent)} on time)"
        way = "improving" if recent > before else "getting worse"
        return f"{way}: {fmt.pct(recent)} on time in the last 3 months, {fmt.pct(before)} before"

    @property
    def words(self) -> str:
        slip = (
            f"slip mean {_days(self.mean_slip_days)}, p90 {_days(self.p90_slip_days)}"
            if self.mean_slip_days is not None
            else "no slip data"
        )
        return (
            f"{self.name}: {fmt.pct(self.on_time_rate)} on time over {self.receipts:,} receipts, "
            f"{slip}, fill rate {fmt.pct(self.fill_rate)}, lead time {_days(self.lead_time_days)}"
            f" (quoted {_days(self.nominal_days)}); {self.trend_words}"
        )


def _days(value: float | None) -> str:
    return "no data" if value is None else f"{value:g} days"


def supplier_row(d: p.SupplierDetail) -> SupplierRow:
    s, card = d.supplier, d.scorecard
    contact = " · ".join(x for x in (s.contact_name, s.email, s.phone) if x)
    return SupplierRow(
        id=s.id,
        name=s.name,
        contact=contact or "no contact on record",
        receipts=card.receipts,
        on_time_rate=card.on_time_rate,
        mean_slip_days=card.mean_slip_days,
        p90_slip_days=card.p90_slip_days,
        fill_rate=card.fill_rate,
        lead_time_days=card.lead_time_mean_days,
        nominal_days=s.lead_time_mean_days,
        items_primary=sum(x.role == "primary" for x in d.items),
        items_backup=sum(x.role == "backup" for x in d.items),
        open_lines=d.open_lines,
        overdue_lines=d.overdue_lines,
        trend=tuple(
            Month(f"{m.month:%b %Y}", m.receipts, m.on_time_rate, m.mean_slip_days)
            for m in card.trend
        ),
    )


class SuppliersState:
    def __init__(self, session: ConsoleSession) -> None:
        self.session = session
        self.rows: list[SupplierRow] = []
        self.message = ""
        self.ok = True

    async def load(self) -> bool:
        try:
            found = await self.session.api.suppliers()
        except SupervisorError as problem:
            self.message, self.ok = f"Could not load the suppliers: {problem}", False
            return False
        # The least reliable first: they are the ones to talk to.
        self.rows = sorted(
            (supplier_row(d) for d in found),
            key=lambda r: (r.on_time_rate is None, r.on_time_rate or 0.0, r.name),
        )
        self.message, self.ok = "", True
        return True
