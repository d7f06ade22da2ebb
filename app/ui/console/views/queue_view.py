"""The review queue screen: status views with counts, filters, a page of orders, CSV export."""

from __future__ import annotations

from functools import partial

import flet as ft

from app.ui.console import fmt
from app.ui.console.export import exports_dir
from app.ui.console.queue import OrderRow, QueueState
from app.ui.console.views.host import Host
from app.ui.console.views.widgets import (
    STATUS_TINT,
    banner,
    busy_ring,
    card,
    heading,
    icon_button,
    muted,
    refresh,
    tag,
)
from sync.supervisor import SupervisorError

_ANY = "any"


class QueueScreen:
    def __init__(self, state: QueueState, host: Host) -> None:
        self.state = state
        self.host = host
        self.views = ft.Row([], spacing=6, wrap=True)
        self.rep = ft.Dropdown(label="Rep", width=190, on_select=self._on_rep, dense=True)
        self.account = ft.Dropdown(
            label="Account",
            width=260,
            on_select=self._on_account,
            enable_filter=True,
            editable=True,
            menu_height=360,
            dense=True,
        )
        self.date_from = ft.TextField(label="From", hint_text="YYYY-MM-DD", width=150, dense=True)
        self.date_to = ft.TextField(label="To", hint_text="YYYY-MM-DD", width=150, dense=True)
        self.backorders = ft.Chip(
            label="Has backorders", show_checkmark=True, on_select=self._on_backorders
        )
        self.busy = busy_ring()
        self.problem = ft.Container()
        self.list = ft.ListView(spacing=8, expand=True, padding=ft.Padding.only(bottom=16))
        self.pages = muted("")
        self.prev = icon_button(ft.Icons.CHEVRON_LEFT, "Previous page", self._prev)
        self.next = icon_button(ft.Icons.CHEVRON_RIGHT, "Next page", self._next)
        self.filters = ft.Row(
            [
                self.backorders,
                self.rep,
                self.account,
                self.date_from,
                self.date_to,
                ft.OutlinedButton("Apply dates", on_click=self._on_dates),
                ft.TextButton("Clear filters", on_click=self._on_clear),
            ],
            wrap=True,
            spacing=8,
            run_spacing=8,
            vertical_alignment=ft.CrossAxisAlignment.CENTER,
        )
        # On a phone the filters fold away under one line that counts them.
        self.filter_box = ft.Container(self.filters)
        self.control = ft.Column(
            [
                ft.Row(
                    [
                        heading("Review queue"),
                        ft.Row(
                            [
                                self.busy,
                                icon_button(ft.Icons.REFRESH, "Reload orders", self._reload),
                                ft.OutlinedButton(
                                    "Export CSV",
                                    icon=ft.Icons.DOWNLOAD,
                                    on_click=self._export,
                                    tooltip="Every order matching the filters, as CSV",
                                ),
                            ],
                            spacing=4,
                            tight=True,
                        ),
                    ],
                    alignment=ft.MainAxisAlignment.SPACE_BETWEEN,
                    wrap=True,
                ),
                self.views,
                self.filter_box,
                self.problem,
                ft.Row([self.pages, self.prev, self.next], spacing=2),
                self.list,
            ],
            spacing=10,
            expand=True,
        )

    # -- drawing --------------------------------------------------------------------------

    def draw(self) -> None:
        s = self.state
        phone = self.host.phone
        self.views.wrap, self.views.scroll = not phone, ft.ScrollMode.AUTO if phone else None
        if phone:
            f = s.filters
            active = sum(
                x is not None and x is not False
                for x in (f.backorders_only or None, f.rep_id, f.account_id, f.date_from, f.date_to)
            )
            self.filter_box.content = ft.ExpansionTile(
                title=ft.Text(f"Filters ({active} on)", size=13),
                controls=[self.filters],
                tile_padding=ft.Padding.symmetric(horizontal=4),
            )
        else:
            self.filter_box.content = self.filters
        self.views.controls = [
            ft.Semantics(
                identifier=f"view-{chip.key}",
                label=chip.text,
                selected=chip.selected,
                container=True,
                content=ft.Chip(
                    label=chip.text,
                    selected=chip.selected,
                    show_checkmark=False,
                    on_select=partial(self._on_view, chip.key),
                ),
            )
            for chip in s.chips()
        ]
        self.backorders.selected = s.filters.backorders_only
        self.backorders.label = f"Has backorders ({s.backorder_count:,})"
        self.rep.options = [ft.DropdownOption(key=_ANY, text="Any rep")] + [
            ft.DropdownOption(key=str(c.id), text=c.label) for c in s.reps()
        ]
        self.rep.value = str(s.filters.rep_id) if s.filters.rep_id else _ANY
        self.account.options = [ft.DropdownOption(key=_ANY, text="Any account")] + [
            ft.DropdownOption(key=str(c.id), text=c.label) for c in s.accounts
        ]
        self.account.value = str(s.filters.account_id) if s.filters.account_id else _ANY
        self.problem.content = banner(s.error, kind="error") if s.error else None
        self.pages.value = s.page_text
        self.prev.content.disabled = not s.has_previous  # type: ignore[union-attr]
        self.next.content.disabled = not s.has_next  # type: ignore[union-attr]
        if s.loaded and not s.rows:
            self.list.controls = [muted("No orders match these filters.", size=14)]
        else:
            self.list.controls = [self._row(r) for r in s.rows]

    def _row(self, r: OrderRow) -> ft.Control:
        tags: list[ft.Control] = [tag(r.status_text, STATUS_TINT.get(r.status, ft.Colors.BLUE))]
        if r.backorders:
            tags.append(tag("Backorders", ft.Colors.ORANGE))
        if r.attention:
            tags.append(tag("Rep to acknowledge", ft.Colors.PURPLE))
        main = ft.Column(
            [
                ft.Text(r.account, size=15, weight=ft.FontWeight.W_600),
                muted(f"{r.rep} · order {r.short_id} · {r.placed} · {fmt.count(r.lines, 'line')}"),
            ],
            spacing=2,
            expand=True,
        )
        total = ft.Text(r.total, weight=ft.FontWeight.BOLD)
        if self.host.phone:
            foot = ft.Row([ft.Row(tags, spacing=4, tight=True), total],
                          alignment=ft.MainAxisAlignment.SPACE_BETWEEN)  # fmt: skip
            body: ft.Control = ft.Column([main, foot], spacing=4)
        else:
            side = ft.Column(
                [total, ft.Row(tags, spacing=4, tight=True)],
                horizontal_alignment=ft.CrossAxisAlignment.END,
                spacing=4,
            )
            body = ft.Row([main, side])
        return card(
            body,
            on_click=lambda _e, oid=r.id: self.host.go("order", oid),
            identifier=f"order-{r.id}",
            label=r.words,
            padding=10,
        )

    # -- loading --------------------------------------------------------------------------

    async def load(self) -> None:
        self.busy.visible = True
        refresh(self.busy)
        await self.state.load_choices()
        await self.state.load()
        self.busy.visible = False
        self.draw()
        refresh(self.control)

    async def _reload(self, _e: object = None) -> None:
        await self.load()

    async def _on_view(self, key: str) -> None:
        self.state.set_view(key)
        await self.load()

    async def _on_backorders(self, _e: ft.ControlEvent) -> None:
        self.state.set_backorders_only(not self.state.filters.backorders_only)
        await self.load()

    async def _on_rep(self, e: ft.ControlEvent) -> None:
        value = e.control.value
        self.state.set_rep(None if value in (None, _ANY) else int(value))
        await self.load()

    async def _on_account(self, e: ft.ControlEvent) -> None:
        value = e.control.value
        self.state.set_account(None if value in (None, _ANY) else int(value))
        await self.load()

    async def _on_dates(self, _e: object = None) -> None:
        problem = self.state.set_dates(self.date_from.value or "", self.date_to.value or "")
        if problem:
            self.host.toast(problem, error=True)
            return
        await self.load()

    async def _on_clear(self, _e: object = None) -> None:
        self.state.clear_filters()
        self.date_from.value = self.date_to.value = ""
        await self.load()

    async def _prev(self, _e: object = None) -> None:
        self.state.previous_page()
        await self.load()

    async def _next(self, _e: object = None) -> None:
        self.state.next_page()
        await self.load()

    async def _export(self, _e: object = None) -> None:
        self.busy.visible = True
        refresh(self.busy)
        try:
            path = await self.state.export_csv(exports_dir())
        except (SupervisorError, OSError) as problem:  # OSError: the folder is not writable
            self.host.toast(f"Nothing exported: {problem}", error=True)
            return
        finally:
            self.busy.visible = False
            refresh(self.busy)
        await self.host.offer_file(path, "Orders in view")
