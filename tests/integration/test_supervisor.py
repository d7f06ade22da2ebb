"""Supervisor API: list and filter, detail, versioned decisions, metrics, the accounts most
affected by backorders, low stock, and the contact merge with its conflict log."""

from __future__ import annotations

from sqlmodel import select

from sync.server.models import Account, Order, OrderLine
from tests.integration.conftest import days, sign_in


async def two_reps(client, world):
    world.user("rep1")
    world.user("rep2")
    world.user("boss", role="supervisor")
    a1 = world.account("rep1")
    a2 = world.account("rep2")
    world.product("A", 10)
    world.product("B", 0)
    world.receipt("B", 10, days(4))
    rep1 = await sign_in(client, "rep1")
    rep2 = await sign_in(client, "rep2")
    boss = await sign_in(client, "boss")
    return rep1, rep2, boss, a1, a2


async def test_list_filters_counts_and_pages(server, client, world):
    rep1, rep2, boss, a1, a2 = await two_reps(client, world)
    await rep1.order(a1, ("A", 1))
    server.clock.advance(days=2)
    await rep1.order(a1, ("B", 1))
    await rep2.order(a2, ("A", 1), ("B", 1))
    everything = (await boss.get("/supervisor/orders")).json()
    assert everything["total"] == 3 and everything["counts"] == {"open": 3}
    assert [o["lines"] for o in everything["items"]] == [2, 1, 1]  # newest first
    backorders = (await boss.get("/supervisor/orders", has_backorders="true")).json()
    assert backorders["total"] == 2
    mine = (await boss.get("/supervisor/orders", rep_id=world.users["rep1"])).json()
    assert {o["rep_name"] for o in mine["items"]} == {"Rep1"}
    recent = (await boss.get("/supervisor/orders", date_from=days(1).isoformat())).json()
    assert recent["total"] == 2
    page = (await boss.get("/supervisor/orders", limit=1, offset=1)).json()
    assert page["total"] == 3 and len(page["items"]) == 1
    bad = await boss.get(
        "/supervisor/orders", date_from=days(3).isoformat(), date_to=days(1).isoformat()
    )
    assert bad.status_code == 422 and "date_to" in bad.json()["detail"]
    assert (await rep1.get("/supervisor/orders")).status_code == 403


async def test_decisions_are_versioned_and_a_stale_one_gets_the_fresh_state(client, world):
    rep1, _rep2, boss, a1, _a2 = await two_reps(client, world)
    order = await rep1.order(a1, ("A", 2), ("B", 1))
    oid = order["order_id"]
    held = await boss.post(
        f"/supervisor/orders/{oid}/decision",
        {"action": "hold", "note": "check credit", "version": 1},
    )
    assert held.status_code == 200 and held.json()["order"]["status"] == "on_hold"
    assert held.json()["order"]["version"] == 2
    stale = await boss.post(
        f"/supervisor/orders/{oid}/decision", {"action": "approve", "version": 1}
    )
    assert stale.status_code == 409
    assert "version" in stale.json()["detail"]
    assert stale.json()["current"]["order"]["status"] == "on_hold"
    approved = await boss.post(
        f"/supervisor/orders/{oid}/decision", {"action": "approve", "version": 2}
    )
    assert approved.json()["order"]["status"] == "approved"
    detail = (await boss.get(f"/supervisor/orders/{oid}")).json()
    assert [h["kind"] for h in detail["history"]] == ["committed", "hold", "approve"]
    assert detail["order"]["review_note"] == ""
    assert detail["order"]["lines"][1]["eta"] == days(4).isoformat()


