"""The rep's app as issue 14 found it, in a real Chromium: signing out and in again, a device
pointed at a server that does not know it, a contact edit that shows and goes at once, a cart
that shows its line after an order, an account page that lists each backorder once, and a
rejected order that says so and can be copied to a new cart. Pictures: build/screenshots/."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from app.store import Accounts, CartService, Store
from app.ui.state.accounts import AccountsState
from tests.e2e.conftest import (
    PHONE,
    SYNCED,
    Central,
    go,
    open_app,
    run_app,
    says,
    shot,
    type_into,
    wait_for_words,
)
from tests.e2e.world import device_store, pick_backorder_item, sync_device

pytestmark = pytest.mark.e2e
TALL = {"width": 1280, "height": 1800}


def store_then(folder, read):
    """Read the app's own device store beside the running app (SQLite allows a reader)."""
    store = Store.open(folder / "device" / "fieldsales.db")
    try:
        return read(store)
    finally:
        store.close()


def _open_account(page, name: str) -> None:
    type_into(page, "Search accounts", name)
    page.wait_for_timeout(500)
    _tap_until(
        page.get_by_role("button", name=f"Open {name}").first,
        page.get_by_role("button", name="Edit contact"),
    )


def _tap_until(button, shows) -> None:
    """A first tap can be spent on a list redrawn as the search ends, or on a tooltip."""
    for _ in range(3):
        button.click()
        try:
            shows.first.wait_for(timeout=5_000)
            return
        except PlaywrightTimeout:
            continue
    expect(shows.first).to_be_visible(timeout=10_000)


def _edit_phone(page, phone: str) -> None:
    page.get_by_role("button", name="Edit contact").click()
    type_into(page, "Phone", phone)
    page.get_by_role("button", name="Save").click()


def _press(page, name: str) -> None:
    """Click a dialog's button until the dialog goes: a first click can be spent closing the
    tooltip of the icon button that opened it."""
    button = page.get_by_role("button", name=name, exact=True)
    for _ in range(4):
        button.click()
        try:
            button.wait_for(state="detached", timeout=3_000)
            return
        except PlaywrightTimeout:
            continue
    raise AssertionError(f"the button {name!r} stays on screen")


def _sign_in(page, user: str) -> None:
    expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=30_000)
    type_into(page, "User name", user)
    type_into(page, "Password", "demo")
    page.get_by_role("button", name="Sign in").click()


