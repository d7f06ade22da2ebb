"""Pages at scale, a child killed with SIGKILL mid-page, readers during writes, and two
writers on one file: the cursor and the data always agree."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import text

from app.store import Accounts, Catalog, Store, apply_changes, replace_snapshot, sync_state
from tests.unit.store.helpers import Clock, account, load, product, stock

ROOT = Path(__file__).resolve().parents[3]
PER_PAGE = 300

CHILD = f"""
import sys
from app.store import Store, apply_changes, sync_state
store = Store.open(sys.argv[1])
while True:
    with store.write() as session:
        page = sync_state(session).cursor + 1
        changes = [{{"entity": "product", "id": f"P{{page}}-{{k}}", "op": "upsert",
                     "data": {{"name": f"Page {{page}} item {{k}}", "barcode": str(page)}}}}
                   for k in range({PER_PAGE})]
        apply_changes(session, changes, cursor=page)
    print(page, flush=True)
"""


def check_consistent(path: Path) -> int:
    store = Store.open(path, clock=Clock())
    try:
        with store.write() as session:
            cursor = sync_state(session).cursor
            count = session.execute(text("SELECT count(*) FROM product")).scalar()
            pages = session.execute(text("SELECT count(DISTINCT barcode) FROM product")).scalar()
            session.execute(
                text("INSERT INTO product_fts (product_fts, rank) VALUES ('integrity-check', 1)")
            )
        assert count == cursor * PER_PAGE and pages == cursor, (cursor, count, pages)
        if cursor:
            hits = Catalog(store).search(f"Page {cursor} item 7", limit=5)
            assert hits[0].product.sku == f"P{cursor}-7"
        return cursor
    finally:
        store.close()


def test_a_page_and_its_cursor_survive_sigkill_together(tmp_path):
    path = tmp_path / "device.db"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    rng = random.Random(4)
    cursors = []
    for _ in range(4):
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(path)], env=env, stdout=subprocess.PIPE, text=True
        )
        child.stdout.readline()  # at least one page in, then kill at a random moment
        time.sleep(rng.uniform(0.0, 0.15))
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
        cursors.append(check_consistent(path))
    assert cursors == sorted(cursors) and cursors[-1] >= 4


def test_large_pages_and_resync(tmp_path):
    store = Store.open(tmp_path / "device.db", clock=Clock())
    try:
        for page in range(10):
            load(store, [product(f"S{page}-{k}", f"Sparkling Water {page}-{k}") for k in range(1000)],
                 cursor=page + 1)  # fmt: skip
        assert len(Catalog(store).search("sparkling", limit=50)) == 50
        # The outbox stays through a resync of 20,000 products.
        load(store, [account("A1", "Cafe")])
        Accounts(store).update_contact("A1", contact_name="Ana")
        snapshot = [product(f"T{k}", f"Tonic {k}") for k in range(20_000)]
        snapshot += [stock(f"T{k}", k % 5) for k in range(20_000)]
        with store.write() as session:
            replace_snapshot(session, snapshot, cursor=99)
        with store.read() as session:
            assert session.execute(text("SELECT count(*) FROM product")).scalar() == 20_000
            assert session.execute(text("SELECT count(*) FROM outbox")).scalar() == 1
        assert Catalog(store).search("sparkling") == []
        assert [h.product.sku for h in Catalog(store).search("T1999")][:1] == ["T1999"]
    finally:
        store.close()


def test_a_reader_keeps_its_snapshot_while_a_page_is_written(tmp_path):
    store = Store.open(tmp_path / "device.db", clock=Clock())
    try:
        load(store, [product("P1", "Oat Milk")], cursor=1)
        with store.read() as reader:
            before = reader.execute(text("SELECT count(*) FROM product")).scalar()
            with store.write() as writer:  # WAL: the writer does not wait for the reader
                apply_changes(writer, [product("P2", "Soy Milk")], cursor=2)
            assert reader.execute(text("SELECT count(*) FROM product")).scalar() == before == 1
        with store.read() as session:
            assert session.execute(text("SELECT count(*) FROM product")).scalar() == 2
    finally:
        store.close()


def test_two_writers_on_one_file_queue_and_ids_stay_gapless(tmp_path):
    path = tmp_path / "device.db"
    first = Store.open(path, clock=Clock())
    second = Store.open(path, clock=Clock())
    load(first, [account("A1", "Cafe")])
    ids: list[int] = []
    lock = threading.Lock()

    def edit(store: Store, who: str) -> None:
        for n in range(25):
            mutation = Accounts(store).update_contact("A1", contact_name=f"{who} {n}")
            with lock:
                ids.append(mutation)

    threads = [threading.Thread(target=edit, args=(s, w)) for s, w in ((first, "a"), (second, "b"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(ids) == list(range(1, 51))
    first.close()
    second.close()
