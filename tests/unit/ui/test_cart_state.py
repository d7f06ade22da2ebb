"""The cart screen's state: live re-labelling, typed quantities, policies, plan, submit."""

from __future__ import annotations

from app.domain.model import PolicyKind
from app.store import Store
from app.ui.state.cart import CartState
from app.ui.state.labels import ChipKind


def cart(shop) -> CartState:
    state = CartState(shop)
    state.set_account("A1")
    return state


def test_a_line_relabels_as_its_quantity_changes(shop):
    state = cart(shop)
    state.cart.add("CF-200", 5)
    (row,) = state.screen().rows
    assert (row.words, row.chip.text) == ("All in stock", "In stock")
    assert state.set_quantity("CF-200", "10")
    (row,) = state.screen().rows
    assert (row.words, row.chip.kind) == ("6 now, 4 on backorder, ETA 12 Mar", ChipKind.PARTIAL)
    assert state.step("CF-200", +1)
    assert state.screen().rows[0].words == "6 now, 5 on backorder, ETA 12 Mar"
    assert state.step("CF-200", -6)
    assert state.screen().rows[0].words == "All in stock"


def test_typed_quantities_are_checked_with_a_reason(shop):
    state = cart(shop)
    state.cart.add("CF-100", 1)
    assert not state.set_quantity("CF-100", "ten")
    assert state.error and "whole number of units, not 'ten'" in state.message
    assert not state.set_quantity("CF-100", "1000000")
    assert "at most 100,000" in state.message
    assert state.set_quantity("CF-100", " 1,200 ")
    assert state.screen().rows[0].quantity == 1200
    assert state.set_quantity("CF-100", "0")  # zero removes the line
    assert state.screen().rows == ()


def test_items_without_a_restock_date_offer_alternatives(shop):
    state = cart(shop)
    state.cart.add("TE-200", 5)  # discontinued, 2 left, alternative TE-100
    state.cart.add("SU-100", 1)  # out of stock, nothing scheduled
    rows = {r.sku: r for r in state.screen().rows}
    assert rows["TE-200"].undated and rows["TE-200"].alternatives == ("TE-100",)
    assert rows["SU-100"].undated and rows["SU-100"].category == "pantry"
    assert not rows["SU-100"].alternatives


def test_the_plan_follows_the_policy(shop):
    state = cart(shop)
    state.cart.add("CF-100", 2)  # today
    state.cart.add("CF-200", 10)  # 6 today, 4 on 12 Mar
    state.cart.add("TE-100", 3)  # estimated, 17 Mar
    screen = state.screen()
    assert screen.policy is PolicyKind.SHIP_AS_AVAILABLE
    assert [(s.when, s.units) for s in screen.plan] == [("3 Mar", 8), ("12 Mar", 4), ("17 Mar", 3)]
    assert state.set_policy(PolicyKind.ALL_OR_NOTHING)
    assert [(s.when, s.units) for s in state.screen().plan] == [("17 Mar", 15)]
    assert state.set_policy(PolicyKind.CAPPED_SPLIT, "2")
    screen = state.screen()
    assert (screen.policy, screen.cap, len(screen.plan)) == (PolicyKind.CAPPED_SPLIT, 2, 2)
    assert screen.plan[0].lines == ("Arabica Beans 1kg × 2",)
    assert not state.set_policy(PolicyKind.CAPPED_SPLIT, "two")
    assert "whole number n" in state.message
    assert not state.set_policy(PolicyKind.CAPPED_SPLIT, "0")
    assert "at least 1 shipment" in state.message


def test_undated_units_show_in_the_plan_as_having_no_date(shop):
    state = cart(shop)
    state.cart.add("SU-100", 4)
    (step,) = state.screen().plan
    assert (step.when, step.dated, step.lines) == ("No date yet", False, ("Cane Sugar 1kg × 4",))


def test_placing_says_what_was_promised_and_empties_the_cart(shop):
    state = cart(shop)
    state.cart.add("CF-200", 10)
    state.set_note("back door")
    done = state.place()
    assert done is not None
    assert done.title.startswith("Order for Cafe Roma is in the outbox")
    assert done.promised == ("Robusta Ground 500g × 10: 6 now, 4 on backorder, ETA 12 Mar",)
    assert [s.when for s in done.plan] == ["3 Mar", "12 Mar"]
    assert state.screen().rows == ()


def test_placing_what_cannot_be_placed_says_why(shop):
    state = CartState(shop)
    assert state.place() is None
    assert "choose an account" in state.message and "the cart is empty" in state.message
    assert not state.screen().can_place


def test_credit_hold_is_a_warning_before_submitting(shop):
    state = CartState(shop)
    state.set_account("A2")
    state.cart.add("CF-100", 1)
    screen = state.screen()
    assert screen.credit_hold and any("credit hold" in w for w in screen.warnings)
    assert screen.policy is PolicyKind.CAPPED_SPLIT and screen.cap == 2  # the account's default


def test_the_cart_survives_a_restart(shop, tmp_path, clock):
    state = cart(shop)
    state.cart.add("CF-200", 7)
    state.set_policy(PolicyKind.ALL_OR_NOTHING)
    shop.close()
    again = Store.open(tmp_path / "device.db", clock=clock)
    screen = CartState(again).screen()
    assert screen.account == "Cafe Roma"
    assert [(r.sku, r.quantity) for r in screen.rows] == [("CF-200", 7)]
    assert screen.policy is PolicyKind.ALL_OR_NOTHING
    again.close()


def test_all_at_once_with_undated_units_is_said_before_placing_and_can_be_mended(shop):
    state = cart(shop)
    state.cart.add("CF-100", 2)  # in stock
    state.cart.add("CF-200", 30)  # 6 now, 20 on 12 Mar, 4 with no date
    state.cart.add("SU-100", 3)  # out of stock, no restock date
    assert state.set_policy(PolicyKind.ALL_OR_NOTHING)
    screen = state.screen()
    assert screen.never_ships == (
        "All at once: nothing ships until every line has a date, and 7 units have no "
        "restock date yet"
    )
    assert screen.never_ships + "." in screen.warnings
    assert state.set_policy(PolicyKind.SHIP_AS_AVAILABLE) and state.screen().never_ships == ""
    assert state.set_policy(PolicyKind.ALL_OR_NOTHING)
    assert state.drop_undated() and state.message == "2 lines without a date trimmed"
    quantities = {r.sku: r.quantity for r in state.screen().rows}
    assert quantities == {"CF-100": 2, "CF-200": 26}  # the dated part kept, sugar gone
    assert state.screen().never_ships == ""
