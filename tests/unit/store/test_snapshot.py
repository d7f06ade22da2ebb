"""Resync: the cached layer is rebuilt from a snapshot; the outbox, the cart, local pending
orders and the device's own flags stay."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from app.store import (
    CartService,
    Catalog,
    Notices,
    Orders,
    OrderState,
    SnapshotLoader,
    StoreError,
    pending,
    replace_snapshot,
    sync_state,
)
from tests.unit.store.helpers import (
    NOW,
    SMALL,
    account,
    change,
    line,
    line_data,
    load,
    order,
    product,
    stock,
)


def rows(store, sql):
    with store.read() as session:
        return session.execute(text(sql)).all()


@pytest.fixture
def busy(shop):
    """A device with a server order (acknowledged), a local pending order, a seen ETA change,
    a cart and a contact edit in the outbox."""
    load(shop, [
        order("S1", "A1", "open", outcome="backordered"),
        line("S1", 1, "CF-100", 2, label="in_stock", allocated=2, backordered=0,
             promise_label="in_stock", promise_now=2),
        change("eta_change", "E1", order_id="S1", line_no=1, old="2025-03-10",
               new="2025-03-12", at=NOW.isoformat()),
        order("GONE", "A1", "fulfilled"),
    ], cursor=5)  # fmt: skip
    Notices(shop).mark_eta_changes_seen()
    cart = CartService(shop)
    cart.set_account("A1")
    cart.add("CF-200", 1)
    local = cart.place().order_id
    cart.add("TE-100", 2)
    return shop, local


def snapshot_of(local_order_id=None):
    return [
        product("CF-100", "Arabica Coffee Beans 1kg", brand="Kafo"),
        product("NEW-1", "Oat Milk Barista"),
        stock("CF-100", 50),
        account("A1", "Cafe Central"),
        order("S1", "A1", "fulfilled", version=3, lines=[
            line_data(1, "CF-100", 2, shipped=2, label="in_stock", allocated=2, backordered=0)]),
        change("eta_change", "E1", order_id="S1", line_no=1, old="2025-03-10",
               new="2025-03-12", at=NOW.isoformat()),
    ]  # fmt: skip


def test_resync_rebuilds_the_cache_and_keeps_local_work(busy):
    store, local = busy
    outbox_before = rows(store, "SELECT mutation_id, name, args FROM outbox")
    with store.write() as session:
        applied = replace_snapshot(session, snapshot_of(), cursor=40, page=3)
    assert applied.cursor == 40 and applied.upserted["product"] == 2
    assert rows(store, "SELECT mutation_id, name, args FROM outbox") == outbox_before
    assert [line.sku for line in CartService(store).view().lines] == ["TE-100"]
    assert {r[0] for r in rows(store, "SELECT sku FROM product")} == {"CF-100", "NEW-1"}
    assert rows(store, "SELECT id FROM account") == [("A1",)]
    orders = {o.id: o.state for o in Orders(store).list_orders()}
    assert orders == {"S1": OrderState.SHIPPED, local: OrderState.PENDING}  # GONE is gone
    assert Orders(store).get(local).lines[0].promise is not None
    assert Orders(store).get("S1").lines[0].promise.now == 2  # the promise survived
    assert [e.seen for e in Notices(store).eta_changes()] == [True]
    with store.read() as session:
        assert sync_state(session).cursor == 40
    assert [h.product.sku for h in Catalog(store).search("oat")] == ["NEW-1"]
    assert Catalog(store).search("robusta") == []


def test_a_failed_resync_keeps_the_old_cache_whole(busy):
    store, _ = busy
    before = rows(store, "SELECT sku, name FROM product ORDER BY sku")
    bad = [*snapshot_of(), stock("CF-100", -5)]
    with (
        pytest.raises(StoreError, match="on_hand must be a whole number"),
        store.write() as session,
    ):
        replace_snapshot(session, bad, cursor=41, page=2)
    assert rows(store, "SELECT sku, name FROM product ORDER BY sku") == before
    assert [h.product.sku for h in Catalog(store).search("robusta")] == ["CF-200"]
    with store.read() as session:
        assert sync_state(session).cursor == 5


def test_the_loader_streams_pages_and_a_repeated_key_keeps_the_last(store):
    with store.write() as session:
        loader = SnapshotLoader(session)
        loader.add([product("P1", "Oat Milk"), product("P2", "Soy Milk")])
        loader.add([product("P1", "Oat Drink"), {"entity": "product", "id": "P9", "op": "delete"}])
        applied = loader.finish(cursor=3)
    assert applied.upserted == {"product": 3}
    assert rows(store, "SELECT sku, name FROM product ORDER BY sku") == [
        ("P1", "Oat Drink"),
        ("P2", "Soy Milk"),
    ]
    with store.write() as session:
        session.execute(
            text("INSERT INTO product_fts (product_fts, rank) VALUES ('integrity-check', 1)")
        )


def test_a_snapshot_may_move_the_cursor_back(shop):
    with shop.write() as session:
        replace_snapshot(session, SMALL, cursor=0)
        assert sync_state(session).cursor == 0


def test_resync_does_not_touch_the_outbox_of_a_placed_order_the_server_now_has(busy):
    store, local = busy
    snapshot = [
        *snapshot_of(),
        order(local, "A1", "open", client_time=(NOW - timedelta(minutes=1)).isoformat()),
        line(local, 1, "CF-200", 1, label="in_stock", allocated=1, backordered=0),
    ]
    with store.write() as session:
        replace_snapshot(session, snapshot, cursor=50)
        assert [e.name for e in pending(session)] == ["place_order"]
    assert Orders(store).get(local).summary.state is OrderState.ACCEPTED


def test_an_error_in_a_page_rolls_everything_back(busy):
    store, _ = busy
    before = rows(store, "SELECT sku FROM product ORDER BY sku")
    with pytest.raises(StoreError, match="orders the device does not have: NOPE"):  # noqa: SIM117
        with store.write() as session:
            loader = SnapshotLoader(session)
            loader.add([product("P1", "Oat Milk")])
            loader.add([line("NOPE", 1, "P1", 1)])
    assert rows(store, "SELECT sku FROM product ORDER BY sku") == before


def test_a_caller_that_gives_up_mid_snapshot_leaves_the_old_cache(busy):
    store, _ = busy
    before = rows(store, "SELECT sku FROM product ORDER BY sku")
    with pytest.raises(ConnectionError), store.write() as session:
        loader = SnapshotLoader(session)
        loader.add([product(f"P{k}", f"Item {k}") for k in range(3000)])
        raise ConnectionError("the download broke off")
    assert rows(store, "SELECT sku FROM product ORDER BY sku") == before
