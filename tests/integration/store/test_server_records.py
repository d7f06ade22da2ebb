"""The store against what the real server sends and accepts (in process, no sync engine): the
outbox's arguments are valid mutations, and snapshot records, pull changes and push verdicts,
as raw JSON, go into the store as they are."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from app.domain.model import Label
from app.store import (
    Accounts,
    CartService,
    Catalog,
    Orders,
    OrderState,
    SnapshotLoader,
    Store,
    apply_changes,
    apply_verdict,
    mark_applied,
    pending,
    record_sync,
    sync_state,
)
from sync.protocol import PROTOCOL_HEADER, PROTOCOL_VERSION, SNAPSHOT_SECTIONS
from tests.integration.conftest import START, World, days, sign_in


async def snapshot(device: Any, store: Store) -> None:
    cursor = None
    with store.write() as session:
        loader = SnapshotLoader(session)
        for section in SNAPSHOT_SECTIONS:
            after = None
            while True:
                params = {"section": section, "limit": 2, **({"after": after} if after else {})}
                page = (await device.get("/sync/snapshot", **params)).json()
                cursor = page["cursor"] if cursor is None else cursor
                loader.add_rows(page["entity"], page["columns"], page["rows"])  # as it is
                if not page["has_more"]:
                    break
                after = page["after"]
        loader.finish(cursor)
        record_sync(session, at=store.now())


async def pull(device: Any, store: Store) -> None:
    while True:
        with store.read() as session:
            cursor = sync_state(session).cursor
        page = (await device.get("/sync/pull", cursor=cursor, limit=50)).json()
        with store.write() as session:
            apply_changes(session, page["changes"], cursor=page["cursor"])
        if not page["has_more"]:
            return


async def push(device: Any, store: Store) -> dict[str, Any]:
    with store.read() as session:
        entries = pending(session)
        device_id = sync_state(session).device_id
    body = {
        "device_id": device.device_id,
        "mutations": [
            {**e.args, "name": e.name, "mutation_id": e.mutation_id,
             "client_time": e.created_at.isoformat()}
            for e in entries
        ],
    }  # fmt: skip
    assert device_id  # the store made one; this test signs in with the server's
    response = await device.client.post("/sync/push", json=body, headers=device.headers)
    assert response.status_code == 200, response.text
    answer = response.json()
    with store.write() as session:
        for result in answer["results"]:
            if result.get("order"):
                apply_verdict(session, result["order"])
        mark_applied(session, [r["mutation_id"] for r in answer["results"]])
    return answer


async def test_records_verdicts_and_mutations_fit_the_real_server(
    world: World, client: httpx.AsyncClient, tmp_path: Path
):
    client.headers[PROTOCOL_HEADER] = str(PROTOCOL_VERSION)
    world.user("ana")
    world.product("COF-1", on_hand=5)
    world.product("TEA-1", on_hand=0)
    world.receipt("TEA-1", 10, days(6))
    account_id = world.account("ana", delivery_days=(0, 2, 4))
    device = await sign_in(client, "ana")
    store = Store.open(tmp_path / "device.db", clock=lambda: START + timedelta(hours=1))
    try:
        await snapshot(device, store)
        hits = {h.product.sku: h.availability for h in Catalog(store).search("product")}
        assert hits["COF-1"].label is Label.IN_STOCK
        assert hits["TEA-1"].label is Label.BACKORDERED and hits["TEA-1"].eta.date == days(6)
        # For the account: delivered Mon, Wed, Fri only, so the Sunday receipt arrives Monday.
        tea = Catalog(store).availability("TEA-1", account_id=account_id)
        assert tea.eta.date == days(7)

        cart = CartService(store)
        cart.set_account(account_id)  # the server's int id
        cart.add("COF-1", 8)  # 5 now, 3 on no date: partial
        cart.add("TEA-1", 2)
        placed = cart.place()
        answer = await push(device, store)  # the outbox args are the protocol's place_order
        assert answer["results"][0]["status"] == "applied", answer
        assert Orders(store).get(placed.order_id).summary.state is not OrderState.PENDING

        await pull(device, store)  # the order, with its lines, and the stock it took
        detail = Orders(store).get(placed.order_id)
        assert [line.sku for line in detail.lines] == ["COF-1", "TEA-1"]
        assert detail.lines[0].promise.now == 5 and detail.lines[0].server.now == 5
        assert detail.differences == ()
        assert Catalog(store).availability("COF-1").label is Label.OUT_OF_STOCK
        with store.read() as session:
            assert sync_state(session).cursor > 0

        # Cancelling a line and editing contact data: valid mutations too.
        Orders(store).cancel_line(placed.order_id, 2, reason="not needed")
        Accounts(store).update_contact(account_id, contact_phone="+34 600 123 456")
        shown = Accounts(store).get(account_id)  # the edit shows at once, marked as pending
        assert (shown.contact_phone, shown.pending_contact_fields) == (
            "+34 600 123 456",
            ("contact_phone",),
        )
        assert Accounts(store).list_accounts()[0].pending_contact_fields == ("contact_phone",)
        answer = await push(device, store)
        assert [r["status"] for r in answer["results"]] == ["applied", "applied"], answer
        await pull(device, store)
        detail = Orders(store).get(placed.order_id)
        assert (detail.lines[1].state, detail.lines[1].cancel_requested) == ("cancelled", False)
        contact = Accounts(store).get(account_id)
        assert (contact.contact_phone, contact.contact_version) == ("+34 600 123 456", 2)
        assert contact.pending_contact_fields == ()
    finally:
        store.close()
