"""Receipts allocate to the waiting queue and re-date what is behind; delays and cancellations
move ETAs; counts correct on-hand; only ready shipments ship."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import select

from sync.server.models import (
    AllocationRecord,
    EtaChangeEvent,
    Order,
    OrderLine,
    ScheduledReceipt,
    Shipment,
)
from tests.integration.conftest import days, sign_in


@dataclass
class Queue:
    rep: Any
    boss: Any
    orders: list[dict]
    first: int
    second: int


async def setup_queue(client, world) -> Queue:
    """A: 0 on hand, receipts of 4 on day 5 and 6 on day 12; three orders of 4 wait in line."""
    world.user("rep1")
    world.user("boss", role="supervisor")
    account = world.account("rep1")
    aon = world.account("rep1", policy="all_or_nothing")
    world.product("A", 0)
    world.product("B", 10)
    first = world.receipt("A", 4, days(5))
    second = world.receipt("A", 6, days(12))
    rep = await sign_in(client, "rep1")
    boss = await sign_in(client, "boss")
    orders = [
        await rep.order(account, ("A", 4)),
        await rep.order(aon, ("A", 4), ("B", 1)),
        await rep.order(account, ("A", 4)),
    ]
    return Queue(rep, boss, orders, first, second)


async def test_receiving_allocates_in_queue_order_and_re_dates_the_rest(server, client, world):
    q = await setup_queue(client, world)
    rep, boss, orders, first, second = q.rep, q.boss, q.orders, q.first, q.second  # noqa: F841
    etas = [o["lines"][0]["eta"] for o in orders]
    assert etas == [days(5).isoformat(), days(12).isoformat(), None]
    cursor = (await rep.get("/sync/pull", cursor=0)).json()["cursor"]
    response = await boss.post(f"/warehouse/receipts/{second}/receive", {"quantity": 6})
    assert response.status_code == 200, response.text
    result = response.json()
    allocated = [
        (a["order_id"], a["quantity"], a["fills_line"]) for a in result["allocation"]["allocations"]
    ]
    assert allocated == [(orders[0]["order_id"], 4, True), (orders[1]["order_id"], 2, False)]
    moves = {m["order_id"]: (m["old"], m["new"]) for m in result["allocation"]["eta_moves"]}
    # The second order's remaining 2 now come from the day-5 receipt; the third is still
    # short of 2 units that nothing covers, so it stays undated.
    assert moves == {orders[1]["order_id"]: (days(12).isoformat(), days(5).isoformat())}
    assert result["stock"] == {"sku": "A", "warehouse_id": 1, "on_hand": 6, "reserved": 6}
    with server.db.session() as s:
        records = s.exec(select(AllocationRecord)).all()
        assert {(r.receipt_id, r.quantity) for r in records} == {(second, 4), (second, 2)}
        ready = s.exec(select(Shipment).where(Shipment.status == "ready")).all()
        # Ship-as-available ships at once; the all-or-nothing order holds its 2 units back.
        assert [str(r.order_id) for r in ready] == [orders[0]["order_id"]]
    pulled = (await rep.get("/sync/pull", cursor=cursor)).json()["changes"]
    kinds = {c["entity"] for c in pulled}
    assert {"stock", "receipt", "order", "eta_change", "queue_entry"} <= kinds
    gone = [c for c in pulled if c["entity"] == "queue_entry" and c["op"] == "delete"]
    assert len(gone) == 1  # the filled line left the queue: a tombstone


async def test_a_delay_and_a_cancellation_move_etas_with_events(server, client, world):
    q = await setup_queue(client, world)
    rep, boss, orders, first, second = q.rep, q.boss, q.orders, q.first, q.second  # noqa: F841
    delayed = await boss.post(
        f"/warehouse/receipts/{first}/delay", {"expected": days(8).isoformat(), "kind": "estimated"}
    )
    assert delayed.status_code == 200
    moves = delayed.json()["allocation"]["eta_moves"]
    assert [(m["old"], m["new"], m["new_kind"]) for m in moves] == [
        (days(5).isoformat(), days(8).isoformat(), "estimated")
    ]
    assert "ETA moved from" in moves[0]["message"]
    cancelled = await boss.post(f"/warehouse/receipts/{second}/cancel")
    assert cancelled.status_code == 200
    moves = cancelled.json()["allocation"]["eta_moves"]
    assert [(m["old"], m["new"]) for m in moves] == [(days(12).isoformat(), None)]
    again = await boss.post(f"/warehouse/receipts/{second}/cancel")
    assert again.status_code == 409 and "already cancelled" in again.json()["detail"]
    with server.db.session() as s:
        events = s.exec(select(EtaChangeEvent).order_by(EtaChangeEvent.id)).all()
        # The customer's dates: the delay moves the first order; the cancellation leaves the
        # all-or-nothing order with no date, its in-stock line B too (it ships with A or not).
        assert [(str(e.order_id), e.sku, e.old_date, e.new_date) for e in events] == [
            (orders[0]["order_id"], "A", days(5), days(8)),
            (orders[1]["order_id"], "A", days(12), None),
            (orders[1]["order_id"], "B", days(12), None),
        ]


async def test_a_new_receipt_dates_undated_lines(client, world):
    q = await setup_queue(client, world)
    rep, boss, orders, first, second = q.rep, q.boss, q.orders, q.first, q.second  # noqa: F841
    body = {"sku": "A", "warehouse_id": 1, "quantity": 4, "expected": days(20).isoformat()}
    response = await boss.post("/warehouse/receipts", body)
    assert response.status_code == 201, response.text
    moves = response.json()["allocation"]["eta_moves"]
    assert [(m["order_id"], m["new"]) for m in moves] == [
        (orders[2]["order_id"], days(20).isoformat())
    ]


async def test_receiving_more_than_remains_or_unknown_receipts_is_refused(client, world):
    q = await setup_queue(client, world)
    rep, boss, orders, first, second = q.rep, q.boss, q.orders, q.first, q.second  # noqa: F841
    too_many = await boss.post(f"/warehouse/receipts/{first}/receive", {"quantity": 5})
    # Bad input, not a race: a 422 naming the field, and nothing received.
    assert too_many.status_code == 422 and "quantity" in too_many.json()["detail"]
    unknown = await boss.post("/warehouse/receipts/9999/receive", {"quantity": 1})
    assert unknown.status_code == 404 and "receipt_id 9999" in unknown.json()["detail"]
    assert (await rep.post(f"/warehouse/receipts/{first}/receive", {})).status_code == 403


async def test_a_count_below_reservations_takes_units_back_from_the_newest(server, client, world):
    world.user("rep1")
    world.user("boss", role="supervisor")
    account = world.account("rep1")
    world.product("A", 6)
    world.receipt("A", 10, days(9))
    rep = await sign_in(client, "rep1")
    boss = await sign_in(client, "boss")
    old = await rep.order(account, ("A", 3))
    new = await rep.order(account, ("A", 3))
    response = await boss.post(
        "/warehouse/stock/count", {"sku": "A", "warehouse_id": 1, "counted": 4}
    )
    assert response.status_code == 200, response.text
    assert response.json()["stock"] == {"sku": "A", "warehouse_id": 1, "on_hand": 4, "reserved": 4}
    with server.db.session() as s:
        events = s.exec(select(EtaChangeEvent)).all()
    assert [(str(e.order_id), e.old_date, e.new_date) for e in events] == [
        (new["order_id"], days(0), days(9))
    ]
    assert old["lines"][0]["reserved"] == 3  # (when placed)
    # After the count: the older order still holds its 3 units; the newer one gave 2 back.
    with server.db.session() as s:
        held = {
            str(line.order_id): (line.allocated - line.shipped, line.waiting)
            for line in s.exec(select(OrderLine).where(OrderLine.sku == "A"))
        }
    assert held == {old["order_id"]: (3, 0), new["order_id"]: (1, 2)}
    up = await boss.post("/warehouse/stock/count", {"sku": "A", "warehouse_id": 1, "counted": 10})
    assert up.json()["allocation"]["allocations"][0]["quantity"] == 2  # straight back to the line
    assert up.json()["stock"]["reserved"] == 6


async def test_only_ready_shipments_ship_and_shipping_records_fulfilment(server, client, world):
    q = await setup_queue(client, world)
    rep, boss, orders, first, second = q.rep, q.boss, q.orders, q.first, q.second  # noqa: F841
    with server.db.session() as s:
        planned = s.exec(select(Shipment).where(Shipment.status == "planned")).first()
    refused = await boss.post(f"/warehouse/shipments/{planned.id}/ship")
    assert refused.status_code == 409 and "not ready" in refused.json()["detail"]
    await boss.post(f"/warehouse/receipts/{first}/receive", {})
    await boss.post(f"/warehouse/receipts/{second}/receive", {})
    with server.db.session() as s:
        ready = s.exec(select(Shipment).where(Shipment.status == "ready")).all()
    # 10 units for 12 ordered: the first two orders are complete (the all-or-nothing one
    # included), the third may ship the 2 it has.
    assert len(ready) == 3
    for shipment in ready:
        response = await boss.post(f"/warehouse/shipments/{shipment.id}/ship")
        assert response.status_code == 200, response.text
    assert world.stock("A").on_hand == 10 - 10 and world.stock("A").reserved == 0
    assert world.stock("B").on_hand == 9
    with server.db.session() as s:
        status = {str(o.id): o.status for o in s.exec(select(Order))}
    assert [status[o["order_id"]] for o in orders] == ["fulfilled", "fulfilled", "open"]
    twice = await boss.post(f"/warehouse/shipments/{ready[0].id}/ship")
    assert twice.status_code == 409 and "already shipped" in twice.json()["detail"]


async def test_preview_shows_fifo_and_priority_side_by_side(client, world):
    world.user("rep1")
    world.user("boss", role="supervisor")
    small = world.account("rep1", tier=3)
    big = world.account("rep1", tier=1)
    world.product("A", 0)
    receipt = world.receipt("A", 4, days(3))
    rep = await sign_in(client, "rep1")
    boss = await sign_in(client, "boss")
    early = await rep.order(small, ("A", 4))
    late = await rep.order(big, ("A", 4))
    response = await boss.post("/warehouse/receipts/preview", {"receipt_id": receipt})
    assert response.status_code == 200, response.text
    preview = response.json()
    assert [a["order_id"] for a in preview["fifo"]["allocations"]] == [early["order_id"]]
    assert [a["order_id"] for a in preview["priority"]["allocations"]] == [late["order_id"]]
    assert preview["configured_policy"] == "fifo"
    assert world.stock("A").on_hand == 0  # a preview writes nothing


async def test_a_receipt_from_an_unknown_supplier_is_a_404_and_writes_nothing(client, world):
    q = await setup_queue(client, world)
    body = {"sku": "A", "warehouse_id": 1, "quantity": 4, "expected": days(5).isoformat(),
            "supplier_id": 987654}  # fmt: skip
    refused = await q.boss.post("/warehouse/receipts", body)
    assert refused.status_code == 404 and "supplier_id 987654" in refused.json()["detail"]
    with world.db.session() as s:
        assert (
            s.exec(select(ScheduledReceipt).where(ScheduledReceipt.supplier_id == 987654)).all()
            == []
        )
