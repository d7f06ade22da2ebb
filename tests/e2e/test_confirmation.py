"""The customer's confirmation from the rep's order screen, offline: a backordered order placed
with no signal shows what the customer was told on each line, and "Customer confirmation (PDF)"
hands the browser a PDF that says it (read back with pypdf). Picture: order-confirmation-phone."""

from __future__ import annotations

import io
import re

import pypdf
import pytest
from playwright.sync_api import expect

from app.store import CartService
from tests.e2e.conftest import PHONE, Central, go, open_app, run_app, shot, wait_for_words
from tests.e2e.world import device_store, pick_backorder_item, sync_device

pytestmark = pytest.mark.e2e


def test_the_customer_gets_a_pdf_of_what_the_rep_promised(browser, tmp_path):
    central = Central(tmp_path / "central")
    central.start()
    try:
        store = device_store(tmp_path)
        sync_device(store, central.url)
        pick = pick_backorder_item(store)
        cart = CartService(store)
        cart.set_account(pick.account_id)
        cart.add(pick.sku, pick.quantity)  # some of it backordered
        order_id = cart.place().order_id  # no sync: it waits in the outbox
        store.close()
        central.stop()  # no signal at all from here

        with run_app(tmp_path, FIELDSALES_EMBEDDED_SERVER="0", FIELDSALES_SYNC_EVERY="0") as url:
            page = open_app(browser, url, PHONE)
            # a loaded machine can take long to draw the first screen
            nav = page.get_by_role("tab", name=re.compile(r"\bOrders\b")).first
            nav.wait_for(timeout=90_000)
            go(page, "Orders")
            page.get_by_role(
                "button", name=re.compile(rf"^Open order {order_id[:8]}")
            ).first.click()
            line = wait_for_words(page, "order-line-1", r"Customer told:")
            assert re.search(r"Customer told: (~?\d+ \w+|no date yet)", line), line
            shot(page, "order-confirmation-phone")
            with page.expect_download(timeout=30_000) as caught:
                page.get_by_role("button", name="Customer confirmation (PDF)").click()
            download = caught.value
            assert download.suggested_filename == f"order-{order_id[:8].upper()}.pdf"
            pdf = pypdf.PdfReader(io.BytesIO(download.path().read_bytes()))
            text = " ".join(pdf.pages[0].extract_text().split())
            assert pick.account_name in text and "backordered" in text, text
            assert "the warehouse confirms it when it is sent" in text
            expect(page.get_by_text(re.compile("Could not save"))).to_have_count(0)
    finally:
        central.stop()
