"""The dashboard: the metrics with 12-week trends as the server computes them (one checked
against the database directly; the promise cards in words), the most backordered items,
accounts most affected, low stock,
the requests running together with the figures first, the period choice, and the metrics table
as CSV."""

from __future__ import annotations

import asyncio
import csv
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
from sqlmodel import select

from app.ui.console.dashboard import ACCOUNTS_SHOWN, DashboardState
from app.ui.console.export import exports_dir
from app.ui.console.session import ConsoleSession
from sync.protocol import PROTOCOL_HEADER, PROTOCOL_VERSION
from sync.server.models import Order, OrderLine
from sync.supervisor import SupervisorClient
from tests.integration.conftest import days, sign_in
from tests.integration.test_honest_metrics import promise_history
from tests.unit.ui.console.conftest import URL


async def history(server, http, world):
    """Three accounts; B is short. Day 0: an in-stock order. Day 1: two backordered orders of
    account 2 (one then cancelled) and one of account 3."""
    world.user("rep1")
    a1, a2, a3 = (world.account("rep1") for _ in range(3))
    world.product("A", 100)
    world.product("B", 1)
    world.receipt("B", 20, days(9))
    rep = await sign_in(http, "rep1")
    await rep.order(a1, ("A", 2))
    server.clock.advance(days=1)
    cancelled = await rep.order(a2, ("B", 3), ("A", 1))
    await rep.order(a2, ("B", 2))
    await rep.order(a3, ("B", 1), ("A", 5))
    await rep.push({"name": "cancel_order", "order_id": cancelled["order_id"]})
    return a2, a3


def backorder_rate_from_the_database(server, start, end) -> tuple[int, int]:
    """(orders with a backordered line, orders) committed in [start, end), straight from SQL."""
    with server.db.session() as s:
        orders = s.exec(select(Order)).all()
        lines = s.exec(select(OrderLine)).all()
    tz = server.clock.tz
    picked = {o.id for o in orders if start <= o.committed_at.astimezone(tz).date() < end}
    short = {li.order_id for li in lines if li.order_id in picked and li.backordered > 0}
    return len(short), len(picked)


async def test_cards_trends_and_rankings(server, http, world, session):
    a2, a3 = await history(server, http, world)
    board = DashboardState(session)
    assert await board.load()
    assert board.period == "28d" and board.period_text == "5 Feb 2025 – 4 Mar 2025"
    cards = {c.key: c for c in board.cards}
    assert list(cards) == ["backorder_rate", "line_fill_rate", "unit_fill_rate",
                           "avg_fulfilment_days", "cancellation_rate", "line_cancellation_rate",
                           "promise_accuracy", "padding_days", "undated_lines"]  # fmt: skip
    short, total = backorder_rate_from_the_database(server, board.start, board.end)
    assert (short, total) == (3, 4)
    rate = cards["backorder_rate"]
    assert rate.value == short / total and rate.value_text == "75.0%"
    assert rate.detail == "3 of 4 orders"
    assert rate.words == "Backorder rate: 75.0% (3 of 4 orders)"
    assert cards["cancellation_rate"].words == (
        "Backordered orders cancelled: 33.3% (1 of 3 orders, whole or by a line)"
    )
    assert (
        cards["line_cancellation_rate"].words == "Backordered lines cancelled: 33.3% (1 of 3 lines)"
    )
    # nothing has shipped: no accuracy and no padding, not 0 %
    assert (
        cards["promise_accuracy"].words == "Promise accuracy: no data (0 of 0 dated lines on time)"
    )
    assert cards["padding_days"].words == (
        "Padding (promised minus actual wait): no data (no line promised a date has shipped)"
    )
    assert cards["undated_lines"].words == (
        "Promised with no date: 0 lines (0.0% of 3 backordered lines; not in accuracy)"
    )
    assert cards["line_fill_rate"].detail == "3 of 6 lines"
    assert cards["avg_fulfilment_days"].value_text == "no data"  # nothing filled yet
    assert len(rate.trend) == 12 and rate.trend[-1] == (days(0), 0.75)
    assert rate.trend[0][1] is None  # an empty week has no rate, not 0 %
    assert [i.sku for i in board.items] == ["B"]
    assert board.items[0].text == "B: 3 of 3 lines backordered, 5 of 6 units"  # 1 was on hand

    assert await board.load_accounts()
    assert [(a.account_id, a.backordered_orders, a.cancelled) for a in board.accounts] == [
        (a2, 2, 1),
        (a3, 1, 0),
    ]
    assert board.accounts[0].text == (
        f"Account 2 (#{a2}): 2 of 2 orders backordered, 1 cancelled · 4 units short · 60.00"
    )
    assert (
        board.accounts[1].text
        == f"Account 3 (#{a3}): 1 of 1 order backordered · 1 unit short · 60.00"
    )
    assert board.accounts_total == 2
    assert board.accounts_note == "2 accounts with backorders in the period."