async def test_rejecting_releases_the_stock_and_the_rep_sees_it(client, world):
    rep1, _rep2, boss, a1, _a2 = await two_reps(client, world)
    order = await rep1.order(a1, ("A", 4), ("B", 1))
    rejected = await boss.post(
        f"/supervisor/orders/{order['order_id']}/decision",
        {"action": "reject", "note": "duplicate order", "version": 1},
    )
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["order"]["status"] == "rejected"
    assert world.stock("A").reserved == 0
    pulled = (await rep1.get("/sync/pull")).json()
    mine = [c["data"] for c in pulled["changes"] if c["entity"] == "order"]
    assert mine[-1]["status"] == "rejected" and mine[-1]["review_note"] == "duplicate order"
    # The rep is told why, and the order needs their attention until they acknowledge it.
    assert mine[-1]["reason"] == "rejected by the supervisor: duplicate order"
    assert mine[-1]["differences"] == ["order rejected by the supervisor: duplicate order"]
    assert mine[-1]["needs_attention"] is True
    await rep1.push({"name": "acknowledge", "order_id": order["order_id"]})
    later = (await rep1.get("/sync/pull", cursor=pulled["cursor"])).json()["changes"]
    assert [c["data"]["needs_attention"] for c in later if c["entity"] == "order"] == [False]
    again = await boss.post(
        f"/supervisor/orders/{order['order_id']}/decision", {"action": "approve", "version": 2}
    )
    assert again.status_code == 409 and "rejected" in again.json()["detail"]
    missing = await boss.get("/supervisor/orders/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404 and "order_id" in missing.json()["detail"]


async def test_a_decision_wins_over_a_cancel_based_on_an_older_version(server, client, world):
    """ARCHITECTURE, sync 5: supervisor decisions win over a rep's edit of status. A cancel the
    rep made offline before the approval is not applied; both sides see the conflict."""
    rep1, _rep2, boss, a1, _a2 = await two_reps(client, world)
    order = await rep1.order(a1, ("A", 4), ("B", 1))
    oid = order["order_id"]
    cursor = (await rep1.get("/sync/pull")).json()["cursor"]
    approved = await boss.post(
        f"/supervisor/orders/{oid}/decision", {"action": "approve", "note": "ok", "version": 1}
    )
    assert approved.json()["order"]["version"] == 2
    answer = await rep1.push(
        {"name": "cancel_order", "order_id": oid, "base_version": 1},
        {"name": "cancel_line", "order_id": oid, "line_no": 2, "base_version": 1},
    )
    for result in answer["results"]:
        assert (result["status"], result["outcome"]) == ("applied", "rejected"), result
        assert (
            "a supervisor approved this order after your device last heard of it"
            in result["reason"]
        )
        assert result["order"]["status"] == "approved"
    assert world.stock("A").reserved == 4  # nothing was released
    with server.db.session() as s:
        line = s.exec(select(OrderLine).where(OrderLine.line_no == 2)).one()
        assert (line.waiting, line.cancelled) == (1, 0)
    pulled = (await rep1.get("/sync/pull", cursor=cursor)).json()["changes"]
    conflicts = [c["data"] for c in pulled if c["entity"] == "conflict"]
    assert [
        (c["entity"], c["key"], c["field"], c["winner_value"], c["loser_value"]) for c in conflicts
    ] == [
        ("order", oid, "status", "approved", "cancelled"),
        ("order", oid, "line 2", "approved", "cancelled"),
    ]
    history = (await boss.get(f"/supervisor/orders/{oid}")).json()["history"]
    assert [h["kind"] for h in history] == ["committed", "approve", "conflict", "conflict"]
    # Having seen the decision (version 2), the rep may still cancel: then it applies.
    again = await rep1.push({"name": "cancel_order", "order_id": oid, "base_version": 2})
    assert again["results"][0]["order"]["status"] == "cancelled"
    assert world.stock("A").reserved == 0


async def test_a_cancel_without_a_base_version_or_after_no_decision_applies(client, world):
    rep1, _rep2, boss, a1, _a2 = await two_reps(client, world)
    first = await rep1.order(a1, ("A", 1))
    second = await rep1.order(a1, ("A", 1))
    await boss.post(  # decided, but a cancel from an app that sends no version is not compared
        f"/supervisor/orders/{first['order_id']}/decision", {"action": "hold", "version": 1}
    )
    answer = await rep1.push(
        {"name": "cancel_order", "order_id": first["order_id"]},
        {"name": "cancel_order", "order_id": second["order_id"], "base_version": 0},
    )
    assert [r["order"]["status"] for r in answer["results"]] == ["cancelled", "cancelled"]


async def test_metrics_over_a_period_with_a_trend(server, client, world):
    rep1, rep2, boss, a1, a2 = await two_reps(client, world)
    await rep1.order(a1, ("A", 1))
    late = await rep1.order(a1, ("B", 2))
    await rep1.push({"name": "cancel_order", "order_id": late["order_id"]})
    await rep2.order(a2, ("A", 1), ("B", 1))
    report = (
        await boss.get("/supervisor/metrics", start=days(0).isoformat(), end=days(1).isoformat())
    ).json()
    m = report["metrics"]
    assert (m["orders"], m["backordered_orders"], m["cancelled_backordered_orders"]) == (3, 2, 1)
    assert m["backorder_rate"] == 2 / 3 and m["cancellation_rate"] == 0.5
    assert m["line_fill_rate"] == 2 / 4
    assert len(report["trend"]) == 12 and report["trend"][-1]["metrics"]["orders"] == 3
    assert report["top_items"][0]["sku"] == "B"
    bad = await boss.get("/supervisor/metrics", start=days(3).isoformat(), end=days(1).isoformat())
    assert bad.status_code == 422 and "end" in bad.json()["detail"]
    # A year-1 day is refused before any date arithmetic (its default start underflowed: 500).
    for field in ("start", "end"):
        year_one = await boss.get("/supervisor/metrics", **{field: "0001-01-02"})
        assert year_one.status_code == 422 and year_one.json()["detail"].startswith(field)


def accounts_from_the_database(server, start, end) -> list[dict]:
    """The ranking counted straight from the rows: per account, the orders committed in
    [start, end) with a backordered line, worst first (orders, lines, units, then id)."""
    with server.db.session() as s:
        orders = s.exec(select(Order)).all()
        lines = s.exec(select(OrderLine)).all()
        names = {a.id: a.name for a in s.exec(select(Account))}
    tz = server.clock.tz
    picked = {o.id: o for o in orders if start <= o.committed_at.astimezone(tz).date() < end}
    short = [li for li in lines if li.order_id in picked and li.backordered > 0]
    rows: dict[int, dict] = {}
    for oid in {li.order_id for li in short}:
        o = picked[oid]
        mine = [li for li in short if li.order_id == oid]
        row = rows.setdefault(
            o.account_id,
            {
                "account_id": o.account_id,
                "account_name": names[o.account_id],
                "orders": sum(x.account_id == o.account_id for x in picked.values()),
                "backordered_orders": 0,
                "cancelled_backordered_orders": 0,
                "backordered_lines": 0,
                "backordered_units": 0,
                "backordered_value_cents": 0,
            },
        )
        row["backordered_orders"] += 1
        row["cancelled_backordered_orders"] += o.status == "cancelled"
        row["backordered_lines"] += len(mine)
        row["backordered_units"] += sum(li.backordered for li in mine)
        row["backordered_value_cents"] += o.total_cents
    return sorted(
        rows.values(),
        key=lambda r: (
            -r["backordered_orders"],
            -r["backordered_lines"],
            -r["backordered_units"],
            r["account_id"],
        ),
    )


async def test_accounts_most_affected_are_counted_from_the_orders(server, client, world):
    rep1, rep2, boss, a1, a2 = await two_reps(client, world)
    a3, a4, a5 = world.account("rep1"), world.account("rep1"), world.account("rep2")
    world.product("C", 0)
    server.clock.advance(days=-5)
    await rep1.order(a4, ("B", 1))  # before the period
    server.clock.advance(days=5)
    await rep1.order(a1, ("B", 2), ("C", 1))
    await rep1.order(a1, ("A", 1))  # in stock: counted among a1's orders only
    await rep2.order(a2, ("B", 3))
    await rep1.order(a3, ("A", 1))  # no backorders: not ranked
    await rep2.order(a5, ("C", 3))  # as short as a2: ranked after it by id
    server.clock.advance(days=1)
    gone = await rep1.order(a1, ("B", 1), ("A", 1))
    await rep1.push({"name": "cancel_order", "order_id": gone["order_id"]})
    start, end = days(-1), days(2)

    response = await boss.get(
        "/supervisor/accounts-affected", start=start.isoformat(), end=end.isoformat()
    )
    assert response.status_code == 200, response.text
    body = response.json()
    expected = accounts_from_the_database(server, start, end)
    assert body["items"] == expected and body["total"] == 3
    assert [r["account_id"] for r in expected] == [a1, a2, a5]
    assert (expected[0]["orders"], expected[0]["backordered_orders"]) == (3, 2)
    assert (expected[0]["cancelled_backordered_orders"], expected[0]["backordered_units"]) == (1, 4)
    metrics = (
        await boss.get("/supervisor/metrics", start=start.isoformat(), end=end.isoformat())
    ).json()["metrics"]
    assert sum(r["backordered_orders"] for r in expected) == metrics["backordered_orders"]

    top = await boss.get(
        "/supervisor/accounts-affected", start=start.isoformat(), end=end.isoformat(), limit=2
    )
    assert top.json()["items"] == expected[:2] and top.json()["total"] == 3
    default = (await boss.get("/supervisor/accounts-affected")).json()  # the last 28 days
    assert (default["start"], default["end"]) == (days(-26).isoformat(), days(2).isoformat())
    assert default["items"] == accounts_from_the_database(server, days(-26), days(2))
    assert [r["account_id"] for r in default["items"]] == [a1, a2, a5, a4]  # a4: fewer units
    empty = await boss.get(
        "/supervisor/accounts-affected", start=days(10).isoformat(), end=days(20).isoformat()
    )
    assert empty.json() == {
        "start": days(10).isoformat(),
        "end": days(20).isoformat(),
        "items": [],
        "total": 0,
    }


async def test_accounts_most_affected_refuse_reps_and_bad_input(client, world):
    rep1, _rep2, boss, _a1, _a2 = await two_reps(client, world)
    assert (await rep1.get("/supervisor/accounts-affected")).status_code == 403
    assert (await client.get("/supervisor/accounts-affected")).status_code == 401
    for params, field in [
        ({"start": "2025-13-01"}, "start"),
        ({"end": "tomorrow"}, "end"),
        ({"start": days(3).isoformat(), "end": days(1).isoformat()}, "end"),
        ({"start": "1999-01-01", "end": "1999-02-01"}, "start"),
        ({"start": days(-2000).isoformat(), "end": days(1).isoformat()}, "end"),
        ({"limit": "0"}, "limit"),
        ({"limit": "many"}, "limit"),
    ]:
        bad = await boss.get("/supervisor/accounts-affected", **params)
        assert bad.status_code == 422, (params, bad.text)
        body = bad.json()
        message = body.get("message") or body["detail"]
        assert message.split(":")[0].split(".")[-1] == field, (params, message)


async def test_low_stock_lists_items_under_their_reorder_point(server, client, world):
    rep1, _rep2, boss, a1, _a2 = await two_reps(client, world)
    server.clock.advance(days=-10)
    for _ in range(5):
        await rep1.order(a1, ("A", 2))
        server.clock.advance(days=1)
    server.clock.advance(days=6)
    response = await boss.get("/supervisor/low-stock")
    assert response.status_code == 200, response.text
    items = {i["sku"]: i for i in response.json()["items"]}
    assert "A" in items and items["A"]["free_now"] == 0
    assert items["A"]["suggested_quantity"] > 0 and items["A"]["reorder_point"] > 0


async def test_a_new_items_demand_counts_from_its_first_sale(server, client, world):
    """A new item selling 40 a day for 10 days: its mean daily demand is 40, not 400 / 56."""
    rep1, _rep2, boss, a1, _a2 = await two_reps(client, world)
    world.product("NEW", 0)
    server.clock.advance(days=-10)
    for _ in range(10):
        await rep1.order(a1, ("NEW", 40))
        server.clock.advance(days=1)
    response = await boss.get("/supervisor/low-stock")
    assert response.status_code == 200, response.text
    items = {i["sku"]: i for i in response.json()["items"]}
    assert items["NEW"]["mean_daily_demand"] == 40.0


async def test_overlapping_contact_edits_keep_the_later_and_log_the_loser(server, client, world):
    world.user("rep1")
    world.user("boss", role="supervisor")
    account = world.account("rep1")
    phone = await sign_in(client, "rep1")
    tablet = await sign_in(client, "rep1")
    boss = await sign_in(client, "boss")
    first = await phone.push(
        {
            "name": "update_account_contact",
            "account_id": account,
            "base_version": 1,
            "changes": {"contact_phone": "555-1111"},
        }
    )
    assert first["results"][0]["contact"]["account"]["contact_version"] == 2
    # The tablet, still at version 1, edits the phone (overlap) and the email (no overlap).
    second = await tablet.push(
        {
            "name": "update_account_contact",
            "account_id": account,
            "base_version": 1,
            "changes": {"contact_phone": "555-2222", "contact_email": "new@example.com"},
        }
    )
    result = second["results"][0]["contact"]
    assert result["account"]["contact_phone"] == "555-2222"
    assert result["account"]["contact_email"] == "new@example.com"
    assert [(c["field"], c["winner_value"], c["loser_value"]) for c in result["conflicts"]] == [
        ("contact_phone", "555-2222", "555-1111")
    ]
    # The supervisor edits the address on an old version: no overlap, it merges.
    merged = await boss.post(
        f"/supervisor/accounts/{account}/contact",
        {"base_version": 1, "changes": {"contact_address": "2 High St"}},
    )
    assert merged.status_code == 200 and merged.json()["conflicts"] == []
    assert merged.json()["account"]["contact_phone"] == "555-2222"
    pulled = (await phone.get("/sync/pull")).json()["changes"]
    assert [c["data"]["loser_value"] for c in pulled if c["entity"] == "conflict"] == ["555-1111"]
