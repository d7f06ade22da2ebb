"""Suppliers: each one's scorecard (on time, mean and p90 slip, fill rate, lead time) with its
month by month on-time trend as bars, least reliable first."""

from __future__ import annotations

import flet as ft

from app.ui.console import fmt
from app.ui.console.suppliers import SupplierRow, SuppliersState
from app.ui.console.views.host import Host
from app.ui.console.views.widgets import (
    banner,
    busy_ring,
    card,
    muted,
    refresh,
    title_bar,
)

BAR_HEIGHT = 36


class SuppliersScreen:
    def __init__(self, state: SuppliersState, host: Host) -> None:
        self.state = state
        self.host = host
        self.busy = busy_ring()
        # A few suppliers: a plain scrolling column (every card built, none lazily).
        self.body = ft.Column(spacing=10, expand=True, scroll=ft.ScrollMode.AUTO)
        self.control = ft.Column(
            [
                title_bar("Suppliers", self.busy, "Reload suppliers", self._reload),
                muted("Last year of closed receipts. On time: the last units came by the first "
                      "date promised (the supplier's confirmed date, or the quoted lead time)."),
                self.body,
            ],
            spacing=8,
            expand=True,
        )  # fmt: skip

    def draw(self) -> None:
        s = self.state
        out: list[ft.Control] = []
        if s.message:
            out.append(banner(s.message, kind="ok" if s.ok else "error"))
        out += [self._supplier(r) for r in s.rows]
        if not s.rows and not s.message:
            out.append(muted("Loading…"))
        self.body.controls = out

    def _figure(self, value: str, label: str) -> ft.Control:
        return ft.Container(
            ft.Column(
                [ft.Text(value, size=18, weight=ft.FontWeight.BOLD), muted(label, size=11)],
                spacing=0,
            ),
            width=120,
        )

    def _supplier(self, r: SupplierRow) -> ft.Control:
        slip = "no data" if r.mean_slip_days is None else f"{r.mean_slip_days:g} d"
        p90 = "no data" if r.p90_slip_days is None else f"{r.p90_slip_days:g} d"
        lead = "no data" if r.lead_time_days is None else f"{r.lead_time_days:g} d"
        figures = ft.Row(
            [
                self._figure(fmt.pct(r.on_time_rate), "on time"),
                self._figure(slip, "mean slip"),
                self._figure(p90, "p90 slip"),
                self._figure(fmt.pct(r.fill_rate), "fill rate"),
                self._figure(lead, f"lead time (quoted {r.nominal_days:g} d)"),
            ],
            wrap=True,
            spacing=6,
            run_spacing=6,
        )
        late = f" · {r.overdue_lines:,} overdue" if r.overdue_lines else ""
        return card(
            ft.Column(
                [
                    ft.Text(r.name, size=16, weight=ft.FontWeight.W_600),
                    muted(r.contact),
                    figures,
                    muted(f"{r.receipts:,} receipts in the year · {r.items_primary:,} items as "
                          f"primary, {r.items_backup:,} as backup · {r.open_lines:,} lines open"
                          f"{late}"),
                    self._trend(r),
                    ft.Text(f"Trend: {r.trend_words}", size=12),
                ],
                spacing=6,
            ),
            identifier=f"supplier-{r.id}",
            label=r.words,
        )  # fmt: skip

    def _trend(self, r: SupplierRow) -> ft.Control:
        """On time per month as bars (the words beside say it for screen readers)."""
        bars = []
        for m in r.trend[-12:]:
            rate = m.on_time_rate or 0.0
            tint = (
                ft.Colors.GREEN
                if rate >= 0.9
                else ft.Colors.AMBER
                if rate >= 0.7
                else ft.Colors.RED
            )
            bars.append(
                ft.Column(
                    [
                        ft.Container(height=BAR_HEIGHT * (1 - rate)),
                        ft.Container(
                            height=max(2, BAR_HEIGHT * rate), width=14, bgcolor=tint,
                            border_radius=2, tooltip=f"{m.label}: {fmt.pct(m.on_time_rate)} "
                            f"on time of {m.receipts}",
                        ),
                        ft.Text(m.label[:1], size=9),
                    ],
                    spacing=1,
                    horizontal_alignment=ft.CrossAxisAlignment.CENTER,
                )
            )  # fmt: skip
        if not bars:
            return muted("No closed receipts in the year.")
        return ft.Row([muted("on time by month", size=11), *bars], spacing=4,
                      vertical_alignment=ft.CrossAxisAlignment.END)  # fmt: skip

    async def load(self) -> None:
        self.busy.visible = True
        refresh(self.busy)
        await self.state.load()
        self.busy.visible = False
        self.draw()
        refresh(self.control)

    async def _reload(self, _e: object = None) -> None:
        await self.load()
