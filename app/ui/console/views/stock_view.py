"""Incoming stock: receipts to pick from, the side-by-side allocation preview, commit; a delay;
an unplanned arrival."""

from __future__ import annotations

from collections.abc import Awaitable

import flet as ft

from app.ui.console.stock import IncomingState, OutcomeView, ReceiptRow
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
    title_bar,
)
from app.ui.state.text import plural

SHOWN_LINES = 8  # allocations listed per policy; the rest are counted


class IncomingScreen:
    def __init__(self, state: IncomingState, host: Host) -> None:
        self.state = state
        self.host = host
        self.search = ft.TextField(
            label="Find a receipt (SKU or number)",
            prefix_icon=ft.Icons.SEARCH,
            on_change=self._on_search,
            dense=True,
        )
        self.quantity = ft.TextField(
            label="Units arrived", width=150, dense=True, keyboard_type=ft.KeyboardType.NUMBER
        )
        self.new_date = ft.TextField(
            label="New date", hint_text="YYYY-MM-DD", width=150, dense=True
        )
        self.new_kind = ft.Dropdown(
            label="Date is",
            width=150,
            dense=True,
            value="confirmed",
            options=[
                ft.DropdownOption(key="confirmed", text="confirmed"),
                ft.DropdownOption(key="estimated", text="estimated"),
            ],
        )
        self.arrival_sku = ft.TextField(label="Arrival SKU", width=160, dense=True)
        self.arrival_qty = ft.TextField(label="Arrival units", width=130, dense=True)
        self.arrival_wh = ft.Dropdown(label="Warehouse", width=190, dense=True)
        self.busy = busy_ring()
        self.list = ft.ListView(spacing=6, expand=True)
        self.detail = ft.ListView(spacing=10, expand=True, padding=ft.Padding.only(bottom=24))
        self.message = ft.Container()
        self.left = ft.Column(
            [
                self.search,
                ft.ExpansionTile(
                    title=ft.Text("Record an unplanned arrival", size=13),
                    controls=[
                        ft.Row(
                            [self.arrival_sku, self.arrival_qty, self.arrival_wh,
                             ft.OutlinedButton("Preview arrival", on_click=self._arrival)],
                            wrap=True,
                            spacing=8,
                            run_spacing=8,
                        ),
                        muted("Recorded as a receipt due today so it can be previewed; "
                              "Discard cancels it."),
                    ],
                ),
                self.list,
            ],
            spacing=8,
            expand=True,
        )  # fmt: skip
        self._list_pane = ft.Container(self.left)
        self._divider = ft.VerticalDivider(width=1)
        self._detail_pane = ft.Container(self.detail, expand=True)
        self.layout = ft.Row(
            [], expand=True, spacing=12, vertical_alignment=ft.CrossAxisAlignment.START
        )
        self.control = ft.Column(
            [
                title_bar("Incoming stock", self.busy, "Reload receipts", self._reload),
                self.message,
                self.layout,
            ],
            spacing=8,
            expand=True,
        )  # fmt: skip

    # -- drawing --------------------------------------------------------------------------

    def draw(self) -> None:
        s = self.state
        # The panes are built once and swapped only when the layout changes: a new container
        # around the search field on every key would rebuild the field and drop its focus (and
        # the keys typed meanwhile).
        phone = self.host.phone
        self._list_pane.width, self._list_pane.expand = (None, True) if phone else (420, False)
        if phone:
            # One column: the list until a receipt is picked, then the receipt.
            wanted = [self._detail_pane if s.selected or s.result else self._list_pane]
        else:
            wanted = [self._list_pane, self._divider, self._detail_pane]
        if [id(c) for c in self.layout.controls] != [id(c) for c in wanted]:
            self.layout.controls = wanted
        self.message.content = (
            banner(s.message, kind="ok" if s.ok else "error", identifier="incoming-message")
            if s.message
            else None
        )
        self.arrival_wh.options = [
            ft.DropdownOption(key=str(k), text=v) for k, v in s.warehouses.items()
        ]
        rows = s.visible()
        self.list.controls = [self._receipt(r) for r in rows] or [
            muted("No scheduled receipt matches.", size=14)
        ]
        if len(rows) < len(s.all) and not s.search:
            self.list.controls.append(muted(f"{len(s.all) - len(rows):,} more: search to narrow."))
        self.detail.controls = self._detail()

    def _receipt(self, r: ReceiptRow) -> ft.Control:
        picked = self.state.selected is not None and self.state.selected.id == r.id
        waiting = (
            f"{plural(r.waiting_lines, 'line')} {'waits' if r.waiting_lines == 1 else 'wait'} "
            f"for {plural(r.waiting_units, 'unit')}"
            if r.waiting_lines
            else "nothing waits for it"
        )
        return card(
            ft.Column(
                [
                    ft.Row(
                        [
                            *(
                                [ft.Icon(ft.Icons.CHECK_CIRCLE, size=16, color=ft.Colors.PRIMARY)]
                                if picked
                                else []
                            ),
                            ft.Text(
                                f"#{r.id} · {r.remaining:,} x {r.sku}", weight=ft.FontWeight.W_600
                            ),
                        ],
                        spacing=6,
                    ),
                    muted(f"{r.warehouse} · expected {r.expected} ({r.kind}) · {waiting}"),
                ],
                spacing=2,
            ),
            on_click=lambda _e, rid=r.id: self._pick(rid),
            identifier=f"receipt-{r.id}",
            label=r.words + (" (picked)" if picked else ""),
            padding=8,
        )

    def _detail(self) -> list[ft.Control]:
        s = self.state
        out: list[ft.Control] = []
        if self.host.phone and (s.selected or s.result):
            out.append(icon_button(ft.Icons.ARROW_BACK, "Back to the receipts", self._unpick))
        if s.result is not None:
            r = s.result
            out.append(
                card(
                    ft.Column(
                        [heading(r.title, size=15), muted(r.stock_text),
                         self._outcome(r.outcome, "result")],
                        spacing=6,
                    ),
                    identifier="result",
                    label=f"{r.title}. {r.outcome.summary}",
                )
            )  # fmt: skip
        if s.selected is None:
            if s.result is None:
                out.append(muted("Pick a receipt on the left to preview, receive or delay it."))
            return out
        r = s.selected
        out.append(heading(f"Receipt #{r.id}: {r.remaining:,} x {r.sku}", size=17))
        out.append(muted(f"{r.warehouse} · expected {r.expected} ({r.kind}) · policy of the "
                         f"server: {s.policy}"))  # fmt: skip
        out.append(
            ft.Row(
                [self.quantity, ft.FilledButton("Preview", icon=ft.Icons.PREVIEW,
                                                on_click=self._preview)],
                wrap=True,
                spacing=8,
            )
        )  # fmt: skip
        if s.preview is not None:
            p = s.preview
            sides = [
                self._side(p.fifo, "preview-fifo", p.only_in(p.fifo)),
                self._side(p.priority, "preview-priority", p.only_in(p.priority)),
            ]
            out.append(
                muted("Both policies give the same result."
                      if p.same else "The two policies differ: compare before committing.")
            )  # fmt: skip
            out.append(
                ft.Column(sides, spacing=8)
                if self.host.phone
                else ft.Row(sides, spacing=10, vertical_alignment=ft.CrossAxisAlignment.START)
            )
            out.append(
                ft.Row(
                    [
                        ft.FilledButton(
                            f"Commit: receive {p.quantity:,} units",
                            icon=ft.Icons.MOVE_TO_INBOX,
                            on_click=self._commit,
                        ),
                        ft.TextButton("Discard", on_click=self._discard),
                    ],
                    spacing=8,
                )
            )
        out.append(
            section(
                "The supplier moved the date?",
                ft.Row(
                    [self.new_date, self.new_kind,
                     ft.OutlinedButton("Record delay", icon=ft.Icons.UPDATE, on_click=self._delay)],
                    wrap=True,
                    spacing=8,
                ),
            )
        )  # fmt: skip
        return out

    def _side(self, o: OutcomeView, identifier: str, only: set[tuple[str, int, int]]) -> ft.Control:
        tint = ft.Colors.PRIMARY if o.will_apply else ft.Colors.OUTLINE_VARIANT
        box = ft.Container(
            content=ft.Column(
                [heading(o.title, size=14), muted(o.summary), self._outcome(o, identifier, only)],
                spacing=6,
            ),
            padding=10,
            border_radius=10,
            border=ft.Border.all(2 if o.will_apply else 1, tint),
            expand=True,
        )
        return ft.Semantics(
            identifier=identifier, label=f"{o.title}: {o.summary}", container=True,
            content=box, expand=True,
        )  # fmt: skip

    def _outcome(
        self, o: OutcomeView, prefix: str, only: set[tuple[str, int, int]] | None = None
    ) -> ft.Control:
        """ETA moves first (what the customers hear about), then who gets units; lines that
        only this policy serves are marked, and a long list is cut after SHOWN_LINES."""
        other = "FIFO" if o.policy == "priority" else "priority"
        rows: list[ft.Control] = [muted("ETA moves:", size=11)]
        rows += [
            ft.Semantics(
                identifier=f"{prefix}-move-{n}", label=m.text, container=True,
                content=ft.Text(m.text, size=12, weight=ft.FontWeight.W_500),
            )
            for n, m in enumerate(o.moves, start=1)
        ] or [muted("none")]  # fmt: skip
        rows.append(muted("Gets units:", size=11))
        for a in o.allocations[:SHOWN_LINES]:
            mark = only is not None and (a.order_id, a.line_no, a.quantity) in only
            rows.append(
                ft.Text(
                    a.text + (f" (not under {other})" if mark else ""),
                    size=12,
                    weight=ft.FontWeight.W_600 if mark else None,
                )
            )
        if not o.allocations:
            rows.append(muted("nobody"))
        more = o.allocations[SHOWN_LINES:]
        if more:
            units = sum(a.quantity for a in more)
            rows.append(muted(f"…and {len(more):,} more lines ({units:,} units)"))
        return ft.Column(rows, spacing=2)

    # -- actions --------------------------------------------------------------------------

    async def _run(self, work: Awaitable[bool]) -> None:
        self.busy.visible = True
        refresh(self.busy)
        await work  # the outcome shows in the banner above the screen
        self.busy.visible = False
        self.draw()
        refresh(self.control)

    async def load(self) -> None:
        self.busy.visible = True
        refresh(self.busy)
        await self.state.load()
        self.busy.visible = False
        self.draw()
        refresh(self.control)

    async def _reload(self, _e: object = None) -> None:
        self.state.message = ""
        await self.load()

    def _on_search(self, e: ft.ControlEvent) -> None:
        self.state.search = e.control.value or ""
        self.draw()
        refresh(self.control)

    def _pick(self, receipt_id: int) -> None:
        self.state.select(receipt_id)
        self.quantity.value = ""
        self.new_date.value = ""
        self.draw()
        refresh(self.control)

    def _unpick(self, _e: object = None) -> None:
        self.state.selected, self.state.result, self.state.preview = None, None, None
        self.draw()
        refresh(self.control)

    async def _preview(self, _e: object = None) -> None:
        await self._run(self.state.make_preview(self.quantity.value or ""))

    async def _commit(self, _e: object = None) -> None:
        await self._run(self.state.commit())

    async def _discard(self, _e: object = None) -> None:
        await self._run(self.state.discard())

    async def _delay(self, _e: object = None) -> None:
        await self._run(self.state.delay(self.new_date.value or "", self.new_kind.value or ""))

    async def _arrival(self, _e: object = None) -> None:
        wh = self.arrival_wh.value
        await self._run(
            self.state.record_arrival(
                self.arrival_sku.value or "", int(wh) if wh else None, self.arrival_qty.value or ""
            )
        )
