"""How fast the supervisor's console opens with 50,000 orders on the server.

The real server runs as `python -m sync.server` (uvicorn, SQLite) over a year of history made by
the seed generator (1,250 accounts: about 50,000 orders). The console's state classes load as
the screens do, over HTTP on loopback: each figure is the API calls plus the state-class work
(the drawing in the browser is not included). Raw API times are printed beside them.

    .venv/bin/python bench/console.py                          # seeds into a temp folder first
    .venv/bin/python bench/console.py --db /tmp/console.db     # keep the seeded database, reuse it
    .venv/bin/python bench/console.py --database-url postgresql+psycopg://...   # an existing DB

Target: the review queue opens, and the dashboard is complete (figures, trends, accounts most
affected, low stock), each in under 1 s (median).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import func
from sqlmodel import select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.ui.console.dashboard import DashboardState  # noqa: E402
from app.ui.console.order import OrderState  # noqa: E402
from app.ui.console.queue import QueueState  # noqa: E402
from app.ui.console.session import ConsoleSession  # noqa: E402
from bench import machine  # noqa: E402
from sync.protocol import PROTOCOL_HEADER, PROTOCOL_VERSION  # noqa: E402
from sync.server.db import Database, make_engine  # noqa: E402
from sync.server.migrate import upgrade  # noqa: E402
from sync.server.models import Order  # noqa: E402
from sync.server.seed import seed_database  # noqa: E402
from sync.server.settings import Settings  # noqa: E402
from sync.supervisor import OrderQuery, SupervisorClient  # noqa: E402

ACCOUNTS = 1250  # x 0.8 orders a week x 52 weeks: about 50,000 orders
TARGET = 1.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(url: str) -> int:
    """Migrate and seed a year of history when the database is empty; return its order count."""
    db = Database(make_engine(url))
    try:
        upgrade(db.engine)
        with db.session() as s:
            orders = s.exec(select(func.count()).select_from(Order)).one()
        if not orders:
            started = time.perf_counter()
            print(f"seeding {ACCOUNTS:,} accounts with a year of history…", flush=True)
            info = seed_database(db, Settings(database_url=url), accounts=ACCOUNTS, history=True)
            print(f"  {info} in {time.perf_counter() - started:.0f} s", flush=True)
            with db.session() as s:
                orders = s.exec(select(func.count()).select_from(Order)).one()
        return orders
    finally:
        db.dispose()


def serve(url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": url, "FIELDSALES_SERVER_SEED_ON_START": "0"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "sync.server", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited early: see {log}")
        time.sleep(0.1)
    raise TimeoutError("the server did not open its port")


async def timed(fn: Callable[[], Awaitable[object]], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        await fn()
        out.append(time.perf_counter() - started)
    return out


def row(name: str, times: list[float], target: float | None = None) -> None:
    cold, warm = times[0], times[1:] or times
    median = statistics.median(warm)
    verdict = "" if target is None else ("ok" if median < target else "OVER TARGET")
    print(
        f"  {name:<52} first {cold * 1000:7.0f} ms   median {median * 1000:7.0f} ms   "
        f"max {max(warm) * 1000:7.0f} ms  {verdict}",
        flush=True,
    )


async def measure(base: str, runs: int) -> None:
    headers = {PROTOCOL_HEADER: str(PROTOCOL_VERSION)}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120) as http:
        answer = await http.post("/auth/sign-in", json={"username": "super", "password": "demo"})
        answer.raise_for_status()
        api = SupervisorClient(http, base, answer.json()["token"])
        session = ConsoleSession(api)
        await session.info()

        async def queue_open() -> None:  # what the screen does on its first visit
            q = QueueState(session)
            assert await q.load_choices() and await q.load(), q.error

        async def queue_backorders_by_rep() -> None:
            q = QueueState(session)
            q.set_view("all")
            q.set_backorders_only(True)
            q.set_rep(3)
            assert await q.load(), q.error

        async def queue_deep_page() -> None:
            q = QueueState(session)
            q.set_view("all")
            q.offset = 40_000
            assert await q.load(), q.error

        async def dashboard(period: str) -> tuple[list[float], list[float]]:
            """Per run, the screen's steps in its order: when the figures and trends are in
            (what shows first), and when the dashboard is complete (low stock and the accounts,
            which load() asks for together as soon as the figures are in)."""
            shown, complete = [], []
            for _ in range(runs):
                d = DashboardState(session)
                d.set_period(period)
                started = time.perf_counter()
                assert await d.load(), d.error
                shown.append(time.perf_counter() - started)
                assert await d.load_low_stock(), d.low_note
                assert await d.load_accounts(), d.accounts_note
                complete.append(time.perf_counter() - started)
            return shown, complete

        newest = (await api.orders(OrderQuery(), limit=1)).items[0].id

        async def order_open() -> None:
            o = OrderState(session)
            assert await o.load(newest), o.error

        print(f"\nconsole state classes over HTTP ({runs} runs; 'first' is the first run):")
        row("review queue opens (accounts + page + counts)", await timed(queue_open, runs), TARGET)
        row("review queue: all, backorders, one rep", await timed(queue_backorders_by_rep, runs))
        row("review queue: page at offset 40,000", await timed(queue_deep_page, runs))
        row("order detail opens", await timed(order_open, runs))
        for period, words in (("28d", "28 days"), ("52w", "52 weeks")):
            shown, complete = await dashboard(period)
            target = TARGET if period == "28d" else None
            row(f"dashboard shows figures + trends ({words})", shown, target)
            row(f"dashboard complete: + low stock + accounts ({words})", complete, target)

        stop = await session.today() + timedelta(days=1)
        start = stop - timedelta(days=28)
        print("\nthe raw API calls inside them:")
        row("GET /supervisor/orders?status=open (50)",
            await timed(lambda: api.orders(OrderQuery(status="open")), runs))  # fmt: skip
        one = OrderQuery(has_backorders=True)
        row("GET /supervisor/orders?has_backorders=true (1)",
            await timed(lambda: api.orders(one, limit=1), runs))  # fmt: skip
        row("GET /sync/snapshot?section=accounts (all pages)", await timed(api.accounts, runs))
        row("GET /supervisor/metrics (28 days + 12-week trend)",
            await timed(lambda: api.metrics(start, stop), runs))  # fmt: skip
        row("GET /supervisor/accounts-affected (28 days, 10)",
            await timed(lambda: api.accounts_affected(start, stop, 10), runs))  # fmt: skip
        year = stop - timedelta(days=364)
        row("GET /supervisor/accounts-affected (52 weeks, 10)",
            await timed(lambda: api.accounts_affected(year, stop, 10), runs))  # fmt: skip
        row("GET /supervisor/low-stock (50)", await timed(lambda: api.low_stock(limit=50), runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, help="SQLite file to seed once and reuse")
    parser.add_argument("--database-url", help="use this database (seeded if empty)")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    print(machine.describe())
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "server.db"
        url = args.database_url or f"sqlite:///{path}"
        orders = prepare(url)
        print(f"server database: {url} with {orders:,} orders", flush=True)
        port = free_port()
        proc = serve(url, port, Path(tmp) / "server.log")
        try:
            asyncio.run(measure(f"http://127.0.0.1:{port}", args.runs))
        finally:
            proc.terminate()
            proc.wait(10)


if __name__ == "__main__":
    main()
