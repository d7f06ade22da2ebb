"""The app's window. Until the rep's screens land, it shows what the device knows."""

from __future__ import annotations

import flet as ft


def build(page: ft.Page) -> None:
    page.title = "Field Sales"
    page.add(
        ft.SafeArea(
            ft.Column(
                [
                    ft.Text("Field Sales", size=28, weight=ft.FontWeight.BOLD),
                    ft.Text(
                        "Orders that say the truth about stock, even with no signal.",
                        size=16,
                    ),
                    ft.Text("The rep's screens are being built; this window proves the app runs."),
                ],
                spacing=12,
            )
        )
    )
