"""Mutation ids: strictly increasing, without gaps, whatever the rep and the engine do."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.store import Accounts, CartService, Orders, mark_applied, mark_failed, pending
from app.store.outbox import entries
from tests.unit.store.helpers import SMALL, Clock, load, open_store

ACTIONS = st.lists(
    st.sampled_from(["order", "contact", "cancel", "ack_some", "fail"]), min_size=1, max_size=12
)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(actions=ACTIONS, data=st.data())
def test_mutation_ids_strictly_increase_without_gaps(actions, data):
    with tempfile.TemporaryDirectory() as folder:
        store = open_store(Path(folder), Clock())
        load(store, SMALL)
        cart, orders, accounts = CartService(store), Orders(store), Accounts(store)
        cart.set_account("A1")
        issued: list[int] = []
        placed: list[str] = []
        for n, action in enumerate(actions):
            if action == "order":
                cart.add("CF-100", 1)
                result = cart.place()
                placed.append(result.order_id)
                issued.append(result.mutation_id)
            elif action == "contact":
                issued.append(accounts.update_contact("A1", contact_name=f"Ana {n}"))
            elif action == "cancel" and placed:
                oid = placed.pop(0)
                issued.append(orders.cancel(oid))
            elif action == "ack_some":
                with store.write() as session:
                    waiting = pending(session)
                    k = data.draw(st.integers(0, len(waiting)))
                    mark_applied(session, [e.mutation_id for e in waiting[:k]])
            elif action == "fail":
                with store.write() as session:
                    waiting = pending(session, limit=1)
                    if waiting:
                        mark_failed(session, waiting[0].mutation_id, "timeout")
        assert issued == list(range(1, len(issued) + 1))
        with store.read() as session:
            left = [e.mutation_id for e in entries(session)]
        assert left == sorted(left) and set(left) <= set(issued)
        assert left == issued[len(issued) - len(left) :]  # only a prefix is ever acknowledged
        store.close()


def test_a_failed_attempt_keeps_the_entry_and_its_place(shop):
    from datetime import timedelta

    accounts = Accounts(shop)
    first = accounts.update_contact("A1", contact_phone="+34 600 000 000")
    accounts.update_contact("A1", contact_name="Ana")
    retry_at = shop.now() + timedelta(seconds=30)
    with shop.write() as session:
        mark_failed(session, first, "connection refused", retry_at=retry_at)
    with shop.read() as session:
        head, second = pending(session)
    assert (head.mutation_id, head.attempts, head.last_error) == (first, 1, "connection refused")
    assert head.next_attempt_at == retry_at and second.attempts == 0
    with (
        pytest.raises(ValueError, match="no outbox entry with mutation id 99"),
        shop.write() as session,
    ):
        mark_failed(session, 99, "x")
