"""Small building blocks every screen uses: chips, banners, headers, labelled buttons.

Colours are tints over the theme's surface, so the same code reads well in light and dark
themes; meaning is never carried by colour alone (the words say it too).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import flet as ft

from app.ui.state.labels import Chip, ChipKind

Handler = Callable[..., Any]

# (tint, icon, outlined): estimated dates are outlined and italic, confirmed ones solid.
_CHIP_LOOK: dict[ChipKind, tuple[str, ft.IconData, bool]] = {
    ChipKind.IN_STOCK: (ft.Colors.GREEN, ft.Icons.CHECK_CIRCLE, False),
    ChipKind.LOW_STOCK: (ft.Colors.LIGHT_GREEN, ft.Icons.INVENTORY_2, False),
    ChipKind.PARTIAL: (ft.Colors.AMBER, ft.Icons.CALL_SPLIT, False),
    ChipKind.BACKORDER_CONFIRMED: (ft.Colors.ORANGE, ft.Icons.EVENT_AVAILABLE, False),
    ChipKind.BACKORDER_ESTIMATED: (ft.Colors.ORANGE, ft.Icons.EVENT, True),
    ChipKind.OUT_OF_STOCK: (ft.Colors.RED, ft.Icons.BLOCK, False),
    ChipKind.DISCONTINUED: (ft.Colors.GREY, ft.Icons.DO_NOT_DISTURB_ON, False),
}


def chip(value: Chip, *, identifier: str | None = None) -> ft.Control:
    tint, icon, outlined = _CHIP_LOOK[value.kind]
    box = ft.Container(
        content=ft.Row(
            [
                ft.Icon(icon, size=14, color=tint),
                ft.Text(value.text, size=12, italic=outlined, weight=ft.FontWeight.W_500),
            ],
            spacing=4,
            tight=True,
        ),
        padding=ft.Padding.symmetric(horizontal=8, vertical=3),
        border_radius=12,
        bgcolor=None if outlined else ft.Colors.with_opacity(0.16, tint),
        border=ft.Border.all(1.2, tint) if outlined else None,
    )
    return ft.Semantics(content=box, identifier=identifier, label=value.text, container=True)


def banner(text: str, *, kind: str = "info", actions: list[ft.Control] | None = None) -> ft.Control:
    tint, icon = {
        "info": (ft.Colors.BLUE, ft.Icons.INFO_OUTLINE),
        "warn": (ft.Colors.AMBER, ft.Icons.WARNING_AMBER),
        "error": (ft.Colors.RED, ft.Icons.ERROR_OUTLINE),
        "ok": (ft.Colors.GREEN, ft.Icons.CHECK_CIRCLE_OUTLINE),
    }[kind]
    row: list[ft.Control] = [
        ft.Icon(icon, color=tint, size=20),
        ft.Text(text, expand=True, size=13),
    ]
    return ft.Container(
        content=ft.Column(
            [ft.Row(row, spacing=8), *([ft.Row(actions, wrap=True)] if actions else [])],
            spacing=6,
        ),
        padding=10,
        border_radius=8,
        bgcolor=ft.Colors.with_opacity(0.12, tint),
        border=ft.Border.all(1, ft.Colors.with_opacity(0.5, tint)),
    )


def heading(text: str, *, size: int = 20) -> ft.Control:
    return ft.Semantics(
        content=ft.Text(text, size=size, weight=ft.FontWeight.BOLD),
        header=True,
    )


def muted(text: str, *, size: int = 12) -> ft.Text:
    return ft.Text(text, size=size, color=ft.Colors.ON_SURFACE_VARIANT)


def icon_button(icon: ft.IconData, label: str, on_click: Handler, **kw: Any) -> ft.Control:
    """An icon-only button with an accessible name (Flutter gives a tooltip none of its own):
    screen readers say it and tests find it by role and name."""
    return ft.Semantics(
        label=label,
        button=True,
        container=True,
        # The tooltip helps a pointer; kept out of the semantics so the name is said once.
        content=ft.IconButton(
            icon=icon,
            tooltip=ft.Tooltip(message=label, exclude_from_semantics=True),
            on_click=on_click,
            **kw,
        ),
    )


def card(content: ft.Control, *, on_click: Handler | None = None, padding: int = 12) -> ft.Control:
    return ft.Container(
        content=content,
        padding=padding,
        border_radius=10,
        bgcolor=ft.Colors.SURFACE_CONTAINER_LOW,
        border=ft.Border.all(1, ft.Colors.OUTLINE_VARIANT),
        on_click=on_click,
        ink=on_click is not None,
    )


def empty(text: str) -> ft.Control:
    return ft.Container(
        content=muted(text, size=14), padding=ft.Padding.symmetric(vertical=24, horizontal=8)
    )


def refresh(*controls: ft.Control) -> None:
    """Push changes of controls that may not be on the page (yet, or any more)."""
    for control in controls:
        with contextlib.suppress(RuntimeError):  # not mounted: it shows its state when it is
            control.update()


def dialog(title: str, content: ft.Control, actions: list[ft.Control]) -> ft.AlertDialog:
    """A dialog that uses a phone's width (Material's default insets leave too little)."""
    return ft.AlertDialog(
        title=ft.Text(title),
        content=content,
        actions=actions,
        inset_padding=ft.Padding.symmetric(horizontal=12, vertical=24),
        content_padding=ft.Padding.symmetric(horizontal=16, vertical=12),
    )


Tab = tuple[str, str, ft.IconData, ft.IconData]  # (name, label, icon, selected icon)


def navigation(
    tabs: tuple[Tab, ...], on_change: Handler, *, rail_width: int
) -> tuple[ft.NavigationRail, ft.NavigationBar]:
    """The same tabs twice: a side rail for a desktop window, a bottom bar for a phone."""
    rail = ft.NavigationRail(
        destinations=[
            ft.NavigationRailDestination(icon=i, selected_icon=s, label=label)
            for _, label, i, s in tabs
        ],
        selected_index=0,
        label_type=ft.NavigationRailLabelType.ALL,
        on_change=on_change,
        min_width=rail_width,
    )
    bar = ft.NavigationBar(
        destinations=[
            ft.NavigationBarDestination(icon=i, selected_icon=s, label=label)
            for _, label, i, s in tabs
        ],
        selected_index=0,
        on_change=on_change,
    )
    return rail, bar


def keyed(controls: list[ft.Control], prefix: str) -> list[ft.Control]:
    """Key by position the items of a list rebuilt from new objects. Flet matches unkeyed
    items by Python object identity, id(), and a new object can be given the address of one
    just freed: it was then taken for the old one and never sent (a cart line added after an
    order had no card; an account's backorders were drawn twice). A keyed item that is a new
    object is compared with its predecessor in full instead."""
    for n, control in enumerate(controls):
        if control.key is None:
            control.key = f"{prefix}-{n}"
    return controls
