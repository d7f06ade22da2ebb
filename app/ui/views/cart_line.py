"""One cart line: name, quantity with -/+ and typing, its label in words, alternatives."""

from __future__ import annotations

from typing import TYPE_CHECKING

import flet as ft

from app.ui.state.cart import CartRow
from app.ui.views.common import card, chip, icon_button, muted

if TYPE_CHECKING:
    from app.ui.views.cart import CartScreenView


class LineControls:
    """One cart line's controls, kept across refreshes so typing keeps its focus."""

    def __init__(self, screen: CartScreenView, row: CartRow) -> None:
        self.sku = row.sku
        self.name = ft.Text(row.name, size=14, weight=ft.FontWeight.W_600)
        self.facts = muted("")
        self.quantity = ft.TextField(
            label=f"Quantity of {row.sku}",
            value=str(row.quantity),
            width=175,
            dense=True,
            keyboard_type=ft.KeyboardType.NUMBER,
            text_align=ft.TextAlign.RIGHT,
            on_change=lambda _e: screen.typed(self.sku, self.quantity.value or ""),
            on_submit=lambda _e: screen.commit(self.sku, self.quantity.value or ""),
            on_blur=lambda _e: screen.commit(self.sku, self.quantity.value or ""),
        )
        self.chip = ft.Container()
        self.words = ft.Text("", size=13)
        self.extra = ft.Row([], spacing=4, wrap=True)
        self.control = card(
            ft.Column(
                [
                    ft.Row(
                        [
                            ft.Semantics(
                                container=True,  # keeps these words out of the field's label
                                content=ft.Column([self.name, self.facts], spacing=2),
                                expand=True,
                            ),
                            icon_button(
                                ft.Icons.DELETE_OUTLINE,
                                f"Remove {row.sku}",
                                lambda _e: screen.remove(self.sku),
                            ),
                        ]
                    ),
                    ft.Row(
                        [
                            icon_button(
                                ft.Icons.REMOVE,
                                f"One less {row.sku}",
                                lambda _e: screen.step(self.sku, -1),
                            ),
                            self.quantity,
                            icon_button(
                                ft.Icons.ADD,
                                f"One more {row.sku}",
                                lambda _e: screen.step(self.sku, 1),
                            ),
                            self.chip,
                        ],
                        spacing=2,
                        wrap=True,
                        vertical_alignment=ft.CrossAxisAlignment.CENTER,
                    ),
                    ft.Semantics(
                        identifier=f"line-words-{row.sku}", container=True, content=self.words
                    ),
                    self.extra,
                ],
                spacing=4,
            ),
            padding=10,
        )
        # One key per product: a card made anew for it (after the cart was emptied by an order)
        # is never taken for an older object (see common.keyed).
        self.control.key = f"cart-line-{row.sku}"

    def show(self, row: CartRow, screen: CartScreenView, *, editing: bool) -> None:
        self.name.value = row.name
        self.facts.value = f"{row.sku} · {row.price} each · {row.total}"
        if not editing:
            self.quantity.value = str(row.quantity)
        self.chip.content = chip(row.chip, identifier=f"line-chip-{row.sku}")
        self.words.value = row.words
        extra: list[ft.Control] = []
        if row.undated and row.alternatives:
            extra.append(
                ft.TextButton(
                    "See alternatives",
                    icon=ft.Icons.SWAP_HORIZ,
                    on_click=lambda _e: screen.alternatives(row.sku, row.name),
                )
            )
        if row.undated and row.category:
            extra.append(
                ft.TextButton(
                    f"Find similar in {row.category}",
                    icon=ft.Icons.SEARCH,
                    on_click=lambda _e: screen.similar(row.category),
                )
            )
        self.extra.controls = extra
