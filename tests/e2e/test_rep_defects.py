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

from tests.e2e.conftest import (
    PHONE,
    SYNCED,
    Central,
    open_app,
    run_app,
    says,
    shot,
    type_into,
    wait_for_words,
)
from tests.e2e.world import device_store, sync_device

pytestmark = pytest.mark.e2e


def _open_account(page, name: str) -> None:
    type_into(page, "Search accounts", name)
    page.wait_for_timeout(500)
    edit = page.get_by_role("button", name="Edit contact")
    for _ in range(3):  # a first tap can be spent on the list redrawn as the search ends
        page.get_by_role("button", name=f"Open {name}").first.click()
        try:
            edit.wait_for(timeout=5_000)
            return
        except PlaywrightTimeout:
            continue
    expect(edit).to_be_visible(timeout=10_000)


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
