"""The device store at catalog scale: `python bench/store_search.py`.

Builds 100,000 products (stock in two warehouses, 20,000 scheduled receipts, 5,000 queued
backorders) as the protocol's change records, dumped to dicts as the sync engine hands them
over, and applies them in pages of 2,000 through the store's own snapshot path (bulk multi-row
inserts, then one rebuild of the trigram search index). Beside it, the
floor: a plain sqlite3 `executemany` of the same rows into the same tables, one row per
statement, without the search index (and, for reference, the floor plus SQLite's own index
rebuild). Then search latency over a mix of queries (exact SKU, SKU prefix, barcode, common
word, brand, substring, two words, short prefix), with and without each hit's availability,
beside the floor: an unranked FTS5 trigram query for the same text, LIMIT 30.
"""

from __future__ import annotations

import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.store import Catalog, SnapshotLoader, Store, record_sync
from app.store.changes import columns, upsert_rows
from app.store.db import make_engine
from app.store.migrations import migrate
from app.store.search import search_products
from bench import machine

PRODUCTS, RECEIPTS, QUEUED, PAGE, QUERIES = 100_000, 20_000, 5_000, 2_000, 600
WAREHOUSES = (1, 2)
TODAY = date(2026, 11, 26)
NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
APPLY_TARGET_S, SEARCH_TARGET_MS = 2.0, 10.0

# fmt: off
WORDS = (
    "coffee", "tea", "beans", "ground", "instant", "arabica", "robusta", "green", "black",
    "herbal", "milk", "oat", "soy", "sugar", "cane", "cocoa", "chocolate", "biscuit",
    "cracker", "rice", "basmati", "pasta", "penne", "flour", "olive", "sunflower", "vinegar",
    "salt", "pepper", "paprika", "soap", "shampoo", "tissue", "towel", "detergent", "bleach",
    "sponge", "glove", "nitrile", "mask", "bandage", "syringe", "gauze", "water", "sparkling",
    "juice", "orange", "apple", "mango", "lemon", "cola", "tonic", "syrup", "vanilla",
    "caramel",
)
FORMS = ["bag", "box", "bottle", "can", "jar", "pack", "tin", "tub", "roll", "case"]
SIZES = ["100g", "250g", "500g", "1kg", "2kg", "330ml", "500ml", "1l", "2l", "x12", "x24", "x100"]
BRANDS = [
    f"{a}{b}"
    for a in ("Ka", "Lu", "No", "Ve", "Or", "Ta", "Ze", "Ma", "Du", "Pa")
    for b in ("fo", "mo", "rdia", "lta", "vo", "llis", "nko", "rla", "lce", "perix",
              "ssa", "dor", "ri", "xa", "tel", "mar", "gen", "via", "ron", "quist")
]
# fmt: on
CATEGORIES = [f"cat-{i:02d}" for i in range(40)]


def ean13(n: int) -> str:
    body = f"{400000000000 + n:012d}"
    total = sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(body))
    return body + str((10 - total % 10) % 10)


def catalog(rng: random.Random) -> list[dict]:
    """The snapshot as protocol records (`Change.model_dump(mode="json")`): two warehouses, as
    the server has, so every product has two stock rows."""
    changes: list[dict] = [
        {"entity": "warehouse", "key": str(w), "op": "upsert",
         "data": {"id": w, "code": f"W{w}", "name": f"Warehouse {w}", "handling_days": w - 1}}
        for w in WAREHOUSES
    ]  # fmt: skip
    for i in range(PRODUCTS):
        sku = f"SKU-{i:06d}"
        name = " ".join(rng.sample(WORDS, 3)).title() + f" {rng.choice(FORMS)} {rng.choice(SIZES)}"
        changes.append({"seq": 0, "entity": "product", "key": sku, "op": "upsert", "data": {
            "sku": sku, "name": name, "brand": rng.choice(BRANDS),
            "category": rng.choice(CATEGORIES), "unit": "each",
            "pack_size": rng.choice((1, 6, 12, 24)), "price_cents": rng.randint(50, 50_000),
            "barcode": ean13(i), "supplier_id": None, "discontinued": rng.random() < 0.02,
            "alternatives": [],
        }})  # fmt: skip
        for w in WAREHOUSES:
            on_hand = rng.choice((0, 0, 5, 20, 100, 400))
            reserved = min(on_hand, rng.randint(0, 10))
            changes.append({"seq": 0, "entity": "stock", "key": f"{sku}@{w}", "op": "upsert",
                            "data": {"sku": sku, "warehouse_id": w, "on_hand": on_hand,
                                     "reserved": reserved}})  # fmt: skip
    for r in range(RECEIPTS):
        quantity = rng.randint(10, 500)
        expected = (TODAY + timedelta(days=rng.randint(1, 90))).isoformat()
        changes.append({"seq": 0, "entity": "receipt", "key": str(r + 1), "op": "upsert", "data": {
            "id": r + 1, "supplier_id": None, "sku": f"SKU-{rng.randrange(PRODUCTS):06d}",
            "warehouse_id": rng.choice(WAREHOUSES), "quantity": quantity, "received": 0,
            "remaining": quantity, "expected": expected,
            "kind": rng.choice(("confirmed", "estimated")), "status": "scheduled",
        }})  # fmt: skip
    for q in range(QUEUED):
        key = str(q + 1)
        changes.append({"seq": 0, "entity": "queue_entry", "key": key, "op": "upsert", "data": {
            "entry_id": key, "sku": f"SKU-{rng.randrange(PRODUCTS):06d}",
            "warehouse_id": rng.choice(WAREHOUSES), "waiting": rng.randint(1, 30),
            "committed_at": (NOW - timedelta(minutes=q)).isoformat(), "tier": rng.randint(1, 3),
            "order_value": rng.randint(1_000, 500_000), "policy": "ship_as_available",
        }})  # fmt: skip
    changes.append({"seq": 0, "entity": "account", "key": "1", "op": "upsert",
                    "data": {"id": 1, "code": "C1", "name": "Cafe Central", "rep_id": 1,
                             "warehouse_id": 1, "tier": 2, "delivery_days": [1, 3],
                             "default_policy": "ship_as_available", "default_cap": None,
                             "credit_hold": False, "contact_name": "", "contact_phone": "",
                             "contact_email": "", "contact_address": "",
                             "contact_version": 1}})  # fmt: skip
    return changes


