"""The fast read path (JSON built in SQL or from Core rows, see services/feed.py) against the
protocol and against the slow path it replaced (ORM rows through publish.py's converters and
pydantic): every snapshot section and every pull page validates as p.SnapshotPage / p.PullPage,
and every record equals what the converters make of the same row. Also: stock, receipts and the
queue are scoped to the warehouses of the caller's accounts."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from sqlmodel import select

from sync import protocol as p
from sync.server.models import Account as AccountRow
from sync.server.models import (
    ChangeRow,
    Order,
    OrderLine,
    Product,
    ScheduledReceipt,
    Shipment,
    Stock,
    Supplier,
    Warehouse,
)
from sync.server.services import publish as pub
from tests.integration.conftest import START, days, sign_in


async def build(server, client, world) -> dict[str, Any]:
    """Two warehouses; rep1's accounts at WH1, rep2's at WH2; odd catalog rows (discontinued
    with alternatives, non-ASCII and quotes in names); orders with backorders and shipments."""
    world.user("rep1")
    world.user("rep2")
    world.user("rep3")  # no accounts at all
    world.user("boss", role="supervisor")
    with server.db.write() as s:
        wh2 = Warehouse(code="WH2", name='Süd "Lager"', handling_days=2)
        s.add(wh2)
        s.flush()
        wh2_id = wh2.id
    a1 = world.account("rep1", delivery_days=(0, 3), policy="all_or_nothing")
    a1b = world.account("rep1", tier=1, policy="capped_split", cap=2)
    world.product("A", 5, price=1250)
    world.product("B", 1)
    world.product("C", 0)
    world.product("OLD", 1, discontinued=True, alternatives=("A", "B"))
    with server.db.write() as s:
        s.get(Product, "C").name = 'Crème brûlée "Deluxe" \\ 250 g'
        for sku in ("A", "B", "C", "OLD"):
            s.add(Stock(sku=sku, warehouse_id=wh2_id, on_hand=7))
        s.add(
            ScheduledReceipt(
                supplier_id=world.supplier_id,
                sku="A",
                warehouse_id=wh2_id,
                quantity=9,
                expected=days(3),
                kind="estimated",
                created_at=START,
                updated_at=START,
            )
        )
    world.receipt("B", 10, days(6))
    c_receipt = world.receipt("C", 4, days(9), kind="estimated")
    with server.db.write() as s:
        a2 = AccountRow(
            code="Z1", name="Zweite", rep_id=world.users["rep2"], warehouse_id=wh2_id, tier=2,
            delivery_days=[], default_policy="ship_as_available", default_cap=None,
            credit_hold=False, contact_name="Ö", contact_phone="1", contact_email="z@x",
            contact_address="Straße 1",
        )  # fmt: skip
        s.add(a2)
        s.flush()
        a2_id = a2.id
    rep1 = await sign_in(client, "rep1")
    rep2 = await sign_in(client, "rep2")
    rep3 = await sign_in(client, "rep3")
    boss = await sign_in(client, "boss")
    await rep1.order(a1, ("A", 2), ("B", 3), ("C", 1), ("OLD", 2))
    await rep1.order(a1b, ("A", 1), ("C", 2), note="rush — please")
    await rep2.order(a2_id, ("A", 3), ("C", 9))
    with server.db.session() as s:  # ship one, so a shipment is "shipped" with a time
        shipment = s.exec(select(Shipment).where(Shipment.status == "ready")).first()
    assert shipment is not None
    assert (await boss.post(f"/warehouse/shipments/{shipment.id}/ship")).status_code == 200
    # History a resync must keep: ETA moves (rep1's C waits for the receipt that is delayed;
    # rep2's C, undated, gets a date from a new receipt) and a contact conflict each.
    delayed = await boss.post(
        f"/warehouse/receipts/{c_receipt}/delay", {"expected": days(12).isoformat()}
    )
    assert delayed.status_code == 200, delayed.text
    scheduled = await boss.post(
        "/warehouse/receipts",
        {"sku": "C", "warehouse_id": wh2_id, "quantity": 5, "expected": days(4).isoformat()},
    )
    assert scheduled.status_code == 201, scheduled.text
    # A receipt that came in two parts, the second late: a supplier's slip history.
    extra = world.receipt("B", 2, days(1))
    assert (await boss.post(f"/warehouse/receipts/{extra}/receive", {"quantity": 1})).is_success
    server.clock.advance(days=3)
    assert (await boss.post(f"/warehouse/receipts/{extra}/receive", {})).is_success
    for device, account in ((rep1, a1), (rep2, a2_id)):
        for phone in ("555-1111", "555-2222"):  # the second edit, on version 1 too, overlaps
            await device.push(
                {
                    "name": "update_account_contact",
                    "account_id": account,
                    "base_version": 1,
                    "changes": {"contact_phone": phone},
                }
            )
    return {"rep1": rep1, "rep2": rep2, "rep3": rep3, "boss": boss, "wh2": wh2_id}


def records_of(page: dict[str, Any]) -> list[dict[str, Any]]:
    """A snapshot page's rows as {key, entity, data} records, after checking the page's shape:
    the section's columns, and one value per column in every row."""
    section = page["section"]
    assert page["entity"] == ENTITY[section]
    assert tuple(page["columns"]) == p.snapshot_columns(section)
    width = len(page["columns"])
    assert all(len(row) == width for row in page["rows"])
    names = page["columns"][1:]
    return [
        {"key": row[0], "entity": page["entity"], "data": dict(zip(names, row[1:], strict=True))}
        for row in page["rows"]
    ]


