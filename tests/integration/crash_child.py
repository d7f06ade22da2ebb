"""A device that works and syncs until it is killed: the child process of the SIGKILL test.

It runs the real server in process on `database_url` (so a kill can land inside a server
transaction too), places small orders now and then, and syncs in a loop. The test forks it
(everything is imported already, so a child is ready in milliseconds) and sets `ready` once it
works.
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


async def work(database_url: str, device_db: Path, seed: int, ready: Event) -> None:
    rng = random.Random(seed)
    app = create_app(
        Settings(database_url=database_url, seed_on_start=False), clock=FixedClock(START)
    )
    store = Store.open(device_db)
    accounts = [a.id for a in Accounts(store).list_accounts()]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as client:
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


def main(database_url: str, device_db: Path, seed: int, ready: Event) -> None:
    asyncio.run(work(database_url, device_db, seed, ready))
