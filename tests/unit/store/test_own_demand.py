"""The rep's own demand that the cached stock does not show yet: pending orders, and answered
ones whose effects no complete pull has brought (ARCHITECTURE: the label is the last synced
snapshot minus the rep's own unsynced orders)."""

from __future__ import annotations

import pytest

from app.store import Catalog, apply_changes, apply_verdicts, replace_snapshot
from app.store.cart import CartService
from app.store.snapshot import awaiting_pull
from app.store.supply import unseen_units
from tests.unit.store.helpers import SMALL, order, stock


@pytest.mark.parametrize(
    ("status", "awaiting", "quantity", "allocated", "waiting", "units"),
    [
        ("pending", False, 5, 0, 0, 5),  # the server has not seen it: the whole line
        ("open", True, 5, 3, 2, 5),  # answered, not pulled: what it reserved and queued
        ("open", True, 5, 3, 0, 3),  # 2 units unavailable (discontinued): they queue nowhere
        ("open", True, 5, 1, 1, 2),  # 3 cancelled since: their units are free again
        ("fulfilled", True, 5, 5, 0, 5),  # shipped before the pull: the cache still has them
        ("rejected", True, 5, 0, 0, 0),  # refused at commit: reserved nothing
        ("cancelled", True, 5, 3, 2, 0),  # cancelled since: released everything
        ("open", False, 5, 3, 2, 0),  # pulled: the cache holds it, counting it would be twice
    ],
)
def test_unseen_units_of_a_line(status, awaiting, quantity, allocated, waiting, units):
    assert unseen_units(status, awaiting, quantity, allocated, waiting) == units


def place(store, sku: str, quantity: int) -> str:
    cart = CartService(store)
    cart.set_account("A1")
    cart.add(sku, quantity)
    return cart.place().order_id


def answer(store, order_id: str, outcome: str = "accepted", reserved: int = 0, **extra) -> None:
    line = {"line_no": 1, "label": "in_stock", "reserved": reserved, "backordered": 0}
    verdict = {"order_id": order_id, "outcome": outcome, "lines": [line], **extra}
    with store.write() as session:
        apply_verdicts(session, [verdict])


def awaiting(store) -> tuple[str, ...]:
    with store.read() as session:
        return awaiting_pull(session)


def free_now(store, sku: str, quantity: int) -> int:
    return Catalog(store).availability(sku, quantity, account_id="A1").now


def test_an_answered_order_counts_until_the_last_page_of_a_pull(shop):
    placed = place(shop, "CF-100", 6)  # of 10
    answer(shop, placed, reserved=6)
    assert awaiting(shop) == (placed,)
    assert free_now(shop, "CF-100", 10) == 4

    with shop.write() as session:  # a page that is not the last: the cache may lack the rest
        apply_changes(session, [], cursor=2)
    assert (awaiting(shop), free_now(shop, "CF-100", 10)) == ((placed,), 4)

    with shop.write() as session:  # the last page: the reservation is in the cache now
        apply_changes(session, [stock("CF-100", 10, reserved=6)], cursor=3, caught_up=[placed])
    assert (awaiting(shop), free_now(shop, "CF-100", 10)) == ((), 4)


def test_only_orders_named_as_caught_up_stop_counting(shop):
    first, later = place(shop, "CF-100", 2), place(shop, "CF-100", 3)
    answer(shop, first, reserved=2)
    answer(shop, later, reserved=3)
    with shop.write() as session:  # `later` was answered after this pull's last request left
        apply_changes(session, [stock("CF-100", 10, reserved=2)], cursor=2, caught_up=[first])
    assert awaiting(shop) == (later,)
    assert free_now(shop, "CF-100", 10) == 5


def test_a_rejection_or_an_order_already_pulled_is_not_awaited(shop):
    refused = place(shop, "CF-100", 4)
    answer(shop, refused, outcome="rejected", reason="credit hold")
    assert awaiting(shop) == ()
    assert free_now(shop, "CF-100", 10) == 10

    pulled = place(shop, "CF-100", 4)
    with shop.write() as session:  # a pull brought it before its (repeated) answer came
        apply_changes(session, [order(pulled, "A1", "open"), stock("CF-100", 10, reserved=4)])
    answer(shop, pulled, reserved=4)
    assert awaiting(shop) == ()
    assert free_now(shop, "CF-100", 10) == 6


def test_a_snapshot_brings_the_full_state_and_clears_every_flag(shop):
    placed = place(shop, "CF-100", 6)
    answer(shop, placed, reserved=6, status="open", version=1)
    assert free_now(shop, "CF-100", 10) == 4
    with shop.write() as session:
        snapshot = [*SMALL, order(placed, "A1", "open"), stock("CF-100", 10, reserved=6)]
        replace_snapshot(session, snapshot, cursor=9)
    assert awaiting(shop) == ()
    assert free_now(shop, "CF-100", 10) == 4  # counted once, by the server's figures
