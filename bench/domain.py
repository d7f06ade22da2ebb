"""How long the pure rules take on a big cart: `python bench/domain.py`.

A 100-line cart, one line per item; every item has 1,000 queued backorders and 20 scheduled
receipts. "cart" is labelling, dating and planning the cart with each item's demand queue already
indexed (the device indexes its queues once per sync, not per keystroke); "index" is building those
100 queues from plain rows, reported beside it so the cost is not hidden.

With "--confidence", receipts belong to 6 suppliers with 100 fill curves of history each (some
late, some in parts) and lines are dated at 95% (app.domain.slip): "cold" builds the slip book's
distributions and every date from nothing (the first check after a sync), "warm" is a check
after the first (the device keeps the book until the next sync brings new history).
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
from app.domain.slip import Confidence, FillCurve, SlipBasis, SlipBook, SlipSample
from bench import machine

ITEMS, QUEUED, RECEIPTS, RUNS = 100, 1_000, 20, 200
SUPPLIERS, HISTORY = 6, 100
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
                supplier=str(rng.randint(1, SUPPLIERS)),
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


def history(rng: random.Random) -> SlipBook:
    """Each supplier's last receipts: punctual ones, late ones, some that came in two parts."""
    samples = []
    for supplier in range(1, SUPPLIERS + 1):
        late_share = supplier / (SUPPLIERS + 2)
        for _ in range(HISTORY):
            basis = rng.choice([SlipBasis.CONFIRMED, SlipBasis.ESTIMATED, SlipBasis.MOVED])
            slip = rng.randint(2, 10) if rng.random() < late_share else rng.randint(-1, 0)
            if rng.random() < 0.15:
                curve = FillCurve(((slip, 0.6), (slip + rng.randint(5, 15), 1.0)))
            else:
                curve = FillCurve.whole(slip)
            samples.append(SlipSample(str(supplier), None, basis, curve))
    return SlipBook(samples)


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
        if "--confidence" not in sys.argv:
            continue
        book = history(random.Random(11))
        warm = Confidence(book, 0.95)

        def dated(confidence: Confidence, policy=policy, queues=queues) -> None:
            lines = check_cart(
                cart,
                supplies,
                queues,
                order,
                today=TODAY,
                terms=terms,
                policy=policy,
                confidence=confidence,
            )
            pairs = [(c.line_id, a) for c, a in zip(cart, lines, strict=True)]
            for shipment_policy in policies:
                plan_order(pairs, shipment_policy)

        cold, _ = measure(lambda: dated(Confidence(history(random.Random(11)), 0.95)), 5)
        book_only, _ = measure(lambda: history(random.Random(11)), 5)
        median, p95 = measure(lambda warm=warm: dated(warm), RUNS)
        verdict = "meets" if p95 < TARGET_MS else "MISSES"
        print(
            f"{'':>8}  at 95% confidence: warm {median:.2f} ms median, {p95:.2f} ms p95 "
            f"(target < {TARGET_MS:.0f} ms: {verdict}); cold {cold - book_only:.0f} ms "
            f"(+ building the book from {SUPPLIERS * HISTORY} curves {book_only:.0f} ms)"
        )


if __name__ == "__main__":
    main()
