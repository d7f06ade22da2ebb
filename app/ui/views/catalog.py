"""The catalog for the chosen account: search as you type, filters, availability chips."""

from __future__ import annotations

import asyncio
import time

import flet as ft

from app.ui.state.catalog import CatalogRow, CatalogState
from app.ui.state.debounce import Debouncer
from app.ui.state.text import plural
from app.ui.views.common import banner, card, chip, dialog, empty, icon_button, muted, refresh
from app.ui.views.nav import Nav

ALL = "__all__"


class CatalogScreen:
    def __init__(self, state: CatalogState, nav: Nav) -> None:
        self.state = state
        self.nav = nav
        self._seq = 0
        self.last_search_ms = 0.0  # the last search's time in Python, for logs and the bench
        self.debouncer = Debouncer(self._run_search)
        self.title_text = ft.Text("Catalog", size=20, weight=ft.FontWeight.BOLD)
        self.title = ft.Semantics(content=self.title_text, header=True)
        self.account = ft.Container()
        self.search = ft.TextField(
            label="Search products",
            hint_text="SKU, name, brand or barcode",
            prefix_icon=ft.Icons.SEARCH,
            on_change=self._on_type,
            on_submit=self._on_submit,
            dense=True,
            autocorrect=False,
        )
        self.category = ft.Dropdown(
            label="Category",
            value=ALL,
            options=[ft.DropdownOption(key=ALL, text="All categories")],
            on_select=self._on_category,
            dense=True,
            width=220,
        )
        self.available = ft.Switch(
            label="Available now only", value=False, on_change=self._on_available
        )
        self.count = muted("")
        self.list = ft.ListView(spacing=6, expand=True, padding=ft.Padding.only(bottom=16))
        self.control = ft.Column(
            [
                self.title,
                self.account,
                self.search,
                ft.Row([self.category, self.available], wrap=True, spacing=12, run_spacing=6),
                self.count,
                self.list,
            ],
            spacing=8,
            expand=True,
        )

    # -- events -------------------------------------------------------------------------

    def _on_type(self, _e: ft.ControlEvent) -> None:
        self.state.set_query(self.search.value or "")
        self.debouncer.trigger()

    async def _on_submit(self, _e: ft.ControlEvent) -> None:
        self.state.set_query(self.search.value or "")
        await self._run_search()

    async def _on_category(self, _e: ft.ControlEvent) -> None:
        value = self.category.value
        self.state.set_category(None if value in (None, ALL) else value)
        await self._run_search()

    async def _on_available(self, _e: ft.ControlEvent) -> None:
        self.state.set_available_now(bool(self.available.value))
        await self._run_search()

    async def _more(self, _e: ft.ControlEvent) -> None:
        self._seq += 1
        seq = self._seq
        await asyncio.to_thread(self.state.load_more)
        if seq == self._seq:
            self._show()
            refresh(self.control)

    async def _run_search(self) -> None:
        """Query off the UI loop; a result that a newer keystroke overtook is dropped."""
        self._seq += 1
        seq = self._seq
        started = time.perf_counter()
        await asyncio.to_thread(self.state.search)
        if seq != self._seq:
            return
        self.last_search_ms = (time.perf_counter() - started) * 1000
        self._show()
        refresh(self.control)

    def _add(self, sku: str) -> None:
        if self.state.add(sku):
            self._show()
            self.nav.toast(self.state.message)
            self.nav.changed()
        else:
            self.nav.toast(self.state.message, error=True)

    def _alternatives(self, sku: str, name: str) -> None:
        rows = self.state.alternatives(sku)
        page = self.control.page
        box = dialog(
            f"Instead of {name}",
            ft.Column(
                [self._row(r, in_dialog=True) for r in rows]
                or [muted("The catalog names no alternatives for this product.")],
                tight=True,
                spacing=6,
                width=520,
            ),
            actions=[ft.TextButton("Close", on_click=lambda _e: page.pop_dialog())],
        )
        page.show_dialog(box)

    # -- drawing ------------------------------------------------------------------------

    def refresh(self) -> None:
        """Re-read everything (after navigation or a sync): account, categories, results."""
        name = self.state.account_name
        self.title_text.value = f"Catalog for {name}" if name else "Catalog"
        self.account.content = (
            None
            if name
            else banner(
                "No account chosen: labels use your home warehouse. Choose the account to see "
                "its own dates and delivery days.",
                actions=[
                    ft.TextButton("Choose account", on_click=lambda _e: self.nav.go("accounts"))
                ],
            )
        )
        self.state.forget_categories()
        self.category.options = [ft.DropdownOption(key=ALL, text="All categories")] + [
            ft.DropdownOption(key=c, text=c) for c in self.state.categories()
        ]
        self.state.search()
        self._show()

    def _show(self) -> None:
        s = self.state
        if not s.query.strip() and s.category is None:
            self.count.value = "Type to search, or pick a category"
            self.list.controls = [self._categories()]
            return
        self.count.value = (
            f"{plural(len(s.rows), 'product')}{' or more' if s.more else ''}"
            if s.rows
            else "No products match"
        )
        controls: list[ft.Control] = [self._row(r) for r in s.rows]
        if s.more:
            controls.append(
                ft.Container(
                    ft.OutlinedButton("Show more", icon=ft.Icons.EXPAND_MORE, on_click=self._more),
                    alignment=ft.Alignment.CENTER,
                    padding=8,
                )
            )
        if not s.rows:
            controls.append(
                empty(
                    "Nothing found. Try fewer letters, another spelling, or turn off "
                    "'Available now only'."
                )
            )
        self.list.controls = controls

    def _categories(self) -> ft.Control:
        cats = self.state.categories()
        if not cats:
            return empty("The catalog is empty on this device: sync to download it.")
        return ft.Row(
            [ft.Chip(label=c, on_click=lambda _e, c=c: self._pick_category(c)) for c in cats],
            wrap=True,
            spacing=6,
            run_spacing=6,
        )

    def _pick_category(self, category: str) -> None:
        self.category.value = category
        self.state.set_category(category)
        self.state.search()
        self._show()

    def _row(self, r: CatalogRow, *, in_dialog: bool = False) -> ft.Control:
        actions: list[ft.Control] = []
        if r.discontinued and r.alternatives and not in_dialog:
            actions.append(
                ft.TextButton(
                    "Alternatives",
                    icon=ft.Icons.SWAP_HORIZ,
                    on_click=lambda _e, r=r: self._alternatives(r.sku, r.name),
                )
            )
        actions.append(
            icon_button(
                ft.Icons.ADD_SHOPPING_CART,
                f"Add {r.sku} to cart",
                lambda _e, sku=r.sku: self._add(sku),
            )
        )
        in_cart = [muted(f"{r.in_cart:,} in cart")] if r.in_cart else []
        facts = f"{r.sku} · {r.brand} · {r.pack}"
        return card(
            ft.Row(
                [
                    ft.Column(
                        [
                            ft.Text(r.name, size=14, weight=ft.FontWeight.W_600),
                            muted(facts),
                            ft.Row(
                                [
                                    ft.Text(r.price, size=14, weight=ft.FontWeight.BOLD),
                                    chip(r.chip, identifier=f"chip-{r.sku}"),
                                    *in_cart,
                                ],
                                spacing=8,
                                wrap=True,
                                run_spacing=4,
                            ),
                        ],
                        spacing=3,
                        expand=True,
                    ),
                    ft.Row(actions, spacing=0, tight=True),
                ],
                vertical_alignment=ft.CrossAxisAlignment.CENTER,
            ),
            padding=10,
        )
