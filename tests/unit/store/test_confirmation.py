"""The customer's confirmation, made on the device from the order it holds, read back from the
PDF itself (pypdf): every line with what ships now, what is backordered and until when, what has
no date, the deliveries, the total."""

from __future__ import annotations

import io

import pypdf

from app.documents.confirmation import confirmation, render_pdf
from app.store import Accounts, CartService, Orders
from tests.unit.store.helpers import TODAY, line_data, load, order


def text_of(pdf: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def place(shop) -> str:
    cart = CartService(shop)
    cart.set_account("A1")
    cart.add("CF-100", 4)  # in stock
    cart.add("CF-200", 25)  # 3 now, 20 on the confirmed receipt of day 7, 2 with no date
    cart.add("SU-100", 2)  # out of stock, no restock date
    return cart.place().order_id


def test_made_offline_it_says_what_the_cart_showed(shop):
    order_id = place(shop)
    detail = Orders(shop).get(order_id)
    account = Accounts(shop).get("A1")
    made = confirmation(detail, account, business="Harbor Foods", today=TODAY)
    words = {li.sku: li.words for li in made.lines}
    assert words["CF-100"] == "4 ship now"
    # exactly what the cart showed, part by part
    assert words["CF-200"] == (
        "3 ship now; 20 backordered, expected 10 Mar 2025; 2 backordered, no date yet"
    )
    assert words["SU-100"] == "2 backordered, no date yet"
    text = text_of(render_pdf(made))
    assert "Harbor Foods" in text and f"Order confirmation {order_id[:8].upper()}" in text
    assert "Cafe Central" in text
    assert "20 backordered, expected 10 Mar 2025" in text
    assert "2 backordered, no date yet" in text
    assert "the warehouse confirms it when it is sent" in text
    assert f"Total {made.total_cents // 100}." in text
    assert "Deliveries Now:" in text and "Expected 10 Mar 2025" in text and "No date yet" in text


def test_after_the_verdict_it_says_the_servers_figures_and_the_customers_date(shop):
    order_id = place(shop)
    lines = [
        line_data(1, "CF-100", 4, label="in_stock", allocated=4, backordered=0),
        line_data(2, "CF-200", 25, label="partial", allocated=18, waiting=7, backordered=7,
                  eta="2025-03-12", eta_kind="estimated", told="2025-03-12",
                  told_kind="estimated"),
        line_data(3, "SU-100", 2, label="out_of_stock", allocated=0, waiting=0, cancelled=2,
                  backordered=0),
    ]  # fmt: skip
    load(shop, [order(order_id, "A1", "open", version=1, lines=lines)])
    detail = Orders(shop).get(order_id)
    made = confirmation(detail, Accounts(shop).get("A1"), business="Harbor Foods", today=TODAY)
    words = {li.sku: li.words for li in made.lines}
    assert words["CF-200"] == "18 ship now; 7 backordered, expected 12 Mar 2025 (estimated)"
    assert words["SU-100"] == "2 cancelled"
    assert made.status == "Confirmed by the warehouse."
    text = text_of(render_pdf(made))
    assert "7 backordered, expected 12 Mar 2025 (estimated)" in text
    assert "Expected 12 Mar 2025 (estimated)" in text


def test_any_script_a_customers_name_is_written_in(shop):
    order_id = place(shop)
    account = Accounts(shop).get("A1")
    made = confirmation(Orders(shop).get(order_id), account, business="Łódź Żywność", today=TODAY)
    assert "Łódź Żywność" in text_of(render_pdf(made))