async def test_the_promise_cards_in_plain_words(server, http, world, session, boss):
    first = await promise_history(server, http, world, boss)
    board = DashboardState(session)
    assert await board.load()
    cards = {c.key: c for c in board.cards}
    promised = (first - days(0)).days  # D: promised from day 0, shipped on day 2
    assert cards["promise_accuracy"].words == (
        "Promise accuracy: 100.0% (1 of 1 dated lines on time)"
    )
    assert cards["padding_days"].value == promised - 2
    assert cards["padding_days"].words == (
        f"Padding (promised minus actual wait): +{promised - 2:.1f} days (promised "
        f"{promised:.1f} days, waited 2.0 days on average (1 dated line))"
    )
    assert cards["undated_lines"].words == (
        "Promised with no date: 1 line (33.3% of 3 backordered lines; not in accuracy)"
    )
    assert (
        cards["line_cancellation_rate"].words == "Backordered lines cancelled: 33.3% (1 of 3 lines)"
    )
    assert cards["undated_lines"].trend[-1] == (days(0), 1.0)  # the week of day 0
    _header, rows = board.metrics_table()
    by_key = {r[0]: r for r in rows}
    assert by_key["padding_days"][3] == f"{promised - 2:.6g}"
    assert by_key["undated_lines"][3:5] == ["1", cards["undated_lines"].detail]


async def test_many_accounts_say_how_many_are_not_shown(server, http, world, session):
    world.user("rep1")
    world.product("B", 0)
    rep = await sign_in(http, "rep1")
    accounts = [world.account("rep1") for _ in range(ACCOUNTS_SHOWN + 2)]
    for n, account in enumerate(accounts):
        await rep.order(account, ("B", n + 1))
    board = DashboardState(session)
    assert await board.load() and await board.load_accounts()
    assert [a.account_id for a in board.accounts] == accounts[::-1][:ACCOUNTS_SHOWN]  # most units
    assert (
        board.accounts_note == f"The {ACCOUNTS_SHOWN} most affected of 12 accounts with backorders."
    )


@dataclass
class Log(httpx.AsyncBaseTransport):
    """Notes when each request leaves and when its answer comes back, in order."""

    inner: httpx.AsyncBaseTransport
    events: list[str] = field(default_factory=list)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        name = request.url.path.rsplit("/", 1)[-1]
        self.events.append(f"ask {name}")
        response = await self.inner.handle_async_request(request)
        self.events.append(f"answer {name}")
        return response


async def test_the_requests_run_together_and_the_figures_come_first(
    server, http, world, boss, line
):
    await history(server, http, world)
    line.slow = "supervisor/low-stock"  # the slowest, as on a big database: answers last
    log = Log(line)
    headers = {PROTOCOL_HEADER: str(PROTOCOL_VERSION)}
    async with httpx.AsyncClient(transport=log, base_url=URL, headers=headers) as client:
        board = DashboardState(ConsoleSession(SupervisorClient(client, URL, boss.token)))
        assert await board.load()
        figures = list(log.events)
        assert await board.load_low_stock() and await board.load_accounts()
    events = log.events
    assert not {"answer low-stock", "answer accounts-affected"} & set(figures)  # not waited for
    asked = [events.index(f"ask {name}") for name in ("low-stock", "accounts-affected")]
    answered = [events.index(f"answer {name}") for name in ("low-stock", "accounts-affected")]
    assert events.index("answer metrics") < min(asked)  # the figures first
    assert max(asked) < min(answered)  # then the other two together
    asks = sorted(e for e in events if e.startswith("ask"))  # each once
    assert asks == ["ask accounts-affected", "ask info", "ask low-stock", "ask metrics"]
    assert board.cards and board.low_loaded and board.accounts


async def test_low_stock_shows_reorder_point_and_safety_stock(server, http, world, session):
    await history(server, http, world)
    world.product("C", 2)  # 2 on hand, nothing coming, 12 ordered
    rep = await sign_in(http, "rep1")
    await rep.order(world.account("rep1"), ("C", 12))
    server.clock.advance(days=1)  # yesterday's demand counts
    board = DashboardState(session)
    assert await board.load_low_stock()
    low = {r.sku: r for r in board.low}
    assert "C" in low and board.low_total == len(board.low)
    c = low["C"]
    assert (c.free_now, c.inbound, c.backordered, c.projected_free) == (0, 0, 10, -10)
    assert c.safety_stock <= c.reorder_point and c.suggested >= 10
    assert c.text == (
        f"C Product C (warehouse 1): projected -10 vs reorder point {c.reorder_point:,} "
        f"(safety stock {c.safety_stock:,}) · order {c.suggested:,}"
    )


