"""Orders by state, promise beside verdict, cancellations, acknowledgement, dead letters."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from app.store import (
    CartService,
    Orders,
    OrderState,
    StoreError,
    apply_verdict,
    apply_verdicts,
    mark_applied,
    mark_dead,
    pending,
)
from tests.unit.store.helpers import line_data, load, order


@pytest.fixture
def placed(shop) -> str:
    cart = CartService(shop)
    cart.set_account("A1")
    cart.add("CF-100", 4)  # in stock
    cart.add("CF-200", 5)  # 3 now, 2 on day 7
    return cart.place().order_id


AS_PROMISED = [
    line_data(1, "CF-100", 4, label="in_stock", allocated=4, backordered=0),
    line_data(2, "CF-200", 5, label="partial", allocated=3, waiting=2, backordered=2,
              eta="2025-03-10", eta_kind="confirmed"),
]  # fmt: skip


def verdict(store, oid, status="open", version=1, **data):
    load(store, [order(oid, "A1", status, version=version, **data)])


def entries(store):
    with store.read() as session:
        return pending(session)


def test_accepted_as_promised_needs_nothing(shop, placed):
    verdict(shop, placed, outcome="backordered", differences=[], needs_attention=False,
            lines=AS_PROMISED)  # fmt: skip
    orders = Orders(shop)
    assert orders.get(placed).differences == ()
    assert [o.state for o in orders.list_orders()] == [OrderState.BACKORDERED]
    verdict(shop, placed, version=2, lines=[{**x, "waiting": 0} for x in AS_PROMISED])
    assert orders.list_orders()[0].state is OrderState.ACCEPTED
    verdict(shop, placed, "fulfilled", version=3)
    assert orders.counts()[OrderState.SHIPPED] == 1


def test_the_servers_differences_need_attention_until_acknowledged(shop, placed):
    diffs = ["line 2 (CF-200): ETA 17 Mar instead of 10 Mar"]
    verdict(shop, placed, outcome="accepted_with_changes", differences=diffs,
            needs_attention=True, lines=AS_PROMISED)  # fmt: skip
    orders = Orders(shop)
    assert orders.get(placed).differences == tuple(diffs)
    assert [o.id for o in orders.list_orders(OrderState.NEEDS_ATTENTION)] == [placed]
    assert orders.acknowledge(placed) == tuple(diffs)
    assert orders.list_orders(OrderState.NEEDS_ATTENTION) == []
    (_place, ack) = entries(shop)  # the server hears of it too (protocol: acknowledge)
    assert (ack.name, ack.args) == ("acknowledge", {"order_id": placed})
    # Until the server's flag clears, the same differences stay acknowledged here...
    verdict(shop, placed, version=2, differences=diffs, needs_attention=True)
    assert orders.list_orders(OrderState.NEEDS_ATTENTION) == []
    # ...and a new difference flags the order again.
    verdict(shop, placed, version=3, differences=[*diffs, "line 1 (CF-100): 2 fewer units"],
            needs_attention=True)  # fmt: skip
    assert orders.get(placed).summary.state is OrderState.NEEDS_ATTENTION
    verdict(shop, placed, version=4, differences=diffs, needs_attention=False)
    assert orders.get(placed).summary.state is OrderState.BACKORDERED


def test_without_the_servers_differences_the_device_compares_itself(shop, placed):
    verdict(shop, placed, outcome="accepted_with_changes", lines=[
        line_data(1, "CF-100", 4, label="partial", allocated=1, waiting=3, backordered=3,
                  eta="2025-03-12", price_cents=1100),
        line_data(2, "CF-200", 5, label="partial", allocated=3, waiting=2, backordered=2,
                  eta="2025-03-17"),
    ])  # fmt: skip
    orders = Orders(shop)
    detail = orders.get(placed)
    assert detail.differences == (
        "line 1 (CF-100): fewer units now, promised 4, available 1",
        "line 1 (CF-100): price changed from 10.00 to 11.00",
        "line 2 (CF-200): later ETA, promised 10 Mar, now 17 Mar",
    )
    assert detail.lines[0].promise.now == 4 and detail.lines[0].server.now == 1
    assert detail.summary.state is OrderState.NEEDS_ATTENTION
    orders.acknowledge(placed)
    assert orders.get(placed).summary.state is OrderState.BACKORDERED
    assert [e.name for e in entries(shop)] == ["place_order"]  # the server had not flagged it
    verdict(shop, placed, version=2, lines=[
        line_data(2, "CF-200", 5, label="partial", allocated=3, waiting=2, backordered=2, eta=None),
    ])  # fmt: skip
    assert orders.get(placed).summary.state is OrderState.NEEDS_ATTENTION
    assert "no restock date any more (promised 10 Mar)" in orders.get(placed).differences[-1]


def test_a_rejection_needs_attention_then_shows_as_rejected(shop, placed):
    verdict(shop, placed, "rejected", outcome="rejected", reason="credit hold")
    orders = Orders(shop)
    assert orders.get(placed).differences == ("order rejected by the server: credit hold",)
    orders.acknowledge(placed)
    assert orders.counts()[OrderState.REJECTED] == 1


def test_states_follow_the_servers_status(shop, placed):
    orders = Orders(shop)
    assert orders.counts()[OrderState.PENDING] == 1
    verdict(shop, placed, "on_hold", differences=[], needs_attention=False, lines=AS_PROMISED)
    assert orders.counts()[OrderState.ON_HOLD] == 1
    verdict(shop, placed, "cancelled", version=2)
    assert orders.counts()[OrderState.CANCELLED] == 1


def test_cancel_and_cancel_line_are_protocol_outbox_entries(shop, placed):
    verdict(shop, placed, version=4, differences=[], needs_attention=False, lines=AS_PROMISED)
    orders = Orders(shop)
    line_mutation = orders.cancel_line(placed, 2, reason="customer changed mind")
    order_mutation = orders.cancel(placed)
    found = {e.mutation_id: e for e in entries(shop)}
    assert found[line_mutation].name == "cancel_line"
    assert found[line_mutation].args == {
        "order_id": placed,
        "line_no": 2,
        "reason": "customer changed mind",
        "base_version": 4,  # the version the rep saw: a supervisor's later decision wins
    }
    assert found[order_mutation].args == {"order_id": placed, "reason": "", "base_version": 4}
    assert orders.get(placed).summary.cancel_requested
    assert orders.get(placed).lines[1].cancel_requested
    with pytest.raises(StoreError, match="already requested"):
        orders.cancel(placed)
    with shop.write() as session:
        mark_applied(session, [line_mutation, order_mutation])
    assert not orders.get(placed).summary.cancel_requested
    assert not orders.get(placed).lines[1].cancel_requested


def test_what_cannot_be_cancelled_is_refused(shop, placed):
    orders = Orders(shop)
    with pytest.raises(StoreError, match="no order 'nope'"):
        orders.cancel("nope")
    with pytest.raises(StoreError, match="has no line '9'"):
        orders.cancel_line(placed, 9)
    with pytest.raises(StoreError, match="at most 500 characters"):
        orders.cancel(placed, reason="x" * 501)
    verdict(shop, placed, lines=[line_data(1, "CF-100", 4, label="in_stock", allocated=4,
                                           shipped=4, backordered=0)])  # fmt: skip
    with pytest.raises(StoreError, match="line 1 is shipped: there is nothing to cancel"):
        orders.cancel_line(placed, 1)
    verdict(shop, placed, "fulfilled", version=2)
    with pytest.raises(StoreError, match="is fulfilled: there is nothing to cancel"):
        orders.cancel(placed)


def test_a_dead_letter_rejects_the_pending_order_and_asks_for_attention(shop, placed):
    with shop.write() as session:
        (entry,) = pending(session)
        mark_dead(session, entry.mutation_id, "account closed")
    orders = Orders(shop)
    detail = orders.get(placed)
    assert detail.summary.state is OrderState.NEEDS_ATTENTION
    assert "the server could not process it: account closed" in detail.differences[0]
    assert entries(shop) == []
    orders.acknowledge(placed)
    assert entries(shop) == []  # nothing to tell a server that never took the order


def test_unknown_state_is_refused(shop):
    with pytest.raises(StoreError, match="unknown order state 'lost'"):
        Orders(shop).list_orders("lost")


def test_a_push_verdict_takes_the_order_out_of_pending_at_once(shop, placed):
    verdict_of_push = {
        "order_id": placed,
        "outcome": "accepted_with_changes",
        "reason": None,
        "status": None,
        "version": 1,
        "lines": [
            {"line_no": 1, "sku": "CF-100", "quantity": 4, "label": "in_stock", "reserved": 4,
             "backordered": 0, "unavailable": 0, "eta": None, "eta_kind": None},
            {"line_no": 2, "sku": "CF-200", "quantity": 5, "label": "partial", "reserved": 3,
             "backordered": 2, "eta": "2025-03-17", "eta_kind": "estimated",
             "difference": "ETA 17 Mar instead of 10 Mar"},
        ],
        "differences": ["line 2: ETA 17 Mar instead of 10 Mar"],
    }  # fmt: skip
    with shop.write() as session:
        (entry,) = pending(session)
        apply_verdict(session, verdict_of_push)
        mark_applied(session, [entry.mutation_id])
    detail = Orders(shop).get(placed)
    assert detail.summary.state is OrderState.NEEDS_ATTENTION
    assert detail.differences == ("line 2: ETA 17 Mar instead of 10 Mar",)
    assert (detail.lines[1].server.now, detail.lines[1].server.eta.kind) == (3, "estimated")
    assert detail.lines[1].promise.eta.kind == "confirmed"
    with pytest.raises(StoreError, match="line 1: label must be one of"), shop.write() as session:
        apply_verdict(session, {**verdict_of_push, "lines": [{"line_no": 1, "label": "soon"}]})
    with pytest.raises(StoreError, match="which this device does not have"), shop.write() as s:
        apply_verdict(s, {**verdict_of_push, "order_id": "elsewhere"})


def test_a_push_answers_verdicts_apply_together_or_not_at_all(shop):
    cart = CartService(shop)
    placed = []
    for sku in ("CF-100", "CF-200"):
        cart.set_account("A1")
        cart.add(sku, 1)
        placed.append(cart.place().order_id)

    def verdict(order_id: str, label: str, **extra) -> dict:
        line = {"line_no": 1, "label": label, "reserved": 1, "backordered": 0, "eta": None,
                "eta_kind": None}  # fmt: skip
        return {"order_id": order_id, "outcome": "accepted", "lines": [line], **extra}

    bad = [verdict(placed[0], "in_stock"), verdict("elsewhere", "in_stock")]
    with pytest.raises(StoreError, match="order elsewhere"), shop.write() as session:
        apply_verdicts(session, bad)
    assert [Orders(shop).get(o).summary.state for o in placed] == [OrderState.PENDING] * 2
    with shop.write() as session:  # one with a status and version, one without: both settle
        apply_verdicts(session, [verdict(placed[0], "in_stock", status="approved", version=2),
                                 verdict(placed[1], "in_stock")])  # fmt: skip
    states = [Orders(shop).get(o).summary.state for o in placed]
    assert OrderState.PENDING not in states
    with shop.read() as session:
        rows = session.execute(
            text(
                "SELECT status, version FROM sales_order WHERE id IN (:a, :b) ORDER BY id = :a DESC"
            ),
            {"a": placed[0], "b": placed[1]},
        ).all()
    assert rows[0] == ("approved", 2) and rows[1][0] == "open"


def test_a_line_carries_the_day_shown_the_customers_date_and_the_likely_day(shop, placed):
    # At placing: the day the cart showed (CF-200: 2 units on the receipt of day 7).
    lines = {li.sku: li for li in Orders(shop).get(placed).lines}
    shown = lines["CF-200"].promised_ship
    assert shown is not None and shown.date.isoformat() == "2025-03-10"
    assert lines["CF-100"].promised_ship is not None and lines["CF-200"].told is None
    # The server's record: the customer's date moved (told) and the likely day.
    moved = line_data(2, "CF-200", 5, label="partial", allocated=3, waiting=2, backordered=2,
                      eta="2025-03-12", eta_kind="estimated", told="2025-03-12",
                      told_kind="estimated", likely="2025-03-11")  # fmt: skip
    verdict(shop, placed, lines=[AS_PROMISED[0], moved])
    line = {li.sku: li for li in Orders(shop).get(placed).lines}["CF-200"]
    assert (line.told.date.isoformat(), line.told.kind.value) == ("2025-03-12", "estimated")
    assert line.likely.isoformat() == "2025-03-11"
    assert line.promised_ship == shown  # what was shown stays what was shown
