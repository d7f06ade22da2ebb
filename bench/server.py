"""The central server's figures, each beside its target and a floor measured in the same run.

    .venv/bin/python bench/server.py                        # everything (PostgreSQL if it answers)
    .venv/bin/python bench/server.py --parts snapshot,push  # some of it
    .venv/bin/python bench/server.py --parts concurrency --backend sqlite --seconds 20
    .venv/bin/python bench/server.py --cache /tmp/bench     # keep the seeded databases

1. snapshot: a fresh device's full download at 100,000 products (rep1: products, and the stock,
   receipts and queue of their warehouse), page by page as the sync engine asks (2,000 a page,
   gzip), timed on the client; beside it the floor (the same rows read with plain sqlite3, no
   JSON, no HTTP). Then the whole initial sync with the real engine and device store, split
   into time waiting for the server and time the device spends writing (target: 2.5 s in all).
2. push: 500 orders of 10 lines from one device in batches of 100, each re-checked by the server
   (target: 1.5 s for the device's whole cycle; the figure is the server's share, over HTTP);
   floor: inserting as many order and line rows with plain sqlite3.
3. concurrency: 32 clients placing orders on 50 hot items, SQLite and PostgreSQL, two uvicorn
   workers each, then the oversell check (targets: 150 orders/s SQLite, 300 PostgreSQL, zero
   units oversold). On a 2-core machine the server, PostgreSQL and the load generator share the
   CPU, so beside orders/s it prints the CPU each spends per order (PostgreSQL's when it runs on
   this machine), and the load generator is a lean HTTP/1.1 client (see Http1).
4. metrics: the supervisor's dashboard figures over 50,000 orders (a year of history for 1,250
   accounts), the default 28 days and a whole year (target: the dashboard opens in 1 s); floor:
   reading the year's order lines with plain sqlite3.

The machine is shared: every figure is the median of --repeat runs, and the load average is
printed with the table. `--server-root DIR` serves from another checkout (e.g. `git archive HEAD`
unpacked somewhere) to compare before and after on the same data and machine.

PostgreSQL: DATABASE_URL or TEST_DATABASE_URL, else postgresql+psycopg://postgres@127.0.0.1/test;
the concurrency part works in a schema of its own and drops it afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import zlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

# Run as a script, this file's folder comes first on sys.path and its name would shadow nothing,
# but bench/sync.py would shadow the `sync` package: drop the folder.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from pydantic_core import from_json, to_json  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlmodel import select  # noqa: E402

from bench import machine  # noqa: E402
from sync.protocol import PROTOCOL_HEADER, PROTOCOL_VERSION, SNAPSHOT_SECTIONS  # noqa: E402
from sync.server.db import Database, make_engine  # noqa: E402
from sync.server.migrate import upgrade  # noqa: E402
from sync.server.models import Account, OrderLine, Product, Stock  # noqa: E402
from sync.server.seed import seed_database  # noqa: E402
from sync.server.settings import Settings  # noqa: E402

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
HOT_STOCK = 30  # units on hand per hot item and warehouse: they run out early in the run
HEADERS = {PROTOCOL_HEADER: str(PROTOCOL_VERSION)}


@dataclass
class Figure:
    what: str
    value: float
    unit: str
    target: float | None = None  # lower is better, unless `higher`
    higher: bool = False
    note: str = ""

    @property
    def verdict(self) -> str:
        if self.target is None:
            return ""
        ok = self.value >= self.target if self.higher else self.value < self.target
        return "meets" if ok else "MISSES"


FIGURES: list[Figure] = []


def report(figure: Figure) -> None:
    FIGURES.append(figure)
    target = ""
    if figure.target is not None:
        sign = ">=" if figure.higher else "<"
        target = f"  (target {sign} {figure.target:g} {figure.unit}: {figure.verdict})"
    note = f"  [{figure.note}]" if figure.note else ""
    print(f"   {figure.what:<52} {figure.value:9.3f} {figure.unit}{target}{note}", flush=True)


# -- serving ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    """`python -m sync.server` on a database, in its own process (killed on exit)."""

    def __init__(self, url: str, args: argparse.Namespace, workers: int = 1, **env: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        environment = {
            **os.environ,
            "DATABASE_URL": url,
            "FIELDSALES_SERVER_SEED_ON_START": "0",
            "FIELDSALES_SERVER_DB_POOL_SIZE": "20",
            # Up to 128 bench devices sign in over a few reps from one address: not a flood.
            "FIELDSALES_SERVER_MAX_DEVICES_PER_USER": "1000",
            "FIELDSALES_SERVER_SIGNIN_ADDRESS_BURST": "100000",
            "FIELDSALES_SERVER_SIGNIN_ADDRESS_PER_MINUTE": "100000",
            **env,
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sync.server", "--port", str(self.port)]
            + (["--workers", str(workers)] if workers > 1 else []),
            cwd=args.server_root,
            env=environment,
            stdout=subprocess.DEVNULL,
        )

    def __enter__(self) -> Served:
        end = time.time() + 120
        while time.time() < end:
            if self.proc.poll() is not None:
                raise SystemExit(f"the server exited with {self.proc.returncode}")
            try:
                if httpx.get(f"{self.base}/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise SystemExit("the server did not start")

    def __exit__(self, *_: object) -> None:
        self.proc.terminate()
        self.proc.wait(30)

    def client(self, user: str) -> tuple[httpx.Client, dict[str, Any]]:
        client = httpx.Client(base_url=self.base, headers=HEADERS, timeout=120)
        answer = client.post("/auth/sign-in", json={"username": user, "password": "demo"})
        answer.raise_for_status()
        body = answer.json()
        client.headers["Authorization"] = f"Bearer {body['token']}"
        return client, body


def seeded(cache: Path, name: str, **seed: Any) -> Path:
    """A seeded SQLite database in the cache folder (made once, reused)."""
    path = cache / name
    if not path.exists():
        print(f"   seeding {name} ({seed}) ...", flush=True)
        began = time.perf_counter()
        partial = path.with_suffix(".partial")
        for stale in cache.glob(partial.name + "*"):
            stale.unlink()
        url = f"sqlite:///{partial}"
        db = Database(make_engine(url))
        upgrade(db.engine)
        seed_database(db, Settings(database_url=url, seed_on_start=False), **seed)
        with db.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        db.dispose()
        partial.rename(path)
        print(f"   seeded in {time.perf_counter() - began:.0f} s", flush=True)
    return path


def working_copy(source: Path, folder: Path) -> Path:
    target = folder / f"work-{uuid.uuid4().hex[:6]}.db"
    shutil.copy(source, target)
    return target


def median(values: list[float]) -> float:
    return statistics.median(values)


# -- 1. snapshot --------------------------------------------------------------------------------


def download(client: httpx.Client, section: str, page: int) -> tuple[int, int]:
    """Every page of a section, as the engine asks for them: (records, pages)."""
    after, records, pages = None, 0, 0
    while True:
        params: dict[str, Any] = {"section": section, "limit": page}
        if after is not None:
            params["after"] = after
        response = client.get("/sync/snapshot", params=params)
        response.raise_for_status()
        body = response.json()
        records += len(body["rows"])
        pages += 1
        if not body["has_more"]:
            return records, pages
        after = body["after"]


def floor_read(path: Path, page: int, warehouses: tuple[int, ...]) -> float:
    """The same products, stock and receipts rows read page by page with plain sqlite3."""
    db = sqlite3.connect(path)
    scope = ",".join(map(str, warehouses))
    queries = [
        (
            "SELECT sku, name, brand, category, unit, pack_size, price_cents, barcode, "
            "supplier_id, discontinued, alternatives FROM product WHERE sku > ? "
            "ORDER BY sku LIMIT ?",
            lambda row: (row[0],),
            ("",),
        ),
        (
            "SELECT sku, warehouse_id, on_hand, reserved FROM stock "
            f"WHERE (sku, warehouse_id) > (?, ?) AND warehouse_id IN ({scope}) "
            "ORDER BY sku, warehouse_id LIMIT ?",
            lambda row: (row[0], row[1]),
            ("", 0),
        ),
        (
            "SELECT id, supplier_id, sku, warehouse_id, quantity, received, expected, kind, "
            f"status FROM scheduled_receipt WHERE id > ? AND warehouse_id IN ({scope}) "
            "ORDER BY id LIMIT ?",
            lambda row: (row[0],),
            (0,),
        ),
    ]
    began = time.perf_counter()
    for sql, key, start in queries:
        after = start
        while True:
            rows = db.execute(sql, (*after, page)).fetchall()
            if len(rows) < page:
                break
            after = key(rows[-1])
    took = time.perf_counter() - began
    db.close()
    return took


async def initial_sync(base: str) -> tuple[float, float, int]:
    """A fresh device's first sync with the real engine and store: (seconds, of which waiting for
    the server, records)."""
    from app.store import Store
    from sync.engine import SyncEngine

    class Timed(httpx.AsyncHTTPTransport):
        waited = 0.0

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            began = time.perf_counter()
            response = await super().handle_async_request(request)
            await response.aread()
            Timed.waited += time.perf_counter() - began
            return response

    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(Path(tmp) / "device.db")
        transport = Timed(limits=httpx.Limits(max_connections=4))
        async with httpx.AsyncClient(timeout=120, transport=transport) as client:
            engine = SyncEngine(store, client, server_url=base)  # as the app: MAX_PAGE a page
            await engine.sign_in("rep1", "demo")
            Timed.waited = 0.0
            began = time.perf_counter()
            result = await engine.sync()
            took = time.perf_counter() - began
            assert result.ok, result.error
            return took, Timed.waited, result.snapshot_records


def part_snapshot(args: argparse.Namespace, cache: Path, scratch: Path) -> None:
    print(f"\n== snapshot at {args.catalog:,} products (SQLite)", flush=True)
    source = seeded(cache, f"catalog-{args.catalog}.db", products=args.catalog, history=False)
    path = working_copy(source, scratch)
    with Served(f"sqlite:///{path}", args) as server:
        client, _ = server.client("rep1")
        accounts = client.get("/sync/snapshot", params={"section": "accounts", "limit": 2000})
        column = accounts.json()["columns"].index("warehouse_id")
        warehouses = tuple(sorted({row[column] for row in accounts.json()["rows"]}))
        per_section: dict[str, list[float]] = {s: [] for s in SNAPSHOT_SECTIONS}
        totals, floors, pages, records = [], [], {}, {}
        for _ in range(args.repeat):
            began = time.perf_counter()
            for section in SNAPSHOT_SECTIONS:
                started = time.perf_counter()
                records[section], pages[section] = download(client, section, 2000)
                per_section[section].append(time.perf_counter() - started)
            totals.append(time.perf_counter() - began)
            floors.append(floor_read(path, 2000, warehouses))
        for section in ("products", "stock", "receipts"):
            seconds = median(per_section[section])
            report(
                Figure(
                    f"snapshot {section}: {records[section]:,} records, {pages[section]} pages",
                    seconds,
                    "s",
                    note=f"{seconds / pages[section] * 1000:.1f} ms a page on the client",
                )
            )
        report(
            Figure(
                "snapshot, every section, client side",
                median(totals),
                "s",
                note=f"floor {median(floors):.3f} s: products+stock+receipts read with sqlite3",
            )
        )
        client.close()
        runs = [asyncio.run(initial_sync(server.base)) for _ in range(args.repeat)]
        took = median([r[0] for r in runs])
        waited = median([r[1] for r in runs])
        report(
            Figure(
                f"initial sync, engine + store, {runs[0][2]:,} records",
                took,
                "s",
                2.5,
                note=f"waiting for the server {waited:.3f} s, device {took - waited:.3f} s",
            )
        )


# -- 2. push ------------------------------------------------------------------------------------


def orders_for(skus: list[str], accounts: list[int], n: int, first_id: int, rng: random.Random):
    out = []
    for k in range(n):
        out.append(
            {
                "name": "place_order",
                "mutation_id": first_id + k,
                "client_time": datetime.now(UTC).isoformat(),
                "order_id": str(uuid.uuid4()),
                "account_id": accounts[k % len(accounts)],
                "lines": [{"sku": s, "quantity": rng.randint(1, 4)} for s in rng.sample(skus, 10)],
            }
        )
    return out


def floor_insert(orders: list[dict]) -> float:
    """As many order and line rows inserted with plain sqlite3, in one transaction."""
    with tempfile.TemporaryDirectory() as tmp:
        db = sqlite3.connect(Path(tmp) / "floor.db")
        db.execute("CREATE TABLE o (id TEXT PRIMARY KEY, account INT, at TEXT, note TEXT)")
        db.execute(
            "CREATE TABLE l (id INTEGER PRIMARY KEY, o TEXT, n INT, sku TEXT, q INT, "
            "reserved INT, waiting INT, eta TEXT)"
        )
        began = time.perf_counter()
        db.executemany(
            "INSERT INTO o VALUES (?, ?, ?, ?)",
            [(o["order_id"], o["account_id"], o["client_time"], "") for o in orders],
        )
        db.executemany(
            "INSERT INTO l (o, n, sku, q, reserved, waiting, eta) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (o["order_id"], n, x["sku"], x["quantity"], x["quantity"], 0, None)
                for o in orders
                for n, x in enumerate(o["lines"], 1)
            ],
        )
        db.commit()
        took = time.perf_counter() - began
        db.close()
    return took


def part_push(args: argparse.Namespace, cache: Path, scratch: Path) -> None:
    print(f"\n== push: 500 orders x 10 lines, batches of 100 (SQLite, {args.catalog:,} products)")
    source = seeded(cache, f"catalog-{args.catalog}.db", products=args.catalog, history=False)
    path = working_copy(source, scratch)
    db = sqlite3.connect(path)
    skus = [r[0] for r in db.execute("SELECT sku FROM product WHERE discontinued = 0")]
    db.close()
    rng = random.Random(1)
    times, floors = [], []
    with Served(f"sqlite:///{path}", args) as server:
        for _ in range(args.repeat):
            client, device = server.client("rep1")
            page = client.get("/sync/snapshot", params={"section": "accounts"}).json()
            key = page["columns"].index("key")
            accounts = [int(row[key]) for row in page["rows"]]
            orders = orders_for(skus, accounts, 500, device["last_mutation_id"] + 1, rng)
            began = time.perf_counter()
            for i in range(0, 500, 100):
                body = {"device_id": device["device_id"], "mutations": orders[i : i + 100]}
                answer = client.post("/sync/push", json=body)
                answer.raise_for_status()
                assert all(r["status"] == "applied" for r in answer.json()["results"])
            times.append(time.perf_counter() - began)
            floors.append(floor_insert(orders))
            client.close()
    report(
        Figure(
            "push 500 orders x 10 lines, server re-check (HTTP)",
            median(times),
            "s",
            1.5,
            note=f"runs {', '.join(f'{t:.2f}' for t in times)} s; floor {median(floors):.3f} s: "
            "the rows alone with sqlite3; the target is for the device's whole cycle",
        )
    )


# -- 3. concurrency (orders/s with 32 clients on 50 hot items, then the oversell check) ----------


def prepare_hot(url: str, products: int, hot: int) -> tuple[list[str], dict[tuple[str, int], int]]:
    """Seed a catalog without history; make `hot` items scarce; return them and their stock."""
    db = Database(make_engine(url))
    upgrade(db.engine)
    settings = Settings(database_url=url, seed_on_start=False)
    seed_database(db, settings, products=products, history=False, open_orders=False)
    with db.write() as s:
        skus = [
            p.sku
            for p in s.exec(select(Product).where(Product.discontinued == False))  # noqa: E712
        ]
        chosen = random.Random(7).sample(skus, hot)
        initial = {}
        for row in s.exec(select(Stock).where(Stock.sku.in_(chosen))):  # type: ignore[attr-defined]
            row.on_hand, row.reserved = HOT_STOCK, 0
            initial[(row.sku, row.warehouse_id)] = HOT_STOCK
    db.dispose()
    return chosen, initial


def oversell(url: str, initial: dict[tuple[str, int], int]) -> tuple[int, int, list[str]]:
    """(orders committed, units oversold, broken invariants) after the run."""
    db = Database(make_engine(url))
    problems = []
    with db.session() as s:
        held: dict[tuple[str, int], int] = {}
        for line in s.exec(select(OrderLine)):
            key = (line.sku, line.warehouse_id)
            held[key] = held.get(key, 0) + line.allocated - line.shipped
        oversold = 0
        for row in s.exec(select(Stock)):
            key = (row.sku, row.warehouse_id)
            if not 0 <= row.reserved <= row.on_hand:
                problems.append(f"{key}: reserved {row.reserved} of {row.on_hand} on hand")
            if row.reserved != held.get(key, 0):
                problems.append(f"{key}: reserved {row.reserved} but lines hold {held.get(key)}")
            if key in initial:
                oversold += max(0, held.get(key, 0) - initial[key])
        orders = s.exec(text("SELECT COUNT(*) FROM orders")).one()[0]  # type: ignore[call-overload]
    db.dispose()
    return orders, oversold, problems


class Http1:
    """The load generator's HTTP/1.1 client: one keep-alive connection, one request at a time.

    httpx spends about 3 ms of CPU per request (a lean httpcore pool about 1.3 ms), and on a
    2-core machine every millisecond the load generator spends is one the server does not get:
    at 300 orders/s that is most of a core. This sends the same request an httpx client sends
    (JSON body, the device's bearer token and protocol header, gzip accepted) for ~0.3 ms."""

    def __init__(self, base: str, headers: dict[str, str]) -> None:
        self.host, port = base.removeprefix("http://").split(":")
        self.port = int(port)
        fixed = {"Host": f"{self.host}:{self.port}", **headers}
        fixed |= {"Content-Type": "application/json", "Accept-Encoding": "gzip"}
        self.head = "".join(f"{k}: {v}\r\n" for k, v in fixed.items()).encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        """(status, body): the body decoded if it came gzipped."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        length = f"Content-Length: {len(body)}\r\n\r\n".encode()
        self.writer.write(b"POST " + path.encode() + b" HTTP/1.1\r\n" + self.head + length + body)
        top = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        status_line, *lines = top.split("\r\n")
        headers = dict(line.lower().split(": ", 1) for line in lines if line)
        if "content-length" not in headers:
            raise RuntimeError(f"a response without Content-Length: {status_line}")
        answer = await self.reader.readexactly(int(headers["content-length"]))
        if headers.get("content-encoding") == "gzip":
            answer = zlib.decompress(answer, 16 + zlib.MAX_WBITS)
        return int(status_line.split(" ", 2)[1]), answer

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            await self.writer.wait_closed()


async def client_loop(
    base: str, device: dict, accounts: list[int], hot: list[str], deadline: float, seed: int
) -> tuple[int, int, list[float]]:
    rng = random.Random(seed)
    client = Http1(base, {**HEADERS, "Authorization": f"Bearer {device['token']}"})
    committed = backordered = 0
    latencies: list[float] = []
    mutation_id = device["last_mutation_id"]
    try:
        while time.perf_counter() < deadline:
            mutation_id += 1
            lines = [
                {"sku": sku, "quantity": rng.randint(1, 3)}
                for sku in rng.sample(hot, rng.randint(1, 3))
            ]
            body = {
                "device_id": device["device_id"],
                "mutations": [
                    {
                        "name": "place_order",
                        "mutation_id": mutation_id,
                        "client_time": datetime.now(UTC).isoformat(),
                        "order_id": str(uuid.uuid4()),
                        "account_id": rng.choice(accounts),
                        "lines": lines,
                    }
                ],
            }
            started = time.perf_counter()
            status, answer = await client.post("/sync/push", to_json(body))
            latencies.append(time.perf_counter() - started)
            if not 200 <= status < 300:
                raise RuntimeError(f"push answered {status}: {answer[:300]!r}")
            result = from_json(answer)["results"][0]
            if result["status"] == "applied" and result["outcome"] != "rejected":
                committed += 1
                backordered += result["outcome"] in ("backordered", "accepted_with_changes")
    finally:
        await client.close()
    return committed, backordered, latencies


async def sign_in_all(base: str, url: str, clients: int) -> list[tuple[dict, list[int]]]:
    db = Database(make_engine(url))
    with db.session() as s:
        accounts = s.exec(select(Account)).all()
    db.dispose()
    by_rep: dict[int, list[int]] = {}
    for a in accounts:
        if not a.credit_hold:
            by_rep.setdefault(a.rep_id, []).append(a.id)
    reps = sorted(by_rep)
    devices = []
    async with httpx.AsyncClient(base_url=base, headers=HEADERS, timeout=60) as c:
        for n in range(clients):
            rep = reps[n % len(reps)]
            response = await c.post(
                "/auth/sign-in",
                json={"username": f"rep{rep}", "password": "demo", "device_name": f"bench{n}"},
            )
            response.raise_for_status()
            devices.append((response.json(), by_rep[rep]))
    return devices


async def drive(
    base: str, devices: list[tuple[dict, list[int]]], hot: list[str], seconds: float
) -> dict:
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()
    runs = await asyncio.gather(
        *(
            client_loop(base, device, accts, hot, deadline, n)
            for n, (device, accts) in enumerate(devices)
        )
    )
    elapsed = time.perf_counter() - started
    latencies = sorted(x for _, _, lat in runs for x in lat)
    committed = sum(c for c, _, _ in runs)
    return {
        "committed": committed,
        "backordered": sum(b for _, b, _ in runs),
        "seconds": elapsed,
        "per_second": committed / elapsed,
        "p50_ms": statistics.median(latencies) * 1000 if latencies else 0,
        "p95_ms": latencies[int(len(latencies) * 0.95)] * 1000 if latencies else 0,
    }


def _cpu(pid: int) -> tuple[int, float] | None:
    """(parent pid, user + system CPU seconds) of a process, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(root: int) -> float:
    """User + system CPU of a process and its children (the uvicorn workers), from /proc."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        found = _cpu(int(entry.name)) if entry.name.isdigit() else None
        if found is not None and root in (int(entry.name), found[0]):
            total += found[1]
    return total


def database_cpu(url: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend serving this run's schema (by its
    application_name), when the database runs on this machine (else nothing)."""
    engine = create_engine(url)
    with engine.connect() as conn:
        me = conn.exec_driver_sql("SELECT current_setting('application_name')").scalar()
        pids = conn.exec_driver_sql(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %(name)s "
            "AND pid <> pg_backend_pid()",
            {"name": me},
        ).scalars()
        found = {pid: cpu[1] for pid in pids if (cpu := _cpu(pid))}
    engine.dispose()
    return found


def run_backend(name: str, url: str, workers: int, args: argparse.Namespace) -> dict:
    print(f"\n== concurrency, {name}: preparing ({args.products} products, {args.hot} hot items)")
    hot, initial = prepare_hot(url, args.products, args.hot)
    with Served(url, args, workers=workers) as server:
        print(f"   {workers} worker(s) up; {args.clients} clients for {args.seconds:.0f} s ...")
        devices = asyncio.run(sign_in_all(server.base, url, args.clients))
        postgres = name == "PostgreSQL"
        database_before = database_cpu(url) if postgres else {}
        before = cpu_seconds(server.proc.pid)
        client_before = time.process_time()
        figures = asyncio.run(drive(server.base, devices, hot, args.seconds))
        used = cpu_seconds(server.proc.pid) - before
        committed = max(figures["committed"], 1)
        figures["server_cpu_ms"] = used * 1000 / committed
        figures["client_cpu_ms"] = (time.process_time() - client_before) * 1000 / committed
        if postgres:
            database_after = database_cpu(url)
            spent = sum(t - database_before.get(pid, 0.0) for pid, t in database_after.items())
            figures["database_cpu_ms"] = spent * 1000 / committed if database_after else None
    orders, oversold, problems = oversell(url, initial)
    figures.update(backend=name, workers=workers, orders_in_db=orders, oversold=oversold)
    figures["invariants"] = "ok" if not problems else f"{len(problems)} broken: {problems[:3]}"
    print(
        f"   {figures['per_second']:.0f} orders/s ({figures['committed']} in "
        f"{figures['seconds']:.1f} s, {figures['backordered']} with backorders), "
        f"p50 {figures['p50_ms']:.0f} ms, p95 {figures['p95_ms']:.0f} ms, "
        f"server CPU {figures['server_cpu_ms']:.1f} ms/order, "
        + (
            f"PostgreSQL CPU {figures['database_cpu_ms']:.1f} ms/order, "
            if figures.get("database_cpu_ms") is not None
            else ""
        )
        + f"load generator {figures['client_cpu_ms']:.1f} ms/order; "
        f"oversold units: {oversold}; stock invariants: {figures['invariants']}"
    )
    target = 150 if name == "SQLite" else 300
    report(
        Figure(
            f"orders/s, 32 clients, 50 hot items, {name} ({workers} workers)",
            figures["per_second"],
            "/s",
            target,
            higher=True,
            note=f"server CPU {figures['server_cpu_ms']:.1f} ms/order, "
            + (
                f"PostgreSQL {figures['database_cpu_ms']:.1f}, "
                if figures.get("database_cpu_ms") is not None
                else ""
            )
            + f"load generator {figures['client_cpu_ms']:.1f} ms/order, p95 "
            f"{figures['p95_ms']:.0f} ms",
        )
    )
    report(Figure(f"units oversold ({name}); invariants {figures['invariants']}", oversold, "", 1))
    return figures


def part_concurrency(args: argparse.Namespace, scratch: Path) -> None:
    if args.backend in ("sqlite", "both"):
        url = f"sqlite:///{scratch / 'concurrency.db'}"
        run_backend("SQLite", url, args.sqlite_workers, args)
    if args.backend in ("postgres", "both"):
        base = os.environ.get("DATABASE_URL") or os.environ.get("TEST_DATABASE_URL") or PG_DEFAULT
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(base)
        try:
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        except Exception as error:  # no PostgreSQL here: say so and carry on
            print(f"\n== PostgreSQL: skipped ({type(error).__name__}: {error})")
        else:
            joiner = "&" if "?" in base else "?"
            url = f"{base}{joiner}options=-csearch_path%3D{schema}&application_name={schema}"
            try:
                run_backend("PostgreSQL", url, 2, args)
            finally:
                with admin.begin() as conn:
                    conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


# -- 4. metrics ---------------------------------------------------------------------------------


def part_metrics(args: argparse.Namespace, cache: Path, scratch: Path) -> None:
    print("\n== metrics over a year of history, 1,250 accounts (SQLite)", flush=True)
    source = seeded(cache, "history-1250.db", accounts=1250, history=True)
    path = working_copy(source, scratch)
    db = sqlite3.connect(path)
    orders = db.execute("SELECT count(*) FROM orders").fetchone()[0]
    latest = db.execute("SELECT max(committed_at) FROM orders").fetchone()[0]
    db.close()
    end = date.fromisoformat(latest[:10]) + timedelta(days=1)
    periods = {  # (start, end, target): the dashboard opens on the default period
        "28 days (the dashboard's default)": (end - timedelta(days=28), end, 1.0),
        "a whole year": (end - timedelta(days=366), end, None),
    }
    with Served(f"sqlite:///{path}", args) as server:
        client, _ = server.client("super")
        for label, (start, stop, target) in periods.items():
            times = []
            for _ in range(max(args.repeat, 3)):
                began = time.perf_counter()
                answer = client.get(
                    "/supervisor/metrics",
                    params={"start": start.isoformat(), "end": stop.isoformat()},
                )
                answer.raise_for_status()
                times.append(time.perf_counter() - began)
            counted = answer.json()["metrics"]["orders"]
            report(
                Figure(
                    f"GET /supervisor/metrics, {label}, {counted:,} orders",
                    median(times),
                    "s",
                    target,
                    note=f"{orders:,} orders on the server",
                )
            )
        client.close()
    db = sqlite3.connect(path)
    floors = []
    lo = (end - timedelta(days=366)).isoformat()
    for _ in range(3):
        began = time.perf_counter()
        db.execute(
            "SELECT l.sku, l.quantity, l.backordered, l.backordered_at, l.shipped_at, "
            "l.first_eta_date, o.committed_at FROM orders o JOIN order_line l "
            "ON l.order_id = o.id WHERE o.committed_at >= ?",
            (lo,),
        ).fetchall()
        floors.append(time.perf_counter() - began)
    db.close()
    report(Figure("floor: the year's order lines read with sqlite3", median(floors), "s"))


# -- main ---------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="snapshot,push,concurrency,metrics")
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--hot", type=int, default=50)
    parser.add_argument("--products", type=int, default=2000, help="catalog of the concurrency run")
    parser.add_argument("--catalog", type=int, default=100_000, help="catalog of snapshot/push")
    parser.add_argument("--sqlite-workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (median)")
    parser.add_argument("--cache", type=Path, help="keep seeded databases here between runs")
    parser.add_argument("--server-root", type=Path, default=ROOT, help="serve from this checkout")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    print(machine.describe())
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        cache = args.cache or scratch
        cache.mkdir(parents=True, exist_ok=True)
        if "snapshot" in parts:
            part_snapshot(args, cache, scratch)
        if "push" in parts:
            part_push(args, cache, scratch)
        if "concurrency" in parts:
            part_concurrency(args, scratch)
        if "metrics" in parts:
            part_metrics(args, cache, scratch)
    print(f"\n{'figure':<62} {'value':>9}        target")
    for f in FIGURES:
        target = ""
        if f.target is not None:
            target = f"{'>=' if f.higher else '<'} {f.target:g} {f.unit}: {f.verdict}"
        print(f"{f.what:<62} {f.value:9.3f} {f.unit:<3}  {target}")
    load = os.getloadavg()
    print(
        f"(load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} cores "
        "when done: other work on the machine skews these figures)"
    )


if __name__ == "__main__":
    main()
