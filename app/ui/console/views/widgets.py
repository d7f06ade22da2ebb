"""Small building blocks of the console's screens. Meaning is never carried by colour alone:
the words say it too (screen readers, dark theme)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import flet as ft

Handler = Callable[..., Any]
_TINT = {
    "info": (ft.Colors.BLUE, ft.Icons.INFO_OUTLINE),
    "warn": (ft.Colors.AMBER, ft.Icons.WARNING_AMBER),
    "error": (ft.Colors.RED, ft.Icons.ERROR_OUTLINE),
    "ok": (ft.Colors.GREEN, ft.Icons.CHECK_CIRCLE_OUTLINE),
}
STATUS_TINT = {
    "open": ft.Colors.BLUE,
    "on_hold": ft.Colors.AMBER,
    "approved": ft.Colors.GREEN,
    "rejected": ft.Colors.RED,
    "cancelled": ft.Colors.GREY,
    "fulfilled": ft.Colors.TEAL,
}


def banner(
    text: str,
    *,
    kind: str = "info",
    actions: list[ft.Control] | None = None,
    identifier: str | None = None,
) -> ft.Control:
    tint, icon = _TINT[kind]
    box = ft.Container(
        content=ft.Column(
            [
                ft.Row(
                    [ft.Icon(icon, color=tint, size=20), ft.Text(text, expand=True, size=13)],
                    spacing=8,
                ),
                *([ft.Row(actions, wrap=True)] if actions else []),
            ],
            spacing=6,
        ),
        padding=10,
        border_radius=8,
        bgcolor=ft.Colors.with_opacity(0.12, tint),
        border=ft.Border.all(1, ft.Colors.with_opacity(0.5, tint)),
    )
    return ft.Semantics(content=box, identifier=identifier, container=True)


def heading(text: str, *, size: int = 20) -> ft.Control:
    return ft.Semantics(content=ft.Text(text, size=size, weight=ft.FontWeight.BOLD), header=True)


def muted(text: str, *, size: int = 12, **kw: Any) -> ft.Text:
    return ft.Text(text, size=size, color=ft.Colors.ON_SURFACE_VARIANT, **kw)


def tag(text: str, tint: str) -> ft.Control:
    return ft.Container(
        content=ft.Text(text, size=11, weight=ft.FontWeight.W_600),
        padding=ft.Padding.symmetric(horizontal=8, vertical=2),
        border_radius=10,
        bgcolor=ft.Colors.with_opacity(0.18, tint),
    )


def card(
    content: ft.Control,
    *,
    on_click: Handler | None = None,
    padding: int = 12,
    identifier: str | None = None,
    label: str | None = None,
    expand: bool | int | None = None,
) -> ft.Control:
    box = ft.Container(
        content=content,
        padding=padding,
        border_radius=10,
        bgcolor=ft.Colors.SURFACE_CONTAINER_LOW,
        border=ft.Border.all(1, ft.Colors.OUTLINE_VARIANT),
        on_click=on_click,
        ink=on_click is not None,
    )
    if identifier is None and label is None:
        box.expand = expand
        return box
    return ft.Semantics(
        content=box,
        identifier=identifier,
        label=label,
        container=True,
        button=True if on_click else None,
        expand=expand,
    )


def icon_button(icon: ft.IconData, label: str, on_click: Handler, **kw: Any) -> ft.Control:
    """An icon-only button with an accessible name (tests find it by role and name)."""
    return ft.Semantics(
        label=label,
        button=True,
        container=True,
        content=ft.IconButton(icon=icon, tooltip=label, on_click=on_click, **kw),
    )


def title_bar(title: str, busy: ft.Control, reload_label: str, on_reload: Handler) -> ft.Control:
    """A screen's title, with its busy ring and reload button at the right."""
    return ft.Row(
        [
            heading(title),
            ft.Row([busy, icon_button(ft.Icons.REFRESH, reload_label, on_reload)], tight=True),
        ],
        alignment=ft.MainAxisAlignment.SPACE_BETWEEN,
    )


def section(title: str, *body: ft.Control) -> ft.Control:
    return ft.Column(
        [heading(title, size=15), *body],
        spacing=6,
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
    )


def busy_ring() -> ft.ProgressRing:
    return ft.ProgressRing(width=18, height=18, stroke_width=2, visible=False)


def refresh(*controls: ft.Control) -> None:
    """Push changes of controls that may not be on the page (yet, or any more)."""
    for control in controls:
        with contextlib.suppress(RuntimeError, AssertionError):
            control.update()
