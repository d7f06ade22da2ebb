"""Every class of bad input gets a 4xx whose message names the field, and leaves nothing
half-written behind."""

from __future__ import annotations

import uuid

import pytest
from sqlmodel import func, select

from sync.server.models import ChangeRow, Order
from tests.integration.conftest import START, place_order, sign_in


@pytest.fixture
async def rep(client, world):
    world.user("rep1")
    world.user("boss", role="supervisor")
    world.account("rep1")
    world.product("A", 10)
    return await sign_in(client, "rep1")


@pytest.fixture
async def boss(client, rep):
    return await sign_in(client, "boss")


def mutation(**changes) -> dict:
    m = {**place_order(1, ("A", 1)), "mutation_id": 1, "client_time": START.isoformat()}
    m.update(changes)
    return m


def counts(server) -> tuple[int, int]:
    with server.db.session() as s:
        orders = s.exec(select(func.count()).select_from(Order)).one()
        changes = s.exec(select(func.count()).select_from(ChangeRow)).one()
    return orders, changes


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"lines": [{"sku": "A", "quantity": -1}]}, "lines[0].quantity"),
        ({"lines": [{"sku": "A", "quantity": 0}]}, "lines[0].quantity"),
        ({"lines": [{"sku": "A", "quantity": 10**9}]}, "lines[0].quantity"),
        ({"lines": [{"sku": "A", "quantity": "3"}]}, "lines[0].quantity"),
        ({"lines": [{"sku": "A", "quantity": 1.5}]}, "lines[0].quantity"),
        ({"lines": [{"sku": "A", "quantity": True}]}, "lines[0].quantity"),
        ({"lines": [{"sku": "", "quantity": 1}]}, "lines[0].sku"),
        ({"lines": []}, "lines"),
        ({"lines": [{"sku": "A", "quantity": 1}, {"sku": "A", "quantity": 2}]}, "lines"),
        ({"lines": [{"sku": "A", "quantity": 1, "price": 5}]}, "lines[0].price"),
        ({"order_id": "not-a-uuid"}, "order_id"),
        ({"account_id": 0}, "account_id"),
        ({"account_id": 2**40}, "account_id"),
        ({"client_time": "2025-03-03T09:00:00"}, "client_time"),
        ({"policy": "whenever"}, "policy"),
        ({"policy": "capped_split"}, "cap"),
        ({"policy": "all_or_nothing", "cap": 2}, "cap"),
        ({"mutation_id": 0}, "mutation_id"),
        ({"name": "drop_tables"}, "mutations[0]"),
        ({"note": "x" * 501}, "note"),
    ],
)
async def test_malformed_mutations_are_422_naming_the_field(server, rep, changes, field):
    before = counts(server)
    response = await rep.raw_push([mutation(**changes)])
    assert response.status_code == 422, response.text
    assert field in response.json()["message"], response.json()["message"]
    assert counts(server) == before


async def test_a_body_that_is_not_json_or_not_an_object_is_422(server, client, rep):
    for content in (b"{not json", b"[]", b"null", b'"text"'):
        response = await client.post(
            "/sync/push",
            content=content,
            headers={**rep.headers, "Content-Type": "application/json"},
        )
        assert response.status_code == 422, content
        assert "body" in response.json()["message"]
    missing = await client.post("/sync/push", json={"mutations": []}, headers=rep.headers)
    assert missing.status_code == 422 and "device_id" in missing.json()["message"]


async def test_one_bad_mutation_refuses_the_whole_batch_before_anything_applies(server, rep):
    before = counts(server)
    good = mutation()
    bad = {**mutation(lines=[{"sku": "A", "quantity": -5}]), "mutation_id": 2}
    response = await rep.raw_push([good, bad])
    assert response.status_code == 422 and "mutations[1]" in response.json()["message"]
    assert counts(server) == before


async def test_contact_edits_need_a_change_and_bounded_fields(rep):
    base = {"name": "update_account_contact", "account_id": 1, "base_version": 1}
    empty = await rep.raw_push([{**mutation(), **base, "changes": {}}])
    assert empty.status_code == 422 and "changes" in empty.json()["message"]
    long = await rep.raw_push([{**mutation(), **base, "changes": {"contact_phone": "9" * 41}}])
    assert long.status_code == 422 and "contact_phone" in long.json()["message"]


async def test_query_and_path_parameters_are_checked(rep, boss):
    cases = [
        (rep.get("/sync/pull", cursor=-1), "cursor"),
        (rep.get("/sync/pull", limit=0), "limit"),
        (rep.get("/sync/pull", limit=100_000), "limit"),
        (rep.get("/sync/snapshot"), "section"),
        (boss.get("/supervisor/orders", status="lost"), "status"),
        (boss.get("/supervisor/orders", date_from="yesterday"), "date_from"),
        (boss.get("/supervisor/orders/not-a-uuid"), "order_id"),
        (boss.get("/supervisor/metrics", start="2025-13-01"), "start"),
        (boss.post("/warehouse/receipts/0/receive", {}), "receipt_id"),
        (boss.post("/warehouse/shipments/abc/ship"), "shipment_id"),
    ]
    for call, field in cases:
        response = await call
        assert response.status_code == 422, (field, response.text)
        assert field in response.json()["message"], (field, response.json())


async def test_unknown_ids_are_404_naming_the_id(boss):
    missing = uuid.uuid4()
    cases = [
        (boss.get(f"/supervisor/orders/{missing}"), "order_id"),
        (
            boss.post(f"/supervisor/orders/{missing}/decision", {"action": "hold", "version": 1}),
            "order_id",
        ),
        (boss.post("/warehouse/receipts/424242/receive", {}), "receipt_id"),
        (boss.post("/warehouse/receipts/preview", {"receipt_id": 424242}), "receipt_id"),
        (boss.post("/warehouse/shipments/424242/ship"), "shipment_id"),
        (boss.post(f"/auth/devices/{missing}/revoke"), "device_id"),
        (
            boss.post("/warehouse/stock/count", {"sku": "NOPE", "warehouse_id": 1, "counted": 1}),
            "sku",
        ),
        (
            boss.post(
                "/warehouse/receipts",
                {"sku": "A", "warehouse_id": 99, "quantity": 1, "expected": "2025-04-01"},
            ),
            "warehouse_id",
        ),
    ]
    for call, field in cases:
        response = await call
        assert response.status_code == 404, (field, response.text)
        assert field in response.json()["detail"], (field, response.json())


async def test_supervisor_bodies_are_validated(boss):
    cases = [
        (
            boss.post(
                f"/supervisor/orders/{uuid.uuid4()}/decision", {"action": "nuke", "version": 1}
            ),
            "action",
        ),
        (boss.post(f"/supervisor/orders/{uuid.uuid4()}/decision", {"action": "hold"}), "version"),
        (boss.post("/warehouse/receipts/1/receive", {"quantity": -3}), "quantity"),
        (
            boss.post("/warehouse/stock/count", {"sku": "A", "warehouse_id": 1, "counted": -1}),
            "counted",
        ),
        (boss.post("/warehouse/receipts/1/delay", {"expected": "soon"}), "expected"),
        (
            boss.post("/supervisor/accounts/1/contact", {"base_version": 1, "changes": {"x": 1}}),
            "changes",
        ),
    ]
    for call, field in cases:
        response = await call
        assert response.status_code == 422, (field, response.text)
        assert field in response.json()["message"], (field, response.json())