async def test_periods_and_the_metrics_csv(server, http, world, session):
    await history(server, http, world)
    board = DashboardState(session)
    board.set_period("7d")
    await board.load()
    assert board.end - board.start == timedelta(days=7)
    assert board.set_custom("2025-03-04", "2025-03-03") == (
        "To: the last day must not be before the first"
    )
    assert board.set_custom("", "2025-03-03") == "From and To: enter both days of the period"
    assert board.set_custom("2025-03-04", "2025-03-04") == ""
    await board.load()
    assert board.period_text == "4 Mar 2025 – 4 Mar 2025"
    assert {c.key: c.detail for c in board.cards}["backorder_rate"] == "3 of 3 orders"

    path = board.export_csv(exports_dir())
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0][:5] == ["metric", "period_start", "period_end_exclusive", "value", "basis"]
    assert len(rows[0]) == 5 + 12 and rows[0][-1] == "2025-03-03"
    by_key = {r[0]: r for r in rows[1:]}
    assert by_key["backorder_rate"][1:5] == ["2025-03-04", "2025-03-05", "1", "3 of 3 orders"]
    assert by_key["backorder_rate"][-1] == "0.75" and by_key["backorder_rate"][5] == ""
    assert by_key["avg_fulfilment_days"][3] == ""


async def test_an_unreachable_server_is_said(server, http, world, session, line):
    await history(server, http, world)
    board = DashboardState(session)
    line.mode = "down"
    assert not await board.load()
    assert board.error.startswith("Could not load the dashboard: cannot reach the server")
    assert not await board.load_low_stock()
    assert board.low_note.startswith("Could not load the low-stock items: cannot reach")


async def test_the_newest_period_wins_when_loads_overlap(server, http, world, session, line):
    await history(server, http, world)
    board = DashboardState(session)
    line.hold = "start=2025-02-05"  # the 28-day period's figures wait on the line
    first = asyncio.create_task(board.load())
    await asyncio.wait_for(line.held.wait(), 10)  # its request is out, unanswered
    board.set_period("7d")
    assert await board.load()
    assert not first.done()
    newer = len(line.answers)
    line.release.set()  # now the older answer arrives, after every answer of the newer load
    assert await asyncio.wait_for(first, 10)  # True: the newer load shows
    assert any("start=2025-02-05" in url for url in line.answers[newer:])
    assert not any("start=2025-02-05" in url for url in line.answers[:newer])
    assert board.end - board.start == timedelta(days=7)  # ... and it was ignored
    assert board.period_text == "26 Feb 2025 – 4 Mar 2025"


async def test_the_conflicts_of_the_period_newest_first(server, http, world, session, boss):
    world.user("rep1")
    account = world.account("rep1")
    world.product("A", 10)
    phone, tablet = await sign_in(http, "rep1"), await sign_in(http, "rep1")
    board = DashboardState(session)
    assert await board.load() and await board.load_conflicts()
    assert (board.conflicts, board.conflicts_note) == ([], "None in the period.")

    edit = {"name": "update_account_contact", "account_id": account, "base_version": 1}
    await phone.push({**edit, "changes": {"contact_phone": "555-1111"}})
    await tablet.push({**edit, "changes": {"contact_phone": "555-2222"}})  # overlaps: logged
    server.clock.advance(days=1)
    order = await phone.order(account, ("A", 1))
    approved = await boss.post(
        f"/supervisor/orders/{order['order_id']}/decision", {"action": "approve", "version": 1}
    )
    assert approved.status_code == 200, approved.text
    await tablet.push({"name": "cancel_order", "order_id": order["order_id"], "base_version": 1})

    assert await board.load() and await board.load_conflicts()
    short = order["order_id"][:8]
    assert board.conflicts == [
        f"4 Mar 2025 · A rep's cancel of order {short} (a decision won): kept approved, lost cancelled",
        "3 Mar 2025 · Phone of Account 1: kept 555-2222, lost 555-1111",
    ]
    assert board.conflicts_note == "2 conflicts in the period."
    board.set_period("7d")
    server.clock.advance(days=10)  # both now older than the last 7 days
    assert await board.load() and await board.load_conflicts()
    assert (board.conflicts, board.conflicts_note) == ([], "None in the period.")
