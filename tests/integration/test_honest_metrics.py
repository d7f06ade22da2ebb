"""The supervisor's promise figures on the real server in process: a line promised with no date
is left out of promise accuracy and counted on its own even after it gets a date and ships; a
backordered line the customer cancels counts while the rest of its order goes on; the waits
promised and realised stand beside accuracy (padding)."""

from __future__ import annotations

from datetime import date

from sqlmodel import select

from sync.server.models import Order, OrderLine, Shipment
from tests.integration.conftest import days, sign_in


async def ship_what_is_ready(server, boss) -> None:
    with server.db.session() as s:
        ready = [x.id for x in s.exec(select(Shipment).where(Shipment.status == "ready"))]
    for shipment_id in ready:
        answer = await boss.post(f"/warehouse/shipments/{shipment_id}/ship")
        assert answer.status_code == 200, answer.text


async def promise_history(server, client, world, boss) -> date:
    """Day 0: N promised with no date (nothing scheduled), D dated (a receipt on day 6), C and
    A on one order, then C cancelled. Day 2: N's stock is scheduled and comes, D's comes four
    days early; everything ready ships. Returns D's first date."""
    world.user("rep1")
    account = world.account("rep1")
    rep = await sign_in(client, "rep1")
    for sku, on_hand in (("N", 0), ("D", 0), ("C", 0), ("A", 10)):
        world.product(sku, on_hand)
    dated = world.receipt("D", 10, days(6))
    world.receipt("C", 10, days(6))

    # Nothing scheduled for N: the cart showed no date, and the rep said so.
    no_date = {"label": "out_of_stock", "now": 0, "schedule": [[None, 2]], "ship": None}
    await rep.order(account, lines=[{"sku": "N", "quantity": 2, "promise": no_date}])
    await rep.order(account, ("D", 3))
    gave_up = await rep.order(account, ("C", 2), ("A", 1))
    answer = await rep.push({"name": "cancel_line", "order_id": gave_up["order_id"], "line_no": 1})
    assert answer["results"][0]["status"] == "applied", answer

    # N gets a date only later, and its stock comes; D's comes four days early.
    server.clock.advance(days=2)
    late = world.receipt("N", 10, days(3))
    for receipt in (late, dated):
        received = await boss.post(f"/warehouse/receipts/{receipt}/receive", {})
        assert received.status_code == 200, received.text
    await ship_what_is_ready(server, boss)
    with server.db.session() as s:
        first = s.exec(select(OrderLine).where(OrderLine.sku == "D")).one().first_eta_date
    assert first is not None and first >= days(6)
    return first


async def test_promise_figures_are_honest(server, client, world):
    world.user("boss", role="supervisor")
    boss = await sign_in(client, "boss")
    first = await promise_history(server, client, world, boss)
    with server.db.session() as s:
        lines = {li.sku: li for li in s.exec(select(OrderLine))}
        kept = s.get(Order, lines["C"].order_id)
    assert lines["N"].first_eta_date is None and lines["N"].shipped_at is not None
    assert lines["D"].first_eta_date == first and lines["D"].shipped_at is not None
    assert kept.status not in ("cancelled", "rejected") and lines["C"].cancelled == 2

    m = (
        await boss.get("/supervisor/metrics", start=days(0).isoformat(), end=days(1).isoformat())
    ).json()["metrics"]
    assert (m["backordered_orders"], m["backordered_lines"]) == (3, 3)
    # Accuracy is D's alone: N was promised no date, so no date it got later can score it.
    assert (m["shipped_lines"], m["on_time_lines"], m["promise_accuracy"]) == (1, 1, 1.0)
    assert (m["undated_lines"], m["shipped_without_eta"]) == (1, 1)
    # D: promised from day 0 to its first date, shipped on day 2.
    promised = (first - days(0)).days
    assert (m["promised_wait_days"], m["actual_wait_days"]) == (promised, 2)
    assert m["padding_days"] == promised - 2 > 0
    # The customer gave up on C and kept A: a cancelled backordered line, its order counted.
    assert (m["cancelled_backordered_lines"], m["line_cancellation_rate"]) == (1, 1 / 3)
    assert (m["cancelled_backordered_orders"], m["cancellation_rate"]) == (1, 1 / 3)
    ranked = (
        await boss.get(
            "/supervisor/accounts-affected", start=days(0).isoformat(), end=days(1).isoformat()
        )
    ).json()["items"]
    assert [(r["backordered_orders"], r["cancelled_backordered_orders"]) for r in ranked] == [
        (3, 1)
    ]
