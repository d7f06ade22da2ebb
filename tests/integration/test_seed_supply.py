"""The demo's suppliers: item links on real terms, a year of receipts recorded the way live ones
are, suppliers that plainly differ in how they deliver (by the server's own scorecard), the open
receipts as purchase orders, and a slip history the dates learn from and the device receives."""

from __future__ import annotations

import shutil
from collections import Counter
from contextlib import asynccontextmanager
from datetime import timedelta

from sqlmodel import select

from app.domain.slip import Need, SlipBasis, promise_day
from sync.protocol import SnapshotPage
from sync.server.models import (
    ItemSupplier,
    PurchaseOrder,
    ReceiptDelivery,
    ReceiptPromise,
    ScheduledReceipt,
)
from sync.server.seed.generate import SeedConfig, generate
from sync.server.services import slips
from tests.integration.conftest import START, make_server

SMALL = {"products": 300, "accounts": 20, "history_weeks": 4}


def seed(database_url: str, **config):
    server = make_server(database_url)
    summary = generate(server.db, server.settings, SeedConfig(**(SMALL | config)), now=START)
    return server, summary


@asynccontextmanager
async def signed_in(server, username):
    async with server.client() as client:
        body = {"username": username, "password": "demo"}
        answer = await client.post("/auth/sign-in", json=body)
        assert answer.status_code == 200, answer.text
        client.headers["Authorization"] = f"Bearer {answer.json()['token']}"
        yield client


async def test_the_seeded_suppliers_differ_by_their_scorecards(database_url):
    server, summary = seed(database_url)
    try:
        async with signed_in(server, "super") as boss:
            answer = await boss.get("/supervisor/suppliers")
        assert answer.status_code == 200, answer.text
        cards = {s["supplier"]["name"]: s for s in answer.json()}
    finally:
        server.db.dispose()
    assert len(cards) == 5 and summary["receipts"] > 500
    for name, detail in cards.items():
        card, supplier = detail["scorecard"], detail["supplier"]
        assert supplier["contact_name"] and "@" in supplier["email"], name
        assert card["receipts"] >= 20, (name, card["receipts"])  # a year, every supplier
        assert len(card["trend"]) >= 10, name  # month by month
    rate = {name: d["scorecard"]["on_time_rate"] for name, d in cards.items()}
    fill = {name: d["scorecard"]["fill_rate"] for name, d in cards.items()}
    p90 = {name: d["scorecard"]["p90_slip_days"] for name, d in cards.items()}
    # Punctual ones, one that slips often, one that delivers part.
    assert rate["Northwind Foods"] >= 0.9 and rate["Globex Express"] >= 0.85, rate
    assert rate["Contoso Wholesale"] <= 0.75 and rate["Initech Trading"] <= 0.65, rate
    assert max(rate.values()) - min(rate.values()) >= 0.3, rate
    assert p90["Contoso Wholesale"] >= 4 and p90["Northwind Foods"] <= 1, p90
    # Parts: the rest mostly comes later (late), rarely never (under 5% of receipts, or no
    # date could be promised at 95%).
    assert fill["Fabrikam Imports"] < fill["Northwind Foods"] and min(fill.values()) > 0.95, fill


