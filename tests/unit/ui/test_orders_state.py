"""Orders by state and one order with promise and verdict side by side, against a real store."""

from __future__ import annotations

from app.store import OrderState
from app.ui.state.accounts import AccountsState
from app.ui.state.orders import OrdersState
from tests.unit.ui.conftest import line_data, verdict

LATER = [
    line_data(1, "CF-200", 10, label="backordered", allocated=0, waiting=10, backordered=10,
              eta="2025-03-19", eta_kind="confirmed"),
]  # fmt: skip


def test_a_placed_order_waits_in_the_outbox(shop, placed):
    state = OrdersState(shop)
    assert state.first_tab_with_orders() is OrderState.PENDING
    (row,) = state.rows(OrderState.PENDING)
    assert (row.account, row.state_text, row.total, row.lines) == (
        "Cafe Roma", "Pending in outbox", "125.00", 1
    )  # fmt: skip
    screen = state.screen(placed)
    (line,) = screen.lines
    assert line.promised == "6 now, 4 on backorder, ETA 12 Mar"
    assert line.confirmed == "waiting for the server"
    assert not line.differs and not screen.can_acknowledge and screen.can_cancel


def test_a_verdict_that_differs_shows_beside_the_promise_until_acknowledged(shop, placed):
    diffs = ["line 1 (CF-200): fewer units now, promised 6, available 0"]
    verdict(shop, placed, outcome="backordered", differences=diffs, needs_attention=True,
            lines=LATER)  # fmt: skip
    state = OrdersState(shop)
    assert state.counts()[OrderState.NEEDS_ATTENTION] == 1
    screen = state.screen(placed)
    assert screen.state_text == "Needs attention" and screen.can_acknowledge
    assert screen.differences == tuple(diffs)
    (line,) = screen.lines
    assert (line.promised, line.confirmed, line.differs) == (
        "6 now, 4 on backorder, ETA 12 Mar",
        "10 on backorder, ETA 19 Mar",
        True,
    )
    assert state.acknowledge(placed)
    assert state.message.startswith("Acknowledged")
    assert state.screen(placed).state is OrderState.BACKORDERED
    assert state.counts()[OrderState.NEEDS_ATTENTION] == 0


def test_cancel_a_line_or_the_order_goes_to_the_outbox(shop, placed):
    verdict(shop, placed, outcome="backordered", differences=[], needs_attention=False,
            lines=LATER)  # fmt: skip
    state = OrdersState(shop)
    assert state.cancel_line(placed, "1")
    assert state.message == "Cancelling line 1: sent at the next sync"
    (line,) = state.screen(placed).lines
    assert line.status == "cancel requested" and not line.can_cancel
    assert not state.cancel_line(placed, "1")
    assert state.error and "already requested" in state.message
    assert state.cancel_order(placed)
    screen = state.screen(placed)
    assert screen.cancel_requested and not screen.can_cancel


def test_the_account_page_shows_open_orders_backorders_and_the_attention_banner(shop, placed):
    accounts = AccountsState(shop)
    page = accounts.page("A1")
    assert [o.state_text for o in page.orders] == ["Pending in outbox"]
    assert page.banner is None and page.backorders == ()
    verdict(shop, placed, outcome="backordered", differences=["line 1 (CF-200): later"],
            needs_attention=True, lines=LATER)  # fmt: skip
    page = accounts.page("A1")
    assert page.banner is not None and page.banner.startswith("1 order needs your attention")
    assert page.attention == (placed,)
    assert [b.text for b in page.backorders] == ["Robusta Ground 500g × 10 waiting, ETA 19 Mar"]
    OrdersState(shop).acknowledge(placed)
    verdict(shop, placed, "fulfilled", version=2, differences=[], needs_attention=False)
    assert accounts.page("A1").orders == ()  # shipped: no longer open


def test_accounts_list_with_tier_hold_delivery_days_and_search(shop):
    accounts = AccountsState(shop)
    rows = {r.name: r for r in accounts.rows()}
    roma, norte = rows["Cafe Roma"], rows["Bistro Norte"]
    assert (roma.tier, roma.delivery, roma.credit_hold) == (
        "Tier 1",
        "Delivery Mon, Wed, Fri",
        False,
    )
    assert (norte.tier, norte.delivery, norte.credit_hold) == ("Tier 3", "Delivery any day", True)
    accounts.query = "roma"
    assert [r.name for r in accounts.rows()] == ["Cafe Roma"]
    assert accounts.choose("A1") and accounts.message == "Taking orders for Cafe Roma"
    assert [r.chosen for r in accounts.rows()] == [True]
    assert not accounts.choose("A9") and "no account 'A9'" in accounts.message


def test_a_rejected_order_tells_one_story_and_can_be_copied_to_a_new_cart(shop, placed):
    from app.store import CartService

    reason = "rejected by the supervisor: split it, re-order next week"
    verdict(shop, placed, "rejected", version=2, outcome="accepted", reason=reason,
            differences=[f"order {reason}"], needs_attention=True,
            lines=[line_data(1, "CF-200", 10, label="in_stock", allocated=10, waiting=0,
                             backordered=0, cancelled=10)])  # fmt: skip
    state = OrdersState(shop)
    screen = state.screen(placed)
    assert screen.verdict == "Rejected by the supervisor: split it, re-order next week"
    (line,) = screen.lines
    assert (line.confirmed, line.status, line.can_cancel) == (
        "cancelled, nothing ships", "cancelled", False
    )  # fmt: skip
    assert not screen.can_cancel and screen.can_copy and screen.can_acknowledge
    # The cart holds another account's lines: refused, in words.
    cart = CartService(shop)
    cart.set_account("A2")
    cart.add("TE-100", 1)
    assert not state.copy_to_cart(placed)
    assert state.message == (
        "The cart holds 1 line for Bistro Norte: place the order or empty the cart first"
    )
    cart.clear()
    assert state.copy_to_cart(placed)
    assert state.message == f"1 line of order {placed[:8]} copied to the cart for Cafe Roma"
    view = cart.view()
    assert view.account is not None and view.account.id == "A1"
    assert [(x.sku, x.quantity) for x in view.lines] == [("CF-200", 10)]


def test_an_open_order_offers_no_copy(shop, placed):
    verdict(shop, placed, outcome="backordered", differences=[], needs_attention=False,
            lines=LATER)  # fmt: skip
    screen = OrdersState(shop).screen(placed)
    assert screen.can_cancel and not screen.can_copy


def test_a_line_says_what_the_customer_was_told_and_the_likely_day(shop, placed):
    state = OrdersState(shop)
    (line,) = state.screen(placed).lines
    assert line.customer == "Customer told: 12 Mar"  # the day the cart showed
    told = [
        line_data(1, "CF-200", 10, label="backordered", allocated=0, waiting=10,
                  backordered=10, eta="2025-03-19", eta_kind="estimated", told="2025-03-19",
                  told_kind="estimated", likely="2025-03-16"),
    ]  # fmt: skip
    verdict(shop, placed, outcome="backordered", lines=told)
    (line,) = state.screen(placed).lines
    assert line.customer == "Customer told: ~19 Mar (est.) · likely 16 Mar"


def test_the_customers_confirmation_is_a_pdf_made_here(shop, placed):
    import io

    import pypdf

    name, pdf = OrdersState(shop).confirmation(placed)
    assert name == f"order-{placed[:8].upper()}.pdf" and pdf.startswith(b"%PDF")
    text = " ".join(pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text().split())
    assert "Cafe Roma" in text and "4 backordered, expected 12 Mar 2025" in text
