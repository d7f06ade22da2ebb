"""Incoming stock: scheduled receipts with what waits for them; FIFO and priority previews side
by side; commit; a delay and the ETAs it moves; an unplanned arrival, discarded or received."""

from __future__ import annotations

from app.domain.model import AllocationPolicy
from app.ui.console.stock import IncomingState
from tests.integration.conftest import days, sign_in


async def two_waiting(http, world):
    """A has none on hand; receipts of 4 (day 3) and 10 (day 10). A tier-3 account orders 4
    first, a tier-1 account 4 after: FIFO serves the first, priority the second."""
    world.user("rep1")
    small = world.account("rep1", tier=3)
    big = world.account("rep1", tier=1)
    world.product("A", 0)
    world.product("B", 5)
    first = world.receipt("A", 4, days(3))
    later = world.receipt("A", 10, days(10), kind="estimated")
    other = world.receipt("B", 7, days(2))
    rep = await sign_in(http, "rep1")
    early = await rep.order(small, ("A", 4))
    late = await rep.order(big, ("A", 4))
    return first, later, other, early["order_id"], late["order_id"]


async def test_receipts_list_what_waits_for_them(http, world, session):
    first, later, other, *_ = await two_waiting(http, world)
    state = IncomingState(session)
    assert await state.load()
    assert [r.id for r in state.all] == [first, later, other]  # waited for first, then by date
    row = state.all[0]
    assert (row.sku, row.remaining, row.waiting_lines, row.waiting_units) == ("A", 4, 2, 8)
    assert row.words == (
        f"Receipt {first}: 4 x A into WH1 Main, expected 6 Mar 2025 (confirmed) · "
        "2 lines wait for 8 units"
    )
    assert state.all[2].words.endswith("nothing waits for it")
    state.search = "b"
    assert [r.id for r in state.visible()] == [other]
    state.search = str(later)
    assert [r.id for r in state.visible()] == [later]


async def test_preview_side_by_side_then_commit(server, http, world, session):
    _first, later, _other, early, late = await two_waiting(http, world)
    state = IncomingState(session)
    await state.load()
    state.select(later)
    assert not await state.make_preview("11")
    assert state.message == "Quantity: only 10 units remain on this receipt"
    assert not await state.make_preview("two")
    assert state.message == "Quantity: a whole number of units, 1 or more"
    # 5 of the day-10 receipt arrive early: one order is filled, the other gets 1 unit and
    # now completes from the day-3 receipt.
    assert await state.make_preview("5")
    view = state.preview
    assert view.quantity == 5 and not view.same
    assert view.fifo.title == "First come, first served (the server's policy: Commit does this)"
    assert view.priority.title == "Priority"
    assert [(a.order_id, a.quantity) for a in view.fifo.allocations] == [(early, 4), (late, 1)]
    assert [(a.order_id, a.quantity) for a in view.priority.allocations] == [(late, 4), (early, 1)]
    assert view.fifo.allocations[0].text.endswith("line 1: 4 units, fills the line")
    assert view.fifo.allocations[1].text.endswith("line 1: 1 unit, part of the line")
    assert view.fifo.summary == "2 lines get 5 units · 1 ETA moves · 0 units left as free stock"
    assert [m.order_id for m in view.fifo.moves] == [late]
    assert view.fifo.moves[0].text.endswith(
        "ETA from 13 Mar 2025 (estimated) to 6 Mar 2025 (confirmed)"
    )
    assert [m.order_id for m in view.priority.moves] == [early]

    assert await state.commit()
    assert state.message == f"Receipt {later}: 5 units received."
    assert [a.order_id for a in state.result.outcome.allocations] == [early, late]
    assert [m.order_id for m in state.result.outcome.moves] == [late]
    assert state.result.stock_text == "A in warehouse 1: 5 on hand, 5 reserved"
    assert [r.remaining for r in state.all if r.id == later] == [5]
    assert state.preview is None and state.selected is None


async def test_priority_is_what_commit_does_on_a_priority_server(server, http, world, session):
    server.settings.allocation_policy = AllocationPolicy.PRIORITY
    first, _later, _other, _early, late = await two_waiting(http, world)
    state = IncomingState(session)
    await state.load()
    assert state.policy == "priority"
    state.select(first)
    await state.make_preview()
    assert state.preview.priority.will_apply and not state.preview.fifo.will_apply
    await state.commit()
    assert [a.order_id for a in state.result.outcome.allocations] == [late]


async def test_a_delay_moves_etas_and_says_how_many(http, world, session):
    first, *_ = await two_waiting(http, world)
    state = IncomingState(session)
    await state.load()
    state.select(first)
    assert not await state.delay("next week")
    assert "YYYY-MM-DD" in state.message
    assert await state.delay("2025-03-20", "estimated")
    assert state.message == f"Receipt {first} moved to 20 Mar 2025: 1 ETA moved."
    assert state.result.title == f"Receipt {first} now expected 20 Mar 2025 (estimated)"
    assert " to 13 Mar 2025 (estimated)" in state.result.outcome.moves[0].text


async def test_an_unplanned_arrival_is_previewed_then_discarded_or_received(http, world, session):
    *_, early, _late = await two_waiting(http, world)
    state = IncomingState(session)
    await state.load()
    assert not await state.record_arrival("A", None, "3")
    assert state.message == "Warehouse: pick where it arrived"
    assert await state.record_arrival(" a ", world.warehouse_id, "3")
    made = state.created
    assert state.selected.id == made and state.preview.quantity == 3
    assert await state.discard()
    assert state.message == f"Receipt {made} cancelled: nothing was received."
    assert made not in [r.id for r in state.all]
    assert await state.record_arrival("A", world.warehouse_id, "4")
    assert await state.commit()
    assert [a.order_id for a in state.result.outcome.allocations] == [early]
    assert state.created is None


async def test_a_receipt_received_elsewhere_is_refused_in_words(http, world, session, boss):
    first, *_ = await two_waiting(http, world)
    state = IncomingState(session)
    await state.load()
    state.select(first)
    await state.make_preview()
    await boss.post(f"/warehouse/receipts/{first}/receive", {})
    assert not await state.commit()
    assert state.message == f"Receipt {first} was not recorded: receipt {first} is already received"


async def test_a_lost_answer_to_a_receipt_reloads_before_anything_else(http, world, session, line):
    first, *_ = await two_waiting(http, world)
    state = IncomingState(session)
    await state.load()
    state.select(first)
    await state.make_preview()
    line.mode = "lose"
    assert not await state.commit()
    line.mode = "up"
    assert "may not be recorded" in state.message and "reload to check" in state.message
    await state.load()
    assert first not in [r.id for r in state.all]  # it had gone through: no second receipt
    assert state.preview is None