async def fetch_section(device, section: str, limit: int = 2) -> list[dict[str, Any]]:
    """Every page of a section as records; each page must validate as a p.SnapshotPage."""
    records: list[dict[str, Any]] = []
    after = None
    while True:
        params: dict[str, Any] = {"section": section, "limit": limit}
        if after is not None:
            params["after"] = after
        response = await device.get("/sync/snapshot", **params)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/json"
        page = p.SnapshotPage.model_validate_json(response.content)  # the wire contract
        body = response.json()
        assert page.section == section and len(body["rows"]) <= limit
        records += records_of(body)
        if not body["has_more"]:
            assert body["after"] == (records[-1]["key"] if records else after)
            return records
        after = body["after"]


def slow_record(session, section: str, key: str) -> dict[str, Any]:
    """What the slow path (ORM row -> publish.py -> pydantic -> JSON) made of this record."""
    match section:
        case "warehouses":
            record: Any = pub.warehouse(session.get(Warehouse, int(key)))
        case "suppliers":
            record = pub.supplier(session.get(Supplier, int(key)))
        case "supplier_history":
            record = pub.supplier_history(session, int(key))
        case "products":
            record = pub.product(session.get(Product, key))
        case "stock":
            sku, wh = key.rsplit("@", 1)
            record = pub.stock(session.get(Stock, (sku, int(wh))))
        case "receipts":
            record = pub.receipt(session.get(ScheduledReceipt, int(key)))
        case "accounts":
            record = pub.account(session.get(AccountRow, int(key)))
        case "orders":
            record = pub.orders(session, [session.get(Order, uuid.UUID(key))])[0]
        case "queue":
            line = session.get(OrderLine, int(key))
            record = pub.queue_entry(line, session.get(Order, line.order_id))
        case "eta_changes" | "conflicts":  # history: what the change log delivered to pulls
            row = session.exec(
                select(ChangeRow)
                .where(ChangeRow.entity == ENTITY[section], ChangeRow.key == key)
                .order_by(ChangeRow.seq.desc())  # type: ignore[attr-defined]
            ).first()
            return row.data
    return json.loads(record.model_dump_json())


