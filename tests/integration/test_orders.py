"""Order commit against real stock: labels, queue-aware ETAs, plans, promises; cancellations
release stock to the queue at once; priority allocation."""

from __future__ import annotations

from sqlmodel import select

from sync.server.models import EtaChangeEvent, OrderLine
from tests.integration.conftest import days, make_server, place_order, sign_in


def by_sku(verdict: dict) -> dict[str, dict]:
    return {line["sku"]: line for line in verdict["lines"]}


async def test_each_line_is_labelled_and_dated_against_real_supply(client, world):
    world.user("rep1")
    account = world.account("rep1")
    world.product("IN", 10)
    world.product("PART", 3)
    world.receipt("PART", 10, days(5))
    world.product("BACK", 0)
    world.receipt("BACK", 10, days(7), kind="estimated")
    world.product("NONE", 0)
    world.product("OLD", 1, discontinued=True, alternatives=("IN",))
    rep = await sign_in(client, "rep1")
    verdict = await rep.order(account, ("IN", 4), ("PART", 5), ("BACK", 2), ("NONE", 1), ("OLD", 3))
    lines = by_sku(verdict)
    assert lines["IN"]["label"] == "in_stock" and lines["IN"]["reserved"] == 4
    assert (lines["PART"]["label"], lines["PART"]["reserved"], lines["PART"]["backordered"]) == (
        "partial",
        3,
        2,
    )
    assert lines["PART"]["eta"] == days(5).isoformat()
    assert lines["BACK"]["label"] == "backordered" and lines["BACK"]["eta_kind"] == "estimated"
    assert lines["BACK"]["eta"] == days(7).isoformat()
    assert lines["NONE"]["label"] == "out_of_stock" and lines["NONE"]["eta"] is None
    assert lines["OLD"]["label"] == "discontinued"
    assert (lines["OLD"]["reserved"], lines["OLD"]["unavailable"]) == (1, 2)
    assert lines["OLD"]["alternatives"] == ["IN"]
    assert verdict["outcome"] == "backordered"
    plan = verdict["plan"]
    assert [s["date"] for s in plan["shipments"]] == [
        days(0).isoformat(),
        days(5).isoformat(),
        days(7).isoformat(),
    ]
    assert {(u["sku"], u["quantity"]) for u in plan["unscheduled"]} == {("NONE", 1), ("OLD", 2)}
    assert world.stock("IN").reserved == 4 and world.stock("PART").reserved == 3
    assert world.stock("OLD").reserved == 1


async def test_a_later_order_never_gets_stock_an_earlier_backorder_waits_for(client, world):
    world.user("rep1")
    account = world.account("rep1")
    world.product("B", 0)
    world.receipt("B", 5, days(7))
    world.receipt("B", 5, days(14))
    rep = await sign_in(client, "rep1")
    first = by_sku(await rep.order(account, ("B", 4)))["B"]
    second = by_sku(await rep.order(account, ("B", 4)))["B"]
    third = by_sku(await rep.order(account, ("B", 4)))["B"]
    assert first["eta"] == days(7).isoformat()
    assert second["eta"] == days(14).isoformat()  # 1 unit of the first receipt is left for it
    assert third["eta"] is None and third["label"] == "backordered"  # 2 dated, 2 never


async def test_a_worse_answer_than_promised_needs_attention_until_acknowledged(client, world):
    world.user("rep1")
    account = world.account("rep1")
    world.product("A", 2)
    rep = await sign_in(client, "rep1")
    promise = {"label": "in_stock", "now": 5}
    answer = await rep.push(
        {
            "name": "place_order",
            "order_id": "5f0c3c1e-0000-4000-8000-000000000001",
            "account_id": account,
            "lines": [{"sku": "A", "quantity": 5, "promise": promise}],
        }
    )
    verdict = answer["results"][0]["order"]
    assert verdict["outcome"] == "accepted_with_changes"
    assert "only 2 of 5 now" in verdict["lines"][0]["difference"]
    assert verdict["lines"][0]["promised"] == {
        **promise,
        "eta": None,
        "eta_kind": None,
        "price_cents": None,
        "schedule": None,
        "ship": None,
        "ship_kind": None,
    }
    pulled = await rep.get("/sync/pull", cursor=0)
    order = next(c for c in pulled.json()["changes"] if c["entity"] == "order")["data"]
    assert order["needs_attention"] is True
    await rep.push({"name": "acknowledge", "order_id": order["id"]})
    pulled = await rep.get("/sync/pull", cursor=pulled.json()["cursor"])
    order = next(c for c in pulled.json()["changes"] if c["entity"] == "order")["data"]
    assert order["needs_attention"] is False


async def test_a_price_other_than_the_one_quoted_is_a_difference(client, world):
    world.user("rep1")
    account = world.account("rep1")
    world.product("A", 10, price=1250)
    rep = await sign_in(client, "rep1")
    said = {"label": "in_stock", "now": 2}
    quoted_right = await rep.order(account, ("A", 2), lines=[
        {"sku": "A", "quantity": 2, "promise": {**said, "price_cents": 1250}}])  # fmt: skip
    assert (quoted_right["outcome"], quoted_right["differences"]) == ("accepted", [])
    quoted_old = await rep.order(account, ("A", 2), lines=[
        {"sku": "A", "quantity": 2, "promise": {**said, "price_cents": 1100}}])  # fmt: skip
    assert quoted_old["outcome"] == "accepted_with_changes"
    assert quoted_old["differences"] == ["line 1 A: price 12.50 (you quoted 11.00)"]
    assert quoted_old["lines"][0]["promised"]["price_cents"] == 1100
    not_quoted = await rep.order(
        account, ("A", 2), lines=[{"sku": "A", "quantity": 2, "promise": said}]
    )
    assert not_quoted["outcome"] == "accepted"  # an app that sends no price: nothing to compare


