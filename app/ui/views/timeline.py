"""The shipment plan drawn as a small vertical timeline: a dot per shipment, date and lines."""

from __future__ import annotations

import flet as ft

from app.ui.state.cart import PlanStep


def timeline(steps: tuple[PlanStep, ...]) -> ft.Control:
    """The shipment plan as a small vertical timeline: a dot per shipment, its date and lines."""
    items: list[ft.Control] = []
    for n, step in enumerate(steps):
        last = n == len(steps) - 1
        tint = ft.Colors.PRIMARY if step.dated else ft.Colors.RED
        rail = ft.Column(
            [
                ft.Icon(
                    ft.Icons.LOCAL_SHIPPING if step.dated else ft.Icons.HELP_OUTLINE,
                    size=18,
                    color=tint,
                ),
                ft.Container(
                    width=2,
                    height=max(14, 18 * len(step.lines)),
                    bgcolor=ft.Colors.OUTLINE_VARIANT,
                    visible=not last,
                ),
            ],
            spacing=2,
            horizontal_alignment=ft.CrossAxisAlignment.CENTER,
            width=24,
        )
        label = f"Shipment {n + 1}: {step.when}" if step.dated else step.when
        body = ft.Column(
            [
                ft.Text(f"{label} · {step.units:,} units", weight=ft.FontWeight.BOLD, size=13),
                *[ft.Text(line, size=12) for line in step.lines],
            ],
            spacing=1,
            expand=True,
        )
        items.append(
            ft.Semantics(
                identifier=f"plan-step-{n + 1}",
                container=True,
                content=ft.Row(
                    [rail, body], spacing=8, vertical_alignment=ft.CrossAxisAlignment.START
                ),
            )
        )
    return ft.Column(items, spacing=0)
