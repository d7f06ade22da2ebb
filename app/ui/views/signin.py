"""Sign in: server address, user, password; the reason in words when it fails."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import flet as ft

from app.ui.state.signin import SignInForm
from app.ui.sync_service import SignInFailed, SyncService
from app.ui.views.common import banner, heading, muted, refresh


class SignInScreen:
    def __init__(
        self,
        form: SignInForm,
        sync: SyncService,
        on_signed_in: Callable[[str], Awaitable[None]],
        *,
        note: str = "",
    ) -> None:
        self.form = form
        self.sync = sync
        self.on_signed_in = on_signed_in
        self.url = ft.TextField(
            label="Server address", value=form.server_url, keyboard_type=ft.KeyboardType.URL
        )
        self.user = ft.TextField(label="User name", value=form.username, autocorrect=False)
        # Our own eye, not Flet's can_reveal_password: its button has no name a screen
        # reader (or a test) can read.
        self.eye = ft.IconButton(
            ft.Icons.VISIBILITY_OUTLINED,
            tooltip=ft.Tooltip(message="Show password", exclude_from_semantics=True),
            on_click=self._reveal,
        )
        self.reveal = ft.Semantics(
            label="Show password", button=True, container=True, content=self.eye
        )
        self.password = ft.TextField(
            label="Password",
            value=form.password,
            password=True,
            suffix_icon=self.reveal,
            on_submit=self.submit,
        )
        self.button = ft.FilledButton("Sign in", icon=ft.Icons.LOGIN, on_click=self.submit)
        self.busy = ft.ProgressRing(width=20, height=20, visible=False)
        self.error = ft.Container(visible=False)
        self.control = ft.Container(
            content=ft.Column(
                [
                    heading("Field Sales", size=28),
                    muted("Orders that say the truth about stock, even with no signal.", size=14),
                    *([banner(note)] if note else []),
                    self.url,
                    self.user,
                    self.password,
                    ft.Row([self.button, self.busy], spacing=12),
                    self.error,
                    muted(
                        "After the first sign-in the app opens straight into your data, "
                        "signal or not.",
                    ),
                ],
                spacing=14,
                width=420,
            ),
            padding=24,
            alignment=ft.Alignment.TOP_CENTER,
        )

    def _reveal(self, _e: ft.ControlEvent) -> None:
        hide = not self.password.password  # shown now: hide it
        self.password.password = hide
        words = "Show password" if hide else "Hide password"
        self.eye.icon = ft.Icons.VISIBILITY_OUTLINED if hide else ft.Icons.VISIBILITY_OFF_OUTLINED
        self.eye.tooltip = ft.Tooltip(message=words, exclude_from_semantics=True)
        self.reveal.label = words
        self.password.update()

    async def submit(self, _e: object = None) -> None:
        self.form.server_url = self.url.value or ""
        self.form.username = self.user.value or ""
        self.form.password = self.password.value or ""
        problem = self.form.problem()
        if problem:
            self.show_error(problem)
            return
        self.form.busy, self.button.disabled, self.busy.visible = True, True, True
        self.show_error("")
        refresh(self.control)
        try:
            user = await asyncio.wrap_future(
                self.sync.sign_in(self.form.server_url, self.form.username, self.form.password)
            )
        except SignInFailed as problem:
            self.show_error(f"Could not sign in: {problem}")
            return
        finally:
            self.form.busy, self.button.disabled, self.busy.visible = False, False, False
            refresh(self.control)
        await self.on_signed_in(user)

    def show_error(self, text: str) -> None:
        self.form.error = text
        self.error.content = banner(text, kind="error") if text else None
        self.error.visible = bool(text)
        refresh(self.control)
