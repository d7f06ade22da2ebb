"""Sync at catalog scale, over loopback: `python bench/sync.py [--products 100000]`.

The central server runs in its own process (uvicorn on 127.0.0.1, SQLite), seeded by the same
generator as the demo data, scaled to --products. A fresh device (this process) then:

1. signs in and downloads the full snapshot, search index included (the server encodes the next
   page while the device writes the previous one); the client's peak RSS is reported;
2. syncs again after 1% of the products' stock was counted anew on the server (cost must follow
   the change, not the catalog);
3. pushes 500 queued orders of 10 lines each, which the server re-checks one by one, and pulls
   what they changed;
4. searches the synced catalog (exact SKU, barcode, common words, brand, substring).

Each figure is printed beside its target and its floor (what the same work costs at the least:
a plain SQLite insert of the same rows; an unranked FTS5 query).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and its name would shadow the
# `sync` package: drop the folder so `import sync` means the project's package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402

from app.store import Accounts, CartService, Catalog, Store, sync_status  # noqa: E402
from bench import machine  # noqa: E402
from sync.engine import SyncEngine  # noqa: E402
from sync.protocol import PROTOCOL_HEADER, PROTOCOL_VERSION  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"initial": 2.5, "incremental": 0.1, "push": 1.5, "search_p95_ms": 10.0, "rss_mb": 200}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def start_server(workdir: Path, products: int) -> tuple[subprocess.Popen[bytes], str, str]:
    url = f"sqlite:///{workdir / 'server.db'}"
    env = {**os.environ, "DATABASE_URL": url, "FIELDSALES_SERVER_DATABASE_URL": url}
    began = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "sync.server", "seed", "--products", str(products), "--no-history"],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    print(f"seeded {products:,} products in {time.perf_counter() - began:.1f} s (not timed below)")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "sync.server", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    for _ in range(300):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc, f"http://127.0.0.1:{port}", url
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("the server did not start")


def count_stock_anew(server_url: str, skus: list[str], token: str) -> None:
    """1% of the catalog changes on the server: a cycle count of each SKU (the real API)."""
    headers = {"Authorization": f"Bearer {token}", PROTOCOL_HEADER: str(PROTOCOL_VERSION)}
    with httpx.Client(base_url=server_url, headers=headers, timeout=30) as client:
        for n, sku in enumerate(skus):
            body = {"sku": sku, "warehouse_id": 1, "counted": 500 + n % 50}
            answer = client.post("/warehouse/stock/count", json=body)
            answer.raise_for_status()


def floor_insert(rows: int) -> float:
    """A plain SQLite bulk insert of as many product rows, one table, no index: the floor."""
    with tempfile.TemporaryDirectory() as tmp:
        db = sqlite3.connect(Path(tmp) / "floor.db")
        db.execute(
            "CREATE TABLE product (sku TEXT PRIMARY KEY, name TEXT, brand TEXT, category TEXT, "
            "unit TEXT, pack_size INT, price_cents INT, barcode TEXT, discontinued INT, alts TEXT)"
        )
        data = [
            (f"SKU-{i:06d}", f"Product {i}", "Brand", "Cat", "each", 12, 100, "400638133393", 0, "")
            for i in range(rows)
        ]
        began = time.perf_counter()
        db.executemany("INSERT INTO product VALUES (?,?,?,?,?,?,?,?,?,?)", data)
        db.commit()
        took = time.perf_counter() - began
        db.close()
    return took


def floor_orders(orders: int, lines: int) -> float:
    """The push's floor: as many order and line rows inserted with plain sqlite3, one
    transaction, no index, no check (what the device's and the server's writes cost at least)."""
    with tempfile.TemporaryDirectory() as tmp:
        db = sqlite3.connect(Path(tmp) / "floor.db")
        db.execute("PRAGMA journal_mode=WAL")  # as the device's store and the server
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("CREATE TABLE o (id TEXT PRIMARY KEY, account INT, at TEXT, note TEXT)")
        db.execute("CREATE TABLE l (o TEXT, n INT, sku TEXT, q INT, reserved INT, eta TEXT)")
        began = time.perf_counter()
        db.executemany(
            "INSERT INTO o VALUES (?, ?, ?, ?)",
            [(f"order-{i}", i % 40, "2026-12-01T10:00:00", "") for i in range(orders)],
        )
        db.executemany(
            "INSERT INTO l VALUES (?, ?, ?, ?, ?, ?)",
            [
                (f"order-{i}", n, f"SKU-{i * lines + n:06d}", 2, 2, None)
                for i in range(orders)
                for n in range(lines)
            ],
        )
        db.commit()
        took = time.perf_counter() - began
        db.close()
    return took


def floor_upserts(rows: int) -> float:
    """The incremental sync's floor: as many stock rows upserted into a 100,000-row table with
    plain sqlite3, one transaction."""
    with tempfile.TemporaryDirectory() as tmp:
        db = sqlite3.connect(Path(tmp) / "floor.db")
        db.execute("PRAGMA journal_mode=WAL")  # as the device's store
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute(
            "CREATE TABLE stock (sku TEXT, wh INT, on_hand INT, PRIMARY KEY (sku, wh)) "
            "WITHOUT ROWID"
        )
        db.executemany(
            "INSERT INTO stock VALUES (?, 1, 10)", [(f"S{i:06d}",) for i in range(100_000)]
        )
        db.commit()
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the table's own writing is not timed
        began = time.perf_counter()
        db.executemany(
            "INSERT INTO stock VALUES (?, 1, ?) "
            "ON CONFLICT DO UPDATE SET on_hand = excluded.on_hand",
            [(f"S{i * 97 % 100_000:06d}", i) for i in range(rows)],
        )
        db.commit()
        took = time.perf_counter() - began
        db.close()
    return took


def search_figures(store: Store, device_db: Path, queries: list[str]) -> tuple[float, float, float]:
    catalog = Catalog(store)
    times = []
    for q in queries:
        began = time.perf_counter()
        catalog.search(q)
        times.append((time.perf_counter() - began) * 1000)
    times.sort()
    p95 = times[int(len(times) * 0.95) - 1]
    floor = []
    db = sqlite3.connect(device_db)
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE sql LIKE '%fts5%'")}
    fts = sorted(tables)[0] if tables else None
    if fts:
        for q in queries:
            began = time.perf_counter()
            term = '"' + q.replace('"', "") + '"'
            db.execute(f"SELECT rowid FROM {fts} WHERE {fts} MATCH ? LIMIT 30", (term,)).fetchall()
            floor.append((time.perf_counter() - began) * 1000)
    db.close()
    floor.sort()
    floor_p95 = floor[int(len(floor) * 0.95) - 1] if floor else float("nan")
    return statistics.median(times), p95, floor_p95


def line(what: str, value: float, unit: str, target: float, floor: str = "") -> None:
    verdict = "meets" if value < target else "MISSES"
    extra = f"; floor {floor}" if floor else ""
    print(f"{what:<44} {value:8.3f} {unit:<3} (target < {target:g} {unit}: {verdict}{extra})")


async def run(products: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        proc, server_url, _ = start_server(workdir, products)
        try:
            await bench(workdir, server_url, products)
        finally:
            proc.terminate()
            proc.wait(10)


async def bench(workdir: Path, server_url: str, products: int) -> None:
    device_db = workdir / "device.db"
    store = Store.open(device_db)
    limits = httpx.Limits(max_connections=4)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        engine = SyncEngine(store, client, server_url=server_url)  # as the app: MAX_PAGE a page
        await engine.sign_in("rep1", "demo")
        rss_before = peak_rss_mb()
        began = time.perf_counter()
        report = await engine.sync()
        initial = time.perf_counter() - began
        assert report.ok, report.error
        line(
            f"initial sync, {report.snapshot_records:,} records",
            initial,
            "s",
            TARGETS["initial"],
            f"{floor_insert(products):.3f} s to insert {products:,} product rows alone",
        )
        print(
            f"{'client peak RSS (whole process)':<44} {peak_rss_mb():8.1f} MB  "
            f"(target < {TARGETS['rss_mb']} MB; {rss_before:.0f} MB before the sync)"
        )

        supervisor_store = Store.open(workdir / "supervisor.db")
        supervisor = SyncEngine(supervisor_store, client, server_url=server_url)
        answer = await supervisor.sign_in("super", "demo")
        rng = random.Random(1)
        with sqlite3.connect(device_db) as db:
            skus = [r[0] for r in db.execute("SELECT sku FROM product WHERE discontinued = 0")]
        changed = rng.sample(skus, max(1, products // 100)) if skus else []
        await asyncio.to_thread(count_stock_anew, server_url, changed, answer.token)
        began = time.perf_counter()
        report = await engine.sync()
        incremental = time.perf_counter() - began
        assert report.ok, report.error
        line(
            f"incremental sync, {report.pulled:,} changes (1%)",
            incremental,
            "s",
            TARGETS["incremental"],
            f"{floor_upserts(report.pulled):.3f} s to upsert as many rows alone",
        )

        accounts = [a.id for a in Accounts(store).list_accounts()]
        cart = CartService(store)
        for n in range(500):
            cart.set_account(accounts[n % len(accounts)])
            for sku in rng.sample(skus, 10):
                cart.add(sku, rng.randint(1, 4))
            cart.place()
        assert sync_status(store, online=True).pending_count == 500
        began = time.perf_counter()
        report = await engine.sync()
        push = time.perf_counter() - began
        assert report.ok and report.pushed == 500, report
        line(
            "push 500 orders x 10 lines, then pull",
            push,
            "s",
            TARGETS["push"],
            f"{floor_orders(500, 10):.3f} s to insert the order and line rows alone",
        )

        words = ["coffee", "tea", "soap", "oat", "rice", "cola", "pasta", "juice"]
        queries = [*rng.sample(skus, 40), *(w for w in words for _ in range(5))]
        queries += [s[-4:] for s in rng.sample(skus, 20)]
        median, p95, floor_p95 = search_figures(store, device_db, queries)
        line(
            f"catalog search p95 ({len(queries)} queries)",
            p95,
            "ms",
            TARGETS["search_p95_ms"],
            f"unranked FTS5 p95 {floor_p95:.2f} ms; median {median:.2f} ms",
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--products", type=int, default=100_000)
    args = parser.parse_args()
    print(machine.describe())
    asyncio.run(run(args.products))


if __name__ == "__main__":
    main()
