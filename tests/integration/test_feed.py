"""Pull and snapshot: scoped to the caller, the demand queue anonymised, paged, tombstones,
gzip, and a clear answer to a cursor from the future."""

from __future__ import annotations

import json

from sync.protocol import SNAPSHOT_SECTIONS
from sync.server.models import Account, Stock, Warehouse
from tests.integration.conftest import days, sign_in


async def setup(client, world):
    world.user("rep1")
    world.user("rep2")
    world.user("boss", role="supervisor")
    a1 = world.account("rep1")
    a2 = world.account("rep2", tier=1)
    for sku in ("A", "B", "C"):
        world.product(sku, 2)
    world.receipt("B", 10, days(6))
    rep1 = await sign_in(client, "rep1")
    rep2 = await sign_in(client, "rep2")
    boss = await sign_in(client, "boss")
    mine = await rep1.order(a1, ("A", 1), ("B", 4))
    theirs = await rep2.order(a2, ("B", 3), ("C", 1))
    return rep1, rep2, boss, a1, a2, mine, theirs


async def pull_all(device, cursor=0, limit=500):
    changes = []
    while True:
        page = (await device.get("/sync/pull", cursor=cursor, limit=limit)).json()
        changes += page["changes"]
        cursor = page["cursor"]
        if not page["has_more"]:
            return changes, cursor


async def test_a_rep_pulls_own_orders_and_the_shared_anonymised_queue(client, world):
    rep1, _rep2, boss, _a1, _a2, mine, theirs = await setup(client, world)
    changes, _ = await pull_all(rep1)
    orders = {c["key"] for c in changes if c["entity"] == "order"}
    assert orders == {mine["order_id"]}
    queue = [c["data"] for c in changes if c["entity"] == "queue_entry"]
    assert {(q["sku"], q["waiting"], q["tier"]) for q in queue} == {("B", 2, 3), ("B", 3, 1)}
    text = json.dumps(queue)
    assert theirs["order_id"] not in text and "account" not in text and "rep" not in text
    stock = {c["data"]["sku"] for c in changes if c["entity"] == "stock"}
    assert stock == {"A", "B", "C"}  # stock is everyone's
    seqs = [c["seq"] for c in changes]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    supervisor, _ = await pull_all(boss)
    assert {c["key"] for c in supervisor if c["entity"] == "order"} == {
        mine["order_id"],
        theirs["order_id"],
    }


async def test_pages_follow_the_cursor_without_gaps_or_repeats(client, world):
    _rep1, _rep2, boss, _a1, _a2, _mine, _theirs = await setup(client, world)
    whole, end = await pull_all(boss, limit=500)
    paged, end_paged = await pull_all(boss, limit=2)
    assert [c["seq"] for c in paged] == [c["seq"] for c in whole]
    assert end == end_paged
    empty = (await boss.get("/sync/pull", cursor=end)).json()
    assert empty == {"changes": [], "cursor": end, "has_more": False}
    ahead = await boss.get("/sync/pull", cursor=end + 100)
    assert ahead.status_code == 409 and ahead.json()["resync"] is True


async def test_filled_lines_leave_the_queue_as_tombstones(client, world):
    rep1, _rep2, boss, _a1, _a2, _mine, _theirs = await setup(client, world)
    _, cursor = await pull_all(rep1)
    receipt = (await boss.get("/sync/snapshot", section="receipts")).json()["rows"][0]
    response = await boss.post(f"/warehouse/receipts/{receipt[0]}/receive", {})
    assert response.status_code == 200
    changes, _ = await pull_all(rep1, cursor)
    gone = [c for c in changes if c["entity"] == "queue_entry"]
    assert gone and all(c["op"] == "delete" and c["data"] is None for c in gone)


async def test_snapshot_pages_every_section_scoped_to_the_caller(client, world):
    rep1, _rep2, _boss, a1, _a2, mine, _theirs = await setup(client, world)
    seen: dict[str, list] = {}
    first_cursor = None
    for section in SNAPSHOT_SECTIONS:
        after = None
        while True:
            params = {"section": section, "limit": 1}
            if after is not None:
                params["after"] = after
            page = (await rep1.get("/sync/snapshot", **params)).json()
            first_cursor = first_cursor if first_cursor is not None else page["cursor"]
            names = page["columns"]
            seen.setdefault(section, []).extend(
                {"key": row[0], "data": dict(zip(names[1:], row[1:], strict=True))}
                for row in page["rows"]
            )
            after = page["after"]
            if not page["has_more"]:
                break
    assert [r["key"] for r in seen["products"]] == ["A", "B", "C"]
    assert [r["data"]["id"] for r in seen["accounts"]] == [a1]
    assert [r["key"] for r in seen["orders"]] == [mine["order_id"]]
    assert len(seen["stock"]) == 3 and len(seen["queue"]) == 2
    assert first_cursor > 0
    bad = await rep1.get("/sync/snapshot", section="orders", after="not-a-uuid")
    assert bad.status_code == 422 and "after" in bad.json()["message"]
    unknown = await rep1.get("/sync/snapshot", section="secrets")
    assert unknown.status_code == 422 and "section" in unknown.json()["message"]


