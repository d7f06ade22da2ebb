"""sync.supervisor.SupervisorClient against the real server: typed answers from every endpoint
the console uses, paging, and each failure as an error that says what to do."""

from __future__ import annotations

import socket

import httpx
import pytest

from app.domain.model import EtaKind
from sync import protocol as p
from sync.supervisor import (
    NotAllowed,
    NotFound,
    OrderQuery,
    Refused,
    StaleOrder,
    SupervisorClient,
    Unreachable,
)
from tests.integration.conftest import days, sign_in


async def setup(client, world):
    world.user("rep1")
    world.user("boss", role="supervisor")
    account = world.account("rep1")
    world.product("A", 10)
    world.product("B", 0)
    receipt = world.receipt("B", 10, days(4))
    rep = await sign_in(client, "rep1")
    boss = await sign_in(client, "boss")
    return rep, SupervisorClient(client, "http://server", boss.token), account, receipt


async def test_review_round_trip(client, world):
    rep, api, account, _ = await setup(client, world)
    placed = [await rep.order(account, ("A", 1)) for _ in range(3)]
    placed.append(await rep.order(account, ("B", 2)))
    page = await api.orders(OrderQuery(status="open"), limit=2)
    assert isinstance(page, p.OrderList) and page.total == 4 and len(page.items) == 2
    assert page.counts == {"open": 4}
    everything = await api.all_orders(OrderQuery())
    assert [str(o.id) for o in everything] == [o["order_id"] for o in reversed(placed)]
    assert [o.id for o in await api.all_orders(OrderQuery(), cap=3)] == [
        o.id for o in everything[:3]
    ]
    short = await api.orders(OrderQuery(has_backorders=True, date_from=days(0), date_to=days(0)))
    assert short.total == 1
    oid = placed[-1]["order_id"]
    detail = await api.order(oid)
    assert detail.order.lines[0].waiting == 2 and detail.history[0].kind == "committed"
    held = await api.decide(oid, "hold", version=1, note="check")
    assert held.order.status == "on_hold" and held.order.version == 2
    with pytest.raises(StaleOrder) as stale:
        await api.decide(oid, "approve", version=1)
    assert stale.value.current.order.version == 2 and "version" in str(stale.value)
    with pytest.raises(NotFound, match="no such order"):
        await api.order("00000000-0000-4000-8000-000000000000")
    with pytest.raises(Refused, match="date_to"):
        await api.orders(OrderQuery(date_from=days(3), date_to=days(1)))


async def test_reports_and_reference_data(server, client, world):
    rep, api, account, receipt = await setup(client, world)
    await rep.order(account, ("B", 3))
    report = await api.metrics(days(-27), days(1))
    assert report.metrics.orders == 1 and len(report.trend) == 12
    nothing_low = await api.low_stock(limit=5)  # B's 3 waiting are covered by its receipt
    assert isinstance(nothing_low, p.LowStockList)
    assert (nothing_low.total, nothing_low.items) == (0, [])
    info = await api.info()
    assert info.today == days(0) and info.allocation_policy.value == "fifo"
    assert [r.id for r in await api.receipts()] == [receipt]
    assert [a.id for a in await api.accounts()] == [account]
    assert [w.code for w in await api.warehouses()] == ["WH1"]
    assert [(q.sku, q.waiting) for q in await api.waiting()] == [("B", 3)]

    # C: 2 on hand, nothing coming, 12 ordered; the next day that demand counts.
    world.product("C", 2)
    await rep.order(account, ("C", 12))
    server.clock.advance(days=1)
    low = await api.low_stock(limit=5)
    # B sold 3 yesterday, its first sale: its demand counts from then (1.5 a day over the two
    # days kept), not spread over 56 days, so its 7 projected are under its reorder point too.
    assert isinstance(low, p.LowStockList) and low.total == len(low.items) == 2
    c, b = low.items
    assert (b.sku, b.mean_daily_demand, b.projected_free) == ("B", 1.5, 7)
    assert (c.sku, c.name, c.warehouse_id) == ("C", "Product C", world.warehouse_id)
    assert (c.free_now, c.inbound, c.backordered, c.projected_free) == (0, 0, 10, -10)
    assert c.mean_daily_demand > 0 and 0 <= c.safety_stock <= c.reorder_point
    assert c.suggested_quantity >= c.reorder_point + 10  # back up to at least the reorder point


async def test_supply_round_trip(client, world):
    rep, api, account, receipt = await setup(client, world)
    order = await rep.order(account, ("B", 3))
    made = await api.schedule_receipt("B", world.warehouse_id, 5, days(2), EtaKind.ESTIMATED)
    assert made.receipt.status == "scheduled" and made.receipt.kind is EtaKind.ESTIMATED
    assert [str(m.order_id) for m in made.allocation.eta_moves] == [order["order_id"]]
    preview = await api.preview(receipt, 2)
    assert preview.quantity == 2 and preview.fifo.allocations[0].quantity == 2
    moved = await api.delay(receipt, days(6))
    assert moved.receipt.expected == days(6)
    got = await api.receive(receipt, 2)
    assert got.receipt.received == 2 and got.stock.reserved == 2
    assert (await api.cancel_receipt(made.receipt.id)).receipt.status == "cancelled"
    with pytest.raises(Refused, match="already cancelled"):
        await api.cancel_receipt(made.receipt.id)
    with pytest.raises(NotFound, match="no product"):
        await api.schedule_receipt("NOPE", world.warehouse_id, 1, days(1))


async def test_who_may_and_who_may_not(client, world):
    rep, _api, _account, _ = await setup(client, world)
    as_rep = SupervisorClient(client, "http://server", rep.token)
    with pytest.raises(NotAllowed, match="supervisor"):
        await as_rep.orders()
    nobody = SupervisorClient(client, "http://server", "not-a-token")
    with pytest.raises(NotAllowed, match="sign in again"):
        await nobody.orders()


async def test_an_unreachable_server_is_said_in_words():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again below: nothing listens there
    async with httpx.AsyncClient(timeout=2) as http:
        api = SupervisorClient(http, f"http://127.0.0.1:{port}/", "token")
        with pytest.raises(Unreachable) as lost:
            await api.decide("00000000-0000-4000-8000-000000000000", "approve", version=1)
    assert str(lost.value).startswith(f"cannot reach the server at http://127.0.0.1:{port}")
    assert "nothing was sent" in str(lost.value) and not lost.value.maybe_applied


async def test_from_store_needs_a_sign_in(tmp_path):
    from app.store import Store

    store = Store.open(tmp_path / "device.db")
    try:
        async with httpx.AsyncClient() as http:
            with pytest.raises(NotAllowed, match="sign in as a supervisor"):
                SupervisorClient.from_store(store, http)
    finally:
        store.close()
