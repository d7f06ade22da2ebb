"""The backorder dashboard: period, the metric cards with 12-week trend charts, the most
backordered items, accounts most affected, items under their reorder point; CSV export."""

from __future__ import annotations

from functools import partial

import flet as ft

from app.ui.console.dashboard import PERIODS, Card, DashboardState
from app.ui.console.export import exports_dir
from app.ui.console.views.charts import trend_chart
from app.ui.console.views.host import Host
from app.ui.console.views.widgets import (
    banner,
    busy_ring,
    card,
    heading,
    icon_button,
    muted,
    refresh,
    section,
)

_LOW_COLUMNS = ("SKU", "Item", "WH", "Free now", "Inbound", "Backordered", "Projected",
                "Reorder point", "Safety stock", "Suggested order")  # fmt: skip


class DashboardScreen:
    def __init__(self, state: DashboardState, host: Host) -> None:
        self.state = state
        self.host = host
        self.periods = ft.Row([], spacing=6, wrap=True)
        self.first = ft.TextField(
            label="Period from", hint_text="YYYY-MM-DD", width=150, dense=True
        )
        self.last = ft.TextField(label="Period to", hint_text="YYYY-MM-DD", width=150, dense=True)
        self.busy = busy_ring()
        self.body = ft.ListView(spacing=14, expand=True, padding=ft.Padding.only(bottom=24))
        self.control = ft.Column(
            [
                ft.Row(
                    [
                        heading("Backorder dashboard"),
                        ft.Row(
                            [
                                self.busy,
                                icon_button(ft.Icons.REFRESH, "Reload the dashboard", self._reload),
                                ft.OutlinedButton(
                                    "Export metrics CSV", icon=ft.Icons.DOWNLOAD,
                                    on_click=self._export,
                                ),
                            ],
                            tight=True,
                            spacing=4,
                        ),
                    ],
                    alignment=ft.MainAxisAlignment.SPACE_BETWEEN,
                    wrap=True,
                ),
                ft.Row(
                    [self.periods, self.first, self.last,
                     ft.OutlinedButton("Apply period", on_click=self._custom)],
                    wrap=True,
                    spacing=8,
                    run_spacing=8,
                ),
                self.body,
            ],
            spacing=10,
            expand=True,
        )  # fmt: skip

    # -- drawing --------------------------------------------------------------------------

    def draw(self) -> None:
        s = self.state
        self.periods.controls = [
            ft.Chip(
                label=label,
                selected=s.period == key,
                show_checkmark=False,
                on_select=partial(self._period, key),
            )
            for key, label, _ in PERIODS
        ]
        out: list[ft.Control] = []
        if s.error:
            out.append(banner(s.error, kind="error"))
        if s.report is None:
            self.body.controls = out or [muted("Loading…")]
            return
        out.append(
            ft.Semantics(
                identifier="period",
                label=f"Orders committed {s.period_text}",
                container=True,
                content=muted(f"Orders committed {s.period_text}; trends: the 12 weeks up to "
                              "its last day.", size=13),
            )
        )  # fmt: skip
        out.append(ft.ResponsiveRow([self._card(c) for c in s.cards], spacing=10, run_spacing=10))
        items = [ft.Text(i.text, size=13) for i in s.items] or [muted("No backorders.")]
        accounts = [ft.Text(a.text, size=13) for a in s.accounts]
        accounts.append(muted(s.accounts_note or "Counting…"))
        lists = [
            card(
                section("Most backordered items", *items),
                expand=True,
                identifier="top-items",
                label="Most backordered items: " + "; ".join(i.text for i in s.items),
            ),
            card(
                section("Accounts most affected", *accounts),
                expand=True,
                identifier="accounts-affected",
                label="Accounts most affected: "
                + "; ".join(a.text for a in s.accounts)
                + f". {s.accounts_note}",
            ),
        ]
        out.append(
            ft.Column(lists, spacing=10)
            if self.host.phone
            else ft.Row(lists, spacing=10, vertical_alignment=ft.CrossAxisAlignment.START)
        )
        conflicts = [ft.Text(t, size=13) for t in s.conflicts]
        conflicts.append(muted(s.conflicts_note or "Loading…"))
        out.append(
            card(
                section("Conflicts (one side's edit lost)", *conflicts),
                identifier="conflicts",
                label="Conflicts: " + "; ".join(s.conflicts) + f". {s.conflicts_note}",
            )
        )
        out.append(self._low())
        self.body.controls = out

    def _card(self, c: Card) -> ft.Control:
        return ft.Container(
            col={"xs": 12, "md": 6, "lg": 4},
            content=card(
                ft.Column(
                    [
                        muted(c.title, size=12),
                        ft.Text(c.value_text, size=24, weight=ft.FontWeight.BOLD),
                        muted(c.detail, size=11),
                        trend_chart(c.trend, unit=c.unit),
                    ],
                    spacing=2,
                ),
                identifier=f"metric-{c.key}",
                label=c.words,
                padding=10,
            ),
        )

    def _low(self) -> ft.Control:
        s = self.state
        title = f"Items under their reorder point ({s.low_total:,})"
        if s.low_note or not s.low_loaded:
            return card(section("Items under their reorder point", muted(s.low_note or "Loading…")))
        if not s.low:
            return card(section(title, muted("None: every item is above its reorder point.")))
        if self.host.phone:
            rows: list[ft.Control] = [ft.Text(r.text, size=12) for r in s.low]
        else:
            rows = [
                ft.DataTable(
                    columns=[ft.DataColumn(ft.Text(c, size=12)) for c in _LOW_COLUMNS],
                    rows=[
                        ft.DataRow(
                            [ft.DataCell(ft.Text(str(v), size=12)) for v in (
                                r.sku, r.name[:38], r.warehouse_id, f"{r.free_now:,}",
                                f"{r.inbound:,}", f"{r.backordered:,}", f"{r.projected_free:,}",
                                f"{r.reorder_point:,}", f"{r.safety_stock:,}",
                                f"{r.suggested:,}")]
                        )
                        for r in s.low
                    ],
                    column_spacing=14,
                    heading_row_height=36,
                    data_row_min_height=30,
                    data_row_max_height=34,
                )
            ]  # fmt: skip
        body: list[ft.Control] = (
            rows if self.host.phone else [ft.Row(rows, scroll=ft.ScrollMode.AUTO)]
        )
        more = s.low_total - len(s.low)
        if more > 0:
            body.append(muted(f"and {more:,} more (the most urgent are shown)"))
        return card(section(title, *body))

    # -- actions --------------------------------------------------------------------------

    async def load(self) -> None:
        """Figures first; then the account ranking and the low-stock items, both asked for as
        soon as the figures are in, each drawn as it comes (the ranking is the quicker); then
        the conflicts of the period."""
        self.busy.visible = True
        refresh(self.busy)
        steps = (
            self.state.load,
            self.state.load_accounts,
            self.state.load_low_stock,
            self.state.load_conflicts,
        )
        for step in steps:
            if not await step() and self.state.report is None:
                break
            self.draw()
            refresh(self.control)
        self.busy.visible = False
        refresh(self.control)

    async def _reload(self, _e: object = None) -> None:
        await self.load()

    async def _period(self, key: str) -> None:
        self.state.set_period(key)
        self.first.value = self.last.value = ""
        await self.load()

    async def _custom(self, _e: object = None) -> None:
        problem = self.state.set_custom(self.first.value or "", self.last.value or "")
        if problem:
            self.host.toast(problem, error=True)
            return
        await self.load()

    async def _export(self, _e: object = None) -> None:
        if self.state.report is None:
            self.host.toast("Nothing to export yet: the dashboard has not loaded", error=True)
            return
        try:
            path = self.state.export_csv(exports_dir())
        except OSError as problem:  # the folder is not writable, the disk is full
            self.host.toast(f"Nothing exported: {problem}", error=True)
            return
        await self.host.offer_file(path, "Metrics table")
