"""Catalog search: what is found, in which order, with which filters and availability."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.domain.model import Label
from app.store import Catalog, StoreError
from tests.unit.store.helpers import TODAY, account, change, load, product, receipt, stock

CATALOG = [
    change("warehouse", "W1", code="N", name="North", handling_days=1),
    change("warehouse", "W2", code="S", name="South", handling_days=0),
    product("CF-100", "Arabica Coffee Beans", brand="Kafo", barcode="4000000000017"),
    product("CF-1000", "Coffee Filter Papers", brand="Paperix", category="supplies"),
    product("XX-9", "Instant Coffee", brand="Nordia", barcode="4000000000109"),
    product("ZZ-1", "Decaf Coffee Pods", brand="Nordia"),
    product("KF-2", "Espresso Roast", brand="Kafo", category="coffee"),
    product("MU-1", "Cappuccino Mug", brand="Ceramo", category="supplies"),
    product("SY-1", 'Vanilla "Barista" Syrup', brand="Dulce", category="syrups"),
    stock("CF-100", 5, warehouse="W1"),
    stock("CF-1000", 0, warehouse="W1"),
    stock("XX-9", 2, reserved=2, warehouse="W1"),
    stock("ZZ-1", 1, warehouse="W1"),
    stock("XX-9", 40, warehouse="W2"),  # the other warehouse's stock is not ours to promise
    receipt("R1", "CF-1000", 10, TODAY + timedelta(days=3), warehouse_id="W1"),
    receipt("R2", "XX-9", 10, TODAY + timedelta(days=1), warehouse_id="W1", status="cancelled"),
    account("A1", "Cafe Central", warehouse_id="W1"),
    account("A2", "Bar Sur", warehouse_id="W2"),
    account("A3", "Deli Norte", warehouse_id="W1"),
]


@pytest.fixture
def catalog(store) -> Catalog:
    load(store, CATALOG, cursor=1)
    return Catalog(store)


def found(catalog, query, **kw):
    return [(hit.product.sku, hit.match) for hit in catalog.search(query, **kw)]


def test_exact_sku_comes_first_then_sku_prefixes(catalog):
    assert found(catalog, "CF-100")[:2] == [("CF-100", "sku"), ("CF-1000", "sku")]
    assert found(catalog, "cf-100")[0] == ("CF-100", "sku")  # any case


def test_exact_barcode_comes_first(catalog):
    assert found(catalog, "4000000000109") == [("XX-9", "barcode")]
    assert found(catalog, "400000000")[:2] == [("CF-100", "barcode"), ("XX-9", "barcode")]


def test_name_prefix_before_word_starts_before_substrings(catalog):
    # "Coffee Filter Papers" starts with it; others have it as a later word; none as a brand.
    assert found(catalog, "coffee") == [
        ("CF-1000", "name"),
        ("CF-100", "name"),
        ("ZZ-1", "name"),
        ("XX-9", "name"),
    ]
    assert found(catalog, "ffee") == [(s, "text") for s in ("CF-100", "CF-1000", "ZZ-1", "XX-9")]


def test_brand_matches_come_after_name_matches(catalog):
    assert found(catalog, "kafo") == [("CF-100", "brand"), ("KF-2", "brand")]
    assert found(catalog, "nord") == [("ZZ-1", "brand"), ("XX-9", "brand")]


def test_every_word_must_match_somewhere(catalog):
    assert found(catalog, "coffee pods") == [("ZZ-1", "name")]
    assert found(catalog, "kafo espresso") == [("KF-2", "name")]
    assert found(catalog, "coffee mug") == []


def test_short_queries_use_prefixes(catalog):
    assert found(catalog, "ca") == [("MU-1", "name")]
    assert found(catalog, "z") == [("ZZ-1", "sku")]


def test_quotes_and_operators_in_queries_are_plain_text(catalog):
    assert found(catalog, '"barista"') == [("SY-1", "text")]
    assert found(catalog, "barista OR coffee") == []
    assert found(catalog, "vanilla*") == []


def test_category_filter(catalog):
    assert found(catalog, "coffee", category="supplies") == [("CF-1000", "name")]
    assert found(catalog, "", category="supplies") == [
        ("MU-1", "category"),
        ("CF-1000", "category"),
    ]
    assert found(catalog, "") == []


def test_available_now_counts_reservations(catalog):
    assert {s for s, _ in found(catalog, "coffee", available_now=True)} == {"CF-100", "ZZ-1"}
    assert found(catalog, "coffee", available_now=True, quantity=2) == [("CF-100", "name")]


def test_each_hit_carries_its_availability_for_the_accounts_warehouse(catalog):
    hits = {h.product.sku: h.availability for h in catalog.search("coffee", account_id="A1")}
    assert hits["CF-100"].label is Label.IN_STOCK
    assert hits["CF-1000"].label is Label.BACKORDERED
    assert hits["CF-1000"].eta.date == TODAY + timedelta(days=4)  # receipt + 1 handling day
    assert hits["XX-9"].label is Label.OUT_OF_STOCK  # a cancelled receipt brings nothing
    south = {h.product.sku: h.availability for h in catalog.search("coffee", account_id="A2")}
    assert south["XX-9"].label is Label.IN_STOCK and south["CF-100"].label is Label.OUT_OF_STOCK
    # Without an account: the warehouse most of the rep's accounts are served from (W1).
    assert {h.product.sku: h.availability.label for h in catalog.search("instant")} == {
        "XX-9": Label.OUT_OF_STOCK
    }


def test_limit_and_bad_input(catalog):
    assert len(catalog.search("coffee", limit=2)) == 2
    with pytest.raises(StoreError, match="a search limit is a whole number from 1 to 500"):
        catalog.search("coffee", limit=0)
    with pytest.raises(StoreError, match="no account 'A9'"):
        catalog.search("coffee", account_id="A9")
    with pytest.raises(ValueError, match="quantity to check must be at least 1"):
        catalog.search("coffee", quantity=0)


def test_product_and_categories(catalog):
    assert catalog.product("KF-2").name == "Espresso Roast"
    with pytest.raises(StoreError, match="no product with SKU 'NOPE'"):
        catalog.product("NOPE")
    assert catalog.categories() == ["coffee", "supplies", "syrups"]
    assert catalog.availability("CF-100", 6).label is Label.PARTIAL


def test_the_best_match_is_found_even_behind_hundreds_of_weaker_ones(store):
    # 250 products mention "coffee" before the one whose name starts with it, and 250 share
    # the words of a full name typed in: the bounded lookups still surface the best first.
    weaker = [
        product(f"W{k:03d}", f"Instant Coffee Sachet {k}", brand="Nordia") for k in range(250)
    ]
    weaker += [product(f"S{k:03d}", f"Sparkling Water Lemon {k}") for k in range(250)]
    load(store, [*weaker, product("ZZ-9", "Coffee Grinder", brand="Mola")])
    catalog = Catalog(store)
    assert found(catalog, "coffee", limit=3)[0] == ("ZZ-9", "name")
    assert found(catalog, "sparkling water lemon 249", limit=3)[0] == ("S249", "name")
    assert len(catalog.search("coffee", limit=100)) == 100


def test_search_is_case_and_space_insensitive(catalog):
    assert found(catalog, "  ESPRESSO   roast ") == [("KF-2", "name")]
