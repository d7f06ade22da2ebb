"""Overdue: the chase list. Each receipt past its date, how late, and the customer lines (with
account, rep and the date the customer was told) that wait on it."""

from __future__ import annotations

import flet as ft

from app.ui.console.overdue import OverdueRow, OverdueState
from app.ui.console.views.host import Host
from app.ui.console.views.widgets import (  # fmt: skip
    banner,
    busy_ring,
    card,
    muted,
    refresh,
    tag,
    title_bar,
)


class OverdueScreen:
    def __init__(self, state: OverdueState, host: Host) -> None:
        self.state = state
        self.host = host
        self.busy = busy_ring()
        self.summary = ft.Container()
        self.body = ft.ListView(spacing=8, expand=True, padding=ft.Padding.only(bottom=24))
        self.control = ft.Column(
            [
                title_bar("Overdue supply", self.busy, "Reload overdue", self._reload),
                self.summary,
                self.body,
            ],
            spacing=8,
            expand=True,
        )  # fmt: skip

    def draw(self) -> None:
        s = self.state
        if s.message:
            self.summary.content = banner(s.message, kind="error")
        else:
            self.summary.content = ft.Semantics(
                identifier="overdue-summary",
                label=s.summary,
                container=True,
                content=muted(s.summary, size=13),
            )
        self.body.controls = [self._row(r) for r in s.rows]

    def _row(self, r: OverdueRow) -> ft.Control:
        waiting: list[ft.Control] = [ft.Text(w.text, size=12) for w in r.waiting[:12]]
        if len(r.waiting) > 12:
            waiting.append(muted(f"…and {len(r.waiting) - 12:,} more lines"))
        if not waiting:
            waiting = [muted("No customer line waits on it.")]
        return card(
            ft.Column(
                [
                    ft.Row(
                        [ft.Text(r.title, weight=ft.FontWeight.W_600, expand=True),
                         tag(f"{r.days_late} d late", ft.Colors.RED)],
                        spacing=6,
                    ),
                    muted(f"Was expected {r.expected}. Waiting on it:"),
                    *waiting,
                ],
                spacing=3,
            ),
            identifier=f"overdue-{r.receipt_id}",
            label=r.words,
            padding=10,
        )  # fmt: skip

    async def load(self) -> None:
        self.busy.visible = True
        refresh(self.busy)
        await self.state.load()
        self.busy.visible = False
        self.draw()
        refresh(self.control)

    async def _reload(self, _e: object = None) -> None:
        await self.load()
