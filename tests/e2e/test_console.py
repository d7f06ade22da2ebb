"""The supervisor's console in a real Chromium against the Flet web UI.

A rep's device syncs an order that waits for stock; the supervisor signs in to the same app and
gets the console (the role comes from the server): reviews that order, meets a stale-version
refusal (someone put it on hold meanwhile) with the fresh state, approves it; previews a receipt
arriving early (first-come-first-served beside priority; the server allocates by priority) and
commits it, and the waiting order's ETA moves; the dashboard shows the demo year's metrics (the
backorder rate is checked against the server's database); with the server down, the queue says
so in words. Screenshots go to docs/screenshots/console-*.png.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect
from sqlmodel import col, select

from app.store import CartService, Store
from app.ui.console import fmt
from sync import protocol as p
from sync.engine import SyncEngine
from tests.e2e.conftest import (
    DESKTOP,
    PHONE,
    Central,
    by_id,
    go,
    open_app,
    run_app,
    says,
    shot,
    type_into,
    wait_for_words,
)

pytestmark = pytest.mark.e2e


class YearCentral(Central):
    """The demo distributor with a year of order history (for the dashboard's trends)."""

    def _seed(self, products: int) -> None:
        from sync.server.db import Database, make_engine
        from sync.server.migrate import upgrade
        from sync.server.seed import seed_database
        from sync.server.settings import Settings

        db = Database(make_engine(self.database_url))
        upgrade(db.engine)
        settings = Settings(database_url=self.database_url, seed_products=products)
        seed_database(db, settings, products=products, history=True)
        db.dispose()

    def database(self):
        from sync.server.db import Database, make_engine

        return Database(make_engine(self.database_url))


@contextlib.contextmanager
def _boss(central: Central) -> Iterator[httpx.Client]:
    """The demo supervisor over plain HTTP (Central.supervisor() is already open)."""
    client = central.supervisor()
    try:
        yield client
    finally:
        client.close()


@dataclass(frozen=True)
class Scene:
    sku: str
    early: int  # receipt due in 10 days (6 units)
    late: int  # receipt due in 20 days (10 units): 5 of them arrive now
    rep_order: str  # the order rep1's device synced (tier-3 account)
    rep_account: str
    rival_account: str  # rep2's tier-1 account: ranked first under priority


def _pick_item_and_accounts(central: YearCentral) -> tuple[str, int, int]:
    """An item nobody waits for in warehouse 1, with nothing reserved or scheduled there, and
    two warehouse-1 accounts: rep1's tier 3 and rep2's tier 1."""
    from sync.server.models import Account, OrderLine, Product, ScheduledReceipt, Stock, User

    db = central.database()
    try:
        with db.session() as s:
            busy = set(s.exec(select(OrderLine.sku).where(col(OrderLine.waiting) > 0)))
            busy |= set(
                s.exec(
                    select(ScheduledReceipt.sku).where(
                        ScheduledReceipt.warehouse_id == 1, ScheduledReceipt.status == "scheduled"
                    )
                )
            )
            sku = next(
                st.sku
                for st, product in s.exec(
                    select(Stock, Product)
                    .join(Product, col(Product.sku) == Stock.sku)
                    .where(Stock.warehouse_id == 1, Stock.reserved == 0)
                    .order_by(Stock.sku)
                )
                if not product.discontinued and st.sku not in busy
            )
            reps = {u.username: u.id for u in s.exec(select(User))}

            def account(rep: str, tier: int) -> int:
                return next(
                    a.id
                    for a in s.exec(select(Account).order_by(Account.id))
                    if a.rep_id == reps[rep] and a.tier == tier and a.warehouse_id == 1
                    and not a.credit_hold
                )  # fmt: skip

            return sku, account("rep1", 3), account("rep2", 1)
    finally:
        db.dispose()


def _scene(central: YearCentral, folder: Path) -> Scene:
    sku, mine, rival = _pick_item_and_accounts(central)
    today = date.today()
    with _boss(central) as boss:
        counted = boss.post("/warehouse/stock/count",
                            json={"sku": sku, "warehouse_id": 1, "counted": 0})  # fmt: skip
        assert counted.status_code == 200, counted.text
        ids = []
        for quantity, days, kind in ((6, 10, "confirmed"), (10, 20, "estimated")):
            made = boss.post(
                "/warehouse/receipts",
                json={"sku": sku, "warehouse_id": 1, "quantity": quantity,
                      "expected": (today + timedelta(days=days)).isoformat(), "kind": kind},
            )  # fmt: skip
            assert made.status_code == 201, made.text
            ids.append(made.json()["receipt"]["id"])

    # rep1's device: download, put 4 in the cart (none in stock: a backorder), sync it.
    (folder / "rep").mkdir(parents=True, exist_ok=True)
    store = Store.open(folder / "rep" / "fieldsales.db")

    async def rep_day() -> str:
        async with httpx.AsyncClient(timeout=60) as client:
            engine = SyncEngine(store, client, server_url=central.url)
            await engine.sign_in("rep1", "demo", device_name="rep1 phone")
            first = await engine.sync()
            assert first.ok, first.error
            cart = CartService(store)
            cart.set_account(str(mine))
            cart.add(sku, 4)
            placed = cart.place()
            report = await engine.sync()
            assert report.ok and report.pushed == 1, report
            return str(placed.order_id)

    try:
        with ThreadPoolExecutor(1) as pool:  # Playwright keeps a loop on this thread
            order_id = pool.submit(asyncio.run, rep_day()).result(timeout=180)
    finally:
        store.close()

    # rep2 then orders the same for a tier-1 account: under priority it ranks first.
    result = _push_as(central, "rep2", {
        "name": "place_order", "order_id": str(uuid.uuid4()), "account_id": rival,
        "lines": [{"sku": sku, "quantity": 4}],
    })  # fmt: skip
    assert result["status"] == "applied", result
    with _boss(central) as boss:
        names = {a: boss.get(f"/supervisor/orders?account_id={a}&limit=1").json()["items"][0]
                 ["account_name"] for a in (mine, rival)}  # fmt: skip
    return Scene(sku, ids[0], ids[1], order_id, names[mine], names[rival])


def _push_as(central: YearCentral, username: str, mutation: dict) -> dict:
    """One mutation from a new device of `username`, over HTTP; its result."""
    headers = {p.PROTOCOL_HEADER: str(p.PROTOCOL_VERSION)}
    with httpx.Client(base_url=central.url, headers=headers) as device:
        token = device.post("/auth/sign-in", json={"username": username, "password": "demo"})
        signed = token.json()
        device.headers["Authorization"] = f"Bearer {signed['token']}"
        stamped = {**mutation, "mutation_id": signed["last_mutation_id"] + 1,
                   "client_time": datetime.now(UTC).isoformat()}  # fmt: skip
        pushed = device.post(
            "/sync/push", json={"device_id": signed["device_id"], "mutations": [stamped]}
        )
        assert pushed.status_code == 200, pushed.text
        return pushed.json()["results"][0]


def _rep_cancels(central: YearCentral, order_id: str, *, base_version: int) -> None:
    """rep1 cancels the order from another device, as it stood at `base_version`."""
    cancel = {"name": "cancel_order", "order_id": order_id, "base_version": base_version}
    result = _push_as(central, "rep1", cancel)
    assert result["outcome"] == "rejected", result  # a decision came after that version


def _backorders_in_the_database(central: YearCentral, start: date, end: date):
    """(orders with a backordered line, orders, accounts with such an order) committed in
    [start, end), UTC days."""
    from sync.server.models import Order, OrderLine

    lo = datetime.combine(start, time(0), UTC)
    hi = datetime.combine(end, time(0), UTC)
    db = central.database()
    try:
        with db.session() as s:
            orders = dict(s.exec(select(Order.id, Order.account_id).where(
                Order.committed_at >= lo, Order.committed_at < hi)).all())  # fmt: skip
            short = set(s.exec(select(OrderLine.order_id).where(OrderLine.backordered > 0)))
    finally:
        db.dispose()
    backordered = short & set(orders)
    return len(backordered), len(orders), len({orders[o] for o in backordered})


def _eta_of(central: YearCentral, order_id: str) -> str:
    with _boss(central) as boss:
        line = boss.get(f"/supervisor/orders/{order_id}").json()["order"]["lines"][0]
    return fmt.eta(date.fromisoformat(line["eta"]), line["eta_kind"])


def test_supervisor_reviews_approves_receives_and_reads_the_dashboard(
    browser, tmp_path, monkeypatch
):
    monkeypatch.setenv("FIELDSALES_SERVER_ALLOCATION_POLICY", "priority")
    central = YearCentral(tmp_path / "central", products=400)
    central.start()
    try:
        scene = _scene(central, tmp_path)
        _console(browser, tmp_path, central, scene)
    finally:
        central.stop()


def _console(browser, tmp_path: Path, central: YearCentral, scene: Scene) -> None:
    env = {"FIELDSALES_EMBEDDED_SERVER": "0", "FIELDSALES_SYNC_EVERY": "0",
           "FIELDSALES_SERVER_URL": central.url}  # fmt: skip
    with run_app(tmp_path / "super", **env) as url:
        page = open_app(browser, url, DESKTOP)
        # The same app's sign-in; the server says "supervisor", the console opens.
        type_into(page, "User name", "super")
        type_into(page, "Password", "demo")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_text("Supervisor console")).to_be_visible(timeout=30_000)
        row = by_id(page, f"order-{scene.rep_order}")
        row.wait_for(timeout=30_000)
        said = wait_for_words(page, "view-review", r"Needs review \(\d+\)")
        assert re.search(rf"{re.escape(scene.rep_account)} · .* · has backorders", says(
            page, f"order-{scene.rep_order}") or ""), said  # fmt: skip
        # The shell's "signed in" note fades first: it would cover the picture.
        expect(page.get_by_text(re.compile("^Signed in as super"))).to_have_count(0, timeout=15_000)
        shot(page, "console-queue")

        # The order: its line waits, the ETA is the late receipt's (the rival ranks first).
        row.click()
        headline = wait_for_words(page, "order-headline", r"Needs review · version 1")
        assert "backordered" in headline
        eta = _eta_of(central, scene.rep_order)
        wait_for_words(
            page, "order-line-1", rf"4 x {scene.sku} · .*4 waiting, ETA {re.escape(eta)}"
        )

        # Someone puts it on hold meanwhile: this screen still shows version 1.
        with _boss(central) as other:
            held = other.post(
                f"/supervisor/orders/{scene.rep_order}/decision",
                json={"action": "hold", "note": "credit check", "version": 1},
            )
            assert held.status_code == 200, held.text  # fmt: skip
        type_into(page, "Decision note", "stock confirmed with purchasing")
        page.get_by_role("button", name="Approve").click()
        wait_for_words(page, "decision-message", r"someone changed this order.*on hold, version 2")
        wait_for_words(page, "order-headline", r"On hold · version 2")
        page.get_by_role("button", name="Approve").click()
        wait_for_words(page, "decision-message", r"Approved \(now version 3\)\. The rep sees it")
        wait_for_words(page, "order-headline", r"Approved · version 3")
        # rep1 had cancelled it offline, on version 1: the approval wins, the conflict is logged.
        _rep_cancels(central, scene.rep_order, base_version=1)

        # Incoming stock: 5 of the late receipt arrive now. Preview both policies, commit.
        page.get_by_role("button", name="Incoming stock").first.click()
        type_into(page, "Find a receipt (SKU or number)", scene.sku)
        # The list redraws as each key arrives: pick the receipt once it has settled.
        wait_for_words(page, f"receipt-{scene.late}", rf"Receipt {scene.late}: 10 x ")
        page.wait_for_timeout(500)
        by_id(page, f"receipt-{scene.late}").click()
        wait_for_words(page, f"receipt-{scene.late}", r"\(picked\)")
        type_into(page, "Units arrived", "5")
        page.get_by_role("button", name="Preview").click()
        fifo = wait_for_words(page, "preview-fifo", r"First come, first served: 2 lines get 5")
        prio = wait_for_words(page, "preview-priority", r"Priority \(the server's policy")
        assert "1 ETA moves" in fifo and "1 ETA moves" in prio
        # Priority serves the tier-1 rival in full, so the rep's order waits on for 3 units,
        # now from the early receipt; FIFO would have moved the rival's ETA instead.
        move = wait_for_words(page, "preview-priority-move-1", re.escape(scene.rep_account))
        assert re.search(
            rf"order {scene.rep_order[:8]} line 1: ETA from {re.escape(eta)} to ", move
        )
        assert scene.rival_account in (says(page, "preview-fifo-move-1") or "")
        shot(page, "console-receipt-preview")
        page.get_by_role("button", name="Commit: receive 5 units").click()
        result = wait_for_words(page, "result", r"Received 5 x")
        assert "1 ETA moves" in result
        new_eta = _eta_of(central, scene.rep_order)
        assert new_eta != eta
        wait_for_words(page, "result-move-1", rf"ETA from {re.escape(eta)} to {re.escape(new_eta)}")

        # The order itself now says the new date, and its history the move.
        page.get_by_role("button", name="Review queue").first.click()
        wait_for_words(page, "view-approved", r"Approved \([1-9]")  # the decision counts
        by_id(page, "view-approved").click()
        wait_for_words(page, f"order-{scene.rep_order}", r"Approved", 30)
        by_id(page, f"order-{scene.rep_order}").click()
        wait_for_words(page, "order-line-1", rf"3 waiting, ETA {re.escape(new_eta)}")
        shot(page, "console-order")

        # The dashboard: the demo year's figures, one checked against the database.
        page.get_by_role("button", name="Dashboard").first.click()
        words = wait_for_words(page, "metric-backorder_rate", r"Backorder rate: [\d.]+%", 60)
        end = date.today() + timedelta(days=1)
        short, total, accounts = _backorders_in_the_database(central, end - timedelta(days=28), end)
        assert total > 100, total
        figure = f"Backorder rate: {short / total * 100:.1f}% ({short:,} of {total:,} orders)"
        assert words.startswith(figure), (words, figure)
        # The promise cards: accuracy over the dated lines, padding beside it, the lines
        # promised with no date on their own, and the backordered lines customers cancelled.
        wait_for_words(
            page, "metric-promise_accuracy", r"Promise accuracy: [\d.]+% \([\d,]+ of [\d,]+ dated"
        )
        wait_for_words(
            page,
            "metric-padding_days",
            r"Padding \(promised minus actual wait\): [+-][\d.]+ days \(promised [\d.]+ days, "
            r"waited [\d.]+ days on average",
        )
        wait_for_words(page, "metric-undated_lines", r"Promised with no date: [\d,]+ lines? \(")
        wait_for_words(
            page, "metric-line_cancellation_rate", r"Backordered lines cancelled: [\d.]+% \("
        )
        wait_for_words(page, "accounts-affected", rf"most affected of {accounts:,} accounts", 30)
        wait_for_words(page, "top-items", r"lines backordered")
        shot(page, "console-dashboard")
        page.mouse.move(700, 500)
        page.mouse.wheel(0, 720)  # down to the items under their reorder point
        expect(page.get_by_role("columnheader", name="Safety stock")).to_be_visible()
        # A heading (Flutter's header semantics) names the section and its count.
        named = re.compile(r"Items under their reorder point \(\d+\)")
        expect(page.get_by_role("banner", name=named)).to_be_visible()
        # The conflict log of the period: the rep's cancel lost to the approval.
        cancel = rf"A rep's cancel of order {scene.rep_order[:8]} \(a decision won\)"
        wait_for_words(page, "conflicts", cancel + ": kept approved, lost cancelled", 30)
        shot(page, "console-dashboard-stock")

        # The metrics table as CSV: the path is shown (and offered as a download on the web).
        page.get_by_role("button", name="Export metrics CSV").click()
        said = wait_for_words(page, "export-path", r"metrics-.*\.csv")
        path = Path(re.search(r"(/\S+/metrics-\S+\.csv)", said).group(1))
        assert path.exists() and path.read_text().startswith("metric,period_start")
        page.get_by_role("button", name="Close").click()

        # The phone-sized queue.
        phone = open_app(browser, url, PHONE)
        wait_for_words(phone, "view-review", r"Needs review \(\d+\)", 60)
        phone.locator('[flt-semantics-identifier^="order-"]').first.wait_for(timeout=20_000)
        shot(phone, "console-queue-phone")
        go(phone, "Dashboard")  # a phone's navigation bar: tabs, not buttons
        wait_for_words(phone, "metric-backorder_rate", r"Backorder rate: [\d.]+%", 60)
        shot(phone, "console-dashboard-phone")
        phone.mouse.move(200, 500)
        phone.mouse.wheel(0, 1400)  # down to the promise cards
        wait_for_words(phone, "metric-padding_days", r"Padding")
        shot(phone, "console-dashboard-promises-phone")
        phone.close()

        # The server goes away: the queue says so in words and keeps what it showed.
        central.stop()
        page.get_by_role("button", name="Review queue").first.click()
        expect(page.get_by_text(re.compile(r"Could not load the orders: cannot reach the server"))
               ).to_be_visible(timeout=30_000)  # fmt: skip
        page.close()
    with contextlib.suppress(Exception):
        central.stop()
