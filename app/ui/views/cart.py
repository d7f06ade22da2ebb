"""The cart: quantities that re-label as they change, the shipment policy and plan, submit."""

from __future__ import annotations

from collections.abc import Callable

import flet as ft

from app.domain.model import PolicyKind
from app.ui.state.cart import POLICY_HELP, POLICY_NAMES, CartScreen, CartState
from app.ui.state.catalog import CatalogState
from app.ui.state.debounce import Debouncer
from app.ui.views.cart_line import LineControls
from app.ui.views.common import (
    banner,
    chip,
    dialog,
    empty,
    heading,
    icon_button,
    keyed,
    muted,
    refresh,
)
from app.ui.views.nav import Nav
from app.ui.views.timeline import timeline


class CartScreenView:
    def __init__(self, state: CartState, catalog: CatalogState, nav: Nav) -> None:
        self.state = state
        self.catalog = catalog
        self.nav = nav
        self.lines: dict[str, LineControls] = {}
        self._editing: str | None = None
        self._typed: tuple[str, str] | None = None
        self._debounce = Debouncer(self._relabel_typed)
        self.title = ft.Text("Cart", size=20, weight=ft.FontWeight.BOLD)
        self.header = ft.Column([], spacing=6)
        self.line_list = ft.Column([], spacing=8)
        self._drawn: tuple[str, ...] | None = None  # the SKUs of the cards last drawn
        self.policy = ft.SegmentedButton(
            segments=[
                ft.Segment(value=k.value, label=ft.Text(POLICY_NAMES[k])) for k in PolicyKind
            ],
            selected=[PolicyKind.SHIP_AS_AVAILABLE.value],
            show_selected_icon=False,  # the three choices fit a phone's width without it
            on_change=self._on_policy,
        )
        self.cap = ft.TextField(
            label="Most shipments",
            width=150,
            dense=True,
            keyboard_type=ft.KeyboardType.NUMBER,
            on_submit=self._on_cap,
            on_blur=self._on_cap,
        )
        self.policy_help = muted("")
        self.plan_summary = ft.Text("", size=13)
        self.plan = ft.Container()
        self.note = ft.TextField(
            label="Note for the warehouse",
            multiline=True,
            min_lines=1,
            max_lines=4,
            max_length=500,
            on_focus=self._note_focus,
            on_blur=self._on_note,
        )
        self.messages = ft.Column([], spacing=6)
        self.total = ft.Text("", size=16, weight=ft.FontWeight.BOLD)
        self.place = ft.FilledButton("Place order", icon=ft.Icons.SEND, on_click=self._place)
        self.clear = ft.TextButton("Empty cart", on_click=self._clear)
        self.body = ft.ListView(
            [
                ft.Semantics(content=self.title, header=True),
                self.header,
                self.line_list,
                heading("Shipments", size=16),
                ft.Row([self.policy], scroll=ft.ScrollMode.AUTO),
                ft.Row([self.cap, self.policy_help], wrap=True, spacing=10),
                ft.Semantics(identifier="plan-summary", container=True, content=self.plan_summary),
                self.plan,
                self.note,
                self.messages,
                ft.Row([self.total, self.place, self.clear], wrap=True, spacing=12),
            ],
            spacing=10,
            expand=True,
            padding=ft.Padding.only(bottom=24),
        )
        self.control = ft.Column([self.body], expand=True)

    # -- drawing ------------------------------------------------------------------------

    def refresh(self) -> None:
        self._draw(self.state.screen())

    def _draw(self, s: CartScreen) -> None:
        self.title.value = f"Cart for {s.account}" if s.account else "Cart"
        header: list[ft.Control] = [muted(s.stock_age)]
        if s.account is None:
            header.append(
                banner(
                    "Choose the account this order is for.",
                    kind="warn",
                    actions=[
                        ft.TextButton("Choose account", on_click=lambda _e: self.nav.go("accounts"))
                    ],
                )
            )
        self.header.controls = keyed(header, "cart-header")
        seen = set()
        controls: list[ft.Control] = []
        for row in s.rows:
            seen.add(row.sku)
            line = self.lines.get(row.sku)
            if line is None:
                line = self.lines[row.sku] = LineControls(self, row)
            line.show(row, self, editing=row.sku == self._editing)
            controls.append(line.control)
        for sku in set(self.lines) - seen:
            del self.lines[sku]
        if tuple(r.sku for r in s.rows) != self._drawn:
            # Other lines than last drawn: a new list control, sent whole. Changing the old
            # one's children lost a card added after an order had emptied the cart (the
            # title, plan and badge counted the line; no quantity field until a tab switch).
            self._drawn = tuple(r.sku for r in s.rows)
            fresh = ft.Column([], spacing=8)
            self.body.controls[self.body.controls.index(self.line_list)] = fresh
            self.line_list = fresh
        self.line_list.controls = controls or keyed(
            [
                empty("The cart is empty. Add products from the catalog."),
                ft.FilledTonalButton(
                    "Open the catalog",
                    icon=ft.Icons.STOREFRONT,
                    on_click=lambda _e: self.nav.go("catalog"),
                ),
            ],
            "cart-empty",
        )
        self.policy.selected = [s.policy.value]
        self.cap.visible = s.policy is PolicyKind.CAPPED_SPLIT
        if s.cap is not None:
            self.cap.value = str(s.cap)
        self.policy_help.value = POLICY_HELP[s.policy].replace(
            " n ", f" {s.cap} " if s.cap else " n "
        )
        self.plan_summary.value = s.plan_summary
        self.plan.content = timeline(s.plan) if s.plan else None
        if self._editing != "__note__":
            self.note.value = s.note
        # An empty cart says so above; its "add a product" problem would only repeat it.
        problems = s.problems if s.rows else ()
        msgs: list[ft.Control] = [banner(p, kind="error") for p in problems]
        msgs += [banner(w, kind="warn") for w in s.warnings]
        if self.state.message and self.state.error:
            msgs.insert(0, banner(self.state.message, kind="error"))
        self.messages.controls = keyed(msgs, "cart-message")
        self.total.value = f"Total {s.total}"
        self.place.disabled = not s.can_place

    def _redraw(self) -> None:
        self.refresh()
        refresh(self.control)
        self.nav.changed()

    # -- line events --------------------------------------------------------------------

    def typed(self, sku: str, text: str) -> None:
        """Typing re-labels the line as soon as the typing pauses (whole numbers only)."""
        self._editing = sku
        self._typed = (sku, text)
        if text.strip().isdigit() and int(text.strip()) > 0:
            self._debounce.trigger()

    async def _relabel_typed(self) -> None:
        if self._typed is None:
            return
        sku, text = self._typed
        self.state.set_quantity(sku, text)
        self._redraw()

    def commit(self, sku: str, text: str) -> None:
        """Leaving the field: apply what is there (0 removes the line; a bad entry says why)."""
        self._editing = None
        self._typed = None
        current = next((r.quantity for r in self.state.cart.view().lines if r.sku == sku), None)
        if current is not None and text.strip() == str(current):
            return
        self.state.set_quantity(sku, text)
        self._redraw()

    def step(self, sku: str, delta: int) -> None:
        self._editing = None
        self.state.step(sku, delta)
        self._redraw()

    def remove(self, sku: str) -> None:
        self._editing = None
        if self.state.remove(sku):
            self.nav.toast(self.state.message)
        self._redraw()

    def alternatives(self, sku: str, name: str) -> None:
        page = self.control.page
        rows = self.catalog.alternatives(sku)

        def add(alt: str) -> None:
            if self.catalog.add(alt):
                page.pop_dialog()
                self.nav.toast(self.catalog.message)
                self._redraw()
            else:
                self.nav.toast(self.catalog.message, error=True)

        page.show_dialog(
            dialog(
                f"Instead of {name}",
                ft.Column(
                    [
                        ft.Row(
                            [
                                ft.Column(
                                    [
                                        ft.Text(r.name, size=14),
                                        muted(f"{r.sku} · {r.price}"),
                                        chip(r.chip),
                                    ],
                                    spacing=2,
                                    expand=True,
                                ),
                                icon_button(
                                    ft.Icons.ADD_SHOPPING_CART,
                                    f"Add {r.sku} to cart",
                                    lambda _e, alt=r.sku: add(alt),
                                ),
                            ]
                        )
                        for r in rows
                    ]
                    or [muted("The catalog names no alternatives for this product.")],
                    tight=True,
                    spacing=10,
                    width=480,
                ),
                actions=[ft.TextButton("Close", on_click=lambda _e: page.pop_dialog())],
            )
        )

    def similar(self, category: str) -> None:
        self.catalog.set_query("")
        self.catalog.set_category(category)
        self.nav.go("catalog", category)

    # -- order events -------------------------------------------------------------------

    def _on_policy(self, _e: ft.ControlEvent) -> None:
        kind = (self.policy.selected or [PolicyKind.SHIP_AS_AVAILABLE.value])[0]
        self.state.set_policy(kind, self.cap.value if kind == PolicyKind.CAPPED_SPLIT else None)
        self._redraw()

    def _on_cap(self, _e: ft.ControlEvent) -> None:
        self.state.set_policy(PolicyKind.CAPPED_SPLIT, self.cap.value or "")
        self._redraw()

    def _note_focus(self, _e: ft.ControlEvent) -> None:
        self._editing = "__note__"  # a refresh (say, after a sync) keeps what is being typed

    def _on_note(self, _e: ft.ControlEvent) -> None:
        self._editing = None
        if not self.state.set_note(self.note.value or ""):
            self.nav.toast(self.state.message, error=True)

    def _clear(self, _e: ft.ControlEvent) -> None:
        self.state.clear()
        self._redraw()

    def _place(self, _e: ft.ControlEvent) -> None:
        self.state.set_note(self.note.value or "")
        stuck = self.state.screen().never_ships
        if stuck:
            self._ask_never_ships(stuck)
            return
        self._submit()

    def _ask_never_ships(self, why: str) -> None:
        page = self.control.page

        def then(action: Callable[[], object]) -> Callable[[ft.ControlEvent], None]:
            def run(_e: ft.ControlEvent) -> None:
                page.pop_dialog()
                action()
                self._redraw()

            return run

        page.show_dialog(
            dialog(
                "This order would never ship",
                ft.Text(
                    f"{why}. Ship what is there as it comes, or take the units with no date "
                    "off the order.",
                    size=13,
                    width=420,
                ),
                actions=[
                    ft.FilledButton(
                        "Ship as available",
                        on_click=then(lambda: self.state.set_policy(PolicyKind.SHIP_AS_AVAILABLE)),
                    ),
                    ft.OutlinedButton(
                        "Remove undated units", on_click=then(self.state.drop_undated)
                    ),
                    ft.TextButton("Place anyway", on_click=then(self._submit)),
                    ft.TextButton("Back", on_click=lambda _e: page.pop_dialog()),
                ],
            )
        )

    def _submit(self) -> None:
        done = self.state.place()
        if done is None:
            self._redraw()
            return
        self.lines.clear()
        self._redraw()
        page = self.control.page
        page.show_dialog(
            dialog(
                "Order placed in the outbox",
                ft.Column(
                    [
                        ft.Text(done.title, size=13),
                        heading("What you promised", size=15),
                        *[ft.Text(f"• {line}", size=13) for line in done.promised],
                        heading("Shipments", size=15),
                        timeline(done.plan),
                    ],
                    tight=True,
                    spacing=6,
                    width=520,
                    scroll=ft.ScrollMode.AUTO,
                ),
                actions=[
                    ft.TextButton(
                        "See orders",
                        on_click=lambda _e: (page.pop_dialog(), self.nav.go("orders")),
                    ),
                    ft.FilledButton("Done", on_click=lambda _e: page.pop_dialog()),
                ],
            )
        )
