"""The rep's day with no signal, in a real Chromium against the Flet web UI.

The device signs in and downloads its data while the central server is up; the server goes down.
Offline, the rep builds an order for an item with too little stock, sees the backorder label with
its ETA and the shipment plan, and submits it into the outbox. While the device is away, the
warehouse counts the item's stock down to nothing. The server comes back, the order syncs, and
its verdict (everything backordered) shows beside what the rep promised until acknowledged.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import (
    PHONE,
    Central,
    go,
    open_app,
    open_order,
    run_app,
    shot,
    type_into,
    wait_for_words,
)
from tests.e2e.world import device_store, pick_backorder_item, sync_device

pytestmark = pytest.mark.e2e


def test_offline_order_backorder_verdict_and_acknowledge(browser, tmp_path):
    central = Central(tmp_path / "central")
    try:
        central.start()
        store = device_store(tmp_path)
        sync_device(store, central.url)
        pick = pick_backorder_item(store)
        store.close()
        central.stop()  # no signal from here on

        with run_app(tmp_path, FIELDSALES_EMBEDDED_SERVER="0", FIELDSALES_SYNC_EVERY="0") as url:
            page = open_app(browser, url, PHONE)
            wait_for_words(page, "sync-bar", r"Offline.*Last sync", timeout=60)

            # The account, then the catalog: search as you type, the chip says how many are left.
            page.get_by_role("button", name=re.compile("Take order")).first.wait_for(timeout=20_000)
            type_into(page, "Search accounts", pick.account_name)
            page.wait_for_timeout(500)
            page.get_by_role("button", name="Take order").first.click()
            expect(page.get_by_text(f"Catalog for {pick.account_name}")).to_be_visible(
                timeout=20_000
            )
            type_into(page, "Search products", pick.sku)
            wait_for_words(page, f"chip-{pick.sku}", r"(Low stock|In stock) \(\d+\)")
            shot(page, "flow-1-catalog-offline-phone")
            page.get_by_role("button", name=f"Add {pick.sku} to cart").click()

            # The cart: type the quantity; the line re-labels and the plan shows two shipments.
            go(page, "Cart")
            type_into(page, f"Quantity of {pick.sku}", str(pick.quantity))
            said = wait_for_words(page, f"line-words-{pick.sku}", re.escape(pick.words))
            assert re.search(rf"{pick.now} now, 5 on backorder, ETA ", said)
            wait_for_words(page, f"line-chip-{pick.sku}", "Partly in stock")
            wait_for_words(page, "plan-summary", r"^2 shipments")
            wait_for_words(page, "plan-step-1", rf"Shipment 1: .* {pick.now} units")
            wait_for_words(page, "plan-step-2", r"Shipment 2: .* 5 units")
            shot(page, "flow-2-cart-backorder-phone")

            page.get_by_role("button", name="Place order").click()
            expect(page.get_by_text("Order placed in the outbox")).to_be_visible(timeout=10_000)
            expect(page.get_by_text(re.compile(re.escape(pick.words)))).to_be_visible()
            shot(page, "flow-3-order-placed-phone")
            page.get_by_role("button", name="Done").click()
            wait_for_words(page, "sync-bar", r"Offline.*1 change waiting")

            # Syncing with no server says why in words and keeps the order.
            page.get_by_role("button", name="Sync now").click()
            wait_for_words(page, "sync-bar", r"Last error: cannot reach the server", timeout=40)
            go(page, "Orders")
            expect(page.get_by_role("checkbox", name="Pending in outbox (1)")).to_be_checked()
            shot(page, "flow-4-outbox-pending-phone")

            # Meanwhile the warehouse counts the item down to nothing; then the device reconnects.
            central.start()
            supervisor = central.supervisor()
            try:
                counted = supervisor.post(
                    "/warehouse/stock/count",
                    json={"sku": pick.sku, "warehouse_id": int(pick.warehouse_id), "counted": 0},
                )
                assert counted.status_code == 200, counted.text
            finally:
                supervisor.close()
            page.get_by_role("button", name="Sync now").click()
            wait_for_words(page, "sync-bar", r"Online.*Nothing waiting to send", timeout=60)

            # The verdict differs from the promise: side by side, line by line, until acknowledged.
            expect(page.get_by_role("checkbox", name="Needs attention (1)")).to_be_checked(
                timeout=20_000
            )
            open_order(page, pick.account_name)
            line = wait_for_words(page, "order-line-1", "Server confirmed")
            assert re.search(rf"You promised {pick.now} now, 5 on backorder, ETA", line), line
            assert re.search(rf"Server confirmed {pick.quantity} on backorder, ETA", line), line
            wait_for_words(
                page, "attention-banner", rf"differs from what you promised.*line 1 .*{pick.sku}"
            )
            wait_for_words(page, "order-state", "^Needs attention$")
            shot(page, "flow-5-verdict-differs-phone")
            page.get_by_role("button", name="Acknowledge").click()
            wait_for_words(page, "order-state", "^Backordered$")
            expect(page.get_by_role("button", name="Acknowledge")).to_have_count(0)
            page.close()
    finally:
        central.stop()  # also when a step fails: no server left behind
