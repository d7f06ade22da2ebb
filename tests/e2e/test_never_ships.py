"""All at once with units no supply dates would never ship: the rep is asked before placing
(issue 14.9), can switch to ship as available in one tap, and then places the order.
Picture: cart-never-ships-phone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from app.domain.model import PolicyKind
from app.store import CartService
from tests.e2e.conftest import PHONE, Central, go, open_app, run_app, shot
from tests.e2e.world import device_store, pick_backorder_item, sync_device

pytestmark = pytest.mark.e2e


def test_all_at_once_that_would_never_ship_is_asked_before_placing(browser, tmp_path):
    central = Central(tmp_path / "central")
    central.start()
    try:
        store = device_store(tmp_path)
        sync_device(store, central.url)
        pick = pick_backorder_item(store)
        cart = CartService(store)
        cart.set_account(pick.account_id)
        cart.add(pick.sku, 50_000)  # far beyond any supply: units with no date
        cart.set_policy(PolicyKind.ALL_OR_NOTHING.value)
        store.close()
        central.stop()

        with run_app(tmp_path, FIELDSALES_EMBEDDED_SERVER="0", FIELDSALES_SYNC_EVERY="0") as url:
            page = open_app(browser, url, PHONE)
            page.get_by_role("tab", name=re.compile(r"\bCart\b")).first.wait_for(timeout=90_000)
            go(page, "Cart")
            page.get_by_role("button", name="Place order").click()
            expect(page.get_by_text("This order would never ship")).to_be_visible(timeout=10_000)
            expect(page.get_by_text(re.compile(r"have no restock date yet"))).to_be_visible()
            shot(page, "cart-never-ships-phone")
            page.get_by_role("button", name="Ship as available").click()
            expect(page.get_by_text("This order would never ship")).to_have_count(0)
            page.get_by_role("button", name="Place order").click()
            expect(page.get_by_text("Order placed in the outbox")).to_be_visible(timeout=10_000)
    finally:
        central.stop()
