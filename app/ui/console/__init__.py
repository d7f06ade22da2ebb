"""The supervisor's console (issue 6): review synced orders, allocate incoming stock, watch the
backorder metrics, online against the central server.

State lives in plain classes (queue, order, stock, dashboard) that unit tests drive against the
real server; views/ draws them with Flet. The rep's shell hands a signed-in supervisor over with
`show_console`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from app.store import Store, sync_state

if TYPE_CHECKING:
    import flet as ft


def is_supervisor(store: Store) -> bool:
    """The role the server gave at sign-in (kept in the device's sync state)."""
    with store.read() as session:
        return sync_state(session).role == "supervisor"


def show_console(
    host: object, page: ft.Page, store: Store, on_sign_out: Callable[[], None]
) -> None:
    from app.ui.console.views.frame import show_console as show

    show(host, page, store, on_sign_out)
