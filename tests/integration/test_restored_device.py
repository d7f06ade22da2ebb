"""A device restored from an older copy of its database (a phone's backup put on a new phone)
numbers new changes with mutation ids the server already applied for others. Nothing may be
lost: the server tells a retry from a reuse, the device renumbers what it has not sent, and
every order arrives exactly once, with or without the rep signing in again."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlmodel import select

from app.store import CartService, Orders, OrderState, Store, sync_status
from sync.engine import Backoff, SyncEngine
from sync.server.models import Order
from tests.integration.conftest import START, URL, World, no_sleep


def order_for(store: Store, account: int, sku: str) -> str:
    cart = CartService(store)
    cart.set_account(str(account))
    cart.add(sku, 1)
    return cart.place().order_id


@pytest.mark.parametrize("sign_in_again", [False, True], ids=["as-is", "signed-in-again"])
async def test_a_restored_device_keeps_and_sends_every_order_once(
    world: World, asgi_client, tmp_path: Path, sign_in_again: bool
):
    world.user("rep1")
    account = world.account("rep1")
    world.product("P-1", on_hand=100)
    path = tmp_path / "device.db"

    def engine() -> SyncEngine:
        store = Store.open(path, clock=lambda: START)
        return SyncEngine(
            store, asgi_client, server_url=URL, sleep=no_sleep, backoff=Backoff(attempts=2)
        )

    device = engine()
    await device.sign_in("rep1", "demo")
    assert (await device.sync()).ok
    before = [order_for(device.store, account, "P-1") for _ in range(2)]
    device.store.close()
    backup = tmp_path / "backup"
    backup.mkdir()
    for f in tmp_path.glob("device.db*"):  # the database and its WAL, as a backup copies them
        shutil.copy(f, backup / f.name)

    device = engine()
    report = await device.sync()  # the two orders go (mutations 1, 2), then three more
    assert report.ok and report.pushed == 2, report
    sent_later = [order_for(device.store, account, "P-1") for _ in range(3)]
    assert (await device.sync()).ok
    device.store.close()

    for f in tmp_path.glob("device.db*"):  # restore the older copy
        f.unlink()
    for f in backup.iterdir():
        shutil.copy(f, tmp_path / f.name)
    device = engine()
    # The copy still holds mutations 1 and 2 unsent; new orders take ids 3.. the server spent.
    after = [order_for(device.store, account, "P-1") for _ in range(5)]
    if sign_in_again:
        await device.sign_in("rep1", "demo")
    report = await device.sync()
    assert report.ok, report.error
    assert report.renumbered >= 5 and report.note and "restored" in report.note
    assert sync_status(device.store, online=True).pending_count == 0

    with world.db.session() as s:
        on_server = [str(o.id) for o in s.exec(select(Order)).all()]
    everything = before + sent_later + after
    assert sorted(on_server) == sorted(everything)  # every order once, none lost
    orders = Orders(device.store)
    for order_id in before + after:
        assert orders.get(order_id).summary.state == OrderState.ACCEPTED, order_id
    # A later sync is quiet: nothing renumbered again, nothing pending.
    again = await device.sync()
    assert again.ok and again.renumbered == 0
    device.store.close()
