"""The sync service the views call, against the real central server in process (its FastAPI
app on httpx.ASGITransport), seeded with a small demo distributor."""

from __future__ import annotations

import httpx
import pytest

from app.store import Accounts, CartService, Catalog, Orders, OrderState, Store
from app.ui.state.syncbar import sync_bar
from app.ui.sync_service import SignInFailed, SyncService


@pytest.fixture(scope="module")
def central(tmp_path_factory):
    from sync.server.app import create_app
    from sync.server.seed import seed_database
    from sync.server.settings import Settings

    url = f"sqlite:///{tmp_path_factory.mktemp('central') / 'server.db'}"
    app = create_app(Settings(database_url=url, seed_on_start=False))
    seed_database(app.state.db, app.state.settings, products=60, history=False)
    yield app
    app.state.db.dispose()


@pytest.fixture
def device(tmp_path, central):
    store = Store.open(tmp_path / "device.db")
    sync = SyncService(store, device_name="test", transport=httpx.ASGITransport(app=central))
    yield store, sync
    sync.close()
    store.close()


def test_sign_in_download_place_and_send(device):
    store, sync = device
    seen: list[str] = []
    sync.on_progress(lambda p: seen.append(p.phase))
    done: list[bool] = []
    sync.on_cycle_done(lambda outcome: done.append(outcome.ok))

    with pytest.raises(SignInFailed, match="wrong user name or password"):
        sync.sign_in("http://central", "rep1", "nope").result(timeout=30)
    assert sync.sign_in("http://central/", "rep1", "demo").result(timeout=30) == "rep1"
    first = sync.sync().result(timeout=60)
    assert first.ok and first.snapshot_records > 0
    assert "snapshot" in seen and done == [True]
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
