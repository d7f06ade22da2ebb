"""The sign-in screen as a screen reader (and a rep in a hurry) meets it: the password's eye is
a button with a name that says what it does, and it does it (issue 14.22)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PHONE, open_app, run_app, shot

pytestmark = pytest.mark.e2e


def test_the_password_eye_has_a_name_and_shows_the_password(browser, tmp_path):
    # A fresh device pointed at a server: the sign-in screen, nothing signed in yet.
    env = {"FIELDSALES_EMBEDDED_SERVER": "0", "FIELDSALES_SERVER_URL": "http://127.0.0.1:9"}
    with run_app(tmp_path, **env) as url:
        page = open_app(browser, url, PHONE)
        show = page.get_by_role("button", name="Show password")
        show.wait_for(timeout=90_000)
        page.get_by_role("textbox", name="Password").fill("demo")
        show.click()
        expect(page.get_by_role("button", name="Hide password")).to_be_visible(timeout=10_000)
        # what was typed is kept, now readable
        field = page.get_by_role("textbox", name="Password")
        expect(field).to_have_value("demo", timeout=10_000)
        expect(field).to_have_attribute("type", "text")
        shot(page, "signin-password-shown-phone")
        page.get_by_role("button", name="Hide password").click()
        expect(page.get_by_role("button", name="Show password")).to_be_visible(timeout=10_000)
