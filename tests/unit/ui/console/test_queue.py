"""The review queue: views with counts, the backorders filter, rep/account/date filters, pages,
the CSV of everything in view, and words when the server cannot be reached."""

from __future__ import annotations

import asyncio
import csv

from app.ui.console.export import exports_dir
from app.ui.console.queue import QueueState
from tests.integration.conftest import START, days, sign_in


async def orders(server, http, world):
    """rep1: an in-stock order on day 0 and a backordered one on day 2; rep2: one of each on
    day 2 (newest last)."""
    world.user("rep1")
    world.user("rep2")
    a1, a2 = world.account("rep1"), world.account("rep2")
    world.product("A", 100)
    world.product("B", 0)
    world.receipt("B", 50, days(6))
    rep1, rep2 = await sign_in(http, "rep1"), await sign_in(http, "rep2")
    placed = [await rep1.order(a1, ("A", 1))]
    server.clock.advance(days=2)
    placed.append(await rep1.order(a1, ("B", 2)))
    placed.append(await rep2.order(a2, ("A", 3), ("B", 1)))
    placed.append(await rep2.order(a2, ("A", 1)))
    return a1, a2, placed


async def test_views_count_and_filter(server, http, world, session, boss):
    _a1, a2, placed = await orders(server, http, world)
    await boss.post(
        f"/supervisor/orders/{placed[0]['order_id']}/decision", {"action": "hold", "version": 1}
    )
    queue = QueueState(session)
    assert await queue.load()
    assert queue.filters.view == "review"  # open orders first: they wait for a decision
    assert [r.id for r in queue.rows] == [o["order_id"] for o in placed[:0:-1]]  # newest first
    chips = {c.key: c.text for c in queue.chips()}
    assert chips["review"] == "Needs review (3)" and chips["on_hold"] == "On hold (1)"
    assert chips["all"] == "All (4)" and chips["approved"] == "Approved (0)"
    assert queue.backorder_count == 2
    row = queue.rows[1]
    assert row.account == "Account 2" and row.rep == "Rep2" and row.lines == 2
    assert row.backorders and row.status_text == "Needs review"
    assert row.placed == "5 Mar 2025 09:00" and row.total == "40.00"
    assert row.words.endswith("Needs review · has backorders")

    queue.set_backorders_only(True)
    await queue.load()
    assert {r.id for r in queue.rows} == {placed[1]["order_id"], placed[2]["order_id"]}
    queue.set_view("all")
    queue.set_rep(world.users["rep1"])
    queue.set_backorders_only(False)
    await queue.load()
    assert [r.id for r in queue.rows] == [placed[1]["order_id"], placed[0]["order_id"]]
    queue.set_rep(None)
    queue.set_account(a2)
    await queue.load()
    assert queue.total == 2
    queue.set_account(None)
    assert queue.set_dates("2025-03-04", "") == ""
    await queue.load()
    assert queue.total == 3 and queue.filters.date_from == days(1)
    assert queue.set_dates("2025-03-04", "2025-03-03") == (
        "To: the last day must not be before the first"
    )
    assert "YYYY-MM-DD" in queue.set_dates("4 March", "")
    queue.clear_filters()
    assert queue.filters.view == "all" and queue.filters.date_from is None


async def test_filter_choices_name_reps_and_accounts(server, http, world, session):
    await orders(server, http, world)
    queue = QueueState(session)
    assert await queue.load_choices()
    assert [c.label for c in queue.accounts] == ["Account 1 (A0001)", "Account 2 (A0002)"]
    assert {c.label for c in queue.reps()} == {f"Rep #{world.users['rep1']}",
                                                f"Rep #{world.users['rep2']}"}  # fmt: skip
    await queue.load()  # orders seen: their reps get their names
    assert [c.label for c in queue.reps()] == ["Rep1", "Rep2"]


async def test_pages_and_csv_of_everything_in_view(server, http, world, session):
    world.user("rep1")
    account = world.account("rep1")
    world.product("A", 1000)
    rep = await sign_in(http, "rep1")
    for _ in range(7):
        await rep.order(account, ("A", 1))
    queue = QueueState(session)
    queue.page_size = 3
    await queue.load()
    assert queue.page_text == "1–3 of 7" and queue.has_next and not queue.has_previous
    queue.next_page()
    queue.next_page()
    await queue.load()
    assert queue.page_text == "7–7 of 7" and len(queue.rows) == 1 and not queue.has_next
    queue.previous_page()
    assert queue.offset == 3
    queue.set_view("all")  # a filter change starts from the first page
    assert queue.offset == 0

    path = await queue.export_csv(exports_dir())
    assert path.parent == exports_dir() and path.name.startswith("orders-")
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 7  # every order in view, not only the page shown
    assert rows[0]["account"] == "Account 1" and rows[0]["total"] == "10.00"
    assert rows[0]["committed_at"].startswith(START.date().isoformat())
    assert not list(path.parent.glob("*.part"))


async def test_an_unreachable_server_is_said_and_the_rows_stay(server, http, world, session, line):
    await orders(server, http, world)
    queue = QueueState(session)
    await queue.load()
    shown = list(queue.rows)
    line.mode = "down"
    queue.set_view("all")
    assert not await queue.load()
    assert queue.error.startswith("Could not load the orders: cannot reach the server at")
    assert "check the connection" in queue.error
    assert queue.rows == shown
    line.mode = "up"
    assert await queue.load() and queue.error == "" and queue.total == 4


async def test_a_slow_answer_for_older_filters_does_not_overwrite_newer_ones(
    server, http, world, session, line
):
    await orders(server, http, world)
    queue = QueueState(session)
    line.hold = "status=open"  # the first load's requests wait on the line
    queue.set_view("review")
    first = asyncio.create_task(queue.load())
    await asyncio.wait_for(line.held.wait(), 10)  # its request is out, unanswered
    queue.set_view("fulfilled")
    assert await queue.load()
    assert not first.done()
    newer = len(line.answers)
    line.release.set()  # now the older answers arrive, last
    assert await asyncio.wait_for(first, 10)  # True: the newer load shows
    assert line.answers[newer:] and all("status=open" in url for url in line.answers[newer:])
    assert not any("status=open" in url for url in line.answers[:newer])
    assert queue.filters.view == "fulfilled" and queue.rows == [] and queue.total == 0