async def test_pull_is_gzip_compressed_when_asked(server, world, client):
    rep1, *_ = await setup(client, world)
    async with server.client() as raw:
        response = await raw.get(
            "/sync/pull",
            headers={**rep1.headers, "Accept-Encoding": "gzip"},
        )
    assert response.headers.get("content-encoding") == "gzip"
    # httpx decodes transparently; fewer bytes crossed the wire than the JSON has.
    assert response.num_bytes_downloaded < len(response.content)
    assert json.loads(response.content)["changes"]


async def test_a_rep_pulls_only_the_warehouses_their_accounts_are_served_from(client, world):
    # As the snapshot gives them: another warehouse's stock, receipts and demand queue (other
    # reps' order values, tiers and commit times) are none of this rep's business.
    world.user("rep1")
    world.user("rep2")
    world.user("boss", role="supervisor")
    world.product("X", 5)  # 5 at WH1
    mine = world.account("rep1")  # served from WH1
    with world.db.write() as s:
        south = Warehouse(code="WH2", name="South", handling_days=0)
        s.add(south)
        s.flush()
        s.add(Stock(sku="X", warehouse_id=south.id, on_hand=1))
        theirs = Account(code="S0001", name="South shop", rep_id=world.users["rep2"],
                         warehouse_id=south.id, tier=1, delivery_days=[],
                         default_policy="ship_as_available", contact_name="Bo",
                         contact_phone="1", contact_email="b@example.com",
                         contact_address="2 South St")  # fmt: skip
        s.add(theirs)
        s.flush()
        south_id, theirs_id = south.id, theirs.id
    rep1, rep2, boss = [await sign_in(client, u) for u in ("rep1", "rep2", "boss")]
    await rep1.order(mine, ("X", 2))
    placed = await rep2.order(theirs_id, ("X", 4))  # WH2: 1 reserved now, 3 waiting
    count = await boss.post("/warehouse/stock/count", {"sku": "X", "warehouse_id": south_id,
                                                       "counted": 9})  # fmt: skip
    assert count.status_code == 200, count.text  # fills the queue there: tombstones at WH2

    changes, _ = await pull_all(rep1)
    assert {c["key"] for c in changes if c["entity"] == "stock"} == {"X@1"}
    assert not [c for c in changes if c["key"].endswith(f"@{south_id}")]
    assert not [c for c in changes if c["entity"] == "queue_entry"]  # WH1 has no queue
    assert placed["order_id"] not in json.dumps(changes)
    south_side, _ = await pull_all(rep2)
    assert {c["key"] for c in south_side if c["entity"] == "stock"} == {f"X@{south_id}"}
    queue = [c for c in south_side if c["entity"] == "queue_entry"]
    assert [c["op"] for c in queue] == ["upsert", "delete"]  # waited, then filled by the count
    everything, _ = await pull_all(boss)
    assert {c["key"] for c in everything if c["entity"] == "stock"} == {"X@1", f"X@{south_id}"}


async def test_a_rep_without_accounts_gets_no_warehouse_data(client, world):
    # Nothing to order for, so nothing of any warehouse: not its stock, receipts or queue.
    world.user("rep1")
    world.user("idle")
    world.product("X", 1)
    world.receipt("X", 5, days(4))
    account = world.account("rep1")
    rep1, idle = [await sign_in(client, u) for u in ("rep1", "idle")]
    await rep1.order(account, ("X", 3))  # 2 wait for the receipt: a queue entry
    changes, _ = await pull_all(idle)
    assert {c["entity"] for c in changes} <= {"product", "warehouse", "supplier"}
    for section in ("stock", "receipts", "queue"):
        page = (await idle.get("/sync/snapshot", section=section)).json()
        assert page["rows"] == [], section
    counts = (await idle.get("/sync/snapshot-counts")).json()["sections"]
    assert (counts["stock"], counts["receipts"], counts["queue"]) == (0, 0, 0)
    mine, _ = await pull_all(rep1)
    assert {"stock", "queue_entry"} <= {c["entity"] for c in mine}
