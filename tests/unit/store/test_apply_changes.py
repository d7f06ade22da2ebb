"""apply_changes: one pulled page in one transaction with the cursor; validation; the search
index kept in step; the promise kept beside the server's result."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from app.store import CartService, Change, Orders, OrderState, StoreError, apply_changes, sync_state
from app.store.changes import row_of
from app.store.search import search_products
from tests.unit.store.helpers import (
    NOW,
    account,
    change,
    line,
    line_data,
    load,
    open_store,
    order,
    product,
    stock,
    tombstone,
)


def scalar(store, sql):
    with store.read() as session:
        return session.execute(text(sql)).scalar()


def skus(store, query):
    with store.read() as session:
        return [f.product.sku for f in search_products(session.connection(), query)]


def test_a_page_is_applied_and_the_cursor_moves_with_it(store):
    load(store, [product("P1", "Oat Milk"), stock("P1", 4)], cursor=7)
    assert scalar(store, "SELECT on_hand FROM stock WHERE sku = 'P1'") == 4
    with store.read() as session:
        assert sync_state(session).cursor == 7


def test_a_bad_change_anywhere_in_the_page_keeps_nothing_and_the_cursor_stays(store):
    load(store, [product("P1", "Oat Milk")], cursor=3)
    page = [
        product("P2", "Soy Milk"),
        stock("P1", 9),
        change("stock", "P2", on_hand=-1),  # bad, after good rows of two tables
        product("P3", "Rice Milk"),
    ]
    message = r"stock P2: on_hand must be a whole number, zero or more, got -1"
    with pytest.raises(StoreError, match=message), store.write() as session:
        apply_changes(session, page, cursor=4)
    assert scalar(store, "SELECT count(*) FROM product") == 1
    assert scalar(store, "SELECT count(*) FROM stock") == 0
    assert scalar(store, "SELECT cursor FROM sync_state") == 3
    assert skus(store, "soy") == []


def test_the_later_change_of_a_key_wins_within_a_page(store):
    load(store, [product("P1", "Oat Milk"), product("P1", "Oat Drink"), tombstone("product", "P1"),
                 product("P1", "Oat Latte")])  # fmt: skip
    assert scalar(store, "SELECT name FROM product WHERE sku = 'P1'") == "Oat Latte"


def test_deletes_remove_rows_and_their_search_entries(store):
    load(store, [product("P1", "Oat Milk"), product("P2", "Oat Flakes"), stock("P1", 1)])
    load(store, [tombstone("product", "P1"), tombstone("stock", "P1")])
    assert skus(store, "oat") == ["P2"]
    assert scalar(store, "SELECT count(*) FROM stock") == 0


def test_the_search_index_follows_renames(store):
    load(store, [product("P1", "Oat Milk", barcode="111")])
    load(store, [product("P1", "Almond Drink", barcode="222")])
    assert skus(store, "oat") == []
    assert skus(store, "almond") == ["P1"]
    assert skus(store, "222") == ["P1"]
    with store.write() as session:  # FTS5's own consistency check of the external content
        session.execute(
            text("INSERT INTO product_fts (product_fts, rank) VALUES ('integrity-check', 1)")
        )


def test_the_cursor_never_moves_back_and_a_page_without_cursor_leaves_it(store):
    load(store, [], cursor=10)
    with pytest.raises(StoreError, match="cannot move back"), store.write() as session:
        apply_changes(session, [], cursor=9)
    load(store, [product("P1", "Oat Milk")], cursor=None)
    assert scalar(store, "SELECT cursor FROM sync_state") == 10


def test_protocol_changes_pass_as_they_are(store):
    # What `protocol.Change.model_dump(mode="json")` gives: key (not id), seq, int ids, aliases,
    # stock keyed "<sku>@<warehouse>", fields the device does not keep, entities it ignores.
    page = [
        {"seq": 1, "entity": "warehouse", "key": "2", "op": "upsert",
         "data": {"id": 2, "code": "N", "name": "North", "handling_days": 2}},
        {"seq": 2, "entity": "supplier", "key": "9", "op": "upsert", "data": {"id": 9, "name": "S"}},
        {"seq": 3, "entity": "stock", "key": "P1@2", "op": "upsert",
         "data": {"sku": "P1", "warehouse_id": 2, "on_hand": 5, "reserved": 1}},
        {"seq": 4, "entity": "stock", "key": "P1@3", "op": "upsert",
         "data": {"sku": "P1", "warehouse_id": 3, "on_hand": 50, "reserved": 0}},
        {"seq": 5, "entity": "queue_entry", "key": "77", "op": "upsert",
         "data": {"entry_id": "77", "sku": "P1", "warehouse_id": 2, "waiting": 3,
                  "committed_at": "2025-03-01T10:00:00Z", "tier": 1, "order_value": 5000,
                  "policy": "all_or_nothing"}},
        {"seq": 6, "entity": "eta_change", "key": "5", "op": "upsert",
         "data": {"id": 5, "order_id": "O1", "line_no": 1, "sku": "P1", "old": None,
                  "old_kind": None, "new": "2025-03-09", "new_kind": "estimated",
                  "message": "now dated 9 Mar (estimated)", "cause": "receipt", "at": NOW.isoformat()}},
    ]  # fmt: skip
    load(store, page, cursor=6)
    assert (
        scalar(store, "SELECT group_concat(warehouse_id || '=' || on_hand) FROM stock")
        == "2=5,3=50"
    )
    assert scalar(store, "SELECT order_value_cents FROM demand WHERE id = '77'") == 5000
    assert scalar(store, "SELECT handling_days FROM warehouse WHERE id = '2'") == 2
    assert (
        scalar(store, "SELECT message FROM eta_event WHERE id = '5'")
        == "now dated 9 Mar (estimated)"
    )
    load(
        store,
        [{"seq": 7, "entity": "stock", "key": "P1@3", "op": "delete", "data": None}],
        cursor=7,
    )
    assert scalar(store, "SELECT count(*) FROM stock") == 1


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"entity": "widget", "id": "1", "op": "upsert", "data": {}}, "unknown entity 'widget'"),
        ({"entity": "product", "id": "", "op": "upsert", "data": {}}, "needs a non-empty id"),
        (
            {"entity": "product", "id": "P", "op": "merge", "data": {}},
            "op must be upsert or delete",
        ),
        (change("product", "P"), "product P: field 'name' is missing"),
        (product("P", "x", pack_size=0), "pack_size must be a whole number, at least 1"),
        (product("P", "x", discontinued="no"), "discontinued must be true or false"),
        (product("P", "x", alternatives="Q"), "alternatives must be a list of text"),
        (
            change("receipt", "R", sku="P", remaining=1, expected="next week"),
            "expected must be a date",
        ),
        (
            change("demand", "D", sku="P", waiting=1, committed_at="2025-03-03T10:00:00"),
            "with a time zone",
        ),
        (account("A", "x", delivery_days=[7]), r"weekdays 0 \(Monday\) to 6 \(Sunday\)"),
        (account("A", "x", default_policy="capped_split"), "capped_split needs a cap"),
        (order("O", "A", "lost"), "status must be one of"),
        (line("O", 1, "P", 2, label="maybe"), "label must be one of"),
        (change("order_line", "O-1", sku="P", quantity=1, price_cents=1), "'<order id>:<line no>'"),
        (
            change("account", "A", name="x", warehouse_id=True),
            "warehouse_id must not be true/false",
        ),
    ],
)
def test_bad_changes_say_what_is_wrong(raw, message):
    with pytest.raises(StoreError, match=message):
        row_of(Change.of(raw))


def test_changes_may_be_change_tuples_too(store):
    with store.write() as session:
        apply_changes(session, [Change("product", "P1", "upsert", {"name": "Oat Milk"})], cursor=1)
    assert skus(store, "milk") == ["P1"]


def test_lines_need_their_order(store):
    with pytest.raises(StoreError, match="orders the device does not have: O9"):
        load(store, [line("O9", 1, "P1", 1)])


def test_an_order_with_its_lines_replaces_the_lines_it_had(store):
    load(store, [account("A1", "Cafe"), order("O1", "A1", "open", lines=[
        line_data(1, "P1", 2), line_data(2, "P2", 1), line_data(3, "P3", 4)])])  # fmt: skip
    load(store, [order("O1", "A1", "open", version=2, lines=[line_data(1, "P1", 5)])])
    assert [(x.line_id, x.quantity) for x in Orders(store).get("O1").lines] == [("1", 5)]
    load(store, [order("O1", "A1", "open", version=3)])  # no `lines`: lines stay as they are
    assert len(Orders(store).get("O1").lines) == 1
    load(store, [order("O1", "A1", "cancelled", version=4, lines=[])])
    assert Orders(store).get("O1").lines == ()


def test_a_line_of_an_order_deleted_in_the_same_page_goes_with_it(store):
    load(store, [account("A1", "Cafe"), order("O1", "A1", "open"), line("O1", 1, "P1", 1)])
    load(store, [line("O1", 1, "P1", 2), tombstone("order", "O1")])
    assert scalar(store, "SELECT count(*) FROM order_line") == 0


def test_server_results_never_overwrite_the_promise_recorded_here(shop):
    cart = CartService(shop)
    cart.set_account("A1")
    cart.add("CF-200", 5)  # 3 now, 2 on day 7
    oid = cart.place().order_id
    load(shop, [order(oid, "A1", "open", outcome="backordered", differences=[], needs_attention=False,
                      lines=[line_data(1, "CF-200", 5, label="partial", allocated=3, waiting=2,
                                       backordered=2, eta="2025-03-10", eta_kind="confirmed",
                                       promise_label="in_stock", promise_now=5)])])  # fmt: skip
    detail = Orders(shop).get(oid)
    (only,) = detail.lines
    assert only.promise.label == "partial" and only.promise.now == 3
    assert only.server.now == 3 and only.server.backordered == 2
    assert detail.differences == ()
    assert detail.summary.state is OrderState.BACKORDERED


def test_a_promise_from_another_device_is_compared_when_the_server_sends_no_differences(store):
    load(store, [
        account("A1", "Cafe"),
        order("O1", "A1", "open", lines=[
            line_data(1, "P1", 4, label="partial", allocated=2, waiting=2, backordered=2,
                      eta="2025-03-20", promise_label="in_stock", promise_now=4)]),
    ])  # fmt: skip
    detail = Orders(store).get("O1")
    assert detail.lines[0].promise.label == "in_stock"
    assert detail.differences == ("line 1 (P1): fewer units now, promised 4, available 2",)
    assert detail.summary.state is OrderState.NEEDS_ATTENTION


PAGES = st.lists(
    st.lists(
        st.tuples(
            st.sampled_from(["P1", "P2", "P3", "P4"]),
            st.sampled_from(["Oat Milk", "Soy Drink", "Rice Milk", None]),  # None: a tombstone
        ),
        max_size=6,
    ),
    min_size=1,
    max_size=5,
)


@settings(max_examples=25, deadline=None)
@given(pages=PAGES)
def test_pages_end_as_the_last_change_of_each_key_says_and_the_index_follows(pages):
    with tempfile.TemporaryDirectory() as folder:
        store = open_store(Path(folder))
        expected: dict[str, str] = {}
        for cursor, page in enumerate(pages, start=1):
            changes = [
                product(sku, name) if name else tombstone("product", sku) for sku, name in page
            ]
            load(store, changes, cursor=cursor)
            for sku, name in page:
                if name:
                    expected[sku] = name
                else:
                    expected.pop(sku, None)
        with store.write() as session:
            found = dict(session.execute(text("SELECT sku, name FROM product")).all())
            session.execute(
                text("INSERT INTO product_fts (product_fts, rank) VALUES ('integrity-check', 1)")
            )
            assert sync_state(session).cursor == len(pages)
        assert found == expected
        for word in ("milk", "drink"):
            hits = set(skus(store, word))
            assert hits == {sku for sku, name in expected.items() if word in name.lower()}
        store.close()
