"""Words and chips: the domain's availability said the way a rep reads it."""

from __future__ import annotations

from datetime import date, timedelta

from app.domain.model import Eta, EtaKind
from app.store import Catalog
from app.ui.state.labels import ChipKind, catalog_chip, line_chip, line_words
from app.ui.state.text import age, ago, day, eta, money, plural


def test_ages_read_like_a_person_says_them():
    assert [age(timedelta(seconds=s)) for s in (5, 300, 7200, 86_400, 3 * 86_400)] == [
        "just now", "5 min", "2 h", "1 day", "3 days"
    ]  # fmt: skip
    assert ago(timedelta(hours=2)) == "2 h ago"
    assert ago(None) == "never"


def test_days_money_and_plurals():
    assert day(date(2025, 12, 12)) == "12 Dec"
    assert day(date(2026, 1, 5), today=date(2025, 12, 30)) == "5 Jan 2026"
    assert eta(Eta(date(2025, 12, 12), EtaKind.CONFIRMED)) == "12 Dec"
    assert eta(Eta(date(2025, 12, 12), EtaKind.ESTIMATED)) == "~12 Dec (est.)"
    assert eta(None) == "no date"
    assert money(123456) == "1,234.56" and money(-5) == "-0.05"
    assert plural(1, "order") == "1 order" and plural(2, "order") == "2 orders"


def test_catalog_chips_for_every_label(shop):
    catalog = Catalog(shop)

    def chip_of(sku: str, units_now: int | None):
        discontinued = catalog.product(sku).discontinued
        av = catalog.availability(sku, account_id="A1")
        return catalog_chip(av, units_now, discontinued=discontinued)

    assert chip_of("CF-100", 124).text == "In stock (124)"
    low = chip_of("CF-200", 6)
    assert (low.kind, low.text) == (ChipKind.LOW_STOCK, "Low stock (6)")
    est = chip_of("TE-100", 0)
    assert est.kind is ChipKind.BACKORDER_ESTIMATED
    assert est.text.startswith("Backorder, ETA ~") and est.text.endswith("(est.)")
    out = chip_of("SU-100", 0)
    assert (out.kind, out.text) == (ChipKind.OUT_OF_STOCK, "Out of stock, no restock date")
    assert chip_of("TE-200", 2).text == "Discontinued (2 left)"


def test_cart_line_words_account_for_every_unit(shop):
    catalog = Catalog(shop)
    # CF-200: 6 free now, 20 arriving on day 9 (12 Mar, confirmed); Cafe Roma takes deliveries
    # Mon/Wed/Fri, so the part on backorder reaches it on Wed 12 Mar.
    partial = catalog.availability("CF-200", 10, account_id="A1")
    assert line_words(partial) == "6 now, 4 on backorder, ETA 12 Mar"
    assert line_chip(partial).kind is ChipKind.PARTIAL
    assert line_words(catalog.availability("CF-100", 5, account_id="A1")) == "All in stock"
    assert line_words(catalog.availability("SU-100", 3, account_id="A1")) == (
        "Out of stock, no restock date"
    )
    too_many = catalog.availability("CF-200", 40, account_id="A1")
    assert line_words(too_many) == "6 now, 20 on backorder, ETA 12 Mar, 14 with no restock date"
    gone = catalog.availability("TE-200", 5, account_id="A1")
    assert line_words(gone) == "Discontinued, 2 now, 3 unavailable"
