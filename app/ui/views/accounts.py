"""Accounts: the rep's customers with search; one account's page."""

from __future__ import annotations

import flet as ft

from app.store import OrderState
from app.ui.state.accounts import AccountPage, AccountRow, AccountsState
from app.ui.state.text import plural
from app.ui.views.common import (
    banner,
    card,
    dialog,
    empty,
    heading,
    icon_button,
    keyed,
    muted,
    refresh,
)
from app.ui.views.nav import Nav

CONTACT_LABELS = {
    "contact_name": "Contact name",
    "contact_phone": "Phone",
    "contact_email": "Email",
    "contact_address": "Address",
}
_STATE_TINT = {
    OrderState.NEEDS_ATTENTION: ft.Colors.RED,
    OrderState.PENDING: ft.Colors.BLUE,
    OrderState.BACKORDERED: ft.Colors.ORANGE,
    OrderState.ON_HOLD: ft.Colors.PURPLE,
}


def tag(text: str, tint: str) -> ft.Control:
    return ft.Container(
        content=ft.Text(text, size=11, weight=ft.FontWeight.W_500),
        padding=ft.Padding.symmetric(horizontal=6, vertical=2),
        border_radius=6,
        bgcolor=ft.Colors.with_opacity(0.16, tint),
    )


class AccountsScreen:
    def __init__(self, state: AccountsState, nav: Nav) -> None:
        self.state = state
        self.nav = nav
        self.search = ft.TextField(
            label="Search accounts",
            prefix_icon=ft.Icons.SEARCH,
            on_change=self._on_search,
            dense=True,
        )
        self.list = ft.ListView(spacing=8, expand=True, padding=ft.Padding.only(bottom=16))
        self.control = ft.Column(
            [heading("Accounts"), self.search, self.list], spacing=10, expand=True
        )

    def _on_search(self, e: ft.ControlEvent) -> None:
        self.state.query = self.search.value or ""
        self.refresh()

    def refresh(self) -> None:
        rows = self.state.rows()
        self.list.controls = keyed(
            [self._row(r) for r in rows]
            or [empty("No accounts match. Sync to get your accounts, or search for another name.")],
            "account-row",
        )

    def _row(self, r: AccountRow) -> ft.Control:
        tags = [tag(r.tier, ft.Colors.BLUE), tag(r.delivery, ft.Colors.TEAL)]
        if r.credit_hold:
            tags.append(tag("Credit hold", ft.Colors.RED))
        if r.chosen:
            tags.append(tag("Ordering for", ft.Colors.GREEN))
        return card(
            ft.Row(
                [
                    ft.Column(
                        [
                            ft.Text(r.name, size=15, weight=ft.FontWeight.BOLD),
                            muted(r.code),
                            ft.Row(tags, spacing=6, wrap=True, run_spacing=4),
                        ],
                        spacing=4,
                        expand=True,
                    ),
                    ft.OutlinedButton(
                        "Take order",
                        icon=ft.Icons.ADD_SHOPPING_CART,
                        on_click=lambda _e, a=r.id: self._take_order(a),
                    ),
                    # The whole card opens the account for a pointer; this names it for
                    # screen readers and tests (a tappable card has no name of its own).
                    icon_button(
                        ft.Icons.CHEVRON_RIGHT,
                        f"Open {r.name}",
                        lambda _e, a=r.id: self.nav.go("account", a),
                    ),
                ],
                vertical_alignment=ft.CrossAxisAlignment.CENTER,
            ),
            on_click=lambda _e, a=r.id: self.nav.go("account", a),
        )

    def _take_order(self, account_id: str) -> None:
        if self.state.choose(account_id):
            self.nav.toast(self.state.message)
            self.nav.go("catalog")
        else:
            self.nav.toast(self.state.message, error=True)


