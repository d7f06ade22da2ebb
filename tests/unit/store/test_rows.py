"""Snapshot rows checked a column at a time (app/store/rows.py) store exactly what the record
path (changes.upsert_rows) stores, and refuse exactly what it refuses, naming the record and
the field; the loader writes row pages from a worker thread, search index included."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from app.store import Catalog, SnapshotLoader, StoreError
from app.store import values as vals
from app.store.changes import FIELDS, REQUIRED, upsert_rows
from app.store.rows import table_rows

# What the server sends for each kind of field, and what it might send by mistake.
JUNK = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.text(max_size=3), st.just([1]),
    st.just({"a": 1}), st.just(1.5), st.just("2025-02-30"), st.just("2025-W10-1"),
)  # fmt: skip
GOOD: dict[Any, st.SearchStrategy[Any]] = {
    vals.text: st.text(max_size=5),
    vals.ref: st.one_of(st.text(min_size=1, max_size=4), st.integers(0, 99)),
    vals.warehouse: st.one_of(st.integers(0, 9), st.just(""), st.none()),
    vals.count: st.integers(0, 50),
    vals.positive: st.integers(1, 50),
    vals.tier: st.integers(1, 9),
    vals.flag: st.booleans(),
    vals.day: st.dates(date(2024, 1, 1), date(2026, 12, 31)).map(date.isoformat),
    vals.texts: st.lists(st.text(max_size=3), max_size=2),
    vals.moment: st.just("2025-03-03T12:00:00+00:00"),
    vals.weekdays: st.lists(st.integers(0, 6), max_size=3),
}


def good(convert: Any) -> st.SearchStrategy[Any]:
    if allowed := getattr(convert, "allowed", None):
        return st.sampled_from(sorted(allowed))
    return GOOD.get(convert, st.none())


ENTITIES = ("warehouse", "product", "stock", "receipt", "demand", "account")
WIRE = {"demand": "queue_entry"}  # the protocol's name


@st.composite
def page(draw: st.DrawFn) -> tuple[str, list[str], list[list[Any]]]:
    """A page of one entity: some of its fields as columns (plus one the device ignores), a few
    rows, mostly good values and now and then a bad one."""
    entity = draw(st.sampled_from(ENTITIES))
    specs = {name: convert for _col, name, convert, _d in FIELDS[entity]}
    if entity == "stock":
        specs |= {"sku": vals.ref, "warehouse_id": vals.warehouse}
    required = [n for _c, n, _cv, d in FIELDS[entity] if d is REQUIRED]
    names = [n for n in specs if n in required or draw(st.booleans())]
    if entity == "stock" and draw(st.booleans()):
        names = [n for n in names if n not in ("sku", "warehouse_id")] + ["sku", "warehouse_id"]
    names.append("field_the_device_ignores")
    bad = draw(st.sampled_from([0.0, 0.0, 0.03]))  # share of bad values on this page
    rows = []
    for k in range(draw(st.integers(1, 4))):
        row: list[Any] = [draw(st.sampled_from(["", f"K{k}"])) if bad else f"K{k}"]
        for name in names:
            use_junk = draw(st.floats(0, 1)) < bad
            convert = specs.get(name)
            row.append(draw(JUNK if use_junk or convert is None else good(convert)))
        rows.append(row)
    return WIRE.get(entity, entity), ["key", *names], rows


def by_records(entity: str, columns: list[str], rows: list[list[Any]]) -> Any:
    changes = [
        {"entity": entity, "id": row[0], "data": dict(zip(columns[1:], row[1:], strict=True))}
        for row in rows
    ]
    try:
        return {e: found for e, found in upsert_rows(changes).items() if found}
    except StoreError:
        return "refused"


def by_columns(entity: str, columns: list[str], rows: list[list[Any]]) -> Any:
    try:
        return table_rows(entity, columns, rows)
    except StoreError:
        return "refused"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(page())
def test_a_column_at_a_time_stores_and_refuses_what_the_record_path_does(found):
    entity, columns, rows = found
    assert by_columns(entity, columns, rows) == by_records(entity, columns, rows)


PRODUCT_COLUMNS = ["key", "sku", "name", "brand", "category", "unit", "pack_size",
                   "price_cents", "barcode", "supplier_id", "discontinued", "alternatives"]  # fmt: skip


def product_row(sku: str, name: str, price: Any = 1000, alternatives: Any = ()) -> list[Any]:
    return [sku, sku, name, "Acme", "coffee", "bag", 1, price, "", 3, False, list(alternatives)]


@pytest.mark.parametrize(
    ("columns", "rows", "message"),
    [
        (PRODUCT_COLUMNS, [product_row("P1", "Oat"), product_row("P2", "Soy", price=-1)],
         "product P2: price_cents must be a whole number, zero or more, got -1"),
        (PRODUCT_COLUMNS, [product_row("P1", "Oat", price=True)],
         "product P1: price_cents must not be true/false, got True"),
        (PRODUCT_COLUMNS, [product_row("P1", "Oat", alternatives=["A", 7])],
         "product P1: alternatives must be a list of text, got ['A', 7]"),
        ([c for c in PRODUCT_COLUMNS if c != "name"], [product_row("P1", "x")[:2] + product_row("P1", "x")[3:]],
         "product P1: field 'name' is missing"),
        (["sku", *PRODUCT_COLUMNS[1:]], [product_row("P1", "Oat")], "'key' first"),
        (PRODUCT_COLUMNS, [product_row("P1", "Oat")[:-1]], "must be a list of 12 values"),
        (PRODUCT_COLUMNS, [{"sku": "P1"}], "must be a list of 12 values"),
        (PRODUCT_COLUMNS, [product_row("", "Oat")], "needs a key"),
    ],
)  # fmt: skip
def test_a_bad_page_is_refused_with_what_is_wrong(columns, rows, message):
    with pytest.raises(StoreError, match=message.replace("[", r"\[").replace("(", r"\(")):
        table_rows("product", columns, rows)


def test_row_pages_written_from_a_worker_thread_are_indexed_for_search(shop):
    stock_columns = ["key", "sku", "warehouse_id", "on_hand", "reserved"]
    with shop.write() as session, ThreadPoolExecutor(1) as worker:  # as the sync engine does
        loader = SnapshotLoader(session)
        for start in range(0, 30, 10):
            page = [product_row(f"P{k:02}", f"Walnut {k}") for k in range(start, start + 10)]
            worker.submit(loader.add_rows, "product", PRODUCT_COLUMNS, page).result()
        # a stock page next: the search index is built before it is written
        stock = [[f"P{k:02}@1", f"P{k:02}", 1, 5, 1] for k in range(30)]
        worker.submit(loader.add_rows, "stock", stock_columns, stock).result()
        assert session.execute(text("SELECT count(*) FROM product_fts")).scalar_one() == 30
        loader.add_rows("supplier", ["key", "id", "name"], [["1", 1, "ignored"]])
        loader.finish(cursor=9)
    with shop.read() as session:
        count = session.execute(text("SELECT count(*) FROM product")).scalar_one()
        free = session.execute(text("SELECT sum(on_hand - reserved) FROM stock")).scalar_one()
    assert (count, free) == (30, 120)
    assert [f.product.sku for f in Catalog(shop).search("walnut 2", limit=3)] == [
        "P02",
        "P20",
        "P21",
    ]


def test_a_bad_row_page_rolls_the_whole_snapshot_back(shop):
    with shop.write() as session:
        loader = SnapshotLoader(session)
        loader.add_rows("product", PRODUCT_COLUMNS, [product_row("OLD", "Kept")])
        loader.finish(cursor=1)
    with pytest.raises(StoreError, match="stock X@1: on_hand must be a whole number"):  # noqa: SIM117
        with shop.write() as session:
            loader = SnapshotLoader(session)
            loader.add_rows("product", PRODUCT_COLUMNS, [product_row("NEW", "Gone")])
            loader.add_rows(
                "stock", ["key", "sku", "warehouse_id", "on_hand"], [["X@1", "X", 1, -4]]
            )
            loader.finish(cursor=2)
    with shop.read() as session:
        assert session.execute(text("SELECT sku FROM product")).scalars().all() == ["OLD"]
