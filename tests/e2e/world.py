"""Setting the scene for browser tests through the real pieces: the device's store and sync
engine against the central server's HTTP API (the rep's app itself is then started on it)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx

from app.domain.model import Label
from app.store import Accounts, Catalog, Store
from app.ui.state.labels import line_words
from sync.engine import SyncEngine


@dataclass(frozen=True)
class Pick:
    account_id: str
    account_name: str
    warehouse_id: str
    sku: str
    quantity: int  # what the rep orders: 5 more than ships now
    now: int
    words: str  # the line's label as the device computes it: "3 now, 5 on backorder, ETA .."


def device_store(folder: Path) -> Store:
    """The store where `run_app(folder)` will find it."""
    (folder / "device").mkdir(parents=True, exist_ok=True)
    return Store.open(folder / "device" / "fieldsales.db")


def sync_device(store: Store, url: str, *, sign_in: bool = True) -> None:
    """Sign in as rep1 (once) and run one sync cycle, as the app would."""

    async def cycle() -> None:
        async with httpx.AsyncClient(timeout=30) as client:
            engine = SyncEngine(store, client, server_url=url)
            if sign_in:
                await engine.sign_in("rep1", "demo", device_name="e2e phone")
            report = await engine.sync()
            assert report.ok, report.error

    # Playwright's sync API keeps an event loop on this thread: run the engine on its own.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, cycle()).result(timeout=120)


def pick_backorder_item(store: Store) -> Pick:
    """An item with a little stock now and a scheduled receipt, for one of the rep's accounts:
    ordering 5 more than ships now gives "n now, 5 on backorder, ETA <date>"."""
    catalog = Catalog(store)
    for account in Accounts(store).list_accounts():
        if account.credit_hold:
            continue
        for category in catalog.categories():
            for hit in catalog.search("", category=category, account_id=account.id, limit=500):
                sku = hit.product.sku
                if hit.availability.label is not Label.IN_STOCK or hit.product.discontinued:
                    continue
                big = catalog.availability(sku, 500, account_id=account.id)
                if not 1 <= big.now <= 40 or not big.dated:
                    continue
                quantity = big.now + 5
                av = catalog.availability(sku, quantity, account_id=account.id)
                if av.label is Label.PARTIAL and av.eta is not None and not av.undated:
                    return Pick(account.id, account.name, account.warehouse_id, sku,
                                quantity, av.now, line_words(av))  # fmt: skip
    raise AssertionError("the demo data has no item with a little stock and a receipt")