def test_sign_out_unknown_token_and_a_contact_edit_that_goes_at_once(browser, tmp_path):
    # The device ran against one server; it is then pointed at another that never saw it.
    first = Central(tmp_path / "first", products=150)
    other = Central(tmp_path / "other", products=150)
    try:
        first.start()
        store = device_store(tmp_path)
        sync_device(store, first.url)
        store.close()
        first.stop()
        other.start()
        # An hour between background cycles: only a wake-up sends a change at once.
        with run_app(
            tmp_path, FIELDSALES_SERVER_URL=other.url, FIELDSALES_SYNC_EVERY="3600"
        ) as url:
            page = open_app(browser, url, PHONE)
            # 1. The first sync finds the token unknown: the sign-in screen, in words.
            expect(
                page.get_by_text(re.compile(r"did not accept this device's sign-in"))
            ).to_be_visible(timeout=60_000)
            expect(page.get_by_text(re.compile(r"unknown device token"))).to_be_visible()
            shot(page, "rep-unknown-token-phone")
            _sign_in(page, "rep1")
            wait_for_words(page, "sync-bar", SYNCED, timeout=90)
            # 2. Sync now comes back from "Syncing..." by itself.
            page.get_by_role("button", name="Sync now").click()
            wait_for_words(page, "sync-bar", SYNCED, timeout=60)
            expect(page.get_by_role("button", name="Sync now")).to_be_enabled(timeout=10_000)

            # 6. A contact edit online goes at once (the first cycle ran long ago: no tick
            # is near), and so does a second one (the wake-up once compared outbox counts).
            account = page.get_by_role("button", name=re.compile(r"^Open ")).first
            name = (account.get_attribute("aria-label") or "").removeprefix("Open ")
            _open_account(page, name)
            for phone in ("+1 555 0111", "+1 555 0122"):
                started = time.monotonic()
                _edit_phone(page, phone)
                wait_for_words(page, "account-contact", re.escape(phone))
                wait_for_words(page, "sync-bar", r"Online.*Nothing waiting to send", timeout=20)
                took = time.monotonic() - started
                assert took < 20, f"the edit waited {took:.0f} s"
                bar = says(page, "sync-bar") or ""
                assert "Sending orders" not in bar, bar

            # 5. Offline, Save shows the new contact at once, marked as waiting.
            other.stop()
            page.get_by_role("button", name="Sync now").click()
            wait_for_words(page, "sync-bar", r"^Offline", timeout=60)
            _edit_phone(page, "+1 555 0133")
            wait_for_words(
                page, "account-contact", r"\+1 555 0133.*\(your edit waits for the next sync\)"
            )
            shot(page, "rep-contact-waits-phone")

            # 1. Sign out is refused while the edit waits: the count, and Send now.
            page.get_by_role("button", name="Sign out").click()
            wait_for_words(page, "sign-out-words", r"^1 change made as rep1 is not sent yet")
            shot(page, "rep-sign-out-refused-phone")
            other.start()
            _press(page, "Send now")
            wait_for_words(page, "sync-bar", r"Online.*Nothing waiting to send", timeout=60)
            page.get_by_role("button", name="Sign out").click()
            wait_for_words(page, "sign-out-words", r"^Sign out rep1 on this device\?")
            _press(page, "Yes, sign out")
            # The sign-in screen; the supervisor's console is one sign-in away.
            _sign_in(page, "super")
            expect(page.get_by_text(re.compile(r"Review queue|review", re.I)).first).to_be_visible(
                timeout=60_000
            )
            shot(page, "rep-then-console-phone")
            page.close()
    finally:
        first.stop()
        other.stop()


def _reject(central: Central, order_id: str, note: str) -> None:
    supervisor = central.supervisor()
    try:
        order = supervisor.get(f"/supervisor/orders/{order_id}")
        assert order.status_code == 200, order.text
        version = order.json()["order"]["version"]
        decided = supervisor.post(
            f"/supervisor/orders/{order_id}/decision",
            json={"action": "reject", "note": note, "version": version},
        )
        assert decided.status_code == 200, decided.text
    finally:
        supervisor.close()


def _take_order_for(page, name: str) -> None:
    go(page, "Accounts")
    type_into(page, "Search accounts", name)
    page.wait_for_timeout(500)
    _tap_until(
        page.get_by_role("button", name="Take order").first,
        page.get_by_text(f"Catalog for {name}"),
    )


def _add(page, sku: str) -> None:
    type_into(page, "Search products", sku)
    add = page.get_by_role("button", name=f"Add {sku} to cart")
    expect(add).to_be_visible(timeout=15_000)
    add.click()
    page.wait_for_timeout(500)


