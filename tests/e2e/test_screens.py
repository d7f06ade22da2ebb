"""Every screen in a real Chromium, phone (390x844) and desktop (1280x800), light and dark,
over a scene made through the real server API: an order whose verdict differs from the
promise, a moved ETA, a conflicting contact edit, and a cart with every kind of line. The
pictures go to build/screenshots/ (docs/screenshots/ by `python -m tests.e2e.screens`). Also: signing in, with a wrong password first."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from app.domain.model import EtaKind, Label
from app.store import Accounts, CartService, Catalog, Orders, OrderState, Store
from app.ui.state.catalog import CatalogState
from tests.e2e.conftest import (
    DESKTOP,
    PHONE,
    SYNCED,
    Central,
    go,
    open_app,
    open_order,
    run_app,
    shot,
    type_into,
    wait_for_words,
)
from tests.e2e.world import Pick, device_store, pick_backorder_item, sync_device

pytestmark = pytest.mark.e2e


def _cart_lines(store: Store, account_id: str) -> list[str]:
    """SKUs for a cart that shows every kind of line: an estimated backorder, an item with no
    restock date, a discontinued one with alternatives."""
    catalog = Catalog(store)
    wanted: dict[str, str] = {}
    for category in catalog.categories():
        for hit in catalog.search("", category=category, account_id=account_id, limit=500):
            av, product = hit.availability, hit.product
            estimated = av.eta is not None and av.eta.kind is EtaKind.ESTIMATED
            if "estimated" not in wanted and av.label is Label.BACKORDERED and estimated:
                wanted["estimated"] = product.sku
            if "undated" not in wanted and av.label is Label.OUT_OF_STOCK:
                wanted["undated"] = product.sku
            if "discontinued" not in wanted and product.discontinued and product.alternatives:
                wanted["discontinued"] = product.sku
        if len(wanted) == 3:
            break
    return list(wanted.values())


def _busy_brand(store: Store, account_id: str) -> tuple[str, list[str]]:
    """A brand whose products show several kinds of availability chips, and the SKUs of its
    first rows (what the catalog shows when searched for it)."""
    state = CatalogState(store)
    state.cart.set_account(account_id)
    best, kinds, skus = "", 0, []
    brands = {
        h.product.brand
        for c in state.categories()
        for h in state.catalog.search("", category=c, limit=50)
    }
    for brand in sorted(brands)[:40]:
        state.set_query(brand)
        rows = state.search()[:8]
        found = len({r.chip.kind for r in rows})
        if found > kinds:
            best, kinds, skus = brand, found, [r.sku for r in rows]
    return best, skus


def _scene(tmp_path, central: Central) -> tuple[Pick, tuple[str, list[str]], str]:
    store = device_store(tmp_path)
    sync_device(store, central.url)
    pick = pick_backorder_item(store)
    supervisor = central.supervisor()
    try:
        # 1. An order promised with stock now, then the stock is counted down to nothing.
        cart = CartService(store)
        cart.set_account(pick.account_id)
        cart.add(pick.sku, pick.quantity)
        cart.place()
        counted = supervisor.post(
            "/warehouse/stock/count",
            json={"sku": pick.sku, "warehouse_id": int(pick.warehouse_id), "counted": 0},
        )
        assert counted.status_code == 200, counted.text
        # 2. A receipt that one of the rep's backorders waits for is a week late.
        waiting = [
            line
            for o in Orders(store).list_orders(OrderState.BACKORDERED)
            for line in Orders(store).get(o.id).lines
            if line.waiting and line.server and line.server.eta
        ]
        assert waiting, "the rep has no dated backorder line to delay"
        with store.read() as session:
            receipt = (
                session.connection()
                .exec_driver_sql(
                    "SELECT r.id, r.expected FROM receipt r JOIN order_line l ON l.sku = r.sku "
                    "WHERE r.status = 'scheduled' AND l.sku IN ({}) ORDER BY r.expected LIMIT 1".format(
                        ",".join("?" * len(waiting))
                    ),
                    tuple(line.sku for line in waiting),
                )
                .first()
            )
        assert receipt is not None, f"no scheduled receipt for {[li.sku for li in waiting]}"
        later = date.fromisoformat(str(receipt[1])[:10]) + timedelta(days=7)
        moved = supervisor.post(
            f"/warehouse/receipts/{receipt[0]}/delay", json={"expected": later.isoformat()}
        )
        assert moved.status_code == 200, moved.text
        assert moved.json()["allocation"]["eta_moves"], f"the delay moved no ETA: {moved.text}"
        # 3. The rep and a supervisor change the same phone number.
        account = Accounts(store).get(pick.account_id)
        Accounts(store).update_contact(pick.account_id, contact_phone="+1 555 0101")
        edited = supervisor.post(
            f"/supervisor/accounts/{pick.account_id}/contact",
            json={
                "base_version": account.contact_version,
                "changes": {"contact_phone": "+1 555 0199"},
            },
        )
        assert edited.status_code == 200, edited.text
    finally:
        supervisor.close()
    sync_device(store, central.url, sign_in=False)
    # 4. A cart with every kind of line, for the cart's pictures.
    cart = CartService(store)
    cart.set_account(pick.account_id)
    cart.add(pick.sku, 3)
    for sku in _cart_lines(store, pick.account_id):
        cart.add(sku, 4)
    brand = _busy_brand(store, pick.account_id)
    store.close()
    return pick, brand, account.name


def _tour(page, size: str, pick: Pick, brand: tuple[str, list[str]]) -> None:
    name, skus = brand
    page.get_by_role("button", name="Sync now").click()
    wait_for_words(page, "sync-bar", SYNCED, timeout=60)
    shot(page, f"accounts-{size}")
    type_into(page, "Search accounts", pick.account_name)
    page.wait_for_timeout(500)
    page.get_by_role("button", name=f"Open {pick.account_name}").first.click()
    expect(page.get_by_role("button", name="Edit contact")).to_be_visible(timeout=10_000)
    shot(page, f"account-{size}")
    go(page, "Catalog")
    type_into(page, "Search products", name)
    add = "|".join(re.escape(sku) for sku in skus)
    found = page.get_by_role("button", name=re.compile(rf"^Add ({add}) to cart$"))
    expect(found.first).to_be_visible(timeout=10_000)  # the brand's rows are in
    shot(page, f"catalog-{size}")
    go(page, "Cart")
    wait_for_words(page, f"line-words-{pick.sku}", r"backorder")
    shot(page, f"cart-{size}")
    go(page, "Orders")
    mine = re.compile(rf"^Open order \S+ for {re.escape(pick.account_name)}")
    expect(page.get_by_role("button", name=mine).first).to_be_visible(timeout=10_000)
    shot(page, f"orders-{size}")
    open_order(page, pick.account_name)
    wait_for_words(page, "order-state", "^Needs attention$")
    shot(page, f"order-{size}")
    go(page, "Updates")
    moved = page.get_by_role("button", name=re.compile(r"^Open the order of .*: .* -> "))
    expect(moved.first).to_be_visible(timeout=10_000)
    shot(page, f"updates-{size}")
    # Dark: one switch per session (switching back and forth quickly can leave Flutter's
    # theme animation behind the new mode).
    page.get_by_role("button", name=re.compile("Dark theme")).click()
    page.wait_for_timeout(800)
    go(page, "Cart")
    wait_for_words(page, f"line-words-{pick.sku}", r"backorder")
    shot(page, f"cart-{size}-dark")
    go(page, "Orders")
    open_order(page, pick.account_name)
    wait_for_words(page, "order-state", "^Needs attention$")
    shot(page, f"order-{size}-dark")


def test_every_screen_on_a_phone_and_a_desktop(browser, tmp_path):
    central = Central(tmp_path / "central")
    central.start()
    try:
        pick, brand, _name = _scene(tmp_path, central)
        with run_app(tmp_path, FIELDSALES_EMBEDDED_SERVER="0", FIELDSALES_SYNC_EVERY="0") as url:
            for size, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
                page = open_app(browser, url, viewport)
                _tour(page, size, pick, brand)
                page.close()
        # Signing in on a fresh device: a wrong password says so, the right one opens the data.
        with run_app(tmp_path / "fresh", FIELDSALES_SERVER_URL=central.url) as url:
            for size, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
                page = open_app(browser, url, viewport)
                expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=30_000)
                type_into(page, "User name", "rep1")
                type_into(page, "Password", "wrong")
                page.get_by_role("button", name="Sign in").click()
                expect(page.get_by_text(re.compile("wrong user name or password"))).to_be_visible(
                    timeout=20_000
                )
                shot(page, f"sign-in-{size}")
                page.close()
            page = open_app(browser, url, PHONE)
            type_into(page, "User name", "rep1")
            type_into(page, "Password", "demo")
            page.get_by_role("button", name="Sign in").click()
            wait_for_words(page, "sync-bar", SYNCED, timeout=60)
            expect(page.get_by_role("button", name="Take order").first).to_be_visible()
            page.close()
    finally:
        central.stop()
