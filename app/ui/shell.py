"""The app's frame: sign-in or the rep's screens, with the sync bar on top and the navigation
at the bottom (phone) or on the left (desktop). One frame per browser session or window."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable

import flet as ft

from app.store import OrderState, sync_state
from app.ui.services import Services
from app.ui.state.accounts import AccountsState
from app.ui.state.cart import CartState
from app.ui.state.catalog import CatalogState
from app.ui.state.orders import OrdersState
from app.ui.state.signin import SignInForm
from app.ui.state.signout import sign_out_ask, signed_out_words
from app.ui.state.syncbar import OutboxWatch, sync_bar
from app.ui.state.updates import UpdatesState
from app.ui.sync_service import CycleOutcome, SignOutRefused
from app.ui.views.accounts import AccountScreen, AccountsScreen
from app.ui.views.cart import CartScreenView
from app.ui.views.catalog import CatalogScreen
from app.ui.views.common import dialog, icon_button, navigation, refresh
from app.ui.views.orders import OrderDetailScreen, OrdersListScreen
from app.ui.views.signin import SignInScreen
from app.ui.views.syncbar import SyncBar
from app.ui.views.updates import UpdatesScreen
from sync.engine import SyncProgress

PHONE_WIDTH = 720  # below this the navigation moves to the bottom
TICK_SECONDS = 30  # "2 min ago" stays true
TABS = (
    ("accounts", "Accounts", ft.Icons.STORE_OUTLINED, ft.Icons.STORE),
    ("catalog", "Catalog", ft.Icons.INVENTORY_2_OUTLINED, ft.Icons.INVENTORY_2),
    ("cart", "Cart", ft.Icons.SHOPPING_CART_OUTLINED, ft.Icons.SHOPPING_CART),
    ("orders", "Orders", ft.Icons.RECEIPT_LONG_OUTLINED, ft.Icons.RECEIPT_LONG),
    ("updates", "Updates", ft.Icons.NOTIFICATIONS_OUTLINED, ft.Icons.NOTIFICATIONS),
)
_TAB_OF = {"account": "accounts", "order": "orders"}


def theme() -> ft.Theme:
    return ft.Theme(color_scheme_seed=ft.Colors.INDIGO, use_material3=True)


class Frame:
    def __init__(self, page: ft.Page, services: Services) -> None:
        self.page = page
        self.services = services
        self.store = services.store
        self.sync = services.sync
        self.syncing = services.sync.running
        self.progress: SyncProgress | None = services.sync.last_progress
        self.current = "accounts"
        self.current_arg: str | None = None
        self._phone = self._is_phone()
        self._stop: list[Callable[[], None]] = []
        self._closed = False
        # Flet runs plain event handlers on worker threads and async ones on its loop: two
        # redraws at once (a double tap, a tap while a sync's redraw runs) sent their changes
        # twice (an account's backordered lines drawn twice). One redraw at a time.
        self._drawing = threading.RLock()
        self._outbox = OutboxWatch(self.store)  # a change just queued wakes the sync
        self.sync_bar = SyncBar(self.sync_now)
        catalog_state = CatalogState(self.store)
        self.accounts_state = AccountsState(self.store)
        self.orders_state = OrdersState(self.store)
        self.updates_state = UpdatesState(self.store)
        self.cart_state = CartState(self.store)
        self.catalog_state = catalog_state
        self.screens = {
            "accounts": AccountsScreen(self.accounts_state, self),
            "account": AccountScreen(self.accounts_state, self),
            "catalog": CatalogScreen(catalog_state, self),
            "cart": CartScreenView(self.cart_state, catalog_state, self),
            "orders": OrdersListScreen(self.orders_state, self),
            "order": OrderDetailScreen(self.orders_state, self),
            "updates": UpdatesScreen(self.updates_state, self),
        }
        self.content = ft.Container(expand=True, padding=ft.Padding.symmetric(horizontal=12))
        self.theme_icon = ft.IconButton(ft.Icons.DARK_MODE_OUTLINED, on_click=self._toggle_theme)
        self.theme_button = ft.Semantics(
            label="Dark theme", button=True, container=True, content=self.theme_icon
        )
        self.user = ft.Text("", size=12)
        self.sign_out_button = icon_button(ft.Icons.LOGOUT, "Sign out", self._ask_sign_out)
        self.rail, self.bar = navigation(TABS, self._on_nav, rail_width=80)
        self.snack = ft.SnackBar(content=ft.Text(""))

    # -- start ------------------------------------------------------------------------

    def start(self) -> None:
        page = self.page
        page.title = "Field Sales"
        page.theme = theme()
        page.dark_theme = theme()
        page.theme_mode = ft.ThemeMode.LIGHT
        page.padding = 0
        page.spacing = 0
        page.on_resize = self._on_resize
        page.on_close = self._on_close
        page.on_disconnect = self._on_close
        self._stop.append(self.sync.on_progress(self._progress_from_thread))
        self._stop.append(self.sync.on_cycle_done(self._done_from_thread))
        if self._signed_in():
            self.show_main()
        elif self.services.starting is not None and not self.services.starting.done():
            self._show_starting()
            page.run_task(self._wait_for_start)
        else:
            reason = self.sync.signed_out_reason
            self.show_sign_in(signed_out_words(reason) if reason else "")
        page.run_task(self._tick)

    def _signed_in(self) -> bool:
        with self.store.read() as session:
            return sync_state(session).signed_in

    def _user_name(self) -> str:
        with self.store.read() as session:
            return sync_state(session).user_name or ""

    def _show_starting(self) -> None:
        self.page.controls = [
            ft.SafeArea(
                ft.Container(
                    ft.Column(
                        [
                            ft.Text("Field Sales", size=28, weight=ft.FontWeight.BOLD),
                            ft.ProgressRing(),
                            ft.Text(
                                "Starting the demo server on this computer and signing in as "
                                "the demo rep…"
                            ),
                        ],
                        spacing=16,
                        horizontal_alignment=ft.CrossAxisAlignment.CENTER,
                    ),
                    padding=32,
                    alignment=ft.Alignment.TOP_CENTER,
                ),
                expand=True,
            )
        ]
        self.page.update()

    async def _wait_for_start(self) -> None:
        assert self.services.starting is not None
        problem = ""
        try:
            await asyncio.wrap_future(self.services.starting)
        except Exception as fault:  # shown to the rep: the sign-in screen is the way out
            problem = f"The demo server did not start: {fault}"
        if self._signed_in():
            self.show_main()
        else:
            self.show_sign_in(problem)

    def show_sign_in(self, problem: str = "") -> None:
        self.page.navigation_bar = None  # the tabs are the signed-in user's
        form = SignInForm.for_store(
            self.store, self.services.default_server_url, current=self.sync.server_url
        )
        screen = SignInScreen(form, self.sync, self._signed_in_now, note=self.services.sign_in_note)
        self.page.controls = [
            ft.SafeArea(
                ft.Column([screen.control], scroll=ft.ScrollMode.AUTO, expand=True), expand=True
            )
        ]
        if problem:
            screen.show_error(problem)
        self.page.update()

    async def _signed_in_now(self, user: str) -> None:
        self._outbox.reset()  # another user's counter may start anywhere
        self.show_main()
        self.toast(f"Signed in as {user}: downloading your data")
        self.sync_now()

    # -- layout ----------------------------------------------------------------------

    @property
    def phone(self) -> bool:
        return self._phone

    def _is_phone(self) -> bool:
        width = self.page.width
        return bool(width) and width < PHONE_WIDTH  # type: ignore[operator]

    def show_main(self) -> None:
        # -- supervisor console (issue 6): a supervisor gets the console, not the rep's screens
        from app.ui.console import is_supervisor, show_console

        if is_supervisor(self.store):
            show_console(self, self.page, self.store, self.show_sign_in)
            return
        # -- end supervisor console ---------------------------------------------------------
        self.user.value = self._user_name()
        top = ft.Container(
            ft.Row(
                [
                    ft.Text("Field Sales", size=18, weight=ft.FontWeight.BOLD),
                    ft.Row(
                        [
                            ft.Icon(ft.Icons.PERSON, size=16),
                            self.user,
                            self.theme_button,
                            self.sign_out_button,
                        ],
                        spacing=4,
                        tight=True,
                    ),
                ],
                alignment=ft.MainAxisAlignment.SPACE_BETWEEN,
            ),
            padding=ft.Padding.only(left=12, right=4, top=2),
        )
        if self._phone:
            # A NavigationBar works as the view's navigation_bar, not inside a Column.
            self.page.navigation_bar = self.bar
            body: ft.Control = ft.Column(
                [top, self.sync_bar.control, self.content], spacing=6, expand=True
            )
        else:
            self.page.navigation_bar = None
            body = ft.Row(
                [
                    self.rail,
                    ft.VerticalDivider(width=1),
                    ft.Column([top, self.sync_bar.control, self.content], spacing=6, expand=True),
                ],
                spacing=0,
                expand=True,
            )
        self.page.controls = [ft.SafeArea(body, expand=True)]
        self.show_bar()
        self.go(self.current, self.current_arg)

    def _on_resize(self, _e: ft.ControlEvent) -> None:
        phone = self._is_phone()
        if phone != self._phone:
            self._phone = phone
            if self._signed_in():
                self.show_main()

    # -- navigation ------------------------------------------------------------------

    def go(self, screen: str, arg: str | None = None) -> None:
        with self._drawing:
            self._go(screen, arg)

    def _go(self, screen: str, arg: str | None) -> None:
        self.current, self.current_arg = screen, arg
        view = self.screens[screen]
        if screen in ("account", "order") and arg:
            view.show(arg)  # type: ignore[attr-defined]
        else:
            view.refresh()
        self.content.content = view.control
        tab = [t[0] for t in TABS].index(_TAB_OF.get(screen, screen))
        self.rail.selected_index = tab
        self.bar.selected_index = tab
        self._badges()
        self.page.update()

    def _on_nav(self, e: ft.ControlEvent) -> None:
        index = int(e.control.selected_index or 0)
        self.go(TABS[index][0])

    def _badges(self) -> None:
        counts = self.orders_state.counts()
        lines = len(self.cart_state.cart.view().lines)
        attention = counts.get(OrderState.NEEDS_ATTENTION, 0)
        unseen = self.updates_state.unseen()
        badges = {"cart": lines, "orders": attention, "updates": unseen}
        for n, (name, _label, icon, selected) in enumerate(TABS):
            count = badges.get(name) or 0
            # The badge sits on the icon: Flutter's rail destinations have no badge of their own.
            mark = str(count) if count else None
            for dest in (self.rail.destinations[n], self.bar.destinations[n]):
                dest.icon = ft.Icon(icon, badge=mark)
                dest.selected_icon = ft.Icon(selected, badge=mark)

    def toast(self, text: str, *, error: bool = False) -> None:
        if not text:
            return
        self.snack.content = ft.Text(text)
        self.snack.bgcolor = ft.Colors.ERROR if error else None
        with contextlib.suppress(RuntimeError):
            self.page.show_dialog(self.snack)

    def changed(self) -> None:
        with self._drawing:
            self._changed()

    def _changed(self) -> None:
        self.show_bar()
        if self._outbox.new_changes():
            self.sync.wake()  # an order, a cancel, a contact edit or an ack: send it at once
        self._badges()
        refresh(self.rail, self.bar)

    # -- sync ------------------------------------------------------------------------

    def show_bar(self) -> int:
        """Redraw the sync bar; returns how many changes wait in the outbox."""
        view = sync_bar(
            self.store, online=self.sync.online, syncing=self.syncing, progress=self.progress
        )
        self.sync_bar.show(view)
        refresh(self.sync_bar.control)
        return view.pending_count

    def sync_now(self, _e: object = None) -> None:
        if self.syncing:
            return
        self.syncing = True
        self.progress = None
        self.show_bar()
        # The outcome arrives through on_cycle_done; when this call joins nothing (a cycle was
        # already running) or a listener failed, the button must still come back.
        self.sync.sync().add_done_callback(lambda _f: self._settle_from_thread())

    def _settle_from_thread(self) -> None:
        if not self._closed:
            with contextlib.suppress(RuntimeError):  # the session is gone
                self.page.run_task(self._settle)

    async def _settle(self) -> None:
        """No cycle runs: the bar must not say "Syncing..." (a cycle that crashed, a lost
        report)."""
        if self.syncing and not self.sync.running:
            self.syncing, self.progress = False, None
            self.show_bar()

    def _progress_from_thread(self, progress: SyncProgress) -> None:
        if not self._closed:
            try:
                self.page.run_task(self._on_progress, progress)
            except RuntimeError:  # the browser session ended without telling
                self._on_close()

    def _done_from_thread(self, outcome: CycleOutcome) -> None:
        if not self._closed:
            try:
                self.page.run_task(self._on_done, outcome)
            except RuntimeError:
                self._on_close()

    async def _on_progress(self, progress: SyncProgress) -> None:
        self.syncing = progress.phase not in ("done", "error", "idle")
        self.progress = progress
        self.show_bar()

    async def _on_done(self, outcome: CycleOutcome) -> None:
        self.syncing = False
        self.progress = None
        if not self._signed_in():
            self.current, self.current_arg = "accounts", None
            self.show_sign_in(
                signed_out_words(outcome.error) if outcome.signed_out else outcome.error or ""
            )
            return
        self.catalog_state.forget_categories()
        self.go(self.current, self.current_arg)  # labels, orders and verdicts may have moved
        if outcome.error and self.sync.online:
            self.toast(f"Sync: {outcome.error}", error=True)
        # Offline is the rep's normal state, not an alarm: the sync bar says it, calmly, with
        # what waits; no red message for every background try.
        elif outcome.note:
            self.toast(outcome.note)

    async def _tick(self) -> None:
        while not self._closed:
            await asyncio.sleep(TICK_SECONDS)
            if not self._closed and self._signed_in():
                await self._settle()
                self.show_bar()

    # -- signing out -------------------------------------------------------------------

    def _ask_sign_out(self, _e: object = None) -> None:
        """Refused while changes wait (they go under this user's name), with a way to send."""
        ask = sign_out_ask(self._user_name(), self.show_bar(), online=self.sync.online)
        page = self.page

        def send(_e: object) -> None:
            page.pop_dialog()
            self.sync_now()

        if ask.allowed:
            actions: list[ft.Control] = [
                ft.TextButton("Stay signed in", on_click=lambda _e: page.pop_dialog()),
                ft.FilledButton("Yes, sign out", icon=ft.Icons.LOGOUT, on_click=self._sign_out),
            ]
        else:
            actions = [
                ft.TextButton("Not now", on_click=lambda _e: page.pop_dialog()),
                ft.FilledButton("Send now", icon=ft.Icons.SYNC, on_click=send),
            ]
        words = ft.Semantics(identifier="sign-out-words", container=True, content=ft.Text(ask.text))
        page.show_dialog(dialog(ask.title, words, actions))

    async def _sign_out(self, _e: object = None) -> None:
        self.page.pop_dialog()
        try:
            user = await asyncio.wrap_future(self.sync.sign_out())
        except SignOutRefused as waiting:
            self.toast(f"Not signed out: {waiting}", error=True)
            return
        self.current, self.current_arg = "accounts", None
        self.show_sign_in()
        self.toast(f"{user} signed out" if user else "Signed out")

    def _toggle_theme(self, _e: ft.ControlEvent) -> None:
        dark = self.page.theme_mode is not ft.ThemeMode.DARK
        self.page.theme_mode = ft.ThemeMode.DARK if dark else ft.ThemeMode.LIGHT
        label = "Light theme" if dark else "Dark theme"
        self.theme_icon.icon = ft.Icons.LIGHT_MODE_OUTLINED if dark else ft.Icons.DARK_MODE_OUTLINED
        self.theme_button.label = label
        self.page.update()

    def _on_close(self, _e: object = None) -> None:
        self._closed = True
        for stop in self._stop:
            stop()
        self._stop.clear()


def app(services: Services) -> Callable[[ft.Page], None]:
    """The function ft.run calls for each session (browser tab or window)."""

    def main(page: ft.Page) -> None:
        Frame(page, services).start()

    return main
