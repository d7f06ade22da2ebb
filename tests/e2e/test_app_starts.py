"""The README's run command serves a window that a browser renders."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import enable_semantics

pytestmark = pytest.mark.e2e

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def test_app_serves_its_first_screen(browser, app_server):
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(app_server)
    page.wait_for_selector("flt-semantics-placeholder", state="attached", timeout=30_000)
    enable_semantics(page)
    expect(page.get_by_text("Field Sales", exact=True)).to_be_visible(timeout=30_000)
    page.wait_for_timeout(1500)  # let Flutter paint the frame the semantics tree describes
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "start-phone.png"))
