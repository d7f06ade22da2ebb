"""Changes the server will never apply: kept with their reasons, never resent, out of the way of
the mutation ids still to send; and gone with the rest of a user's data when another signs in."""

from __future__ import annotations

import pytest

from app.store import (
    Accounts,
    CartService,
    StoreError,
    adopt_device,
    mark_applied,
    mark_dead,
    pending,
    save_sign_in,
    sync_state,
    sync_status,
)
from app.store.outbox import close_gap, dismiss, entries, mark_refused, set_aside


def sign_in_as(store, user: str) -> None:
    with store.write() as session:
        save_sign_in(session, server_url="https://hq.example", user_name=user, token="t",
                     role="rep")  # fmt: skip


def outbox(store) -> list[tuple[int, str, str]]:
    with store.read() as session:
        return [
            (e.mutation_id, e.state, e.args["changes"]["contact_name"]) for e in entries(session)
        ]


def edits(store, *names: str) -> list[int]:
    return [Accounts(store).update_contact("A1", contact_name=n) for n in names]


def test_a_refused_change_is_kept_with_its_reason_and_never_pending(shop):
    first, second = edits(shop, "Ana", "Bea")
    with shop.write() as session:
        mark_refused(session, first, "account_id 1: no such account among yours")
        assert [e.mutation_id for e in pending(session)] == [second]
        (kept,) = set_aside(session)
    assert (kept.mutation_id, kept.state) == (first, "refused")
    assert kept.last_error == "account_id 1: no such account among yours"
    assert Accounts(shop).get("A1").contact_name == "Bea", "the refused edit no longer shows"
    assert sync_status(shop, online=True).dead_count == 1
    with pytest.raises(StoreError, match="no outbox entry with mutation id 99"), shop.write() as s:
        mark_refused(s, 99, "x")


def test_closing_a_gap_renumbers_what_waits_behind_a_change_never_sent(shop):
    ids = edits(shop, "Ana", "Bea", "Cid", "Dan")
    with shop.write() as session:
        mark_applied(session, ids[:1])
        mark_refused(session, ids[1], "too large for the server to accept")
        assert close_gap(session, 2) == 2  # the server applied 1 and wants 2
    assert outbox(shop) == [(-2, "refused", "Bea"), (2, "pending", "Cid"), (3, "pending", "Dan")]
    assert edits(shop, "Eve") == [4], "the counter follows: no gap, no reuse"
    with shop.write() as session, pytest.raises(StoreError, match="1 or more"):
        close_gap(session, 0)


def test_a_second_new_device_does_not_collide_with_the_first_ones_set_aside_ids(shop):
    edits(shop, "Ana", "Bea")
    with shop.write() as session:
        mark_dead(session, 1, "poison")
        mark_applied(session, [2])
        adopt_device(session, device_id="second", last_applied=0)
    edits(shop, "Cid")
    with shop.write() as session:
        mark_dead(session, 1, "poison again")  # id 1 again, on the new device
        adopt_device(session, device_id="third", last_applied=0)  # was: UNIQUE constraint
    assert outbox(shop) == [(-2, "dead", "Cid"), (-1, "dead", "Ana")]


def test_another_user_finds_nothing_of_the_first_one_on_the_device(shop):
    sign_in_as(shop, "ana")
    cart = CartService(shop)
    cart.set_account("A1")
    cart.add("CF-100", 1)
    placed = cart.place()  # refused by the server: an order only this device holds
    (edit,) = edits(shop, "Ana")
    with shop.write() as session:
        mark_dead(session, placed.mutation_id, "the server could not apply it")
        mark_refused(session, edit, "no such account among yours")
    cart.set_account("A1")
    cart.add("CF-100", 2)  # and a cart in progress
    sign_in_as(shop, "bob")
    with shop.read() as session:
        conn = session.connection()
        left = {
            table: conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one()
            for table in ("account", "stock", "sales_order", "order_line", "outbox", "cart_line")
        }
        assert sync_state(session).cursor == 0, "bob starts from a full snapshot"
        catalog = conn.exec_driver_sql("SELECT count(*) FROM product").scalar_one()
    assert left == dict.fromkeys(left, 0)
    assert catalog > 0, "the catalog is everyone's"
    assert CartService(shop).view().account is None
    assert sync_status(shop, online=True).dead_count == 0


def test_a_refused_change_leaves_once_read_and_a_pending_one_never(shop):
    first, second = edits(shop, "Ana", "Bea")
    with shop.write() as session:
        mark_refused(session, first, "no such account among yours")
        dismiss(session, first)
        assert set_aside(session) == []
        with pytest.raises(StoreError, match="no refused change with mutation id 2"):
            dismiss(session, second)  # still to be sent
    assert [e[0] for e in outbox(shop)] == [second]
    assert sync_status(shop, online=True).dead_count == 0
