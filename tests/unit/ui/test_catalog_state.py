"""The catalog screen's state against a real store: rows, chips, filters, pages, the cart."""

from __future__ import annotations

import asyncio

from app.ui.state.catalog import PAGE, CatalogState
from app.ui.state.debounce import Debouncer
from tests.unit.ui.conftest import load, product, stock


def test_rows_carry_price_pack_and_chip(shop):
    state = CatalogState(shop)
    state.set_query("kafo")
    rows = {r.sku: r for r in state.search()}
    assert set(rows) == {"CF-100", "CF-200"}
    arabica = rows["CF-100"]
    assert (arabica.price, arabica.pack, arabica.chip.text) == (
        "12.50",
        "pack of 6 bag",
        "In stock (124)",
    )
    assert rows["CF-200"].chip.text == "Low stock (6)"


def test_search_by_barcode_and_sku(shop):
    state = CatalogState(shop)
    state.set_query("4000000000017")
    assert [r.sku for r in state.search()] == ["CF-100"]
    state.set_query("TE-2")
    assert [r.sku for r in state.search()] == ["TE-200"]


def test_empty_query_browses_by_category(shop):
    state = CatalogState(shop)
    assert state.search() == []  # nothing asked: the screen offers categories instead
    assert state.categories() == ["coffee", "pantry", "tea"]
    state.set_category("tea")
    assert [r.sku for r in state.search()] == ["TE-200", "TE-100"]


def test_available_now_only_keeps_what_ships_today(shop):
    state = CatalogState(shop)
    state.set_category("coffee")
    state.set_available_now(True)
    assert {r.sku for r in state.search()} == {"CF-100", "CF-200"}
    state.set_category("tea")
    assert [r.sku for r in state.search()] == ["TE-200"]  # discontinued, 2 left
    state.set_category("pantry")
    assert state.search() == []


def test_labels_follow_the_chosen_account_and_the_reps_own_unsynced_orders(shop):
    state = CatalogState(shop)
    state.cart.set_account("A1")
    assert state.account_name == "Cafe Roma"
    state.cart.add("CF-100", 120)
    state.cart.place()  # pending in the outbox: its units are no longer free here
    state.set_query("CF-100")
    (row,) = state.search()
    assert row.chip.text == "Low stock (4)"


def test_discontinued_rows_offer_their_alternatives(shop):
    state = CatalogState(shop)
    state.set_query("black tea")
    (row,) = state.search()
    assert row.discontinued and row.alternatives == ("TE-100",)
    (alt,) = state.alternatives("TE-200")
    assert alt.sku == "TE-100" and alt.chip.text.startswith("Backorder, ETA ~")


def test_adding_puts_units_in_the_cart_and_says_so(shop):
    state = CatalogState(shop)
    state.set_query("kafo")
    state.search()
    assert state.add("CF-200", 2)
    assert state.message == "Robusta Ground 500g: 2 in the cart"
    assert {r.sku: r.in_cart for r in state.rows}["CF-200"] == 2
    assert not state.add("NOPE-1")
    assert "no product with SKU 'NOPE-1'" in state.message


def test_results_come_in_pages(store):
    load(
        store,
        [product(f"P-{n:04d}", f"Paper towel {n}") for n in range(75)]
        + [stock(f"P-{n:04d}", 50) for n in range(75)],
    )
    state = CatalogState(store)
    state.set_query("paper")
    assert len(state.search()) == PAGE and state.more
    state.load_more()
    assert len(state.rows) == 2 * PAGE and state.more
    state.load_more()
    assert len(state.rows) == 75 and not state.more
    state.set_query("paper t")  # a new query starts again at the first page
    assert len(state.search()) == PAGE


async def test_typing_runs_one_search_once_the_keys_pause():
    runs: list[str] = []
    text = {"value": ""}

    async def search() -> None:
        runs.append(text["value"])

    # Keys come back to back (each one lets the loop run, so every timer really starts and is
    # then cancelled), far inside a delay long enough that no machine's hiccup can outlast it.
    debouncer = Debouncer(search, delay=0.5)
    for letters in ("c", "co", "cof", "coff"):
        text["value"] = letters
        debouncer.trigger()
        await asyncio.sleep(0)
    assert runs == []  # still typing: nothing has run yet
    await debouncer.flush()
    assert runs == ["coff"]
