"""Purchasing in the supervisor's console, in a real Chromium against the Flet web UI.

The demo distributor with its year of supplier history: the supervisor turns the reorder advice
into draft purchase orders in one step, sends one, gives a date in the past (the server's words
appear at the date field) and then the supplier's real date, receives part of a line with the
rest due later; reads the supplier scorecards (suppliers that differ in how they deliver) and
the chase list of overdue supply. Screenshots (desktop and phone) go to
docs/screenshots/console-{purchasing,suppliers,overdue}*.png.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from datetime import date, timedelta

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import (
    DESKTOP,
    PHONE,
    by_id,
    go,
    open_app,
    run_app,
    shot,
    type_into,
    wait_for_words,
)
from tests.e2e.test_console import YearCentral

pytestmark = pytest.mark.e2e


@contextlib.contextmanager
def _boss(central: YearCentral) -> Iterator[httpx.Client]:
    """The demo supervisor over plain HTTP, patient: on a loaded machine the server's first
    minutes (its new day's re-dating) can hold a request for more than httpx's 5 s."""
    from sync import protocol as p

    with httpx.Client(
        base_url=central.url, timeout=120, headers={p.PROTOCOL_HEADER: str(p.PROTOCOL_VERSION)}
    ) as client:
        body = {"username": "super", "password": "demo", "device_name": "e2e"}
        answer = client.post("/auth/sign-in", json=body)
        answer.raise_for_status()
        client.headers["Authorization"] = f"Bearer {answer.json()['token']}"
        yield client


def test_supervisor_drafts_confirms_receives_and_reads_suppliers_and_overdue(browser, tmp_path):
    central = YearCentral(tmp_path / "central", products=400)
    central.start()
    try:
        with _boss(central) as boss:
            today = date.fromisoformat(boss.get("/sync/info").json()["today"])
            suppliers = boss.get("/supervisor/suppliers").json()
            overdue = boss.get("/warehouse/overdue").json()["items"]
        assert len(suppliers) == 5 and overdue  # the seed's year and its late supply
        env = {"FIELDSALES_EMBEDDED_SERVER": "0", "FIELDSALES_SYNC_EVERY": "0",
               "FIELDSALES_SERVER_URL": central.url}  # fmt: skip
        with run_app(tmp_path / "super", **env) as url:
            page = open_app(browser, url, DESKTOP)
            type_into(page, "User name", "super")
            type_into(page, "Password", "demo")
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_text("Supervisor console")).to_be_visible(timeout=30_000)
            expect(page.get_by_text(re.compile("^Signed in as super"))).to_have_count(
                0, timeout=15_000
            )
            go(page, "Purchasing")
            expect(page.get_by_role("heading", name="Purchase orders")).to_be_visible(
                timeout=20_000
            )
            wait_for_words(page, "po-count", r"^\d+ open purchase orders", 60)

            # The reorder advice becomes drafts in one step.
            page.get_by_role("button", name="Draft orders from reorder advice").click()
            said = wait_for_words(
                page, "po-message", r"\d+ draft orders? with \d+ lines? made from the reorder"
            )
            with _boss(central) as boss:
                drafts = boss.get(
                    "/warehouse/purchase-orders", params={"status": "draft", "limit": 100}
                ).json()
            assert drafts["total"] == int(re.match(r"(\d+) draft", said).group(1))
            draft = max(drafts["items"], key=lambda o: o["id"])
            assert all(line["status"] == "draft" for line in draft["lines"])
            by_id(page, f"po-{draft['id']}").click()
            wait_for_words(page, "po-detail", rf"PO {draft['id']} to .*: Draft")
            page.get_by_role("button", name="Send to supplier").click()
            wait_for_words(page, "po-message", rf"PO {draft['id']} sent to ")
            wait_for_words(page, "po-detail", rf"PO {draft['id']} to .*: Sent")

            # A date in the past: the server's words at the date field, nothing changes.
            past = (today - timedelta(days=3)).isoformat()
            type_into(page, "Supplier's date", past)
            page.get_by_role("button", name="Confirm", exact=True).click()
            wait_for_words(page, "po-message", rf"not confirmed: expected: {past} is in the past")
            # The field's error is the server's message exactly (the banner's has more words).
            expect(page.get_by_text(f"expected: {past} is in the past", exact=True)).to_be_visible()
            shot(page, "console-purchasing-refused")
            # The supplier's date.
            promised = today + timedelta(days=9)
            type_into(page, "Supplier's date", promised.isoformat())
            page.get_by_role("button", name="Confirm", exact=True).click()
            wait_for_words(page, "po-message", rf"PO {draft['id']} confirmed for ")
            wait_for_words(page, "po-detail", rf"PO {draft['id']} to .*: Confirmed")
            with _boss(central) as boss:
                po = boss.get(f"/warehouse/purchase-orders/{draft['id']}").json()
            assert po["status"] == "confirmed"
            assert {line["expected"] for line in po["lines"]} == {promised.isoformat()}

            # Part of the first line arrives; the rest is due a week later.
            line = po["lines"][0]
            part = max(1, line["quantity"] // 2)
            by_id(page, f"po-line-{line['id']}").get_by_role("button", name="Receive").click()
            type_into(page, "Units arrived", str(part))
            rest = (today + timedelta(days=16)).isoformat()
            type_into(page, "Rest due on", rest)
            page.get_by_role("button", name="Record receipt").click()
            wait_for_words(
                page, "po-message", rf"Line {line['id']}: {part} x {line['sku']} received; the rest"
            )
            wait_for_words(page, "po-detail", r": Partly received")
            with _boss(central) as boss:
                po = boss.get(f"/warehouse/purchase-orders/{draft['id']}").json()
            got = next(x for x in po["lines"] if x["id"] == line["id"])
            assert (got["received"], got["expected"], po["status"]) == (
                part, rest, "partly_received",
            )  # fmt: skip
            shot(page, "console-purchasing")

            # The scorecards: the suppliers differ in how they deliver.
            go(page, "Suppliers")
            rates = {}
            for s in suppliers:
                words = wait_for_words(page, f"supplier-{s['supplier']['id']}", r"% on time over")
                rates[s["supplier"]["name"]] = float(re.search(r": ([\d.]+)% on time", words)[1])
            assert max(rates.values()) - min(rates.values()) >= 25, rates
            shot(page, "console-suppliers")

            # The chase list: overdue receipts with the lines and accounts waiting on them.
            go(page, "Overdue")
            wait_for_words(page, "overdue-summary", r"\d+ receipts? overdue; \d+ customer line")
            rows = page.locator(
                '[flt-semantics-identifier^="overdue-"]:not([flt-semantics-identifier="overdue-summary"])'
            )
            rows.first.wait_for(timeout=20_000)
            first = rows.first.get_attribute("flt-semantics-identifier")
            said = wait_for_words(page, first, r"expected .*, \d+ days? late; ")
            assert int(first.split("-")[1]) in {o["receipt"]["id"] for o in overdue}, said
            shot(page, "console-overdue")

            # The same screens on a phone.
            phone = open_app(browser, url, PHONE)
            expect(phone.get_by_text("Supervisor console")).to_be_visible(timeout=30_000)
            go(phone, "Purchasing")
            wait_for_words(phone, "po-count", r"^\d+ open purchase orders", 60)
            shot(phone, "console-purchasing-phone")
            go(phone, "Suppliers")
            wait_for_words(phone, f"supplier-{suppliers[0]['supplier']['id']}", r"on time")
            shot(phone, "console-suppliers-phone")
            go(phone, "Overdue")
            wait_for_words(phone, "overdue-summary", r"overdue")
            shot(phone, "console-overdue-phone")
            phone.close()
            page.close()
    finally:
        central.stop()
