"""Updates: changes the server refused (with its reasons), conflicts (account data; a cancel a
supervisor's decision overruled) with both values, and ETA moves on the rep's orders."""

from __future__ import annotations

import contextlib

import flet as ft

from app.store import StoreError
from app.ui.state.updates import RefusedRow, UpdatesState
from app.ui.views.common import card, empty, heading, icon_button, muted, refresh
from app.ui.views.nav import Nav


class UpdatesScreen:
    def __init__(self, state: UpdatesState, nav: Nav) -> None:
        self.state = state
        self.nav = nav
        self.list = ft.ListView(spacing=8, expand=True, padding=ft.Padding.only(bottom=16))
        self.seen = ft.TextButton("Mark all as seen", icon=ft.Icons.DONE_ALL, on_click=self._seen)
        self.control = ft.Column(
            [ft.Row([heading("Updates"), self.seen], alignment=ft.MainAxisAlignment.SPACE_BETWEEN),
             self.list],
            spacing=10,
            expand=True,
        )  # fmt: skip

    def refresh(self) -> None:
        out: list[ft.Control] = []
        refused = self.state.refused_rows()
        if refused:  # first: a change that did not go through is what the rep must read
            out.append(heading("Not done: refused by the server", size=16))
            out.extend(self._refused(r) for r in refused)
        # then edits of the rep's that lost to someone else's: both are the rep's own words
        # undone; ETA changes, which can be many, come last
        out.append(heading("Conflicts", size=16))
        conflicts = self.state.conflict_rows()
        if not conflicts:
            out.append(empty("No conflicting edits."))
        for c in conflicts:
            out.append(
                card(
                    ft.Column(
                        [
                            ft.Text(c.title, size=14, weight=ft.FontWeight.BOLD),
                            ft.Row(
                                [
                                    ft.Column(
                                        [muted(f"Kept ({c.why_kept})"), ft.Text(c.kept)],
                                        expand=True,
                                    ),
                                    ft.Column([muted("Lost"), ft.Text(c.lost)], expand=True),
                                ]
                            ),
                            ft.Row(
                                [
                                    muted(c.when),
                                    ft.TextButton(
                                        "Got it",
                                        tooltip=f"Dismiss the conflict on {c.title}",
                                        on_click=lambda _e, cid=c.id: self._resolve(cid),
                                    ),
                                ],
                                alignment=ft.MainAxisAlignment.SPACE_BETWEEN,
                            ),
                        ],
                        spacing=4,
                    )
                )
            )
        out.append(heading("ETA changes", size=16))
        etas = self.state.eta_rows()
        if not etas:
            out.append(empty("No ETA has moved on your orders."))
        for e in etas:
            icon = ft.Icons.TRENDING_UP if e.later else ft.Icons.TRENDING_DOWN
            tint = ft.Colors.RED if e.later else ft.Colors.GREEN
            out.append(
                card(
                    ft.Row(
                        [
                            ft.Icon(icon, color=tint),
                            ft.Column(
                                [
                                    ft.Text(
                                        e.text,
                                        size=14,
                                        weight=ft.FontWeight.W_400
                                        if e.seen
                                        else ft.FontWeight.BOLD,
                                    ),
                                    muted(f"{e.detail} · {e.when}" + ("" if e.seen else " · new")),
                                ],
                                spacing=2,
                                expand=True,
                            ),
                            icon_button(
                                ft.Icons.CHEVRON_RIGHT,
                                f"Open the order of {e.text}",
                                lambda _e, oid=e.order_id: self.nav.go("order", oid),
                            ),
                        ]
                    ),
                    on_click=lambda _e, oid=e.order_id: self.nav.go("order", oid),
                )
            )
        self.seen.visible = any(not e.seen for e in etas)
        self.list.controls = out

    def _refused(self, r: RefusedRow) -> ft.Control:
        opens = r.order_id is not None
        go = (lambda _e, oid=r.order_id: self.nav.go("order", oid)) if opens else None
        row: list[ft.Control] = [
            ft.Icon(ft.Icons.REPORT if r.dead else ft.Icons.BLOCK, color=ft.Colors.RED),
            ft.Column(
                [
                    ft.Text(r.text, size=14, weight=ft.FontWeight.BOLD),
                    ft.Text(r.reason, size=13),
                    muted(r.when),
                ],
                spacing=2,
                expand=True,
            ),
        ]
        row.append(  # a name of its own: the card around it is a button too
            ft.Semantics(
                label=f"Dismiss: {r.text}",
                button=True,
                container=True,
                content=ft.TextButton("Got it", on_click=lambda _e, mid=r.id: self._dismiss(mid)),
            )
        )
        if go is not None:
            row.append(icon_button(ft.Icons.CHEVRON_RIGHT, f"Open the order of {r.text}", go))
        return card(ft.Row(row), on_click=go)

    def _dismiss(self, mutation_id: int) -> None:
        # A sync meanwhile may have renumbered it (a change set aside unsent): show it afresh.
        with contextlib.suppress(StoreError):
            self.state.dismiss_refused(mutation_id)
        self.refresh()
        refresh(self.control)
        self.nav.changed()  # the sync bar's count of refused changes

    def _seen(self, _e: ft.ControlEvent) -> None:
        self.state.mark_all_seen()
        self.refresh()
        self.nav.changed()

    def _resolve(self, conflict_id: str) -> None:
        self.state.resolve(conflict_id)
        self.refresh()
        refresh(self.control)
        self.nav.changed()
