"""The cart: labels and ETAs from the snapshot minus the rep's own unsynced orders, the plan,
problems and warnings, and placing the order atomically."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from app.domain.model import DomainError, EtaKind, Label, PolicyKind
from app.store import CartService, Orders, OrderState, Store, StoreError, pending
from tests.unit.store.helpers import NOW, TODAY, Clock, d, demand, load, open_store


def labels(check):
    return {
        line.sku: (line.label, line.availability.now, line.availability.eta) for line in check.lines
    }


@pytest.fixture
def cart(shop) -> CartService:
    cart = CartService(shop)
    cart.set_account("A1")
    return cart


def count(store: Store, table: str) -> int:
    with store.read() as session:
        return session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


def test_every_label_against_a_small_snapshot(cart):
    for sku, qty in [("CF-100", 4), ("CF-200", 5), ("TE-100", 3), ("TE-200", 3), ("SU-100", 1)]:
        cart.add(sku, qty)
    check = cart.check()
    got = labels(check)
    assert got["CF-100"] == (Label.IN_STOCK, 4, None)
    assert got["CF-200"][:2] == (Label.PARTIAL, 3) and got["CF-200"][2].date == d(7)
    assert got["TE-100"][:2] == (Label.BACKORDERED, 0)
    assert got["TE-100"][2].date == d(14) and got["TE-100"][2].kind is EtaKind.ESTIMATED
    assert got["TE-200"][:2] == (Label.DISCONTINUED, 2)
    assert got["SU-100"] == (Label.OUT_OF_STOCK, 0, None)
    assert check.can_place and check.problems == ()
    assert any("TE-200 is discontinued" in w and "TE-100" in w for w in check.warnings)
    assert check.snapshot_age == timedelta(0)
    assert [s.date for s in check.plan.shipments] == [TODAY, d(7), d(14)]


def test_the_servers_queue_ahead_is_respected(shop, cart):
    # A backorder of 8 since yesterday: it takes the 3 free units and 5 of the 20 arriving on
    # day 7, so none of the free stock may be promised again.
    load(shop, [demand("Q1", "CF-200", 8, NOW - timedelta(days=1))], cursor=2)
    cart.add("CF-200", 20)
    (line,) = cart.check().lines
    assert (line.label, line.availability.now) == (Label.BACKORDERED, 0)
    assert (line.availability.dated_quantity, line.availability.undated) == (15, 5)


def test_pending_orders_of_this_device_count_as_demand_ahead(shop, cart, clock):
    cart.add("CF-100", 7)
    cart.place()
    clock.advance(minutes=5)
    cart.add("CF-100", 7)
    (line,) = cart.check().lines
    assert (line.label, line.availability.now) == (Label.PARTIAL, 3)
    # Once the server has answered the order, its stock comes with the pull, not from here.
    (order,) = Orders(shop).list_orders()
    load(shop, [{"entity": "order", "id": order.id, "op": "upsert",
                 "data": {"account_id": "A1", "status": "open", "version": 1,
                          "client_time": NOW.isoformat()}}])  # fmt: skip
    (line,) = cart.check().lines
    assert line.label is Label.IN_STOCK


def test_the_plan_follows_the_policy(cart):
    cart.add("CF-100", 1)
    cart.add("CF-200", 5)
    cart.add("TE-100", 2)
    cart.set_policy("all_or_nothing")
    plan = cart.check().plan
    assert plan.policy.kind is PolicyKind.ALL_OR_NOTHING and [s.date for s in plan.shipments] == [
        d(14)
    ]
    cart.set_policy("capped_split", 2)
    assert len(cart.check().plan.shipments) == 2
    cart.set_policy(None)  # back to the account's default
    assert cart.view().policy.kind is PolicyKind.SHIP_AS_AVAILABLE


def test_the_accounts_default_policy_applies(shop):
    cart = CartService(shop)
    cart.set_account("A2")
    assert (cart.view().policy.kind, cart.view().policy.cap) == (PolicyKind.CAPPED_SPLIT, 2)


def test_old_figures_and_credit_hold_are_warned(shop, cart, clock):
    load(shop, [{"entity": "account", "id": "A1", "op": "upsert",
                 "data": {"name": "Cafe Central", "credit_hold": True}}])  # fmt: skip
    cart.add("CF-100")
    clock.advance(hours=30)
    check = cart.check()
    assert check.snapshot_age == timedelta(hours=30)
    assert "stock figures are 30 hours old" in check.warnings
    assert any("credit hold" in w for w in check.warnings)


def test_problems_block_placing_with_their_reasons(shop):
    cart = CartService(shop)
    check = cart.check()
    assert check.problems == (
        "choose an account for this order",
        "the cart is empty: add at least one product",
    )
    with pytest.raises(StoreError, match="cannot place the order: choose an account"):
        cart.place()


def test_a_product_gone_from_the_catalog_is_a_problem_not_a_crash(shop, cart):
    cart.add("CF-100")
    load(shop, [{"entity": "product", "id": "CF-100", "op": "delete", "data": {}}])
    check = cart.check()
    assert check.problems == ("no longer in the catalog: CF-100; remove them from the cart",)
    assert check.plan is None


def test_bad_input_says_what_is_wrong(cart):
    with pytest.raises(StoreError, match="no product with SKU 'NOPE'"):
        cart.add("NOPE")
    with pytest.raises(DomainError, match="quantity of CF-100 must be at least 1, got 0"):
        cart.add("CF-100", 0)
    with pytest.raises(DomainError, match=r"whole number of units, got 1\.5"):
        cart.add("CF-100", 1.5)
    with pytest.raises(StoreError, match="at most 100,000"):
        cart.add("CF-100", 200_000)
    with pytest.raises(DomainError, match="capped_split needs a cap of at least 1"):
        cart.set_policy("capped_split")
    with pytest.raises(DomainError, match="unknown shipment policy 'fastest'"):
        cart.set_policy("fastest")
    with pytest.raises(StoreError, match="no account 'A9'"):
        cart.set_account("A9")
    with pytest.raises(StoreError, match="'SU-100' is not in the cart"):
        cart.set_quantity("SU-100", 3)
    with pytest.raises(StoreError, match="at most 500 characters"):
        cart.set_note("x" * 501)


def test_quantities_add_up_and_zero_removes(cart):
    cart.add("CF-100", 2)
    cart.add("CF-200")
    cart.add("CF-100", 3)
    assert [(line.sku, line.quantity, line.line_id) for line in cart.view().lines] == [
        ("CF-100", 5, "1"),
        ("CF-200", 1, "2"),
    ]
    cart.set_quantity("CF-100", 0)
    assert [line.sku for line in cart.view().lines] == ["CF-200"]


def test_the_cart_survives_a_restart(tmp_path):
    store = open_store(tmp_path)
    from tests.unit.store.helpers import SMALL

    load(store, SMALL)
    cart = CartService(store)
    cart.set_account("A2")
    cart.add("CF-100", 2)
    cart.set_note("back door")
    store.close()
    again = CartService(open_store(tmp_path, Clock()))
    view = again.view()
    assert (view.account.id, view.note, [(x.sku, x.quantity) for x in view.lines]) == (
        "A2",
        "back door",
        [("CF-100", 2)],
    )
    again.store.close()


def test_placing_writes_order_promise_and_outbox_together_and_empties_the_cart(shop, cart):
    cart.add("CF-200", 5)
    cart.set_note("ring twice")
    placed = cart.place()
    with shop.read() as session:
        (entry,) = pending(session)
    assert entry.mutation_id == placed.mutation_id == 1
    assert entry.name == "place_order"
    # The protocol's place_order, less mutation_id and client_time (the entry's own).
    assert entry.args == {
        "order_id": placed.order_id,
        "account_id": "A1",
        "lines": [{"sku": "CF-200", "quantity": 5, "promise": {
            "label": "partial", "now": 3, "eta": d(7).isoformat(), "eta_kind": "confirmed",
            "price_cents": 1000,
                # as the cart showed it: 3 today, 2 on day 7; the line is complete on day 7
                "schedule": [[d(0).isoformat(), 3], [d(7).isoformat(), 2]],
                "ship": d(7).isoformat(), "ship_kind": "confirmed"}}],
        "policy": "ship_as_available",
        "cap": None,
        "note": "ring twice",
    }  # fmt: skip
    assert entry.created_at == NOW
    (summary,) = Orders(shop).list_orders(OrderState.PENDING)
    assert summary.id == placed.order_id and summary.total_cents == 5000
    view = cart.view()
    assert view.lines == () and view.note == "" and view.account.id == "A1"


def test_a_failure_in_the_middle_of_placing_leaves_nothing_half_written(shop, cart):
    cart.add("CF-100", 2)
    cart.add("CF-200", 1)
    with shop.write() as session:  # the outbox write fails after the order rows are written
        session.execute(text(
            "CREATE TRIGGER outbox_full BEFORE INSERT ON outbox "
            "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
        ))  # fmt: skip
    with pytest.raises(Exception, match="disk full"):
        cart.place()
    assert count(shop, "sales_order") == count(shop, "order_line") == count(shop, "outbox") == 0
    assert [line.sku for line in cart.view().lines] == ["CF-100", "CF-200"]
    with shop.read() as session:
        assert session.execute(text("SELECT last_mutation_id FROM sync_state")).scalar() == 0
    with shop.write() as session:
        session.execute(text("DROP TRIGGER outbox_full"))
    assert cart.place().mutation_id == 1  # no gap was left behind