def apply_snapshot(store: Store, changes: list[dict]) -> float:
    """Seconds for the whole snapshot transaction, search index included."""
    start = time.perf_counter()
    with store.write() as session:
        loader = SnapshotLoader(session)
        for i in range(0, len(changes), PAGE):
            loader.add(changes[i : i + PAGE])
        loader.finish(cursor=1)
        record_sync(session, at=NOW)
    return time.perf_counter() - start


def floor_insert(folder: Path, changes: list[dict]) -> tuple[float, float]:
    """Plain sqlite3 executemany of the same rows into the same (migrated) tables; then, for
    reference, SQLite's own rebuild of the same search index."""
    path = folder / "floor.db"
    engine = make_engine(path)
    migrate(engine)
    engine.dispose()
    rows = upsert_rows(changes)  # the same rows, already in storage form (not timed)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    start = time.perf_counter()
    db.execute("BEGIN")
    for entity in ("warehouse", "product", "stock", "receipt", "demand", "account"):
        names = columns(entity)
        table = entity
        sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
        db.executemany(sql, rows[entity])
    db.execute("COMMIT")
    inserted = time.perf_counter() - start
    start = time.perf_counter()
    db.execute("INSERT INTO product_fts (product_fts) VALUES ('rebuild')")
    rebuild = time.perf_counter() - start
    db.close()
    return inserted, rebuild


def queries(rng: random.Random, changes: list[dict]) -> list[tuple[str, str]]:
    products = [c for c in changes if c["entity"] == "product"]
    mix = []
    for _ in range(QUERIES):
        p = rng.choice(products)
        name_words = p["data"]["name"].split()
        word = rng.choice(name_words[:3]).lower()
        kind = rng.choice(("sku", "sku prefix", "barcode", "common word", "brand", "substring",
                           "two words", "short"))  # fmt: skip
        text = {
            "sku": p["key"],
            "sku prefix": p["key"][:8],
            "barcode": p["data"]["barcode"],
            "common word": rng.choice(WORDS),
            "brand": p["data"]["brand"].lower(),
            "substring": word[1:5] if len(word) > 5 else word,
            "two words": " ".join(name_words[:2]).lower(),
            "short": word[:2],
        }[kind]
        mix.append((kind, text))
    return mix


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def time_queries(run, mix) -> tuple[list[float], dict[str, list[float]]]:
    for _, text in mix[:50]:  # warm the page cache and statement caches
        run(text)
    times, by_kind = [], {}
    for kind, text in mix:
        start = time.perf_counter()
        run(text)
        elapsed = (time.perf_counter() - start) * 1000
        times.append(elapsed)
        by_kind.setdefault(kind, []).append(elapsed)
    return times, by_kind


def main() -> None:
    print(machine.describe())
    rng = random.Random(20261126)
    print(
        f"building {PRODUCTS:,} products, {PRODUCTS * len(WAREHOUSES):,} stock rows, "
        f"{RECEIPTS:,} receipts, {QUEUED:,} queued lines ..."
    )
    changes = catalog(rng)
    with tempfile.TemporaryDirectory() as folder:
        store = Store.open(Path(folder) / "device.db", clock=lambda: NOW)
        total = apply_snapshot(store, changes)
        floor, floor_rebuild = floor_insert(Path(folder), changes)
        print()
        both = floor + floor_rebuild
        print(
            f"snapshot apply, store bulk path, incl. search index   {total:6.2f} s   "
            f"(target < {APPLY_TARGET_S:.1f} s)"
        )
        print(
            f"floor: sqlite3 executemany, same rows, no index        {floor:6.2f} s   "
            f"(+ SQLite's own index rebuild {floor_rebuild:.2f} s = {both:.2f} s)"
        )

        mix = queries(rng, changes)
        catalog_service = Catalog(store)
        with store.read() as session:
            conn = session.connection()
            bare, _ = time_queries(lambda t: search_products(conn, t, limit=30), mix)
            raw = conn.connection.dbapi_connection
            floor_times, _ = time_queries(
                lambda t: raw.execute(
                    "SELECT rowid FROM product_fts WHERE product_fts MATCH ? LIMIT 30",
                    ('"' + t.replace('"', '""') + '"',),
                ).fetchall(),
                mix,
            )
        full, by_kind = time_queries(
            lambda t: catalog_service.search(t, account_id="1", limit=30), mix
        )
        store.close()
    print()
    print(f"search over {len(mix)} queries (30 results)            p50       p95")
    for label, values in (
        ("Catalog.search, ranked, with availability", full),
        ("search_products, ranked, no availability", bare),
        ("floor: unranked FTS5 trigram query, LIMIT 30", floor_times),
    ):
        print(f"  {label:46} {statistics.median(values):6.2f} ms {percentile(values, 95):6.2f} ms")
    print(f"  (target: p95 < {SEARCH_TARGET_MS:.0f} ms for Catalog.search)")
    print()
    print("Catalog.search by query kind                       p50       p95")
    for kind, values in sorted(by_kind.items()):
        print(f"  {kind:46} {statistics.median(values):6.2f} ms {percentile(values, 95):6.2f} ms")


if __name__ == "__main__":
    main()
