"""How long the pure rules take on a big cart: `python bench/domain.py`.

A 100-line cart, one line per item; every item has 1,000 queued backorders and 20 scheduled
receipts. "cart" is labelling, dating and planning the cart with each item's demand queue already
indexed (the device indexes its queues once per sync, not per keystroke); "index" is building those
100 queues from plain rows, reported beside it so the cost is not hidden.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.domain.availability import CartLine, DemandQueue, NewOrder, check_cart
from app.domain.model import (
    AllocationPolicy,
    EtaKind,
    QueuedLine,
    Receipt,
    ShipmentPolicy,
    Supply,
    Terms,
)
from app.domain.plans import plan_order
from bench import machine

ITEMS, QUEUED, RECEIPTS, RUNS = 100, 1_000, 20, 200
TODAY = date(2026, 11, 26)
TARGET_MS = 5.0


def world(rng: random.Random):
    supplies, rows = {}, {}
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(ITEMS):
        item = f"SKU-{i:05d}"
        receipts = tuple(
            Receipt(
                f"{item}-r{k}",
                item,
                rng.randint(50, 120),
                TODAY + timedelta(days=rng.randint(1, 120)),
                rng.choice([EtaKind.CONFIRMED, EtaKind.ESTIMATED]),
            )
            for k in range(RECEIPTS)
        )
        supplies[item] = Supply(item, rng.randint(0, 40), receipts)
        rows[item] = [
            QueuedLine(
                f"{item}-l{n}",
                f"o{n}",
                item,
                rng.randint(1, 3),
                start + timedelta(minutes=n),
                tier=rng.randint(1, 3),
                order_value=rng.randint(1_000, 500_000),
            )
            for n in range(QUEUED)
        ]
    return supplies, rows


def measure(fn, runs: int) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def main() -> None:
    print(machine.describe())
    rng = random.Random(7)
    supplies, rows = world(rng)
    items = list(supplies)
    cart = [CartLine(str(n), item, rng.randint(1, 60)) for n, item in enumerate(items)]
    order = NewOrder("new", datetime(2026, 11, 26, 10, tzinfo=UTC), tier=2, order_value=250_000)
    terms = Terms(handling_days=1, delivery_weekdays=frozenset({0, 3}))
    policies = [
        ShipmentPolicy.parse("all_or_nothing"),
        ShipmentPolicy.parse("ship_as_available"),
        ShipmentPolicy.parse("capped_split", 3),
    ]
    print(f"cart of {ITEMS} lines; {QUEUED} queued backorders and {RECEIPTS} receipts per item")
    for policy in (AllocationPolicy.FIFO, AllocationPolicy.PRIORITY):
        queues = {item: DemandQueue(item, rows[item], policy) for item in items}

        def run(policy=policy, queues=queues) -> None:
            lines = check_cart(
                cart, supplies, queues, order, today=TODAY, terms=terms, policy=policy
            )
            pairs = [(c.line_id, a) for c, a in zip(cart, lines, strict=True)]
            for shipment_policy in policies:
                plan_order(pairs, shipment_policy)

        def index(policy=policy) -> None:
            for item in items:
                DemandQueue(item, rows[item], policy)

        median, p95 = measure(run, RUNS)
        build, _ = measure(index, 20)
        verdict = "meets" if p95 < TARGET_MS else "MISSES"
        print(
            f"{policy.value:>8}: cart {median:.2f} ms median, {p95:.2f} ms p95 "
            f"(label+date+3 plans; target < {TARGET_MS:.0f} ms: {verdict}); "
            f"indexing the 100 queues {build:.1f} ms"
        )


if __name__ == "__main__":
    main()
