"""Order commits per second against the real server: 32 concurrent clients placing orders on 50
hot items, on SQLite and on PostgreSQL (two uvicorn workers each), then an oversell check.

    .venv/bin/python bench/server.py                 # both backends (PostgreSQL if it answers)
    .venv/bin/python bench/server.py --backend sqlite --seconds 20

PostgreSQL: DATABASE_URL or TEST_DATABASE_URL, else postgresql+psycopg://postgres@127.0.0.1/test;
the bench works in a schema of its own and drops it afterwards. Targets on a 2-core machine:
300 orders/s on PostgreSQL, 150 on SQLite, zero oversold units.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlmodel import select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sync.protocol import PROTOCOL_HEADER, PROTOCOL_VERSION  # noqa: E402
from sync.server.db import Database, make_engine  # noqa: E402
from sync.server.migrate import upgrade  # noqa: E402
from sync.server.models import Account, OrderLine, Product, Stock  # noqa: E402
from sync.server.seed import seed_database  # noqa: E402
from sync.server.settings import Settings  # noqa: E402

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
HOT_STOCK = 30  # units on hand per hot item and warehouse: they run out early in the run


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(url: str, products: int, hot: int) -> tuple[list[str], dict[tuple[str, int], int]]:
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


async def client_loop(
    base: str, device: dict, accounts: list[int], hot: list[str], deadline: float, seed: int
) -> tuple[int, int, list[float]]:
    rng = random.Random(seed)
    headers = {
        PROTOCOL_HEADER: str(PROTOCOL_VERSION),
        "Authorization": f"Bearer {device['token']}",
    }
    committed = backordered = 0
    latencies: list[float] = []
    mutation_id = device["last_mutation_id"]
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as client:
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
            response = await client.post("/sync/push", json=body)
            latencies.append(time.perf_counter() - started)
            response.raise_for_status()
            result = response.json()["results"][0]
            if result["status"] == "applied" and result["outcome"] != "rejected":
                committed += 1
                backordered += result["outcome"] in ("backordered", "accepted_with_changes")
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
    async with httpx.AsyncClient(
        base_url=base, headers={PROTOCOL_HEADER: str(PROTOCOL_VERSION)}, timeout=60
    ) as c:
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


def cpu_seconds(root: int) -> float:
    """User + system CPU of a process and its children (the uvicorn workers), from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(entry.name), int(fields[1])
        if pid == root or ppid == root:
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def wait_for(base: str, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}")
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not start")


def run_backend(name: str, url: str, workers: int, args: argparse.Namespace) -> dict:
    print(f"\n== {name}: preparing ({args.products} products, {args.hot} hot items) ...")
    hot, initial = prepare(url, args.products, args.hot)
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "FIELDSALES_SERVER_SEED_ON_START": "0",
        "FIELDSALES_SERVER_DB_POOL_SIZE": "20",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "sync.server", "--port", str(port), "--workers", str(workers)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(base, proc)
        print(f"   {workers} worker(s) up; {args.clients} clients for {args.seconds:.0f} s ...")
        devices = asyncio.run(sign_in_all(base, url, args.clients))
        before = cpu_seconds(proc.pid)
        figures = asyncio.run(drive(base, devices, hot, args.seconds))
        used = cpu_seconds(proc.pid) - before
        figures["server_cpu_ms"] = used * 1000 / max(figures["committed"], 1)
    finally:
        proc.terminate()
        proc.wait(30)
    orders, oversold, problems = oversell(url, initial)
    figures.update(backend=name, workers=workers, orders_in_db=orders, oversold=oversold)
    figures["invariants"] = "ok" if not problems else f"{len(problems)} broken: {problems[:3]}"
    print(
        f"   {figures['per_second']:.0f} orders/s ({figures['committed']} in "
        f"{figures['seconds']:.1f} s, {figures['backordered']} with backorders), "
        f"p50 {figures['p50_ms']:.0f} ms, p95 {figures['p95_ms']:.0f} ms, "
        f"server CPU {figures['server_cpu_ms']:.1f} ms/order; "
        f"oversold units: {oversold}; stock invariants: {figures['invariants']}"
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--hot", type=int, default=50)
    parser.add_argument("--products", type=int, default=2000)
    parser.add_argument("--sqlite-workers", type=int, default=2)
    args = parser.parse_args()
    results = []
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{Path(folder) / 'bench.db'}"
            results.append(run_backend("SQLite", url, args.sqlite_workers, args))
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
            url = f"{base}{joiner}options=-csearch_path%3D{schema}"
            try:
                results.append(run_backend("PostgreSQL", url, 2, args))
            finally:
                with admin.begin() as conn:
                    conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
    print("\nbackend     workers  orders/s  p50 ms  p95 ms  cpu ms/order  oversold  invariants")
    for r in results:
        print(
            f"{r['backend']:<11} {r['workers']:>7}  {r['per_second']:>8.0f}  {r['p50_ms']:>6.0f}"
            f"  {r['p95_ms']:>6.0f}  {r['server_cpu_ms']:>12.1f}  {r['oversold']:>8}"
            f"  {r['invariants']}"
        )
    load = os.getloadavg()[0]
    print(f"(load average {load:.1f} on {os.cpu_count()} cores when done: other work skews this)")


if __name__ == "__main__":
    main()
