"""One order under review: lines, shipment plan, history, and the decision with its note."""

from __future__ import annotations

from functools import partial

import flet as ft

from app.ui.console.order import LineRow, OrderState, OrderView
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
    section,
    tag,
)
from sync.supervisor import Action

_BUTTONS: tuple[tuple[Action, str, ft.IconData], ...] = (
    ("approve", "Approve", ft.Icons.CHECK),
    ("hold", "Hold", ft.Icons.PAUSE_CIRCLE_OUTLINE),
    ("reject", "Reject", ft.Icons.BLOCK),
)


class OrderScreen:
    def __init__(self, state: OrderState, host: Host) -> None:
        self.state = state
        self.host = host
        self.order_id: str | None = None
        self.note = ft.TextField(
            label="Decision note",
            hint_text="Why: the rep sees it with the decision",
            multiline=True,
            min_lines=1,
            max_lines=3,
            max_length=500,
        )
        self.busy = busy_ring()
        self.body = ft.ListView(spacing=10, expand=True, padding=ft.Padding.only(bottom=24))
        self.control = ft.Column([self.body], expand=True)

    async def show(self, order_id: str) -> None:
        if order_id != self.order_id:
            self.note.value = ""
        self.order_id = order_id
        await self.load()

    async def load(self) -> None:
        if self.order_id is None:
            return
        await self.state.load(self.order_id)
        self.draw()
        refresh(self.control)

    def draw(self) -> None:
        s = self.state
        back = icon_button(ft.Icons.ARROW_BACK, "Back to the queue", self._back)
        if s.view is None:
            self.body.controls = [back, banner(s.error or "Loading…", kind="error")]
            return
        v = s.view
        out: list[ft.Control] = [
            ft.Row([back, heading(v.account)], spacing=4),
            ft.Semantics(
                identifier="order-headline",
                label=v.headline,
                container=True,
                content=ft.Row(
                    [tag(v.status_text, STATUS_TINT.get(v.status, ft.Colors.BLUE)),
                     muted(
                        f"Order {v.short_id} · version {v.version} · {v.outcome_text} · "
                        f"placed {v.placed} by {v.rep} · {v.policy_text} · {v.total}"
                    )],
                    wrap=True,
                    spacing=8,
                ),
            ),
        ]  # fmt: skip
        if s.error:
            out.append(banner(s.error, kind="error"))
        if v.reason:
            out.append(muted(f"Server's reason: {v.reason}"))
        if v.note:
            out.append(ft.Text(f"Rep's note: {v.note}", size=13))
        if v.review_note:
            out.append(ft.Text(f"Review note: {v.review_note}", size=13))
        if v.differences:
            out.append(
                banner(
                    "The server's verdict differs from what the rep promised:\n"
                    + "\n".join(f"• {d}" for d in v.differences)
                    + ("\n(The rep has not acknowledged it yet.)" if v.needs_attention else ""),
                    kind="warn",
                )
            )
        plan = [
            card(
                ft.Column([ft.Text(sh.title, size=13, weight=ft.FontWeight.W_500),
                           muted(sh.lines)], spacing=2),
                padding=8,
            )
            for sh in v.shipments
        ]  # fmt: skip
        if v.unscheduled:
            plan.append(muted(f"No date yet: {v.unscheduled}"))
        history = [
            ft.Row(
                [muted(e.when, width=120), ft.Text(e.text, size=12, expand=True)],
                vertical_alignment=ft.CrossAxisAlignment.START,
            )
            for e in v.history
        ]
        left = ft.Column(
            [
                section("Lines", *[self._line(li) for li in v.lines]),
                section(f"Shipment plan ({v.policy_text})", *(plan or [muted("None")])),
                section(
                    "Allocations from stock received",
                    *([ft.Text(a, size=12) for a in v.allocations] or [muted("None yet")]),
                ),
            ],
            spacing=12,
            col={"xs": 12, "lg": 7},
            horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
        )
        right = ft.Column(
            [self._decision(v), section("History", *history)],
            spacing=12,
            col={"xs": 12, "lg": 5},
            horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
        )
        out.append(ft.ResponsiveRow([left, right], spacing=14, run_spacing=12))
        self.body.controls = out

    def _line(self, li: LineRow) -> ft.Control:
        figures = [f"{li.reserved:,} reserved"]
        if li.backordered:
            figures.append(f"{li.backordered:,} backordered at commit")
        if li.shipped:
            figures.append(f"{li.shipped:,} shipped")
        if li.cancelled:
            figures.append(f"{li.cancelled:,} cancelled")
        rows: list[ft.Control] = [
            ft.Row(
                [
                    ft.Text(f"{li.quantity:,} x {li.sku}", weight=ft.FontWeight.W_600),
                    tag(li.label_text, ft.Colors.BLUE_GREY),
                    muted(f"at {li.price}"),
                ],
                wrap=True,
                spacing=8,
            ),
            muted(" · ".join(figures)),
        ]
        if li.waiting:
            estimated = li.eta_kind == "estimated"
            rows.append(
                ft.Row(
                    [
                        ft.Icon(
                            ft.Icons.EVENT if estimated else ft.Icons.EVENT_AVAILABLE,
                            size=16,
                            color=ft.Colors.ORANGE,
                        ),
                        ft.Text(
                            f"{li.waiting:,} waiting · ETA {li.eta_text}"
                            + (f" · first promised {li.first_eta_text}" if li.first_eta_text
                               else ""),
                            size=13,
                            italic=estimated,
                        ),
                    ],
                    spacing=6,
                )
            )  # fmt: skip
        return card(
            ft.Column(rows, spacing=3),
            padding=10,
            identifier=f"order-line-{li.line_no}",
            label=li.words,
        )

    def _decision(self, v: OrderView) -> ft.Control:
        s = self.state
        parts: list[ft.Control] = []
        if s.message:
            parts.append(
                banner(
                    s.message,
                    kind="ok" if s.ok else ("warn" if s.stale else "error"),
                    identifier="decision-message",
                )
            )
        if s.unsent is not None:
            parts.append(
                banner(
                    f"Not sent yet: {s.unsent.action}"
                    + (f" with the note “{s.unsent.note}”" if s.unsent.note else ""),
                    kind="warn",
                    identifier="unsent",
                    actions=[
                        ft.FilledButton("Retry", icon=ft.Icons.REFRESH, on_click=self._retry),
                        ft.TextButton("Drop it", on_click=self._drop),
                    ],
                )
            )
        buttons: list[ft.Control] = []
        for action, text, icon in _BUTTONS:
            if action not in v.actions:
                continue
            make = ft.FilledButton if action == "approve" else ft.OutlinedButton
            # partial, not a lambda: Flet awaits a handler only if it is a coroutine function.
            buttons.append(make(text, icon=icon, on_click=partial(self._decide, action)))
        if buttons:
            parts += [self.note, ft.Row([*buttons, self.busy], wrap=True, spacing=8)]
        else:
            parts.append(muted(f"No decision to take: the order is {v.status_text.lower()}."))
        return card(ft.Column([heading("Decision", size=15), *parts], spacing=8))

    async def _decide(self, action: Action) -> None:
        self.busy.visible = True
        refresh(self.busy)
        # The outcome shows in the decision card (a banner), where the eyes are.
        ok = await self.state.decide(action, self.note.value or "")
        self.busy.visible = False
        if ok:
            self.note.value = ""
        self.draw()
        refresh(self.control)

    async def _retry(self, _e: object = None) -> None:
        await self.state.retry()
        self.draw()
        refresh(self.control)

    def _drop(self, _e: object = None) -> None:
        self.state.drop_unsent()
        self.draw()
        refresh(self.control)

    def _back(self, _e: object = None) -> None:
        self.host.go("queue")
