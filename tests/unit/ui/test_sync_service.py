"""The sync service the views call, against the real central server in process (its FastAPI
app on httpx.ASGITransport), seeded with a small demo distributor."""

from __future__ import annotations

import time

import httpx
import pytest

from app.store import Accounts, CartService, Catalog, Orders, OrderState, Store
from app.ui.state.syncbar import sync_bar
from app.ui.sync_service import SignInFailed, SyncService
from sync.engine import Backoff


def test_sign_in_download_place_and_send(device):
    store, sync = device
    seen: list[str] = []
    sync.on_progress(lambda p: seen.append(p.phase))
    downloads = []
    sync.on_progress(lambda p: downloads.append(p) if p.phase == "snapshot" else None)
    done: list[bool] = []
    sync.on_cycle_done(lambda outcome: done.append(outcome.ok))

    with pytest.raises(SignInFailed, match="wrong user name or password"):
        sync.sign_in("http://central", "rep1", "nope").result(timeout=30)
    assert sync.sign_in("http://central/", "rep1", "demo").result(timeout=30) == "rep1"
    first = sync.sync().result(timeout=60)
    assert first.ok and first.snapshot_records > 0
    assert "snapshot" in seen and done == [True]
    # the server said how many records the download holds; the bar ends full
    assert downloads[-1].total == downloads[-1].done == first.snapshot_records
    assert [p.section for p in downloads][:1] == ["warehouses"]
    assert sync.online
    view = sync_bar(store, online=sync.online)
    assert (view.status, view.pending, view.error) == ("Online", "Nothing waiting to send", None)

    account = Accounts(store).list_accounts()[0]
    cart = CartService(store)
    cart.set_account(account.id)
    hit = next(
        h
        for c in Catalog(store).categories()
        for h in Catalog(store).search("", category=c, account_id=account.id)
        if not h.product.discontinued
    )
    cart.add(hit.product.sku, 2)
    order_id = cart.place().order_id
    assert sync_bar(store, online=True).pending_count == 1
    second = sync.sync().result(timeout=60)
    assert second.ok and second.pushed == 1
    assert Orders(store).get(order_id).summary.state is not OrderState.PENDING
    assert sync_bar(store, online=True).pending == "Nothing waiting to send"


def test_a_supervisor_device_downloads_no_rep_cache(device):
    # The console works online against the server; a supervisor's device must not pull every
    # rep's orders into a local cache it never reads.
    store, sync = device
    assert sync.sign_in("http://central", "super", "demo").result(timeout=30) == "super"
    outcome = sync.sync().result(timeout=60)
    assert (outcome.ok, outcome.snapshot_records, outcome.pulled) == (True, 0, 0)
    assert Accounts(store).list_accounts() == []


def wait_until(condition, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def place_one(store: Store) -> None:
    account = Accounts(store).list_accounts()[0]
    cart = CartService(store)
    cart.set_account(account.id)
    sku = next(h.product.sku for h in Catalog(store).search("", category=Catalog(store).categories()[0])
               if not h.product.discontinued)  # fmt: skip
    cart.add(sku, 1)
    cart.place()


def test_the_background_loop_syncs_at_once_and_again_on_a_wake(device):
    store, sync = device
    cycles: list[bool] = []
    sync.on_cycle_done(lambda outcome: cycles.append(outcome.ok))
    assert sync.sign_in("http://central", "rep1", "demo").result(timeout=30) == "rep1"
    sync.start_auto(3600)  # the next tick is an hour away: only a wake() can send the order
    wait_until(lambda: cycles == [True])
    place_one(store)
    sync.wake()
    wait_until(lambda: sync_bar(store, online=True).pending_count == 0 and len(cycles) == 2)
    assert cycles == [True, True]


class PlaceDuringPull(httpx.AsyncBaseTransport):
    """The network to the central server; while the n-th pull is on its way (the push has
    read the outbox for the last time), the rep places an order and the UI calls wake()."""

    def __init__(self, app, store_of, sync_of, at_pull: int) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.store_of, self.sync_of = store_of, sync_of
        self.pulls, self.at_pull = 0, at_pull
        self.placed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/sync/pull":
            self.pulls += 1
            if self.pulls == self.at_pull:
                place_one(self.store_of())
                self.sync_of().wake()
                self.placed = True
        return await self.inner.handle_async_request(request)


def test_a_wake_while_a_cycle_runs_starts_another(tmp_path, central):
    # Its wake() must not be lost when that cycle ends, or the order waits for the next tick
    # (an hour here).
    store = Store.open(tmp_path / "device.db")
    network = PlaceDuringPull(central, lambda: store, lambda: sync, at_pull=1)
    sync = SyncService(store, device_name="test", transport=network)
    try:
        cycles: list[bool] = []
        sync.on_cycle_done(lambda outcome: cycles.append(outcome.ok))
        assert sync.sign_in("http://central", "rep1", "demo").result(timeout=30) == "rep1"
        sync.start_auto(3600)
        wait_until(lambda: network.placed and sync_bar(store, online=True).pending_count == 0)
        wait_until(lambda: len(cycles) >= 2)
        assert cycles[:2] == [True, True]
    finally:
        sync.close()
        store.close()


@pytest.mark.parametrize(
    ("reached", "offline", "expected"),
    [(True, 8.0, (60.0, 0.5)), (False, 0.5, (1.0, 1.0)), (False, 16.0, (20.0, 20.0))],
)
def test_background_pauses_double_while_offline_up_to_the_cap(reached, offline, expected):
    assert Backoff(base=0.5, cap=20.0).idle(reached, 60.0, offline) == expected


def test_a_restored_device_is_told_in_words_and_sends_what_it_holds(tmp_path, central):
    # The engine's note (renumbered changes of a device restored from an older copy) reaches
    # the views with the cycle's outcome, beside no error.
    import shutil

    path = tmp_path / "device.db"
    store = Store.open(path)
    sync = SyncService(store, device_name="test", transport=httpx.ASGITransport(app=central))
    try:
        sync.sign_in("http://central", "rep1", "demo").result(timeout=30)
        assert sync.sync().result(timeout=60).ok
        account = Accounts(store).list_accounts()[0]
        Accounts(store).update_contact(account.id, contact_name="Before the backup")
        sync.close()
        store.close()
        backup = tmp_path / "backup"
        backup.mkdir()
        for f in tmp_path.glob("device.db*"):
            shutil.copy(f, backup / f.name)
        store = Store.open(path)
        sync = SyncService(store, device_name="test", transport=httpx.ASGITransport(app=central))
        assert sync.sync().result(timeout=60).pushed == 1
        Accounts(store).update_contact(account.id, contact_name="After the backup")
        assert sync.sync().result(timeout=60).pushed == 1
        sync.close()
        store.close()
        for f in tmp_path.glob("device.db*"):
            f.unlink()
        for f in backup.iterdir():
            shutil.copy(f, tmp_path / f.name)
        store = Store.open(path)
        sync = SyncService(store, device_name="test", transport=httpx.ASGITransport(app=central))
        cart = CartService(store)
        cart.set_account(account.id)
        hit = next(
            h
            for c in Catalog(store).categories()
            for h in Catalog(store).search("", category=c, account_id=account.id)
            if not h.product.discontinued
        )
        cart.add(hit.product.sku, 1)
        order_id = cart.place().order_id  # mutation 2: spent on the second contact edit
        outcome = sync.sync().result(timeout=60)
        assert outcome.ok and outcome.error is None, outcome
        assert outcome.note and "restored from an older copy" in outcome.note
        assert Orders(store).get(order_id).summary.state is not OrderState.PENDING
    finally:
        sync.close()
        store.close()
