"""Purchase orders, the chase list and the supplier scorecards in the console, against the real
server in process: drafts from the reorder advice in one step, send, confirm with the supplier's
date, receive a part (the rest at a new date) and close the rest, cancel; a value the server
refuses lands at its field in the server's words."""

from __future__ import annotations

from app.ui.console.overdue import OverdueState
from app.ui.console.purchasing import PurchasingState, field_of
from app.ui.console.suppliers import SuppliersState
from tests.integration.conftest import days, sign_in


async def link(http, boss, sku, supplier_id, **terms):
    body = {"sku": sku, "supplier_id": supplier_id, "lead_time_days": 7, **terms}
    answer = await http.put("/supervisor/item-suppliers", json=body, headers=boss.headers)
    assert answer.status_code == 200, answer.text


async def selling(server, http, world, boss):
    """A and B sell every day for ten days and have none: the advice names both."""
    world.user("rep1")
    account = world.account("rep1")
    world.product("A", 0)
    world.product("B", 0)
    await link(http, boss, "A", world.supplier_id, lead_time_days=10, min_order_qty=12,
               pack_multiple=6)  # fmt: skip
    await link(http, boss, "B", world.supplier_id, lead_time_days=10)
    rep = await sign_in(http, "rep1")
    server.clock.advance(days=-10)
    for _ in range(10):
        await rep.order(account, ("A", 4), ("B", 2))
        server.clock.advance(days=1)
    return rep, account


def test_a_refusal_names_its_field():
    assert field_of("expected: 2025-03-01 is in the past") == "expected"
    assert field_of("body.quantity: Input should be greater than 0") == "quantity"
    assert field_of("lines[0].expected: too early") == "expected"
    assert field_of("purchase order 3 is sent, not a draft") is None


async def test_drafts_from_advice_then_send_confirm_receive_and_close(
    server, http, world, boss, session
):
    await selling(server, http, world, boss)
    state = PurchasingState(session)
    assert state.summary == "Loading…"
    assert await state.load()
    assert state.counts["open"] == 0 and state.orders == []
    assert state.summary == "0 open purchase orders"
    assert await state.drafts_from_advice()
    assert state.message.startswith("1 draft order with 2 lines made from the reorder advice")
    assert state.filter == "draft" and state.counts["draft"] == 1
    assert state.summary == "1 draft purchase order"
    (order,) = state.orders
    assert order.can_send and not order.can_confirm
    a = next(line for line in order.lines if line.sku == "A")
    assert a.quantity >= 12 and a.quantity % 6 == 0  # the supplier's minimum and pack
    state.select(order.id)
    assert await state.send()
    assert state.selected.status == "sent" and state.message == f"PO {order.id} sent to Acme."
    # The supplier's date: a past one is refused, the server's words at the field.
    assert not await state.confirm(days(-1).isoformat())
    assert state.errors["expected"].startswith(f"expected: {days(-1).isoformat()} is in the past")
    assert not await state.confirm("next week")
    assert state.errors["expected"].startswith("expected: write the date as YYYY-MM-DD")
    assert await state.confirm(days(8).isoformat())
    assert state.selected.status == "confirmed" and not state.errors
    assert {line.kind for line in state.selected.lines} == {"confirmed"}
    assert all(line.expected_on == days(8) for line in state.selected.lines)
    # Receive part of A: too many is refused at the field, then 6 with the rest due later.
    a = next(line for line in state.selected.lines if line.sku == "A")
    state.start_receiving(a.receipt_id)
    assert not await state.receive(str(a.quantity + 1))
    assert state.errors["quantity"].startswith(f"quantity: only {a.quantity} units remain")
    assert not await state.receive("6", "date", days(-2).isoformat())
    assert state.errors["rest_expected"].startswith("rest_expected: ")
    assert "in the past" in state.errors["rest_expected"]
    assert not await state.receive("0")
    assert state.errors["quantity"].startswith("quantity: ")
    assert await state.receive("6", "date", days(12).isoformat())
    assert state.message.startswith(f"Line {a.receipt_id}: 6 x A received; the rest is due")
    assert state.selected.status == "partly_received" and state.receiving is None
    a = next(line for line in state.selected.lines if line.sku == "A")
    assert (a.received, a.expected_on, a.status) == (6, days(12), "scheduled")
    # B in part, the rest closed: then nothing is open of B.
    b = next(line for line in state.selected.lines if line.sku == "B")
    state.start_receiving(b.receipt_id)
    assert await state.receive("1", "close")
    b = next(line for line in state.selected.lines if line.sku == "B")
    assert b.status == "received" and b.received == 1 and "never came" in b.words
    # Cancel: A's rest will not come either; the order is received (something came).
    assert await state.cancel()
    assert state.selected.status == "received" and not state.selected.can_cancel
    assert await state.show("received")
    assert [o.id for o in state.orders] == [order.id]


async def test_the_chase_list_and_the_scorecard(server, http, world, boss, session):
    world.user("rep1")
    account = world.account("rep1")
    world.product("A", 0)
    late = world.receipt("A", 5, days(2))
    rep = await sign_in(http, "rep1")
    await rep.order(account, ("A", 3))
    server.clock.advance(days=4)
    overdue = OverdueState(session)
    assert await overdue.load()
    (row,) = overdue.rows
    assert (row.receipt_id, row.days_late, row.supplier) == (late, 2, "Acme")
    assert overdue.summary == "1 receipt overdue; 1 customer line wait on them."
    assert row.waiting[0].text.startswith("Account 1 (")
    assert "3 units, told 5 Mar 2025" in row.waiting[0].text
    assert row.words.endswith("expected 5 Mar 2025, 2 days late; 1 customer line wait on it")
    # Received late: the supplier's scorecard counts it.
    await http.post(f"/warehouse/receipts/{late}/receive", json={}, headers=boss.headers)
    assert await overdue.load() and overdue.rows == []
    assert overdue.summary.startswith("Nothing is overdue")
    suppliers = SuppliersState(session)
    assert await suppliers.load()
    (acme,) = suppliers.rows
    assert (acme.name, acme.receipts, acme.on_time_rate, acme.mean_slip_days) == (
        "Acme", 1, 0.0, 2.0,
    )  # fmt: skip
    assert acme.words.startswith("Acme: 0.0% on time over 1 receipts, slip mean 2 days, p90 2")
    assert acme.trend_words == "not enough months for a trend"
