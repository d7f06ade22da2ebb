"""How fast this machine is, in two fixed workloads that never change with the project's code.

Machines of the same kind have differed two-fold in speed from one session to the next, so a
figure means little without the machine it was taken on. Each benchmark prints this line first:
compare it across runs before comparing the figures. Each workload is timed five times and the
fastest run is kept (the least disturbed by other work on the machine). They run in a child
process, so that they leave nothing in the memory a benchmark then measures.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time


def _python_loop() -> None:
    """Dicts, arithmetic and small calls: the kind of work the server's Python does."""

    def cost(row: dict[str, int]) -> int:
        return row["quantity"] * row["price"] - row["discount"]

    rows = [{"quantity": i % 7, "price": i % 101, "discount": i % 3} for i in range(200_000)]
    total = sum(cost(row) for row in rows)
    assert total > 0


def _sqlite_inserts() -> None:
    """100,000 rows into an indexed table in memory: SQLite's own work, little Python."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, sku TEXT, n INTEGER)")
    db.execute("CREATE INDEX t_sku ON t (sku)")
    rows = ((f"SKU{i:06d}", i) for i in range(100_000))
    db.executemany("INSERT INTO t (sku, n) VALUES (?, ?)", rows)
    db.commit()
    db.close()


def _fastest_ms(work: object, runs: int = 5) -> float:
    best = float("inf")
    for _ in range(runs):
        began = time.perf_counter()
        work()  # type: ignore[operator]
        best = min(best, time.perf_counter() - began)
    return best * 1000


def describe() -> str:
    """One line: the two reference timings and the load on the machine right now."""
    child = [sys.executable, __file__]
    return subprocess.run(child, check=True, capture_output=True, text=True).stdout.strip()


def _measure() -> str:
    python_ms = _fastest_ms(_python_loop)
    sqlite_ms = _fastest_ms(_sqlite_inserts)
    load = os.getloadavg()[0]
    return (
        f"machine: reference Python loop {python_ms:.0f} ms, reference SQLite inserts "
        f"{sqlite_ms:.0f} ms ({os.cpu_count()} cores, load {load:.1f}; "
        "lower is faster, see bench/machine.py)"
    )


if __name__ == "__main__":
    print(_measure())
