"""Orders by state, and one order with what was promised beside what the server confirmed."""

from __future__ import annotations

from collections.abc import Callable

import flet as ft

from app.store import OrderState
from app.ui.state.orders import STATE_NAMES, TABS, LineCompare, OrderScreen, OrdersState
from app.ui.state.text import plural
from app.ui.views.accounts import _STATE_TINT, tag
from app.ui.views.common import banner, card, dialog, empty, heading, icon_button, keyed, muted
from app.ui.views.nav import Nav


class OrdersListScreen:
    def __init__(self, state: OrdersState, nav: Nav) -> None:
        self.state = state
        self.nav = nav
        self.tabs = ft.Row([], spacing=6, scroll=ft.ScrollMode.AUTO)
        self.list = ft.ListView(spacing=8, expand=True, padding=ft.Padding.only(bottom=16))
        self.control = ft.Column([heading("Orders"), self.tabs, self.list], spacing=10, expand=True)
        self._picked = False

    def refresh(self) -> None:
        counts = self.state.counts()
        if not self._picked and not counts.get(self.state.tab):
            self.state.tab = self.state.first_tab_with_orders()
        self.tabs.controls = [
            ft.Chip(
                label=f"{STATE_NAMES[s]} ({counts.get(s, 0)})",
                selected=s is self.state.tab,
                show_checkmark=False,
                on_select=lambda _e, s=s: self._pick(s),
            )
            for s in TABS
        ]
        rows = self.state.rows()
        self.list.controls = [
            card(
                ft.Row(
                    [
                        ft.Column(
                            [
                                ft.Text(f"{r.account}", size=15, weight=ft.FontWeight.W_600),
                                muted(
                                    f"Order {r.short_id} · placed {r.placed} · "
                                    + plural(r.lines, "line")
                                ),
                            ],
                            spacing=2,
                            expand=True,
                        ),
                        ft.Column(
                            [
                                ft.Text(r.total, weight=ft.FontWeight.BOLD),
                                tag(r.state_text, _STATE_TINT.get(r.state, ft.Colors.GREEN)),
                            ],
                            horizontal_alignment=ft.CrossAxisAlignment.END,
                            spacing=4,
                        ),
                        icon_button(
                            ft.Icons.CHEVRON_RIGHT,
                            f"Open order {r.short_id} for {r.account}",
                            lambda _e, oid=r.id: self.nav.go("order", oid),
                        ),
                    ]
                ),
                on_click=lambda _e, oid=r.id: self.nav.go("order", oid),
            )
            for r in rows
        ] or [empty(f"No orders {STATE_NAMES[self.state.tab].lower()}.")]
        keyed(self.list.controls, "order-row")

    def _pick(self, state: OrderState) -> None:
        self._picked = True
        self.state.tab = state
        self.refresh()


def _side(title: str, text: str, *, differs: bool) -> ft.Control:
    return ft.Container(
        content=ft.Column([muted(title, size=11), ft.Text(text, size=13)], spacing=1),
        padding=8,
        border_radius=6,
        expand=True,
        bgcolor=ft.Colors.with_opacity(0.10, ft.Colors.RED) if differs else None,
        border=ft.Border.all(1, ft.Colors.RED if differs else ft.Colors.OUTLINE_VARIANT),
    )


