"""Suppliers and purchase orders through the real API: a purchase order's life (draft, sent,
confirmed, partly received, received), what each step does to the dates customers are told,
reorder advice turned into drafts (rounded to minimum and pack, the backup supplier when the
primary is too slow), the supplier scorecard, the chase list, and bad input refused whole."""

from __future__ import annotations

from sqlmodel import func, select

from sync.server.models import ItemSupplier, PurchaseOrder, ScheduledReceipt
from tests.integration.conftest import days, sign_in


async def link(boss, sku, supplier_id, **terms):
    body = {"sku": sku, "supplier_id": supplier_id, "lead_time_days": 7, **terms}
    answer = await boss.client.put("/supervisor/item-suppliers", json=body, headers=boss.headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def setup(client, world):
    world.user("rep1")
    world.user("boss", role="supervisor")
    account = world.account("rep1")
    world.product("A", 0)
    boss = await sign_in(client, "boss")
    rep = await sign_in(client, "rep1")
    await link(boss, "A", world.supplier_id, lead_time_days=10, min_order_qty=12, pack_multiple=6)
    return boss, rep, account


async def test_a_purchase_order_from_draft_to_received_dates_what_waits(server, client, world):
    boss, rep, account = await setup(client, world)
    order = await rep.order(account, ("A", 5))
    assert order["lines"][0]["eta"] is None  # nothing scheduled: no date
    made = await boss.post(
        "/warehouse/purchase-orders",
        {"supplier_id": world.supplier_id, "warehouse_id": world.warehouse_id,
         "lines": [{"sku": "A", "quantity": 24}]},
    )  # fmt: skip
    assert made.status_code == 201, made.text
    po = made.json()
    assert po["status"] == "draft" and po["lines"][0]["status"] == "draft"
    po_id, line_id = po["id"], po["lines"][0]["id"]
    sent = await boss.post(f"/warehouse/purchase-orders/{po_id}/send")
    assert sent.status_code == 200, sent.text
    line = sent.json()["lines"][0]
    assert (sent.json()["status"], line["status"], line["kind"]) == (
        "sent",
        "scheduled",
        "estimated",
    )
    assert line["expected"] == days(10).isoformat()  # today + the link's nominal lead time
    again = await boss.post(f"/warehouse/purchase-orders/{po_id}/send")
    assert again.status_code == 409
    confirmed = await boss.post(
        f"/warehouse/purchase-orders/{po_id}/confirm", {"expected": days(8).isoformat()}
    )
    assert confirmed.status_code == 200, confirmed.text
    line = confirmed.json()["lines"][0]
    assert (confirmed.json()["status"], line["kind"], line["expected"], line["first_expected"]) == (
        "confirmed",
        "confirmed",
        days(8).isoformat(),
        days(8).isoformat(),
    )
    # The waiting customer was told each date: none, then the nominal date, then the supplier's.
    changes = (await rep.get("/sync/pull", cursor=0)).json()["changes"]
    told = [(c["data"]["old"], c["data"]["new"]) for c in changes if c["entity"] == "eta_change"]
    assert told == [(None, days(10).isoformat()), (days(10).isoformat(), days(8).isoformat())]
    part = await boss.post(
        f"/warehouse/receipts/{line_id}/receive",
        {"quantity": 6, "rest_expected": days(12).isoformat()},
    )
    assert part.status_code == 200, part.text
    got = await boss.get(f"/warehouse/purchase-orders/{po_id}")
    assert got.json()["status"] == "partly_received"
    rest = await boss.post(f"/warehouse/receipts/{line_id}/receive", {})
    assert rest.status_code == 200
    got = await boss.get(f"/warehouse/purchase-orders/{po_id}")
    assert got.json()["status"] == "received"


async def test_bad_purchase_orders_are_refused_naming_the_field_and_write_nothing(
    server, client, world
):
    boss, _rep, _account = await setup(client, world)
    world.product("UNLINKED", 0)
    base = {"supplier_id": world.supplier_id, "warehouse_id": world.warehouse_id}
    cases = [
        ({**base, "lines": [{"sku": "A", "quantity": 0}]}, "lines[0].quantity"),
        ({**base, "lines": [{"sku": "A", "quantity": -6}]}, "lines[0].quantity"),
        ({**base, "lines": [{"sku": "A", "quantity": 6}]}, "lines[0].quantity"),  # under 12
        ({**base, "lines": [{"sku": "A", "quantity": 14}]}, "lines[0].quantity"),  # packs of 6
        ({**base, "supplier_id": 999, "lines": [{"sku": "A", "quantity": 12}]}, "supplier_id"),
        ({**base, "lines": [{"sku": "NOPE", "quantity": 12}]}, "lines[0].sku"),
        ({**base, "lines": [{"sku": "UNLINKED", "quantity": 12}]}, "lines[0].sku"),
        ({**base, "warehouse_id": 999, "lines": [{"sku": "A", "quantity": 12}]}, "warehouse_id"),
    ]
    for body, field in cases:
        answer = await boss.post("/warehouse/purchase-orders", body)
        assert answer.status_code == 422, (body, answer.text)
        text = answer.json().get("message") or answer.json()["detail"]
        assert field in text.split(":")[0], (field, text)
    with server.db.session() as s:
        assert s.exec(select(func.count()).select_from(PurchaseOrder)).one() == 0
        assert s.exec(select(func.count()).select_from(ScheduledReceipt)).one() == 0
    made = await boss.post(
        "/warehouse/purchase-orders", {**base, "lines": [{"sku": "A", "quantity": 12}]}
    )
    po_id, line_id = made.json()["id"], made.json()["lines"][0]["id"]
    await boss.post(f"/warehouse/purchase-orders/{po_id}/send")
    past = await boss.post(
        f"/warehouse/purchase-orders/{po_id}/confirm", {"expected": days(-1).isoformat()}
    )
    assert past.status_code == 422 and past.json()["detail"].startswith("expected")
    too_many = await boss.post(f"/warehouse/receipts/{line_id}/receive", {"quantity": 13})
    assert too_many.status_code == 422 and too_many.json()["detail"].startswith("quantity")


async def test_advice_becomes_drafts_rounded_and_from_the_backup_when_the_primary_is_slow(
    server, client, world
):
    boss, rep, account = await setup(client, world)
    fast = world.supplier("Fast")
    world.product("B", 0)
    await link(boss, "B", world.supplier_id, lead_time_days=30, min_order_qty=1, pack_multiple=1)
    await link(boss, "B", fast, role="backup", lead_time_days=3, min_order_qty=50, pack_multiple=25)
    server.clock.advance(days=-10)
    for _ in range(10):  # A and B sell every day
        await rep.order(account, ("A", 4), ("B", 2))
        server.clock.advance(days=1)
    answer = await boss.post("/warehouse/purchase-orders/from-advice", {})
    assert answer.status_code == 201, answer.text
    drafts = {o["supplier_name"]: o for o in answer.json()["orders"]}
    assert set(drafts) == {"Acme", "Fast"}
    (a,) = drafts["Acme"]["lines"]
    (b,) = drafts["Fast"]["lines"]  # the primary takes 30 days; B is needed now
    assert a["sku"] == "A" and a["quantity"] >= 12 and a["quantity"] % 6 == 0
    assert b["sku"] == "B" and b["quantity"] >= 50 and b["quantity"] % 25 == 0
    assert all(line["status"] == "draft" for o in drafts.values() for line in o["lines"])
    twice = await boss.post("/warehouse/purchase-orders/from-advice", {})
    assert twice.json()["orders"] == []
    assert {x["sku"] for x in twice.json()["skipped"]} == {"A", "B"}
    with server.db.session() as s:
        assert s.exec(select(func.count()).select_from(ItemSupplier)).one() == 2 + 1


async def test_the_scorecard_says_how_a_supplier_delivered(server, client, world):
    boss, _rep, _account = await setup(client, world)
    for slip in (0, 0, 0, 4, -1):
        receipt = world.receipt("A", 10, days(-slip))
        assert (await boss.post(f"/warehouse/receipts/{receipt}/receive", {})).is_success
    short = world.receipt("A", 10, days(0))
    await boss.post(f"/warehouse/receipts/{short}/receive", {"quantity": 5, "close_rest": True})
    answer = await boss.get(f"/supervisor/suppliers/{world.supplier_id}")
    assert answer.status_code == 200, answer.text
    card = answer.json()["scorecard"]
    assert card["receipts"] == 6
    assert card["on_time_rate"] == 4 / 5  # the one closed short never came whole
    assert card["mean_slip_days"] == 0.6 and card["p90_slip_days"] == 4
    assert card["fill_rate"] == 55 / 60
    assert [m["receipts"] for m in card["trend"]] == [5]


async def test_the_chase_list_names_the_lines_and_accounts_waiting_on_overdue_supply(
    server, client, world
):
    boss, rep, account = await setup(client, world)
    late = world.receipt("A", 5, days(2))
    world.receipt("A", 5, days(9))
    first = await rep.order(account, ("A", 3))
    second = await rep.order(account, ("A", 4))  # 2 from the late receipt, 2 from the next
    server.clock.advance(days=4)
    answer = await boss.get("/warehouse/overdue")
    assert answer.status_code == 200, answer.text
    (item,) = answer.json()["items"]
    assert (item["receipt"]["id"], item["days_late"], item["supplier_name"]) == (late, 2, "Acme")
    waiting = [(x["order_id"], x["waiting"], x["account_name"]) for x in item["lines"]]
    assert waiting == [
        (first["order_id"], 3, "Account 1"),
        (second["order_id"], 2, "Account 1"),
    ]
