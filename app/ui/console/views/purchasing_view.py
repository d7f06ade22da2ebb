"""Purchase orders: state chips, drafts from the reorder advice in one step, the list, and the
picked order (send, confirm with the supplier's date, receive a line, cancel). A value the
server refuses shows the server's words at its field."""

from __future__ import annotations

from collections.abc import Awaitable
from functools import partial

import flet as ft

from app.ui.console import fmt
from app.ui.console.purchasing import STATE_WORDS, STATES, LineView, OrderView, PurchasingState
from app.ui.console.views.host import Host
from app.ui.console.views.widgets import (  # fmt: skip
    banner,
    busy_ring,
    card,
    heading,
    icon_button,
    muted,
    refresh,
    tag,
    title_bar,
)

TINT = {
    "draft": ft.Colors.GREY,
    "sent": ft.Colors.BLUE,
    "confirmed": ft.Colors.GREEN,
    "partly_received": ft.Colors.AMBER,
    "received": ft.Colors.TEAL,
    "cancelled": ft.Colors.GREY,
}


class PurchasingScreen:
    def __init__(self, state: PurchasingState, host: Host) -> None:
        self.state = state
        self.host = host
        self.chips = ft.Row([], spacing=6, wrap=True, run_spacing=6)
        self.confirm_date = ft.TextField(
            label="Supplier's date", hint_text="YYYY-MM-DD", width=190, dense=True,
            error_max_lines=3,
        )  # fmt: skip
        self.quantity = ft.TextField(
            label="Units arrived", hint_text="all", width=150, dense=True, error_max_lines=3,
            keyboard_type=ft.KeyboardType.NUMBER,
        )  # fmt: skip
        self.rest_date = ft.TextField(
            label="Rest due on", hint_text="YYYY-MM-DD", width=170, dense=True, error_max_lines=3
        )
        self.busy = busy_ring()
        self.list = ft.ListView(spacing=6, expand=True)
        self.detail = ft.ListView(spacing=10, expand=True, padding=ft.Padding.only(bottom=24))
        self.message = ft.Container()
        self._list_pane = ft.Container(
            ft.Column(
                [
                    self.chips,
                    ft.FilledButton(
                        "Draft orders from reorder advice",
                        icon=ft.Icons.AUTO_FIX_HIGH,
                        on_click=self._from_advice,
                    ),
                    self.list,
                ],
                spacing=8,
                expand=True,
            )
        )
        self._divider = ft.VerticalDivider(width=1)
        self._detail_pane = ft.Container(self.detail, expand=True)
        self.layout = ft.Row(
            [], expand=True, spacing=12, vertical_alignment=ft.CrossAxisAlignment.START
        )
        self.control = ft.Column(
            [
                title_bar("Purchase orders", self.busy, "Reload purchase orders", self._reload),
                self.message,
                self.layout,
            ],
            spacing=8,
            expand=True,
        )  # fmt: skip

    # -- drawing --------------------------------------------------------------------------

    def draw(self) -> None:
        s = self.state
        phone = self.host.phone
        self._list_pane.width, self._list_pane.expand = (None, True) if phone else (440, False)
        if phone:
            wanted = [self._detail_pane if s.selected else self._list_pane]
        else:
            wanted = [self._list_pane, self._divider, self._detail_pane]
        if [id(c) for c in self.layout.controls] != [id(c) for c in wanted]:
            self.layout.controls = wanted
        self.message.content = (
            banner(s.message, kind="ok" if s.ok else "error", identifier="po-message")
            if s.message
            else None
        )
        self.chips.controls = [
            ft.Chip(
                label=ft.Text(f"{STATE_WORDS[key]} ({s.counts.get(key, 0):,})"),
                selected=s.filter == key,
                show_checkmark=False,
                on_select=partial(self._filter, key),
            )
            for key in ("open", *STATES)
        ]
        count = ft.Semantics(
            identifier="po-count", label=s.summary, container=True, content=muted(s.summary)
        )
        self.list.controls = [count, *(self._order(o) for o in s.orders)]
        self.confirm_date.error = s.errors.get("expected")
        self.quantity.error = s.errors.get("quantity")
        self.rest_date.error = s.errors.get("rest_expected")
        self.detail.controls = self._detail()

    def _order(self, o: OrderView) -> ft.Control:
        picked = self.state.selected is not None and self.state.selected.id == o.id
        late = [tag(f"{o.overdue} overdue", ft.Colors.RED)] if o.overdue else []
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
                            ft.Text(o.title, weight=ft.FontWeight.W_600, expand=True),
                            tag(o.state, TINT.get(o.status, ft.Colors.GREY)),
                            *late,
                        ],
                        spacing=6,
                    ),
                    muted(
                        f"{o.warehouse} · {fmt.count(len(o.lines), 'line')}"
                        + (f" · sent {fmt.day(o.sent_on)}" if o.sent_on else " · not sent")
                    ),
                ],
                spacing=2,
            ),
            on_click=lambda _e, po=o.id: self._pick(po),
            identifier=f"po-{o.id}",
            label=o.words + (" (picked)" if picked else ""),
            padding=8,
        )

    def _detail(self) -> list[ft.Control]:
        s = self.state
        o = s.selected
        out: list[ft.Control] = []
        if o is None:
            return [muted("Pick a purchase order to send, confirm, receive or cancel it.")]
        if self.host.phone:
            out.append(
                icon_button(ft.Icons.ARROW_BACK, "Back to the purchase orders", self._unpick)
            )
        out.append(
            ft.Semantics(
                identifier="po-detail",
                label=o.words,
                container=True,
                content=ft.Column(
                    [
                        ft.Row(
                            [heading(o.title, size=17),
                             tag(o.state, TINT.get(o.status, ft.Colors.GREY))],
                            spacing=8,
                            wrap=True,
                        ),
                        muted(f"{o.warehouse}"
                              + (f" · sent {fmt.day(o.sent_on)}" if o.sent_on else " · not sent")
                              + (f" · {o.note}" if o.note else "")),
                    ],
                    spacing=4,
                ),
            )
        )  # fmt: skip
        out += [self._line(line, o) for line in o.lines]
        actions: list[ft.Control] = []
        if o.can_send:
            actions.append(
                ft.FilledButton("Send to supplier", icon=ft.Icons.SEND, on_click=self._send)
            )
        if o.can_cancel:
            actions.append(
                ft.OutlinedButton("Cancel order", icon=ft.Icons.CANCEL_OUTLINED,
                                  on_click=self._cancel)
            )  # fmt: skip
        if actions:
            out.append(ft.Row(actions, wrap=True, spacing=8))
        if o.can_confirm and any(line.open for line in o.lines):
            out.append(
                card(
                    ft.Column(
                        [
                            heading("The supplier confirmed a date", size=14),
                            muted("Every open line gets it; customers waiting are re-dated."),
                            ft.Row(
                                [self.confirm_date,
                                 ft.FilledButton("Confirm", icon=ft.Icons.EVENT_AVAILABLE,
                                                 on_click=self._confirm)],
                                wrap=True,
                                spacing=8,
                                vertical_alignment=ft.CrossAxisAlignment.START,
                            ),
                        ],
                        spacing=6,
                    ),
                    identifier="po-confirm",
                )
            )  # fmt: skip
        return out

    def _line(self, line: LineView, o: OrderView) -> ft.Control:
        s = self.state
        rows: list[ft.Control] = [
            ft.Row(
                [
                    ft.Text(line.words, size=13, expand=True,
                            color=ft.Colors.RED if line.overdue else None,
                            weight=ft.FontWeight.W_600 if line.overdue else None),
                    *(
                        [ft.TextButton("Receive", icon=ft.Icons.MOVE_TO_INBOX,
                                       on_click=partial(self._start_receiving, line.receipt_id))]
                        if line.open and s.receiving != line.receipt_id
                        else []
                    ),
                ],
                spacing=6,
            )
        ]  # fmt: skip
        if line.open and s.receiving == line.receipt_id:
            rows += [
                muted(f"{line.remaining:,} to come. Leave units empty to receive all of them; "
                      "for a part, give the date the rest is due, or close the rest."),
                ft.Row(
                    [self.quantity, self.rest_date],
                    wrap=True,
                    spacing=8,
                    vertical_alignment=ft.CrossAxisAlignment.START,
                ),
                ft.Row(
                    [
                        ft.FilledButton("Record receipt", icon=ft.Icons.MOVE_TO_INBOX,
                                        on_click=self._receive),
                        ft.OutlinedButton("Receive and close the rest", on_click=self._close),
                        ft.TextButton("Not now", on_click=partial(self._start_receiving, None)),
                    ],
                    wrap=True,
                    spacing=8,
                ),
            ]  # fmt: skip
        return card(
            ft.Column(rows, spacing=6),
            identifier=f"po-line-{line.receipt_id}",
            label=line.words,
            padding=8,
        )

    # -- actions --------------------------------------------------------------------------

    async def load(self) -> None:
        self.busy.visible = True
        refresh(self.busy)
        await self.state.load()
        self.busy.visible = False
        self.draw()
        refresh(self.control)

    async def _run(self, work: Awaitable[bool]) -> None:
        self.busy.visible = True
        refresh(self.busy)
        await work  # the outcome shows in the banner, a refused value at its field
        self.busy.visible = False
        self.draw()
        refresh(self.control)

    async def _reload(self, _e: object = None) -> None:
        self.state.message = ""
        await self.load()

    async def _filter(self, key: str, _e: object = None) -> None:
        self.state.selected = None
        await self._run(self.state.show(key))

    def _pick(self, po_id: int) -> None:
        self.state.select(po_id)
        self.confirm_date.value = self.quantity.value = self.rest_date.value = ""
        self.draw()
        refresh(self.control)

    def _unpick(self, _e: object = None) -> None:
        self.state.select(None)
        self.draw()
        refresh(self.control)

    def _start_receiving(self, receipt_id: int | None, _e: object = None) -> None:
        self.state.start_receiving(receipt_id)
        self.quantity.value = self.rest_date.value = ""
        self.draw()
        refresh(self.control)

    async def _from_advice(self, _e: object = None) -> None:
        await self._run(self.state.drafts_from_advice())

    async def _send(self, _e: object = None) -> None:
        await self._run(self.state.send())

    async def _cancel(self, _e: object = None) -> None:
        await self._run(self.state.cancel())

    async def _confirm(self, _e: object = None) -> None:
        await self._run(self.state.confirm(self.confirm_date.value or ""))

    async def _receive(self, _e: object = None) -> None:
        rest = self.rest_date.value or ""
        mode = "date" if rest.strip() else "keep"
        await self._run(self.state.receive(self.quantity.value or "", mode, rest))

    async def _close(self, _e: object = None) -> None:
        await self._run(self.state.receive(self.quantity.value or "", "close"))