async def test_an_order_refused_at_commit_is_a_difference_the_rep_must_see(client, world):
    world.user("rep1")
    account = world.account("rep1", credit_hold=True)
    world.product("A", 10)
    rep = await sign_in(client, "rep1")
    answer = await rep.push(place_order(account, ("A", 1)))
    (result,) = answer["results"]
    assert (result["status"], result["outcome"]) == ("applied", "rejected")
    assert "credit hold" in result["reason"]
    assert result["order"]["differences"] == [f"order rejected: {result['reason']}"]


async def test_cancel_line_releases_stock_to_the_queue_at_once(server, client, world):
    world.user("rep1")
    account = world.account("rep1")
    world.product("A", 5)
    world.receipt("A", 5, days(10))
    rep = await sign_in(client, "rep1")
    holder = await rep.order(account, ("A", 5))  # takes all 5 on hand
    waiter = await rep.order(account, ("A", 4))  # waits for the receipt on day 10
    behind = await rep.order(account, ("A", 3))  # 1 from the receipt, 2 undated
    assert by_sku(waiter)["A"]["eta"] == days(10).isoformat()
    assert by_sku(behind)["A"]["eta"] is None
    answer = await rep.push({"name": "cancel_line", "order_id": holder["order_id"], "line_no": 1})
    assert answer["results"][0]["order"]["lines"][0]["unavailable"] == 5
    with server.db.session() as s:
        lines = {li.order_id.hex: li for li in s.exec(select(OrderLine))}
        events = s.exec(select(EtaChangeEvent)).all()
    w = lines[waiter["order_id"].replace("-", "")]
    b = lines[behind["order_id"].replace("-", "")]
    assert (w.allocated, w.waiting, w.filled_at is not None) == (4, 0, True)
    assert (b.allocated, b.waiting, b.eta_date) == (1, 2, days(10))
    # Both customers' dates moved: the waiter's goods go now, the rest of behind's is dated.
    assert {(e.order_id.hex, e.old_date, e.new_date) for e in events} == {
        (waiter["order_id"].replace("-", ""), days(10), days(0)),
        (behind["order_id"].replace("-", ""), None, days(10)),
    }
    # the moved lines' rep is told why, not whose order freed the units
    assert {e.cause for e in events} == {"units freed: another order was cancelled"}
    assert holder["order_id"][:8] not in events[0].cause
    assert world.stock("A").reserved == 5


async def test_cancel_order_is_refused_twice_and_frees_everything(client, world):
    world.user("rep1")
    account = world.account("rep1")
    world.product("A", 5)
    world.product("B", 0)
    rep = await sign_in(client, "rep1")
    order = await rep.order(account, ("A", 2), ("B", 2))
    first = await rep.push({"name": "cancel_order", "order_id": order["order_id"]})
    second = await rep.push({"name": "cancel_order", "order_id": order["order_id"]})
    assert first["results"][0]["order"]["status"] == "cancelled"
    assert second["results"][0]["outcome"] == "rejected"
    assert "already cancelled" in second["results"][0]["reason"]
    assert world.stock("A").reserved == 0


async def test_shipment_policies_shape_the_plan(client, world):
    world.user("rep1")
    account = world.account("rep1")
    world.product("A", 5)
    world.product("B", 0)
    world.receipt("B", 5, days(3))
    world.product("C", 0)
    world.receipt("C", 5, days(9))
    rep = await sign_in(client, "rep1")
    lines = [("A", 1), ("B", 1), ("C", 1)]
    aon = await rep.order(account, *lines, policy="all_or_nothing")
    asap = await rep.order(account, *lines, policy="ship_as_available")
    capped = await rep.order(account, *lines, policy="capped_split", cap=2)
    assert [s["date"] for s in aon["plan"]["shipments"]] == [days(9).isoformat()]
    assert len(asap["plan"]["shipments"]) == 3
    assert len(capped["plan"]["shipments"]) == 2
    assert capped["plan"]["cap"] == 2


async def test_under_priority_a_top_tier_order_overtakes_and_moves_others(database_url):
    server = make_server(database_url, allocation_policy="priority")
    from tests.integration.conftest import World

    world = World(server.db).setup()
    world.user("rep1")
    small = world.account("rep1", tier=3)
    big = world.account("rep1", tier=1)
    world.product("B", 0)
    world.receipt("B", 5, days(7))
    world.receipt("B", 5, days(21))
    async with server.client() as client:
        rep = await sign_in(client, "rep1")
        low = by_sku(await rep.order(small, ("B", 5)))["B"]
        assert low["eta"] == days(7).isoformat()
        high = by_sku(await rep.order(big, ("B", 5)))["B"]
        assert high["eta"] == days(7).isoformat()  # ranks ahead of the tier 3 order
        pulled = (await rep.get("/sync/pull", cursor=0)).json()["changes"]
        moves = [c["data"] for c in pulled if c["entity"] == "eta_change"]
        assert [(m["old"], m["new"]) for m in moves] == [
            (days(7).isoformat(), days(21).isoformat())
        ]
        assert "ETA moved from" in moves[0]["message"]
    server.db.dispose()