class OrderDetailScreen:
    def __init__(self, state: OrdersState, nav: Nav) -> None:
        self.state = state
        self.nav = nav
        self.order_id: str | None = None
        self._pickers: list[ft.FilePicker] = []
        self.body = ft.ListView(spacing=10, expand=True, padding=ft.Padding.only(bottom=24))
        self.control = ft.Column([self.body], expand=True)

    def show(self, order_id: str) -> None:
        self.order_id = order_id
        self.refresh()

    def refresh(self) -> None:
        if self.order_id is None:
            return
        try:
            screen = self.state.screen(self.order_id)
        except ValueError as problem:
            self.body.controls = keyed([banner(str(problem), kind="error")], "order-problem")
            return
        self.body.controls = keyed(self._build(screen), "order-page")

    def _build(self, o: OrderScreen) -> list[ft.Control]:
        out: list[ft.Control] = [
            ft.Row(
                [
                    icon_button(
                        ft.Icons.ARROW_BACK, "Back to orders", lambda _e: self.nav.go("orders")
                    ),
                    heading(f"{o.account}"),
                ],
                spacing=4,
            ),
            ft.Row(
                [
                    ft.Semantics(
                        identifier="order-state",
                        container=True,
                        content=tag(o.state_text, _STATE_TINT.get(o.state, ft.Colors.GREEN)),
                    ),
                    muted(f"Order {o.short_id} · placed {o.placed} · {o.policy} · {o.total}"),
                ],
                wrap=True,
                spacing=8,
            ),
        ]
        if o.verdict:
            out.append(
                ft.Semantics(
                    identifier="order-verdict",
                    container=True,
                    content=ft.Text(f"Server's verdict: {o.verdict}", size=13),
                )
            )
        if o.note:
            out.append(muted(f"Note: {o.note}"))
        if o.state is OrderState.PENDING:
            out.append(banner("Waiting in the outbox: it goes to the server at the next sync."))
        if o.differences and o.can_acknowledge:
            out.append(
                ft.Semantics(
                    identifier="attention-banner",
                    container=True,
                    content=banner(
                        "The server's verdict differs from what you promised:\n"
                        + "\n".join(f"• {d}" for d in o.differences),
                        kind="warn",
                    ),
                )
            )
        out.append(heading("Lines: what you promised, what the server confirmed", size=15))
        out += [self._line(o, line) for line in o.lines]
        actions: list[ft.Control] = []
        if o.can_acknowledge:
            actions.append(
                ft.FilledButton(
                    "Acknowledge", icon=ft.Icons.DONE_ALL, on_click=lambda _e: self._ack(o.id)
                )
            )
        if o.can_cancel:
            actions.append(
                ft.OutlinedButton(
                    "Cancel order",
                    icon=ft.Icons.CANCEL_OUTLINED,
                    on_click=lambda _e: self._confirm(
                        "Cancel the whole order?",
                        "The server cancels what has not shipped yet.",
                        lambda: self._cancel(o.id),
                    ),
                )
            )
        if o.can_copy:
            actions.append(
                ft.FilledTonalButton(
                    "Copy to a new cart",
                    icon=ft.Icons.CONTENT_COPY,
                    on_click=lambda _e: self._copy(o.id),
                )
            )
        actions.append(
            ft.OutlinedButton(
                "Customer confirmation (PDF)",
                icon=ft.Icons.PICTURE_AS_PDF_OUTLINED,
                on_click=lambda _e: self.control.page.run_task(self._confirmation, o.id),
            )
        )
        if o.cancel_requested:
            out.append(muted("Cancellation requested: sent at the next sync."))
        out.append(ft.Row(actions, wrap=True, spacing=10))
        return out

    def _line(self, o: OrderScreen, line: LineCompare) -> ft.Control:
        sides = [
            _side("You promised", line.promised, differs=False),
            _side("Server confirmed", line.confirmed, differs=line.differs),
        ]
        compare: ft.Control = (
            ft.Column(sides, spacing=4, horizontal_alignment=ft.CrossAxisAlignment.STRETCH)
            if self.nav.phone
            else ft.Row(sides, spacing=8)
        )
        head: list[ft.Control] = [
            ft.Column(
                [
                    ft.Text(
                        f"{line.name} × {line.quantity:,}", size=14, weight=ft.FontWeight.W_600
                    ),
                    muted(f"Line {line.line_id} · {line.sku} · {line.status}"),
                    *([ft.Text(line.customer, size=13)] if line.customer else []),
                ],
                spacing=2,
                expand=True,
            )
        ]
        if line.can_cancel:
            head.append(
                ft.TextButton(
                    "Cancel line",
                    tooltip=f"Cancel line {line.line_id} ({line.sku})",
                    on_click=lambda _e: self._confirm(
                        f"Cancel line {line.line_id}?",
                        f"{line.name}: the server cancels what has not shipped yet.",
                        lambda: self._cancel_line(o.id, line.line_id),
                    ),
                )
            )
        return ft.Semantics(
            identifier=f"order-line-{line.line_id}",
            container=True,
            content=card(ft.Column([ft.Row(head), compare], spacing=6), padding=10),
        )

    def _confirm(self, title: str, text: str, action: Callable[[], None]) -> None:
        page = self.control.page

        def yes(_e: ft.ControlEvent) -> None:
            page.pop_dialog()
            action()

        page.show_dialog(
            dialog(
                title,
                ft.Text(text),
                actions=[
                    ft.TextButton("Keep it", on_click=lambda _e: page.pop_dialog()),
                    ft.FilledButton("Yes, cancel", on_click=yes),
                ],
            )
        )

    def _after(self, ok: bool) -> None:
        self.nav.toast(self.state.message, error=not ok)
        self.refresh()
        self.control.update()
        self.nav.changed()

    async def _confirmation(self, order_id: str) -> None:
        """Made here, offline; handed to the platform: a download in a browser, the share or
        save dialog on a phone, a save dialog on a desktop."""
        try:
            name, pdf = self.state.confirmation(order_id)
        except ValueError as problem:
            self.state.message, self.state.error = str(problem), True
            self._after(False)
            return
        picker = ft.FilePicker()
        self._pickers.append(picker)  # a service lives while it is referenced
        try:
            await picker.save_file(file_name=name, src_bytes=pdf)
        except Exception as problem:  # the platform refused: say so, nothing else is at stake
            self.state.message, self.state.error = f"Could not save {name}: {problem}", True
            self._after(False)

    def _copy(self, order_id: str) -> None:
        ok = self.state.copy_to_cart(order_id)
        self.nav.toast(self.state.message, error=not ok)
        if ok:
            self.nav.go("cart")
            self.nav.changed()

    def _ack(self, order_id: str) -> None:
        self._after(self.state.acknowledge(order_id))

    def _cancel(self, order_id: str) -> None:
        self._after(self.state.cancel_order(order_id))

    def _cancel_line(self, order_id: str, line_id: str) -> None:
        self._after(self.state.cancel_line(order_id, line_id))
