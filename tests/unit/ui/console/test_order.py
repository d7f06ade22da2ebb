"""One order under review: lines with reserved, waiting and ETAs, history; decisions that are
versioned (a stale one shows the fresh state), and a decision that could not be sent is kept."""

from __future__ import annotations

from app.ui.console.order import OrderState
from tests.integration.conftest import days, sign_in


async def backordered(http, world, tier: int = 3):
    """rep1 orders 4 x A (10 on hand) and 3 x B (none; 10 due on day 4, estimated)."""
    world.user("rep1")
    account = world.account("rep1", tier=tier)
    world.product("A", 10)
    world.product("B", 0)
    receipt = world.receipt("B", 10, days(4), kind="estimated")
    rep = await sign_in(http, "rep1")
    order = await rep.order(account, ("A", 4), ("B", 3), note="call before noon")
    return rep, order, receipt


async def test_the_detail_says_what_is_reserved_waiting_and_when(http, world, session, boss):
    _rep, order, receipt = await backordered(http, world)
    state = OrderState(session)
    assert await state.load(order["order_id"])
    view = state.view
    assert view.status_text == "Needs review" and view.version == 1
    assert view.outcome_text == "backordered" and view.note == "call before noon"
    assert view.headline.startswith("Needs review · version 1 · backordered · placed 3 Mar 2025")
    a, b = view.lines
    assert (a.reserved, a.waiting, a.eta_text, a.label_text) == (4, 0, "", "in stock")
    assert (b.reserved, b.waiting, b.backordered) == (0, 3, 3)
    assert b.eta_text == "7 Mar 2025 (estimated)" and b.eta_kind == "estimated"
    assert b.words == (
        "Line 2: 3 x B · backordered · 0 reserved · 3 backordered at commit · "
        "3 waiting, ETA 7 Mar 2025 (estimated)"
    )
    assert [s.title for s in view.shipments] == ["Shipment 1: ready, 3 Mar 2025",
                                                 "Shipment 2: planned, 7 Mar 2025"]  # fmt: skip
    assert view.shipments[1].lines == "3 x B"
    assert [e.kind for e in view.history] == ["committed"]
    assert view.actions == ("approve", "hold", "reject")

    await boss.post(f"/warehouse/receipts/{receipt}/receive", {"quantity": 3})
    assert await state.load(order["order_id"])
    # B is there: its customer's date moves up to today, and they are told (an ETA change)
    assert [e.kind for e in state.view.history] == ["committed", "allocated", "eta"]
    assert state.view.history[1].text == "line 2: 3 x B allocated (receipt) (system)"
    assert state.view.allocations == (
        f"3 Mar 2025 09:00 · line 2 (B): 3 from receipt {receipt}, by first come, first served",
    )


async def test_approve_then_a_stale_decision_shows_the_fresh_state(http, world, session, boss):
    _rep, order, _ = await backordered(http, world)
    state = OrderState(session)
    await state.load(order["order_id"])
    assert await state.decide("approve", "  ok to ship  ")
    assert state.ok and state.view.status == "approved" and state.view.version == 2
    assert state.view.review_note == "ok to ship"
    assert state.message == "Approved (now version 2). The rep sees it at their next sync."
    assert state.view.actions == ("hold", "reject")

    # Someone else holds it meanwhile; this screen still shows version 2.
    await boss.post(
        f"/supervisor/orders/{order['order_id']}/decision",
        {"action": "hold", "note": "credit check", "version": 2},
    )
    assert not await state.decide("reject", "duplicate")
    assert state.stale and not state.ok
    assert state.view.status == "on_hold" and state.view.version == 3  # the fresh state
    assert state.message.startswith("Not rejected: someone changed this order while you were")
    assert "it is now on hold, version 3" in state.message
    assert await state.decide("reject", "duplicate")
    assert state.view.status == "rejected" and not state.stale
    assert state.view.lines[0].reserved == 0  # rejecting released the stock
    assert state.view.actions == ()


async def test_a_refused_decision_says_why(http, world, session, boss):
    rep, order, _ = await backordered(http, world)
    state = OrderState(session)
    await state.load(order["order_id"])
    await rep.push({"name": "cancel_order", "order_id": order["order_id"]})
    await state.load(order["order_id"])
    assert state.view.status == "cancelled" and state.view.actions == ()
    # A decision sent anyway (e.g. from a screen opened before) is refused in words.
    fresh_version = state.view.version
    assert not await state.decide("approve")
    assert state.message.startswith("Not approved: order") and "cancelled" in state.message
    assert state.view.version == fresh_version


async def test_an_unsent_decision_is_kept_and_retried(http, world, session, line):
    _rep, order, _ = await backordered(http, world)
    state = OrderState(session)
    await state.load(order["order_id"])
    line.mode = "down"
    assert not await state.decide("hold", "check credit")
    assert state.unsent.action == "hold" and state.unsent.note == "check credit"
    assert state.message.startswith("Your decision (hold) was not recorded: cannot reach")
    line.mode = "up"
    assert await state.retry()
    assert state.view.status == "on_hold" and state.unsent is None


async def test_a_lost_answer_is_checked_before_retrying(http, world, session, line):
    _rep, order, _ = await backordered(http, world)
    state = OrderState(session)
    await state.load(order["order_id"])
    line.mode = "lose"  # the server approves, the answer never arrives
    assert not await state.decide("approve")
    assert state.unsent.maybe_applied and "reload to check" in state.message
    line.mode = "up"
    assert await state.retry()
    assert state.message == "Approved: it had reached the server."
    assert state.view.status == "approved" and state.view.version == 2  # applied once


async def test_an_unknown_order_is_said(session, world):
    state = OrderState(session)
    assert not await state.load("00000000-0000-4000-8000-000000000000")
    assert state.error.startswith("Could not load order 00000000: order_id")
