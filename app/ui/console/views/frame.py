"""The supervisor's console frame: top bar, navigation (rail on a desktop, bar on a phone) and
the four screens. It works online against the central server; every screen says in words when
the server cannot be reached and offers a reload."""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Callable
from pathlib import Path

import flet as ft
import httpx

from app.store import Store, sign_out, sync_state
from app.ui.console.dashboard import DashboardState
from app.ui.console.order import OrderState
from app.ui.console.overdue import OverdueState
from app.ui.console.purchasing import PurchasingState
from app.ui.console.queue import QueueState
from app.ui.console.session import ConsoleSession
from app.ui.console.stock import IncomingState
from app.ui.console.suppliers import SuppliersState
from app.ui.console.views.dashboard_view import DashboardScreen
from app.ui.console.views.order_view import OrderScreen
from app.ui.console.views.overdue_view import OverdueScreen
from app.ui.console.views.purchasing_view import PurchasingScreen
from app.ui.console.views.queue_view import QueueScreen
from app.ui.console.views.stock_view import IncomingScreen
from app.ui.console.views.suppliers_view import SuppliersScreen
from app.ui.console.views.widgets import icon_button, muted
from app.ui.views.common import navigation
from sync.protocol import PROTOCOL_HEADER, PROTOCOL_VERSION
from sync.supervisor import SupervisorClient

PHONE_WIDTH = 720
# A dead server is known fast; a year of metrics may take a while to compute.
TIMEOUT = httpx.Timeout(30.0, connect=3.0)
TABS = (
    ("queue", "Review queue", ft.Icons.FACT_CHECK_OUTLINED, ft.Icons.FACT_CHECK),
    ("incoming", "Incoming stock", ft.Icons.LOCAL_SHIPPING_OUTLINED, ft.Icons.LOCAL_SHIPPING),
    ("dashboard", "Dashboard", ft.Icons.INSIGHTS_OUTLINED, ft.Icons.INSIGHTS),
    ("purchasing", "Purchasing", ft.Icons.SHOPPING_CART_OUTLINED, ft.Icons.SHOPPING_CART),
    ("overdue", "Overdue", ft.Icons.ALARM_OUTLINED, ft.Icons.ALARM),
    ("suppliers", "Suppliers", ft.Icons.FACTORY_OUTLINED, ft.Icons.FACTORY),
)
_TAB_OF = {"order": "queue"}