def same(a: Any, b: Any) -> bool:
    """Equal as JSON, types included (0 is not false, 7 is not 7.0)."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


ENTITY = {
    "warehouses": "warehouse",
    "suppliers": "supplier",
    "supplier_history": "supplier_history",
    "products": "product",
    "stock": "stock",
    "receipts": "receipt",
    "accounts": "account",
    "orders": "order",
    "queue": "queue_entry",
    "eta_changes": "eta_change",
    "conflicts": "conflict",
}


async def test_every_snapshot_section_matches_the_protocol_and_the_slow_path(server, client, world):
    people = await build(server, client, world)
    for who in ("rep1", "boss"):
        for section in p.SNAPSHOT_SECTIONS:
            records = await fetch_section(people[who], section)
            assert records, (who, section)
            with server.db.session() as s:
                for record in records:
                    assert record["entity"] == ENTITY[section]
                    assert same(record["data"], slow_record(s, section, record["key"])), record
            keys = [r["key"] for r in records]
            assert len(set(keys)) == len(keys)
            if section == "orders":  # the odd cases are there: a shipped shipment, a note
                shipments = [x for r in records for x in r["data"]["shipments"]]
                assert any(x["status"] == "shipped" and x["shipped_at"] for x in shipments)


async def test_snapshot_counts_are_what_a_full_download_holds(server, client, world):
    people = await build(server, client, world)
    for who in ("rep1", "rep2", "rep3", "boss"):
        answer = await people[who].get("/sync/snapshot-counts")
        assert answer.status_code == 200, answer.text
        counts = p.SnapshotCounts.model_validate_json(answer.content).sections
        assert tuple(counts) == p.SNAPSHOT_SECTIONS
        for section in p.SNAPSHOT_SECTIONS:
            assert counts[section] == len(await fetch_section(people[who], section)), (who, section)
    assert (await client.get("/sync/snapshot-counts")).status_code == 401


async def test_stock_receipts_and_queue_are_scoped_to_the_callers_warehouses(server, client, world):
    people = await build(server, client, world)
    wh1, wh2 = world.warehouse_id, people["wh2"]
    seen = {}
    for who in ("rep1", "rep2", "rep3", "boss"):
        seen[who] = {
            section: {r["data"]["warehouse_id"] for r in await fetch_section(people[who], section)}
            for section in ("stock", "receipts", "queue")
        }
    assert seen["rep1"] == {"stock": {wh1}, "receipts": {wh1}, "queue": {wh1}}
    assert seen["rep2"] == {"stock": {wh2}, "receipts": {wh2}, "queue": {wh2}}
    everything = {"stock": {wh1, wh2}, "receipts": {wh1, wh2}, "queue": {wh1, wh2}}
    assert seen["boss"] == everything
    # no accounts: nothing to order for, so no warehouse's data
    assert seen["rep3"] == {"stock": set(), "receipts": set(), "queue": set()}
    # history: each rep gets their own ETA moves and conflicts, the supervisor all of them
    history = {
        who: {
            section: {r["data"]["id"] for r in await fetch_section(people[who], section)}
            for section in ("eta_changes", "conflicts")
        }
        for who in ("rep1", "rep2", "rep3", "boss")
    }
    for section in ("eta_changes", "conflicts"):
        mine, theirs = history["rep1"][section], history["rep2"][section]
        assert mine and theirs and not mine & theirs, section
        assert history["boss"][section] == mine | theirs and not history["rep3"][section]
    # the catalog is everyone's
    assert len(await fetch_section(people["rep2"], "products")) == 4


async def test_pull_pages_match_the_protocol_and_the_change_log(server, client, world):
    people = await build(server, client, world)
    for who in ("rep1", "boss"):
        device = people[who]
        cursor, changes = 0, []
        while True:
            response = await device.get("/sync/pull", cursor=cursor, limit=3)
            assert response.status_code == 200
            p.PullPage.model_validate_json(response.content)
            page = response.json()
            changes += page["changes"]
            cursor = page["cursor"]
            if not page["has_more"]:
                break
        with server.db.session() as s:
            query = select(ChangeRow).order_by(ChangeRow.seq)
            if who != "boss":  # their own, and the shared rows of their accounts' warehouses
                mine = device.user_id
                served = set(
                    s.exec(select(AccountRow.warehouse_id).where(AccountRow.rep_id == mine))
                )
                rows = [
                    r
                    for r in s.exec(query)
                    if r.rep_id in (None, mine) and r.warehouse_id in (None, *served)
                ]
            else:
                rows = list(s.exec(query))
        expected = [
            {"seq": r.seq, "entity": r.entity, "key": r.key, "op": r.op, "data": r.data}
            for r in rows
        ]
        assert same(changes, expected)
        assert any(c["op"] == "upsert" and c["entity"] == "order" for c in changes)


async def test_bad_after_keys_are_refused_for_every_section(server, client, world):
    people = await build(server, client, world)
    for section, bad in (
        ("stock", "no-at-sign"),
        ("stock", "A@x"),
        ("receipts", "x"),
        ("warehouses", "x"),
        ("orders", "not-a-uuid"),
        ("queue", "1.5"),
    ):
        response = await people["rep1"].get("/sync/snapshot", section=section, after=bad)
        assert response.status_code == 422, (section, bad, response.text)
        assert "after" in response.json()["message"]


async def snapshot_all(device, limit: int = 2, prefetch=None) -> list[dict[str, Any]]:
    """Every section, page by page, in the engine's order: the raw page bodies. With
    `prefetch`, each next page is let finish building before it is asked for."""
    pages = []
    for section in p.SNAPSHOT_SECTIONS:
        after = None
        while True:
            params: dict[str, Any] = {"section": section, "limit": limit}
            if after is not None:
                params["after"] = after
            response = await device.get("/sync/snapshot", **params)
            assert response.status_code == 200, response.text
            p.SnapshotPage.model_validate_json(response.content)
            page = response.json()
            pages.append(page)
            if prefetch is not None:
                slot = prefetch._slots.get(uuid.UUID(device.device_id))
                if slot is not None:
                    while slot.state == "queued":  # the worker has not picked it up yet
                        await asyncio.sleep(0.001)
                    assert slot.done.wait(10)
            if not page["has_more"]:
                break
            after = page["after"]
    return pages


async def test_prefetched_pages_equal_pages_built_on_request(server, client, world):
    people = await build(server, client, world)
    prefetch = server.app.state.prefetch
    prefetch.enabled = False
    plain = await snapshot_all(people["rep1"])
    prefetch.enabled = True
    before = prefetch.hits
    # gzip asked for: prefetched bodies are gzipped ahead (httpx decodes them transparently)
    ahead = await snapshot_all(people["rep1"], prefetch=prefetch)
    assert ahead == plain
    # supplier_history (1), products (2 pages of 2), stock (2: WH1 only), receipts (1): all six
    # came from the prefetch (each first page is built once the section before is served)
    assert prefetch.hits - before == 6


async def test_a_change_after_the_prefetch_is_never_hidden_by_it(server, client, world):
    """The next page was built ahead; then stock changes: the device must get the new state
    (and the new cursor), not the page built before the change."""
    people = await build(server, client, world)
    rep1, boss = people["rep1"], people["boss"]
    prefetch = server.app.state.prefetch
    first = (await rep1.get("/sync/snapshot", section="stock", limit=1)).json()
    assert first["has_more"] and first["rows"][0][0] == f"A@{world.warehouse_id}"
    slot = prefetch._slots[uuid.UUID(rep1.device_id)]
    assert slot.done.wait(10) and slot.state == "done"  # page 2 (item B) is ready
    counted = await boss.post(
        "/warehouse/stock/count", {"sku": "B", "warehouse_id": world.warehouse_id, "counted": 42}
    )
    assert counted.status_code == 200
    misses = prefetch.misses
    second = (
        await rep1.get("/sync/snapshot", section="stock", limit=1, after=first["after"])
    ).json()
    assert records_of(second)[0]["data"]["sku"] == "B"
    assert records_of(second)[0]["data"]["on_hand"] == 42
    assert second["cursor"] > first["cursor"]
    assert prefetch.misses == misses + 1
    # without a change in between, the next page comes from the prefetch
    slot = prefetch._slots[uuid.UUID(rep1.device_id)]
    assert slot.done.wait(10)
    hits = prefetch.hits
    third = (
        await rep1.get("/sync/snapshot", section="stock", limit=1, after=second["after"])
    ).json()
    assert prefetch.hits == hits + 1 and records_of(third)[0]["data"]["sku"] == "C"