async def test_open_receipts_are_purchase_orders_and_the_history_teaches_the_dates(database_url):
    server, _ = seed(database_url)
    try:
        with server.db.session() as s:
            receipts = s.exec(select(ScheduledReceipt)).all()
            orders = {o.id: o for o in s.exec(select(PurchaseOrder))}
            links = s.exec(select(ItemSupplier)).all()
            promised = {p.receipt_id for p in s.exec(select(ReceiptPromise))}
            deliveries = s.exec(select(ReceiptDelivery)).all()
            history = slips.history(s)
        async with signed_in(server, "super") as boss:
            chase = (await boss.get("/warehouse/overdue")).json()["items"]
            listed = (await boss.get("/warehouse/purchase-orders", params={"limit": 5})).json()
        async with signed_in(server, "rep1") as rep:
            page = await rep.get(
                "/sync/snapshot", params={"section": "supplier_history", "limit": 100}
            )
    finally:
        server.db.dispose()
    # Every item has one primary; some have a backup; every link is on whole packs.
    roles = Counter((x.sku, x.role) for x in links)
    assert all(n == 1 for (_, role), n in roles.items() if role == "primary")
    assert any(x.role == "backup" for x in links)
    assert all(x.min_order_qty % x.pack_multiple == 0 for x in links)
    # Every open receipt is a line of a sent or confirmed order, with a promise to slip from.
    open_ = [r for r in receipts if r.status == "scheduled"]
    assert open_ and all(r.po_id in orders for r in open_)
    assert {orders[r.po_id].status for r in open_} == {"sent", "confirmed"}
    assert all(r.id in promised and r.ordered_on is not None for r in receipts)
    # The closed ones are closed orders, some closed short (a part that never came).
    closed = [r for r in receipts if r.status == "received"]
    assert all(orders[r.po_id].status == "received" and r.closed_at for r in closed)
    short = [r for r in closed if r.received < r.quantity]
    assert short and len(short) < 0.05 * len(closed)
    parts = Counter(d.receipt_id for d in deliveries)
    assert sum(n > 1 for n in parts.values()) > len(short)  # most parts: the rest came later
    # Some are overdue: the chase list has them.
    assert any(r.expected < START.date() for r in open_) and chase
    assert listed["total"] == len(orders) and len(listed["items"]) == 5
    # The slip book learns from every supplier's history, and the device receives it.
    assert {k for k, curves in history.items() if curves} == {1, 2, 3, 4, 5}
    assert all(len(history[k]) >= 20 for k in range(1, 6))
    # ...and every supplier's (and the pool's) whole receipt can be promised at 95%, the later
    # the less reliable the supplier: the history is no wall of "no date".
    book = slips.book_of(history)
    today = START.date()
    due = today + timedelta(days=10)
    for basis in (SlipBasis.CONFIRMED, SlipBasis.ESTIMATED):
        days = {}
        for supplier in (None, "1", "2", "3", "4", "5"):
            need = Need(book.distribution(supplier, None, basis), due, 1.0)
            day = promise_day([need], today=today, confidence=0.95).day
            assert day is not None, (supplier, basis)
            days[supplier] = (day - due).days
        assert days["1"] < days["2"] and days["4"] < days["5"], (basis, days)
    assert page.status_code == 200, page.text
    snapshot = SnapshotPage.model_validate(page.json())
    curves = {r["supplier_id"]: r["curves"] for r in snapshot.records()}
    assert all(len(curves[k]) >= 20 for k in range(1, 6)), {k: len(v) for k, v in curves.items()}
    assert {c[1] for k in range(1, 6) for c in curves[k]} == {"estimated", "confirmed", "moved"}


def copy(template, target):
    shutil.copy(template, target)
    return f"sqlite:///{target}"


async def test_the_seed_is_deterministic_with_its_suppliers(sqlite_template, tmp_path):
    first, one = seed(copy(sqlite_template, tmp_path / "one.db"))
    try:
        with first.db.session() as s:
            a = [
                (r.id, r.sku, r.quantity, r.expected, r.received, r.status, r.po_id)
                for r in s.exec(select(ScheduledReceipt).order_by(ScheduledReceipt.id))
            ]
    finally:
        first.db.dispose()
    second, two = seed(copy(sqlite_template, tmp_path / "two.db"))
    try:
        with second.db.session() as s:
            b = [
                (r.id, r.sku, r.quantity, r.expected, r.received, r.status, r.po_id)
                for r in s.exec(select(ScheduledReceipt).order_by(ScheduledReceipt.id))
            ]
    finally:
        second.db.dispose()
    assert a == b and one["purchase_orders"] == two["purchase_orders"]
