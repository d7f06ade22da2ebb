"""The sync engine behind a small, thread-safe front the views can call without waiting.

The engine is async (httpx) and writes to SQLite in bulk (a first download of a large catalog
takes seconds), so it runs on its own thread with its own event loop: the UI's loop stays free
to draw progress. Calls return concurrent futures; progress and "a cycle ended" are reported
through listeners, called on the sync thread (views hop back with page.run_task).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from app.store import Store, sign_out, sync_state, sync_status
from app.ui.state.text import plural
from sync.engine import SignInError, SyncEngine, SyncProgress, SyncReport
from sync.protocol import PROTOCOL_HEADER, PROTOCOL_VERSION

T = TypeVar("T")
ProgressListener = Callable[[SyncProgress], None]
DoneListener = Callable[["CycleOutcome"], None]

log = logging.getLogger(__name__)
TIMEOUT = httpx.Timeout(20.0, connect=3.0)  # a dead server is known fast; a big page may be slow


class SignInFailed(Exception):
    """Sign-in did not work; str() is the reason in words (wrong password, unreachable, ...)."""


class SignOutRefused(Exception):
    """Sign-out waits: changes are not sent yet (`waiting` of them) or a sync is running."""

    def __init__(self, reason: str, waiting: int = 0) -> None:
        super().__init__(reason)
        self.waiting = waiting


@dataclass(frozen=True, slots=True)
class CycleOutcome:
    ok: bool
    error: str | None
    pushed: int = 0
    pulled: int = 0
    snapshot_records: int = 0
    signed_out: bool = False  # the server did not know the token: it is forgotten, sign in
    note: str | None = None  # news that is not an error (a restored device's renumbering)


def _tell(listeners: list[Any], news: object) -> None:
    """Call every listener; one that fails (a browser tab closed mid-cycle) must neither keep
    the others from hearing (their "Sync now" would stay on "Syncing..." for good) nor stop
    the cycle or the background loop."""
    for listener in list(listeners):
        try:
            listener(news)
        except Exception:
            log.exception("a sync listener failed; the others are still told")


class SyncService:
    def __init__(
        self,
        store: Store,
        *,
        server_url: str | None = None,
        device_name: str = "Field Sales app",
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.store = store
        self.device_name = device_name
        self._transport = transport
        self._server_url = server_url or self._saved_url() or ""
        self._progress: list[ProgressListener] = []
        self._done: list[DoneListener] = []
        self._busy = threading.Lock()
        self.running = False
        self.last_progress: SyncProgress | None = None
        # Why the device was signed out by a sync (a token the server does not know), for the
        # sign-in screen of a window opened later; None once signed in again.
        self.signed_out_reason: str | None = None
        self._loop = asyncio.new_event_loop()
        self._wake = asyncio.Event()  # set from other threads through wake()
        self._thread = threading.Thread(target=self._loop.run_forever, name="sync", daemon=True)
        self._thread.start()
        self._client: httpx.AsyncClient = self._call(self._make_client()).result()
        self._engine = self._new_engine(self._server_url)

    # -- wiring -------------------------------------------------------------------------

    def _saved_url(self) -> str | None:
        with self.store.read() as session:
            return sync_state(session).server_url

    async def _make_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=TIMEOUT, transport=self._transport)

    def _new_engine(self, url: str) -> SyncEngine:
        return SyncEngine(self.store, self._client, server_url=url, on_progress=self._on_progress)

    def _call(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def _on_progress(self, progress: SyncProgress) -> None:
        self.last_progress = progress
        _tell(self._progress, progress)

    def on_progress(self, listener: ProgressListener) -> Callable[[], None]:
        """Listen to progress; returns a function that stops listening."""
        self._progress.append(listener)
        return lambda: self._progress.remove(listener) if listener in self._progress else None

    def on_cycle_done(self, listener: DoneListener) -> Callable[[], None]:
        self._done.append(listener)
        return lambda: self._done.remove(listener) if listener in self._done else None

    # -- what the views call ------------------------------------------------------------

    @property
    def online(self) -> bool:
        return self._engine.online

    @property
    def server_url(self) -> str:
        return self._server_url

    def use_server(self, url: str) -> None:
        """Talk to this address from now on (the embedded server may move to another port)."""
        self._server_url = url.rstrip("/")
        self._engine = self._new_engine(self._server_url)

    def sign_in(self, server_url: str, username: str, password: str) -> Future[str]:
        """Sign in (the future's result: the user name) or fail with SignInFailed."""
        url = server_url.strip().rstrip("/")
        return self._call(self._sign_in(url, username.strip(), password))

    async def _sign_in(self, url: str, username: str, password: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise SignInFailed("the server address starts with http:// or https://")
        if not username or not password:
            raise SignInFailed("enter your user name and password")
        engine = self._new_engine(url)
        try:
            answer = await engine.sign_in(username, password, device_name=self.device_name)
        except SignInError as problem:
            raise SignInFailed(str(problem)) from None
        except ValueError as problem:  # e.g. the store refuses a user switch with unsent work
            raise SignInFailed(str(problem)) from None
        self._server_url, self._engine = url, engine
        self.signed_out_reason = None
        return answer.user.username

    def sign_out(self) -> Future[str]:
        """Sign out (the future's result: who was signed in), or fail with SignOutRefused while
        changes wait to be sent: they are sent under the signed-in user's name. The server is
        told when it answers; the device forgets its token either way."""
        return self._call(self._sign_out())

    async def _sign_out(self) -> str:
        if not self._busy.acquire(blocking=False):
            raise SignOutRefused("a sync is running: try again when it ends")
        try:
            waiting = sync_status(self.store, online=self.online).pending_count
            if waiting:
                raise SignOutRefused(
                    f"{plural(waiting, 'change')} {'waits' if waiting == 1 else 'wait'} to be sent",
                    waiting,
                )
            with self.store.read() as session:
                state = sync_state(session)
            if state.token and self._server_url:
                with contextlib.suppress(httpx.HTTPError):  # offline: the token is forgotten here
                    await self._client.post(
                        f"{self._server_url}/auth/sign-out",
                        headers={
                            PROTOCOL_HEADER: str(PROTOCOL_VERSION),
                            "Authorization": f"Bearer {state.token}",
                        },
                    )
            with self.store.write() as session:
                sign_out(session)
            return state.user_name or ""
        finally:
            self._busy.release()

    def sync(self, *, full: bool = False) -> Future[CycleOutcome]:
        """One cycle (push, then pull); `full` downloads a fresh snapshot. Never raises for
        network faults: the outcome carries the error in words. A second call while one runs
        joins nothing and reports "already syncing"."""
        return self._call(self._sync(full))

    async def _sync(self, full: bool) -> CycleOutcome:
        if self._role() == "supervisor":  # the console works online; it keeps no device cache
            return CycleOutcome(True, None)
        if not self._busy.acquire(blocking=False):
            return CycleOutcome(False, "already syncing")
        self.running = True
        try:
            report: SyncReport = await (self._engine.resync() if full else self._engine.sync())
            if report.signed_out:
                # A token the server does not know (another server, a revoked device) is of no
                # use: forget it so the app asks the rep to sign in; the outbox is kept.
                with self.store.write() as session:
                    sign_out(session)
                self.signed_out_reason = report.error
            outcome = CycleOutcome(
                report.ok,
                report.error,
                report.pushed,
                report.pulled,
                report.snapshot_records,
                report.signed_out,
                report.note,
            )
        except Exception as crash:  # a bug must not kill the sync thread: show it, keep going
            outcome = CycleOutcome(False, f"sync failed: {crash}")
        finally:
            self.running = False
            self._busy.release()
        _tell(self._done, outcome)
        return outcome

    def start_auto(self, every: float) -> None:
        """Sync now and then every `every` seconds while signed in, sooner after wake(), with
        growing pauses while offline (the engine's backoff cap). 0: only on demand."""
        if every > 0:
            self._call(self._auto(every))

    def wake(self) -> None:
        """Something waits in the outbox: sync soon rather than at the next tick."""
        self._loop.call_soon_threadsafe(self._wake.set)

    async def _auto(self, every: float) -> None:
        offline_pause = self._engine.backoff.base
        while True:
            pause = every
            # Cleared before the cycle, not after: a wake() while it runs (an order placed
            # after the push read the outbox) must start the next cycle at once.
            self._wake.clear()
            if self._signed_in() and not self.running:
                outcome = await self._sync(False)
                reached = outcome.ok or self.online
                pause, offline_pause = self._engine.backoff.idle(reached, every, offline_pause)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=pause)

    def _signed_in(self) -> bool:
        with self.store.read() as session:
            return sync_state(session).signed_in

    def _role(self) -> str | None:
        with self.store.read() as session:
            return sync_state(session).role

    def close(self) -> None:
        async def _close() -> None:
            await self._client.aclose()

        try:
            self._call(_close()).result(timeout=5)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
