"""The demo data generator (deterministic, realistic, consistent) and `python -m sync.server`
with no configuration beyond where to keep its database."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from sync.protocol import PROTOCOL_HEADER, PROTOCOL_VERSION
from sync.server.db import Database, make_engine
from sync.server.migrate import upgrade
from sync.server.models import Account, Order, OrderLine, Product, ScheduledReceipt, Supplier, User
from sync.server.seed.generate import ean13
from sync.server.settings import Settings
from tests.integration.test_concurrency import check_no_oversell

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)


def seeded(path: Path, **kwargs) -> Database:
    url = f"sqlite:///{path}"
    db = Database(make_engine(url))
    upgrade(db.engine)
    from sync.server.seed.generate import SeedConfig, generate

    generate(db, Settings(database_url=url), SeedConfig(**kwargs), now=NOW)
    return db


def valid_ean13(code: str) -> bool:
    return len(code) == 13 and code.isdigit() and ean13(code[:12]) == code


def test_the_generator_makes_a_believable_distributor(tmp_path):
    db = seeded(tmp_path / "a.db", products=300, accounts=20, history_weeks=12)
    with db.session() as s:
        products = s.exec(select(Product)).all()
        suppliers = s.exec(select(Supplier)).all()
        users = s.exec(select(User)).all()
        accounts = s.exec(select(Account)).all()
        orders = s.exec(select(Order)).all()
        lines = s.exec(select(OrderLine)).all()
        receipts = s.exec(select(ScheduledReceipt)).all()
    assert len(products) == 300 and len({p.category for p in products}) >= 10
    assert all(valid_ean13(p.barcode) for p in products)
    assert len({p.barcode for p in products}) == 300
    discontinued = [p for p in products if p.discontinued]
    assert discontinued and any(p.alternatives for p in discontinued)
    assert (
        len({(s.lead_time_mean_days, s.lead_time_sd_days) for s in suppliers})
        == len(suppliers)
        == 5
    )
    assert sorted(u.username for u in users) == ["rep1", "rep2", "rep3", "rep4", "rep5", "super"]
    assert {a.tier for a in accounts} <= {1, 2, 3} and len({a.rep_id for a in accounts}) == 5
    assert {r.kind for r in receipts} == {"confirmed", "estimated"}
    statuses = Counter(o.status for o in orders)
    assert statuses["fulfilled"] and statuses["cancelled"] and statuses["open"]
    assert any(li.backordered for li in lines) and any(li.waiting for li in lines)
    check_no_oversell(db)  # the open orders went through the real commit path
    db.dispose()


def test_the_generator_is_deterministic(tmp_path):
    one = seeded(tmp_path / "one.db", products=80, accounts=10, history_weeks=2)
    two = seeded(tmp_path / "two.db", products=80, accounts=10, history_weeks=2)
    with one.session() as a, two.session() as b:
        first = [(p.sku, p.name, p.price_cents, p.barcode) for p in a.exec(select(Product))]
        second = [(p.sku, p.name, p.price_cents, p.barcode) for p in b.exec(select(Product))]
        assert first == second
        assert len(a.exec(select(Order)).all()) == len(b.exec(select(Order)).all())
    one.dispose()
    two.dispose()


def test_seed_command_fills_an_empty_database_and_refuses_a_full_one(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    command = [sys.executable, "-m", "sync.server", "seed", "--products", "40", "--accounts", "10"]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["products"] == 40 and report["history_orders"] > 0
    again = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert again.returncode != 0 and "--force" in again.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_python_m_sync_server_serves_seeded_demo_data(tmp_path):
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'run.db'}",
        "FIELDSALES_SERVER_SEED_PRODUCTS": "40",
        "FIELDSALES_SERVER_SEED_ACCOUNTS": "10",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "sync.server", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while True:
            assert proc.poll() is None, proc.stderr.read().decode()
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.time() < deadline, "the server did not start"
            time.sleep(0.2)
        headers = {PROTOCOL_HEADER: str(PROTOCOL_VERSION)}
        signed = httpx.post(
            f"{base}/auth/sign-in", json={"username": "rep1", "password": "demo"}, headers=headers
        )
        assert signed.status_code == 200, signed.text
        token = signed.json()["token"]
        page = httpx.get(
            f"{base}/sync/snapshot",
            params={"section": "products"},
            headers={**headers, "Authorization": f"Bearer {token}"},
        )
        assert page.status_code == 200 and len(page.json()["rows"]) == 40
    finally:
        proc.terminate()
        proc.wait(20)