class AccountScreen:
    """One account: facts, the attention banner, open orders, backordered lines with ETAs."""

    def __init__(self, state: AccountsState, nav: Nav) -> None:
        self.state = state
        self.nav = nav
        self.account_id: str | None = None
        self.body = self._page([])
        self.control = ft.Container(self.body, expand=True, padding=ft.Padding.only(bottom=16))

    @staticmethod
    def _page(controls: list[ft.Control]) -> ft.Column:
        return ft.Column(controls, spacing=10, expand=True, scroll=ft.ScrollMode.AUTO)

    def show(self, account_id: str) -> None:
        self.account_id = account_id
        self.refresh()

    def refresh(self) -> None:
        if self.account_id is None:
            return
        try:
            page = self.state.page(self.account_id)
        except ValueError as problem:
            controls = [banner(str(problem), kind="error")]
        else:
            controls = self._build(page)
        # A new page control each time, sent whole: changing the old one's children left rows
        # of the page drawn before (an account reopened after an order listed its backordered
        # lines twice: 5 rows for 3).
        self.body = self._page(controls)
        self.control.content = self.body

    def _build(self, p: AccountPage) -> list[ft.Control]:
        tags = [tag(p.tier, ft.Colors.BLUE), tag(p.delivery, ft.Colors.TEAL)]
        if p.credit_hold:
            tags.append(tag("Credit hold", ft.Colors.RED))
        out: list[ft.Control] = [
            ft.Row(
                [
                    icon_button(
                        ft.Icons.ARROW_BACK, "Back to accounts", lambda _e: self.nav.go("accounts")
                    ),
                    heading(p.name),
                ],
                spacing=4,
            ),
            ft.Row(tags, spacing=6, wrap=True),
            muted(f"{p.code} · default shipments: {p.policy}"),
        ]
        contact = " · ".join(p.contact) or "No contact details"
        if p.pending_contact:
            contact += " (your edit waits for the next sync)"
        out.append(
            ft.Row(
                [
                    ft.Semantics(
                        identifier="account-contact",
                        container=True,
                        content=muted(contact, size=13),
                    ),
                    ft.TextButton("Edit contact", icon=ft.Icons.EDIT, on_click=self._edit),
                ],
                wrap=True,
                spacing=6,
            )
        )
        if p.banner:
            out.append(
                banner(
                    p.banner,
                    kind="warn",
                    actions=[
                        ft.TextButton(
                            "Review", on_click=lambda _e, o=p.attention[0]: self.nav.go("order", o)
                        )
                    ],
                )
            )
        out.append(
            ft.FilledButton(
                "Take order",
                icon=ft.Icons.ADD_SHOPPING_CART,
                on_click=lambda _e: self._take_order(p.id),
            )
        )
        out.append(heading("Open orders", size=16))
        if not p.orders:
            out.append(muted("No open orders."))
        for o in p.orders:
            out.append(
                card(
                    ft.Row(
                        [
                            ft.Column(
                                [
                                    ft.Text(f"Order {o.id[:8]} · {o.placed}", size=14),
                                    muted(f"{plural(o.lines, 'line')} · {o.total}"),
                                ],
                                spacing=2,
                                expand=True,
                            ),
                            tag(o.state_text, _STATE_TINT.get(o.state, ft.Colors.GREEN)),
                            icon_button(
                                ft.Icons.CHEVRON_RIGHT,
                                f"Open order {o.id[:8]}",
                                lambda _e, oid=o.id: self.nav.go("order", oid),
                            ),
                        ]
                    ),
                    on_click=lambda _e, oid=o.id: self.nav.go("order", oid),
                )
            )
        out.append(heading("Backordered lines", size=16))
        if not p.backorders:
            out.append(muted("Nothing waiting for stock."))
        for n, b in enumerate(p.backorders, start=1):
            out.append(
                ft.Semantics(
                    identifier=f"backorder-line-{n}",
                    container=True,
                    content=ft.Row(
                        [
                            ft.Icon(ft.Icons.SCHEDULE, size=16, color=ft.Colors.ORANGE),
                            ft.Text(b.text, expand=True),
                        ],
                        spacing=6,
                    ),
                )
            )
        return out

    def _take_order(self, account_id: str) -> None:
        if self.state.choose(account_id):
            self.nav.toast(self.state.message)
            self.nav.go("catalog")
        else:
            self.nav.toast(self.state.message, error=True)

    def _edit(self, _e: ft.ControlEvent) -> None:
        """Contact edits go to the outbox with the version they are based on, so the server
        can merge them or record a conflict that both sides see."""
        if self.account_id is None:
            return
        account_id = self.account_id
        current = self.state.accounts.get(account_id)
        fields = {
            name: ft.TextField(label=label, value=getattr(current, name))
            for name, label in CONTACT_LABELS.items()
        }
        error = ft.Text("", color=ft.Colors.ERROR, visible=False)
        page = self.control.page

        def save(_e: ft.ControlEvent) -> None:
            changes = {
                name: field.value or ""
                for name, field in fields.items()
                if (field.value or "") != getattr(current, name)
            }
            if not changes:
                page.pop_dialog()
                return
            if self.state.update_contact(account_id, **changes):
                page.pop_dialog()
                self.nav.toast(self.state.message)
                self.refresh()
                refresh(self.control)  # the new contact, marked as waiting, shows at once
                self.nav.changed()
            else:
                error.value, error.visible = self.state.message, True

        page.show_dialog(
            dialog(
                f"Contact of {current.name}",
                ft.Column([*fields.values(), error], tight=True, spacing=8, width=420),
                actions=[
                    ft.TextButton("Cancel", on_click=lambda _e: page.pop_dialog()),
                    ft.FilledButton("Save", on_click=save),
                ],
            )
        )
