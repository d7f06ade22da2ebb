"""A change the server refuses stays in sight: the rep cancels an order a supervisor has just
approved (the device had not heard yet). A supervisor's decision wins over a rep's cancel based
on an older version: after the sync, the Updates screen lists the cancel with the server's
reason, the sync bar counts it, and the conflict shows what was kept and what lost.
Picture: updates-refused-phone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from app.store import CartService, Orders
from tests.e2e.conftest import PHONE, SYNCED, Central, go, open_app, run_app, shot, wait_for_words
from tests.e2e.world import device_store, pick_backorder_item, sync_device

pytestmark = pytest.mark.e2e


def test_a_refused_cancel_is_listed_with_the_servers_reason(browser, tmp_path):
    central = Central(tmp_path / "central")
    central.start()
    try:
        store = device_store(tmp_path)
        sync_device(store, central.url)
        pick = pick_backorder_item(store)
        cart = CartService(store)
        cart.set_account(pick.account_id)
        cart.add(pick.sku, 1)
        order_id = cart.place().order_id
        sync_device(store, central.url, sign_in=False)
        version = Orders(store).get(order_id).version
        supervisor = central.supervisor()  # decides before the device hears of it
        try:
            decided = supervisor.post(
                f"/supervisor/orders/{order_id}/decision",
                json={"action": "approve", "note": "stock confirmed", "version": version},
            )  # fmt: skip
            assert decided.status_code == 200, decided.text
        finally:
            supervisor.close()
        Orders(store).cancel(order_id, "the customer called it off")
        store.close()

        with run_app(tmp_path, FIELDSALES_EMBEDDED_SERVER="0", FIELDSALES_SYNC_EVERY="0") as url:
            page = open_app(browser, url, PHONE)
            page.get_by_role("button", name="Sync now").click()
            wait_for_words(page, "sync-bar", SYNCED + r".*1 change refused by the server", 60)
            go(page, "Updates")
            # The card reads as one group: what it was, the server's reason, when.
            what = f"Cancel of order {order_id[:8]} for {pick.account_name}"
            said = rf"^{re.escape(what)} not cancelled: a supervisor approved this order .* made just now$"
            expect(page.get_by_role("group", name=re.compile(said))).to_be_visible(timeout=10_000)
            # The conflict: the decision was kept, the cancel lost.
            lost = rf"{re.escape(what)} Kept \(supervisor's decision\) approved Lost cancelled"
            expect(page.get_by_role("group", name=re.compile(lost))).to_be_visible(timeout=10_000)
            shot(page, "updates-refused-phone")
            # Read: the rep dismisses it, and the sync bar stops counting it.
            page.get_by_role("button", name=f"Dismiss: {what}").click()
            wait_for_words(page, "sync-bar", r"Nothing waiting to send$")
            page.close()
    finally:
        central.stop()
