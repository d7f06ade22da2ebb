"""The README's run command serves a working app: the embedded demo server, signed in."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PHONE, SYNCED, open_app, run_app, shot, wait_for_words

pytestmark = pytest.mark.e2e


def test_python_m_app_opens_signed_in_with_demo_data(browser, tmp_path):
    # A smaller demo catalog than the default 2,000 products keeps this test quick.
    with run_app(tmp_path, FIELDSALES_SERVER_SEED_PRODUCTS="300") as url:
        _opens(browser, url)


def _opens(browser, url: str) -> None:
    page = open_app(browser, url, PHONE)
    expect(page.get_by_text("Field Sales", exact=True).first).to_be_visible(timeout=30_000)
    wait_for_words(page, "sync-bar", SYNCED, timeout=60)
    expect(page.get_by_role("button", name="Take order").first).to_be_visible(timeout=10_000)
    shot(page, "start-phone")  # the README's first picture
    page.close()