class ConsoleFrame:
    def __init__(self, page: ft.Page, store: Store, on_sign_out: Callable[[], None]) -> None:
        self.page = page
        self.store = store
        self.on_sign_out = on_sign_out
        with store.read() as s:
            state = sync_state(s)
        self.token = state.token or ""
        self.user = state.user_name or ""
        # Idle connections close soon: a console left open keeps no sockets busy.
        self.http = httpx.AsyncClient(timeout=TIMEOUT, limits=httpx.Limits(keepalive_expiry=5.0))
        self.api = SupervisorClient.from_store(store, self.http)
        self.session = ConsoleSession(self.api)
        self.queue = QueueScreen(QueueState(self.session), self)
        self.order = OrderScreen(OrderState(self.session), self)
        self.incoming = IncomingScreen(IncomingState(self.session), self)
        self.dashboard = DashboardScreen(DashboardState(self.session), self)
        self.purchasing = PurchasingScreen(PurchasingState(self.session), self)
        self.overdue = OverdueScreen(OverdueState(self.session), self)
        self.suppliers = SuppliersScreen(SuppliersState(self.session), self)
        self.current, self.current_arg = "queue", None
        self._loaded: set[str] = set()
        self._keep: list[object] = []  # services (file picker) must stay referenced
        self.content = ft.Container(expand=True, padding=ft.Padding.symmetric(horizontal=12))
        self.rail, self.bar = navigation(TABS, self._on_nav, rail_width=88)
        self.snack = ft.SnackBar(content=ft.Text(""))

    @property
    def phone(self) -> bool:
        width = self.page.width
        return bool(width) and width < PHONE_WIDTH  # type: ignore[operator]

    # -- layout ---------------------------------------------------------------------------

    def show(self) -> None:
        """Put the console on the page (again, after a resize across the phone width)."""
        top = ft.Container(
            ft.Row(
                [
                    ft.Text("Supervisor console", size=18, weight=ft.FontWeight.BOLD),
                    ft.Row(
                        [
                            ft.Icon(ft.Icons.PERSON, size=16),
                            ft.Text(self.user, size=12),
                            *([] if self.phone else [muted(f"· {self.api.server_url}")]),
                            icon_button(ft.Icons.LOGOUT, "Sign out", self._sign_out),
                        ],
                        spacing=4,
                        tight=True,
                    ),
                ],
                alignment=ft.MainAxisAlignment.SPACE_BETWEEN,
            ),
            padding=ft.Padding.only(left=12, right=4, top=2),
        )
        column = ft.Column([top, self.content], spacing=6, expand=True)
        if self.phone:
            self.page.navigation_bar = self.bar
            body: ft.Control = column
        else:
            self.page.navigation_bar = None
            body = ft.Row([self.rail, ft.VerticalDivider(width=1), column], spacing=0, expand=True)
        self.page.title = "Field Sales: supervisor"
        self.page.controls = [ft.SafeArea(body, expand=True)]
        self._loaded.clear()  # redraw each screen for the new width on its next visit
        self.go(self.current, self.current_arg)

    # -- navigation -----------------------------------------------------------------------

    def go(self, screen: str, arg: str | None = None) -> None:
        self.current, self.current_arg = screen, arg
        view = {
            "queue": self.queue,
            "order": self.order,
            "incoming": self.incoming,
            "dashboard": self.dashboard,
            "purchasing": self.purchasing,
            "overdue": self.overdue,
            "suppliers": self.suppliers,
        }[screen]
        self.content.content = view.control
        index = [t[0] for t in TABS].index(_TAB_OF.get(screen, screen))
        self.rail.selected_index = self.bar.selected_index = index
        if screen == "order" and arg:
            self.page.run_task(self.order.show, arg)
        elif screen not in self._loaded or screen in ("queue", "overdue"):
            # The queue and the chase list reload on each visit: a decision or a receipt just
            # recorded moves them.
            self._loaded.add(screen)
            view.draw()
            self.page.run_task(view.load)
        self.page.update()

    def _on_nav(self, e: ft.ControlEvent) -> None:
        self.go(TABS[int(e.control.selected_index or 0)][0])

    # -- what screens ask -----------------------------------------------------------------

    def toast(self, text: str, *, error: bool = False) -> None:
        if not text:
            return
        self.snack.content = ft.Text(text)
        self.snack.bgcolor = ft.Colors.ERROR if error else None
        with contextlib.suppress(RuntimeError):
            self.page.show_dialog(self.snack)

    async def offer_file(self, path: Path, what: str) -> None:
        """The file is written under the app's data folder; the path is shown, and in a
        browser (where that folder is on the server's disk) it is offered as a download."""
        actions: list[ft.Control] = []
        if self.page.web:
            actions.append(
                ft.FilledButton("Download", icon=ft.Icons.DOWNLOAD,
                                on_click=lambda _e: self.page.run_task(self._download, path))
            )  # fmt: skip
        actions.append(ft.TextButton("Close", on_click=lambda _e: self.page.pop_dialog()))
        self.page.show_dialog(
            ft.AlertDialog(
                title=ft.Text(f"{what} exported"),
                content=ft.Semantics(
                    identifier="export-path",
                    label=str(path),
                    container=True,
                    content=ft.Text(f"Saved as CSV:\n{path}", size=13),
                ),
                actions=actions,
            )
        )

    async def _download(self, path: Path) -> None:
        picker = ft.FilePicker()
        self._keep.append(picker)
        try:
            await picker.save_file(file_name=path.name, src_bytes=path.read_bytes())
        except Exception as problem:  # a browser that refuses: the path is still shown
            self.toast(f"Download failed ({problem}); the file is at {path}", error=True)

    async def _sign_out(self, _e: object = None) -> None:
        """Forget the token here (the sign-in form comes back); tell the server if it answers."""
        with contextlib.suppress(httpx.HTTPError):
            await self.http.post(
                f"{self.api.server_url}/auth/sign-out",
                headers={
                    "Authorization": f"Bearer {self.token}",
                    PROTOCOL_HEADER: str(PROTOCOL_VERSION),
                },
            )
        with self.store.write() as s:
            sign_out(s)
        await self.http.aclose()
        self.page.navigation_bar = None
        forget(self)
        self.on_sign_out()


# One console per host frame (a browser session or window), dropped with it.
_consoles: weakref.WeakKeyDictionary[object, ConsoleFrame] = weakref.WeakKeyDictionary()


def forget(console: ConsoleFrame) -> None:
    for key, value in list(_consoles.items()):
        if value is console:
            del _consoles[key]


def show_console(
    host: object, page: ft.Page, store: Store, on_sign_out: Callable[[], None]
) -> None:
    """Reuse the host's console unless the page or the sign-in changed."""
    console = _consoles.get(host)
    with store.read() as s:
        token = sync_state(s).token or ""
    if console is None or console.token != token or console.page is not page:
        console = _consoles[host] = ConsoleFrame(page, store, on_sign_out)
    console.show()
