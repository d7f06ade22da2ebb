"""A device that works and syncs until it is killed: the child process of the SIGKILL test.

It runs the real server in process on `database_url` (so a kill can land inside a server
transaction too), places small orders now and then, and syncs in a loop. The test forks it
(everything is imported already, so a child is ready in milliseconds) and sets `ready` once it
works. With `hold` set, the child stops at its first push, "before" the server sees it or
"after" the server applied it (the device has not heard back), sets `in_flight` and waits
there to be killed: a kill with work in flight by construction.
"""

from __future__ import annotations

import asyncio
import random
from multiprocessing.synchronize import Event
from pathlib import Path

import httpx

from app.store import Accounts, CartService, Store
from sync.engine import Backoff, SyncEngine
from sync.server.app import create_app
from sync.server.clock import FixedClock
from sync.server.settings import Settings
from tests.integration.conftest import START

URL = "http://server"


class Tripwire(httpx.AsyncBaseTransport):
    """Stops the child at its first push (`at`: "before" or "after" the server's part)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, at: str | None, in_flight: Event) -> None:
        self.inner, self.at, self.in_flight = inner, at, in_flight

    async def _stop(self) -> None:
        self.in_flight.set()
        await asyncio.Event().wait()  # until the parent's SIGKILL

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        pushing = request.url.path == "/sync/push"
        if pushing and self.at == "before":
            await self._stop()
        response = await self.inner.handle_async_request(request)
        if pushing and self.at == "after":
            await self._stop()
        return response


async def work(
    database_url: str, device_db: Path, seed: int, ready: Event, hold: str | None, in_flight: Event
) -> None:
    rng = random.Random(seed)
    app = create_app(
        Settings(database_url=database_url, seed_on_start=False), clock=FixedClock(START)
    )
    store = Store.open(device_db)
    accounts = [a.id for a in Accounts(store).list_accounts()]
    transport = Tripwire(httpx.ASGITransport(app=app), hold, in_flight)
    async with httpx.AsyncClient(transport=transport) as client:
        engine = SyncEngine(
            store, client, server_url=URL, backoff=Backoff(attempts=1), batch=3, page_size=20
        )
        ready.set()
        while True:
            cart = CartService(store)
            for _ in range(rng.randint(0, 2)):
                cart.set_account(rng.choice(accounts))
                cart.add(f"P-{rng.randrange(10)}", rng.randint(1, 3))
                cart.place()
            await engine.sync()


def main(
    database_url: str, device_db: Path, seed: int, ready: Event, hold: str | None, in_flight: Event
) -> None:
    asyncio.run(work(database_url, device_db, seed, ready, hold, in_flight))
