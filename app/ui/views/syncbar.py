"""The sync bar at the top of every screen."""

from __future__ import annotations

import flet as ft

from app.ui.state.syncbar import SyncBarView
from app.ui.views.common import Handler


class SyncBar:
    def __init__(self, on_sync: Handler, *, compact: bool = False) -> None:
        self.dot = ft.Icon(ft.Icons.CLOUD_OFF, size=18)
        self.status = ft.Text("Offline", size=13, weight=ft.FontWeight.BOLD)
        self.last = ft.Text("", size=12)
        self.pending = ft.Text("", size=12)
        self.error = ft.Text("", size=12, color=ft.Colors.ERROR, visible=False)
        self.button = ft.FilledTonalButton(
            "Sync now", icon=ft.Icons.SYNC, on_click=on_sync, height=34
        )
        self.bar = ft.ProgressBar(value=None, visible=False, semantics_label="Sync progress")
        self.progress_text = ft.Text("", size=12, visible=False)
        self.compact = compact
        self.facts = ft.Row(
            [self.last, self.pending], spacing=12, wrap=True, run_spacing=0, expand=True
        )
        # The bar stays outside the identified node: a progress bar appearing inside a
        # Semantics container makes Flutter web drop the container's identifier for good.
        words = ft.Semantics(
            identifier="sync-bar",
            container=True,
            content=ft.Column(
                [
                    ft.Row(
                        [
                            ft.Row([self.dot, self.status], spacing=4, tight=True),
                            self.facts,
                            self.button,
                        ],
                        spacing=10,
                        vertical_alignment=ft.CrossAxisAlignment.CENTER,
                    ),
                    self.progress_text,
                    self.error,
                ],
                spacing=4,
            ),
        )
        self.control = ft.Container(
            content=ft.Column([words, self.bar], spacing=4),
            padding=ft.Padding.symmetric(horizontal=12, vertical=6),
            bgcolor=ft.Colors.SURFACE_CONTAINER,
        )

    def show(self, view: SyncBarView) -> None:
        self.dot.icon = ft.Icons.CLOUD_DONE if view.online else ft.Icons.CLOUD_OFF
        self.dot.color = ft.Colors.GREEN if view.online else ft.Colors.ON_SURFACE_VARIANT
        self.status.value = view.status
        self.last.value = view.last_sync
        self.pending.value = view.pending
        self.error.value = f"Last error: {view.error}" if view.error else ""
        self.error.visible = bool(view.error)
        self.bar.visible = view.syncing
        self.bar.value = view.progress
        self.progress_text.visible = view.syncing
        self.progress_text.value = view.progress_text
        self.button.disabled = view.syncing
        self.button.content = "Syncing…" if view.syncing else "Sync now"
