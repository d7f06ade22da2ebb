"""A bad network between device and server: 1,000 orders still end up on the server exactly once."""

from __future__ import annotations

import random
from pathlib import Path

import httpx
import pytest
from sqlmodel import func, select

from app.store import CartService, sync_status
from sync.engine import Backoff, SignInError, SyncEngine
from sync.server.models import Device, Order
from tests.integration.conftest import URL, Server, World, device_store, no_sleep
from tests.integration.faults import FaultyTransport, Odds

ORDERS = 1_000


@pytest.mark.slow
async def test_a_thousand_orders_survive_a_bad_network_exactly_once(
    server: Server, world: World, tmp_path: Path
):
    world.user("rep1")
    accounts = [world.account("rep1") for _ in range(5)]
    skus = [world.product(f"P-{n}", on_hand=200) for n in range(20)]
    store = device_store(tmp_path, "field")
    rng = random.Random(20261126)
    faulty = FaultyTransport(httpx.ASGITransport(app=server.app), rng, Odds())
    async with httpx.AsyncClient(transport=faulty) as client:
        engine = SyncEngine(
            store,
            client,
            server_url=URL,
            sleep=no_sleep,
            backoff=Backoff(attempts=2),
            rng=rng,
            batch=20,  # small batches and pages: more requests for the network to spoil
            page_size=100,
        )
        problem = ""
        for _ in range(20):  # sign-in itself may be dropped: the rep taps again
            try:
                await engine.sign_in("rep1", "demo")
                break
            except SignInError as fault:  # only the network may refuse it here
                if "cannot reach the server" not in str(fault):
                    raise
                problem = str(fault)
        else:
            pytest.fail(f"could not sign in through the bad network; last error: {problem}")
        for _ in range(50):  # the first download, through the same bad network
            report = await engine.sync()
            if report.ok:
                break
        else:
            pytest.fail(f"the first sync never succeeded; last error: {report.error}")
        placed: set[str] = set()
        cart = CartService(store)
        for n in range(ORDERS):
            cart.set_account(str(accounts[n % len(accounts)]))
            cart.add(skus[n % len(skus)], 1 + n % 3)
            placed.add(str(cart.place().order_id))
            if n % 250 == 249:
                await engine.sync()  # syncs now and then while the rep keeps working
        for _cycle in range(300):
            report = await engine.sync()
            if report.ok and sync_status(store, online=True).pending_count == 0:
                break
        else:
            pytest.fail(f"the outbox did not drain; last error: {report.error}")

    kinds = {"dropped request", "dropped response", "duplicated", "delayed", "cut pull"}
    assert kinds <= {k for k, n in faulty.seen.items() if n > 0}, (
        f"every fault happened: {faulty.seen}"
    )
    with server.db.session() as s:
        on_server = {str(o) for o in s.exec(select(Order.id))}
        count = s.exec(select(func.count()).select_from(Order)).one()
        device = s.exec(select(Device)).one()
    assert count == ORDERS == len(on_server), "no order lost, none doubled"
    assert on_server == placed
    assert device.last_mutation_id == ORDERS
    status = sync_status(store, online=True)
    assert (status.pending_count, status.dead_count) == (0, 0)