def test_cart_after_an_order_backorders_once_and_a_rejected_order(browser, tmp_path):
    central = Central(tmp_path / "central", products=200)
    try:
        central.start()
        store = device_store(tmp_path)
        sync_device(store, central.url)
        pick = pick_backorder_item(store)
        others = [a for a in Accounts(store).list_accounts() if a.id != pick.account_id]
        other = next(a for a in others if not a.credit_hold and a.name != pick.account_name)
        # An order the supervisor rejects, with a note asking to re-order.
        cart = CartService(store)
        cart.set_account(other.id)
        cart.add(pick.sku, 2)
        rejected = cart.place().order_id
        sync_device(store, central.url, sign_in=False)
        _reject(central, rejected, "Split it: re-order the same lines next week")
        sync_device(store, central.url, sign_in=False)
        store.close()
        with run_app(tmp_path, FIELDSALES_EMBEDDED_SERVER="0", FIELDSALES_SYNC_EVERY="0") as url:
            page = open_app(browser, url, PHONE)
            wait_for_words(page, "sync-bar", r"Last sync", timeout=60)
            # 4. The account's page once before an order is placed.
            _open_account(page, pick.account_name)
            # 3. An order placed, Done; another account, one product, the Cart: its card shows.
            _take_order_for(page, pick.account_name)
            _add(page, pick.sku)
            go(page, "Cart")
            type_into(page, f"Quantity of {pick.sku}", str(pick.quantity))
            wait_for_words(page, f"line-words-{pick.sku}", "backorder")
            page.get_by_role("button", name="Place order").click()
            expect(page.get_by_text("Order placed in the outbox")).to_be_visible(timeout=10_000)
            page.get_by_role("button", name="Done").click()
            page.get_by_role("button", name="Sync now").click()
            wait_for_words(page, "sync-bar", SYNCED, timeout=60)
            _take_order_for(page, other.name)
            _add(page, pick.sku)
            go(page, "Cart")
            expect(page.get_by_label(f"Quantity of {pick.sku}", exact=True)).to_be_visible(
                timeout=10_000
            )
            expect(page.get_by_role("button", name=f"Remove {pick.sku}")).to_be_visible()
            shot(page, "rep-cart-after-order-phone")
            page.get_by_role("button", name=f"Remove {pick.sku}").click()
            # 4. The account reopened (a tall window: every row of the page is drawn): each
            # backordered line once, as many rows as the account's state has.
            page.set_viewport_size(TALL)
            page.wait_for_timeout(1500)
            go(page, "Accounts")
            _open_account(page, pick.account_name)
            page.wait_for_timeout(1000)
            rows = page.locator('[flt-semantics-identifier^="backorder-line-"]')
            shot(page, "rep-account-backorders-desktop")
            seen = store_then(tmp_path, lambda s: AccountsState(s).page(pick.account_id))
            assert seen.backorders, "the account has no backordered line to show"
            assert rows.count() == len(seen.backorders), (rows.count(), seen.backorders)
            texts = [
                " ".join((rows.nth(n).text_content() or "").split()) for n in range(rows.count())
            ]
            assert sorted(texts) == sorted(b.text for b in seen.backorders), texts
            page.set_viewport_size(PHONE)
            page.wait_for_timeout(1500)
            # 8. The rejected order: one story, nothing to cancel, a copy to a new cart.
            go(page, "Orders")
            page.get_by_role("checkbox", name=re.compile(r"^Needs attention")).click()
            page.wait_for_timeout(600)
            page.get_by_role(
                "button", name=re.compile(rf"^Open order {rejected[:8]}")
            ).first.click()
            said = wait_for_words(page, "order-verdict", r"Rejected by the supervisor: Split it")
            assert "Accepted" not in said and "Backordered" not in said, said
            line = wait_for_words(page, "order-line-1", r"Server confirmed")
            assert "cancelled, nothing ships" in line and "all now" not in line.split("Server")[1]
            expect(page.get_by_role("button", name="Cancel order")).to_have_count(0)
            shot(page, "rep-rejected-order-phone")
            page.get_by_role("button", name="Copy to a new cart").click()
            expect(page.get_by_role("heading", name=f"Cart for {other.name}")).to_be_visible(
                timeout=10_000
            )
            expect(page.get_by_label(f"Quantity of {pick.sku}", exact=True)).to_be_visible()
            wait_for_words(page, "plan-summary", r"^1 shipment")
            lines = store_then(
                tmp_path, lambda s: [(x.sku, x.quantity) for x in CartService(s).view().lines]
            )
            assert lines == [(pick.sku, 2)], lines
            shot(page, "rep-rejected-copied-phone")
            page.close()
    finally:
        central.stop()
