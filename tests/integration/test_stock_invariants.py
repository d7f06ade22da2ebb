"""A stateful property test of the server's stock books (hypothesis RuleBasedStateMachine).

Random sequences of everything that moves stock or demand go to the REAL server through its HTTP
API (the app in process over httpx.ASGITransport, as in conftest.py): reps' devices push
place_order / cancel_order / cancel_line (and retry a push), a supervisor schedules, receives
(whole or part), delays and cancels receipts, counts stock, ships shipments and approves, holds
or rejects orders; a third device keeps a copy of the books from a snapshot plus the change log.
After every step the database is read and the invariants the design promises are checked:

- stock: 0 <= reserved <= on_hand; reserved == sum(allocated - shipped) of the item's lines;
  on_hand == what receipts, counts and shipments made it (a model kept by the test);
- no idle stock while someone waits: free stock is 0 for an item with waiting units;
- lines: allocated + waiting + cancelled == quantity, all >= 0, shipped <= allocated;
- orders: cancelled/rejected ones hold and wait for nothing; fulfilled ones shipped everything
  not cancelled; open ones still have something to ship;
- queue-aware ETAs (app.domain.availability.date_queue; docs/ARCHITECTURE.md): every
  waiting line's stored schedule and ETA are what the domain's walk of the item's current supply
  against its current queue gives; in particular the ETA is null exactly when some waiting unit
  has no date;
- queue order: units a step allocates go to lines that rank (by the configured policy) before
  every line left waiting; under FIFO no later-committed line holds unshipped units while an
  earlier one still waits;
- moves are visible: units a line gains are this step's allocation records, and a line whose
  customer's date moved has this step's ETA-change event from the date told before to the new
  one (and no event without a move);
- shipments: each line's units are covered once by its shipped, ready, planned and unscheduled
  units; a ready shipment only holds allocated units; all-or-nothing orders ship whole; a capped
  split never ships more than its cap;
- every push gets a 2xx answer with no mutation dead-lettered (a fault on the server); every
  supervisor call gets the 2xx or the documented 4xx the state calls for; a refusal changes
  nothing; a retried push is answered as a duplicate and changes nothing;
- sync: a rep device that took a snapshot at the start and then only pulls the change log holds
  the same stock, receipts, queue and orders as a fresh snapshot (checked as a step and at the
  end).

Runs under both allocation policies, on SQLite and (when TEST_DATABASE_URL is set) PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import inspect, text
from sqlmodel import select

from app.domain.allocation import completion_eta
from app.domain.availability import DemandQueue, date_queue, queue_key
from app.domain.model import AllocationPolicy, EtaKind, QueuedLine, Receipt, Supply, Terms
from sync import protocol as p
from sync.server.db import make_engine
from sync.server.migrate import upgrade
from sync.server.models import (
    Account,
    AllocationRecord,
    DeadLetter,
    EtaChangeEvent,
    Order,
    OrderLine,
    Product,
    ScheduledReceipt,
    Shipment,
    Stock,
)
from tests.integration.conftest import Device, Server, World, days, make_server, sign_in

pytestmark = pytest.mark.slow

# Per policy: ~15 s on SQLite, ~15 s on PostgreSQL (fewer examples there) on a shared 2-core
# machine. For a deeper search: STOCK_INVARIANTS_EXAMPLES=500 STOCK_INVARIANTS_STEPS=60.
MAX_EXAMPLES = int(os.environ.get("STOCK_INVARIANTS_EXAMPLES", "15"))
MAX_EXAMPLES_PG = int(os.environ.get("STOCK_INVARIANTS_EXAMPLES", "8"))
STEPS = int(os.environ.get("STOCK_INVARIANTS_STEPS", "40"))

SKUS = ("A", "B", "C", "D")  # D is discontinued
RESTOCKED = ("A", "B", "C")
INITIAL = {"A": 4, "B": 0, "C": 2, "D": 3}
CLOSED = ("cancelled", "rejected", "fulfilled")
OBSERVED = ("stock", "receipts", "queue", "orders")  # the observer device's snapshot sections
OPEN_ONLY = st.sampled_from([True, True, True, False])
CART = st.lists(
    st.tuples(st.sampled_from(SKUS), st.integers(1, 8)),
    min_size=1,
    max_size=3,
    unique_by=lambda t: t[0],
)
POLICIES = (
    None,  # the account's default
    ("all_or_nothing", None),
    ("ship_as_available", None),
    ("capped_split", 1),
    ("capped_split", 2),
)


# ------------------------------------------------------------------------------------------
# A fresh database for every example
# ------------------------------------------------------------------------------------------


class Databases:
    """SQLite: a copy of the migrated template per example. PostgreSQL: the test's schema,
    migrated once, its tables emptied (identities restarted) before each example."""

    def __init__(self, database_url: str, sqlite_template: Path, folder: Path) -> None:
        self.url = database_url
        self.template = sqlite_template
        self.folder = folder
        self.sqlite = database_url.startswith("sqlite")
        self.count = 0
        self.tables: list[str] = []
        if not self.sqlite:
            engine = make_engine(database_url)
            upgrade(engine)
            self.tables = [t for t in inspect(engine).get_table_names() if t != "alembic_version"]
            engine.dispose()

    def fresh(self) -> str:
        self.count += 1
        if self.sqlite:
            target = self.folder / f"example{self.count}.db"
            shutil.copy(self.template, target)
            return f"sqlite:///{target}"
        engine = make_engine(self.url)
        with engine.begin() as conn:
            names = ", ".join(f'"{t}"' for t in self.tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        engine.dispose()
        return self.url

    def drop(self, url: str) -> None:
        if self.sqlite:
            path = Path(url.removeprefix("sqlite:///"))
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)


# ------------------------------------------------------------------------------------------
# The books as the database has them
# ------------------------------------------------------------------------------------------


@dataclass
class Books:
    stock: dict[str, Stock]
    lines: list[OrderLine]
    orders: dict[Any, Order]
    shipments: list[Shipment]
    receipts: list[ScheduledReceipt]
    accounts: dict[int, Account]
    products: dict[str, Product]
    allocations: list[AllocationRecord]
    eta_changes: list[EtaChangeEvent]
    dead_letters: int

    def lines_of(self, order_id: Any) -> list[OrderLine]:
        return sorted(
            (li for li in self.lines if li.order_id == order_id), key=lambda li: li.line_no
        )


def read_books(server: Server) -> Books:
    with server.db.session() as s:
        return Books(
            stock={row.sku: row for row in s.exec(select(Stock))},
            lines=list(s.exec(select(OrderLine).order_by(OrderLine.id))),
            orders={o.id: o for o in s.exec(select(Order))},
            shipments=list(s.exec(select(Shipment).order_by(Shipment.id))),
            receipts=list(s.exec(select(ScheduledReceipt).order_by(ScheduledReceipt.id))),
            accounts={a.id: a for a in s.exec(select(Account))},
            products={x.sku: x for x in s.exec(select(Product))},
            allocations=list(s.exec(select(AllocationRecord).order_by(AllocationRecord.id))),
            eta_changes=list(s.exec(select(EtaChangeEvent).order_by(EtaChangeEvent.id))),
            dead_letters=len(list(s.exec(select(DeadLetter.id)))),
        )


FINGERPRINT = (
    "SELECT sku, warehouse_id, on_hand, reserved FROM stock ORDER BY sku, warehouse_id",
    "SELECT id, status, version FROM orders ORDER BY id",
    "SELECT id, allocated, waiting, cancelled, shipped, eta_date, eta_kind FROM order_line ORDER BY id",
    "SELECT id, status, received, expected, kind FROM scheduled_receipt ORDER BY id",
    "SELECT id, status FROM shipment ORDER BY id",
    "SELECT COUNT(*) FROM allocation",
    "SELECT COUNT(*) FROM eta_change",
)


def fingerprint(server: Server) -> list[Any]:
    """The state a refused request or a duplicate push must leave as it was."""
    with server.db.engine.connect() as conn:
        return [[tuple(r) for r in conn.execute(text(q))] for q in FINGERPRINT]


# ------------------------------------------------------------------------------------------
# The machine
# ------------------------------------------------------------------------------------------


class StockBooks(RuleBasedStateMachine):
    databases: Databases  # set by the test
    policy: AllocationPolicy

    def __init__(self) -> None:
        super().__init__()
        self.url = self.databases.fresh()
        self.server = make_server(self.url, allocation_policy=self.policy, migrate_on_start=False)
        self.loop = asyncio.new_event_loop()
        self.client = self.server.client()
        world = World(self.server.db).setup()
        self.warehouse = world.warehouse_id
        for name in ("rep1", "rep2"):
            world.user(name)
        world.user("boss", role="supervisor")
        world.product("A", INITIAL["A"], price=1000)
        world.product("B", INITIAL["B"], price=2500)
        world.product("C", INITIAL["C"], price=400)
        world.product("D", INITIAL["D"], price=700, discontinued=True, alternatives=("A",))
        capped = world.account("rep2", tier=2, policy="capped_split", cap=2)
        thursdays = world.account("rep2", tier=3, delivery_days=(3,))
        on_hold = world.account("rep2", tier=1, credit_hold=True)
        self.accounts = {  # an order picks one by index, modulo: the held one now and then
            "rep1": [
                world.account("rep1", tier=1),
                world.account("rep1", tier=3, policy="all_or_nothing", delivery_days=(1, 3)),
            ],
            "rep2": [capped, thursdays, capped, thursdays, on_hold],
        }
        self.on_hold = {on_hold}
        # What the test knows on its own: stock on hand and the orders it placed.
        self.on_hand = dict(INITIAL)
        world.receipt("B", 6, days(3))
        world.receipt("A", 5, days(7), kind="estimated")
        self.orders: list[tuple[Any, str]] = []  # (order id, rep)
        self.devices: dict[str, Device] = {}
        for name in ("rep1", "rep2", "boss"):
            self.devices[name] = self.run(sign_in(self.client, name))
        self.observer = self.run(sign_in(self.client, "rep1", device_name="observer"))
        self.last_push: tuple[str, list[dict[str, Any]]] | None = None
        self.seen_allocations = 0
        self.seen_eta_changes = 0
        # Each line as the last step left it: (allocated, the customer's date).
        self.before: dict[int, tuple[int, date | None]] = {}
        self.steps = 0
        # The observer device: a full snapshot now, then only the change log.
        self.copy, self.cursor = self.snapshot(self.observer)

    def teardown(self) -> None:
        try:
            # The end check, unless a step has failed (teardown runs as that error propagates,
            # and must not replace it).
            if hasattr(self, "observer") and sys.exc_info()[0] is None:
                self.check_observer()
        finally:
            if hasattr(self, "client"):
                self.run(self.client.aclose())
            if hasattr(self, "loop"):
                self.loop.close()
            if hasattr(self, "server"):
                self.server.app.state.pushers.shutdown(wait=True)
                self.server.db.dispose()
                self.databases.drop(self.url)

    # -- plumbing ---------------------------------------------------------------------------

    def run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)

    def tick(self) -> None:
        """A minute passes between steps (never a day: "today", and so every ETA, stays put)."""
        self.server.clock.advance(minutes=1)
        self.steps += 1

    def push(self, who: str, mutation: dict[str, Any]) -> p.MutationResult:
        """One mutation from a rep's device: always a 2xx, never dead-lettered."""
        self.tick()
        device = self.devices[who]
        stamped = device.stamp(mutation)
        response = self.run(device.raw_push([stamped]))
        assert response.status_code == 200, (mutation, response.status_code, response.text)
        answer = p.PushResponse.model_validate(response.json())
        assert answer.last_applied == stamped["mutation_id"], answer
        (result,) = answer.results
        assert result.status == "applied", ("a push was not applied", mutation, result)
        self.last_push = (who, [stamped])
        return result

    def supervise(self, method: str, url: str, body: Any, expect: int) -> httpx.Response:
        """A supervisor call: exactly the status the state calls for; a refusal changes nothing."""
        self.tick()
        before = fingerprint(self.server) if expect >= 400 else None
        boss = self.devices["boss"]
        response = self.run(self.client.request(method, url, json=body, headers=boss.headers))
        assert response.status_code == expect, (
            method,
            url,
            body,
            response.status_code,
            response.text,
        )
        if before is not None:
            assert fingerprint(self.server) == before, ("a refused call changed the books", url)
        return response

    def snapshot(self, device: Device) -> tuple[dict[tuple[str, str], Any], int]:
        """The observer's sections of a full snapshot, as records by (entity, key)."""
        records: dict[tuple[str, str], Any] = {}
        cursor = None
        for section in OBSERVED:
            after = None
            while True:
                params = {"section": section} | ({"after": after} if after else {})
                response = self.run(device.get("/sync/snapshot", **params))
                assert response.status_code == 200, response.text
                page = p.SnapshotPage.model_validate(response.json())
                cursor = page.cursor if cursor is None else cursor
                entity, model = p.SNAPSHOT_RECORDS[section]
                for row, record in zip(page.rows, page.records(), strict=True):
                    records[(entity, row[0])] = model.model_validate(record)
                if not page.has_more:
                    break
                after = page.after
        assert cursor is not None
        return records, cursor

    def pull(self) -> None:
        """The observer applies the change log after its cursor, as a device does."""
        kept = {p.SNAPSHOT_RECORDS[section][0] for section in OBSERVED}
        while True:
            response = self.run(self.observer.get("/sync/pull", cursor=self.cursor, limit=200))
            assert response.status_code == 200, response.text
            page = p.PullPage.model_validate(response.json())
            for change in page.changes:
                if change.entity not in kept:
                    continue
                key = (change.entity, change.key)
                if change.op == "delete":
                    self.copy.pop(key, None)
                else:
                    self.copy[key] = change.data
            self.cursor = page.cursor
            if not page.has_more:
                break

    def check_observer(self) -> None:
        self.pull()
        fresh, _ = self.snapshot(self.observer)
        mine, theirs = set(self.copy), set(fresh)
        assert mine == theirs, (
            "the change log and a snapshot disagree on which records exist",
            sorted(mine - theirs),
            sorted(theirs - mine),
        )
        for key in sorted(fresh):
            assert self.copy[key] == fresh[key], (
                "a device rebuilt from the change log differs from a snapshot",
                key,
                self.copy[key],
                fresh[key],
            )
        # ... and both say what the database says about stock.
        books = read_books(self.server)
        for sku, row in books.stock.items():
            record = fresh[("stock", f"{sku}@{row.warehouse_id}")]
            assert (record.on_hand, record.reserved) == (row.on_hand, row.reserved), sku

    def pick(self, items: list[Any], index: int) -> Any:
        return items[index % len(items)]

    # -- reps' devices ----------------------------------------------------------------------

    @initialize(
        orders=st.lists(
            st.tuples(st.sampled_from(["rep1", "rep2"]), st.integers(0, 2), CART),
            min_size=1,
            max_size=4,
        )
    )
    def initial_orders(self, orders: list[tuple[str, int, list[tuple[str, int]]]]) -> None:
        """Start with demand: a few orders, most of them backordered."""
        for rep, account, lines in orders:
            self.place_order(rep, account, lines, None)

    # Two rules (one per rep) so that orders are a good share of the steps.
    @rule(account=st.integers(0, 4), lines=CART, policy=st.sampled_from(POLICIES))
    def rep1_places_order(
        self, account: int, lines: list[tuple[str, int]], policy: tuple[str, int | None] | None
    ) -> None:
        self.place_order("rep1", account, lines, policy)

    @rule(account=st.integers(0, 4), lines=CART, policy=st.sampled_from(POLICIES))
    def rep2_places_order(
        self, account: int, lines: list[tuple[str, int]], policy: tuple[str, int | None] | None
    ) -> None:
        self.place_order("rep2", account, lines, policy)

    def place_order(
        self,
        rep: str,
        account: int,
        lines: list[tuple[str, int]],
        policy: tuple[str, int | None] | None,
    ) -> None:
        account_id = self.pick(self.accounts[rep], account)
        order_id = str(uuid.uuid4())
        mutation: dict[str, Any] = {
            "name": "place_order",
            "order_id": order_id,
            "account_id": account_id,
            "lines": [{"sku": sku, "quantity": q} for sku, q in lines],
        }
        if policy is not None:
            mutation["policy"] = policy[0]
            if policy[1] is not None:
                mutation["cap"] = policy[1]
        before = fingerprint(self.server)
        result = self.push(rep, mutation)
        if result.outcome == "rejected":
            assert fingerprint(self.server) == before, "a refused order changed the books"
        if account_id in self.on_hold:
            assert result.outcome == "rejected" and "credit hold" in (result.reason or ""), result
            return
        if result.outcome == "rejected":
            # The only other "no": nothing on the order can be supplied (discontinued, no stock).
            assert all(sku == "D" for sku, _ in lines), result
            assert "discontinued" in (result.reason or ""), result
            return
        verdict = result.order
        assert verdict is not None and len(verdict.lines) == len(lines), result
        for line, (sku, quantity) in zip(verdict.lines, lines, strict=True):
            assert (line.sku, line.quantity) == (sku, quantity), verdict
            assert line.reserved + line.backordered + line.unavailable == quantity, verdict
        self.orders.append((order_id, rep))

    def _cancellable(self, order_id: Any, line_no: int | None) -> bool:
        books = read_books(self.server)
        order = books.orders[uuid.UUID(order_id)]
        if order.status in CLOSED:
            return False
        lines = [li for li in books.lines_of(order.id) if line_no in (None, li.line_no)]
        return any(li.allocated - li.shipped + li.waiting for li in lines)

    @precondition(lambda self: self.orders)
    @rule(
        index=st.integers(0, 1000),
        line_no=st.sampled_from([None, None, 1, 1, 2, 3]),
        by_owner=st.sampled_from([True, True, True, False]),
    )
    def cancel(self, index: int, line_no: int | None, by_owner: bool) -> None:
        """cancel_order (line_no None) or cancel_line, by the order's rep or by another one."""
        order_id, owner = self.pick(self.orders, index)
        who = owner if by_owner else ("rep2" if owner == "rep1" else "rep1")
        lines = read_books(self.server).lines_of(uuid.UUID(order_id))
        exists = line_no is None or any(li.line_no == line_no for li in lines)
        expect_ok = by_owner and exists and self._cancellable(order_id, line_no)
        before = None if expect_ok else fingerprint(self.server)
        if line_no is None:
            mutation = {"name": "cancel_order", "order_id": order_id}
        else:
            mutation = {"name": "cancel_line", "order_id": order_id, "line_no": line_no}
        result = self.push(who, mutation)
        assert result.outcome == ("accepted" if expect_ok else "rejected"), (by_owner, result)
        if before is not None:
            assert fingerprint(self.server) == before, "a refused cancel changed the books"

    @precondition(lambda self: self.last_push is not None)
    @rule()
    def retry_last_push(self) -> None:
        """The answer to the last push was lost: the device sends the same batch again."""
        assert self.last_push is not None
        who, mutations = self.last_push
        before = fingerprint(self.server)
        self.tick()
        response = self.run(self.devices[who].raw_push(mutations))
        assert response.status_code == 200, response.text
        answer = p.PushResponse.model_validate(response.json())
        assert [r.status for r in answer.results] == ["duplicate"] * len(mutations), answer
        assert fingerprint(self.server) == before, "a duplicate push changed the books"

    @rule()
    def observer_syncs(self) -> None:
        self.tick()
        self.check_observer()

    # -- the supervisor: receipts, counts, shipping, decisions -------------------------------

    @rule(
        sku=st.sampled_from(RESTOCKED),
        quantity=st.integers(1, 8),
        day=st.integers(1, 20),
        kind=st.sampled_from(["confirmed", "estimated"]),
    )
    def schedule_receipt(self, sku: str, quantity: int, day: int, kind: str) -> None:
        body = {
            "sku": sku,
            "warehouse_id": self.warehouse,
            "quantity": quantity,
            "expected": days(day).isoformat(),
            "kind": kind,
        }
        response = self.supervise("POST", "/warehouse/receipts", body, 201)
        result = p.SupplyEventResult.model_validate(response.json())
        assert result.receipt is not None and result.receipt.status == "scheduled", result

    def _receipt(self, index: int, open_only: bool) -> ScheduledReceipt:
        """Mostly a receipt still expected; sometimes any (a closed one must be refused)."""
        receipts = read_books(self.server).receipts
        scheduled = [r for r in receipts if r.status == "scheduled"]
        return self.pick(scheduled if open_only and scheduled else receipts, index)

    @rule(
        action=st.sampled_from(["receive", "receive", "delay", "cancel"]),
        index=st.integers(0, 1000),
        quantity=st.one_of(st.none(), st.integers(1, 10)),
        day=st.integers(1, 25),
        kind=st.sampled_from(["confirmed", "estimated"]),
        open_only=OPEN_ONLY,
    )
    def receipt_event(
        self,
        action: str,
        index: int,
        quantity: int | None,
        day: int,
        kind: str,
        open_only: bool,
    ) -> None:
        """Receive a receipt (all that remains, or `quantity`), delay it to `day`, or cancel it."""
        receipt = self._receipt(index, open_only)
        url = f"/warehouse/receipts/{receipt.id}/{action}"
        scheduled = receipt.status == "scheduled"
        if action == "receive":
            remaining = receipt.quantity - receipt.received
            units = remaining if quantity is None else quantity
            ok = scheduled and units <= remaining
            body = {} if quantity is None else {"quantity": quantity}
            # a closed receipt is a 409 (the state moved on); too many units, a 422 (bad input)
            self.supervise("POST", url, body, 200 if ok else 409 if not scheduled else 422)
            if ok:
                self.on_hand[receipt.sku] += units
        elif action == "delay":
            body = {"expected": days(day).isoformat(), "kind": kind}
            self.supervise("POST", url, body, 200 if scheduled else 409)
        else:
            self.supervise("POST", url, None, 200 if scheduled else 409)

    @rule(sku=st.sampled_from(SKUS), counted=st.integers(0, 10))
    def count(self, sku: str, counted: int) -> None:
        body = {"sku": sku, "warehouse_id": self.warehouse, "counted": counted}
        self.supervise("POST", "/warehouse/stock/count", body, 200)
        self.on_hand[sku] = counted

    @rule(index=st.integers(0, 1000), ready_only=OPEN_ONLY)
    def ship(self, index: int, ready_only: bool) -> None:
        books = read_books(self.server)
        candidates = [s for s in books.shipments if s.status == "ready" or not ready_only]
        if not candidates:
            return
        shipment = self.pick(candidates, index)
        order = books.orders[shipment.order_id]
        ok = shipment.status == "ready" and order.status not in ("on_hold", "rejected", "cancelled")
        self.supervise("POST", f"/warehouse/shipments/{shipment.id}/ship", None, 200 if ok else 409)
        if ok:
            for item in shipment.lines:
                self.on_hand[item["sku"]] -= item["quantity"]

    @precondition(lambda self: self.orders)
    @rule(
        index=st.integers(0, 1000),
        action=st.sampled_from(["approve", "hold", "reject"]),
        stale=st.sampled_from([False, False, False, True]),
    )
    def decide(self, index: int, action: str, stale: bool) -> None:
        order_id, _ = self.pick(self.orders, index)
        order = read_books(self.server).orders[uuid.UUID(order_id)]
        allowed = {
            "approve": ("open", "on_hold"),
            "hold": ("open", "approved"),
            "reject": ("open", "on_hold", "approved"),
        }
        version = order.version + 1 if stale else order.version
        ok = not stale and order.status in allowed[action]
        body = {"action": action, "version": version, "note": "checked"}
        self.supervise("POST", f"/supervisor/orders/{order_id}/decision", body, 200 if ok else 409)

    # -- invariants ---------------------------------------------------------------------------

    @invariant()
    def books_balance(self) -> None:
        books = read_books(self.server)
        assert books.dead_letters == 0, "a mutation failed on the server (dead-lettered)"
        waiting: dict[str, int] = defaultdict(int)
        held: dict[str, int] = defaultdict(int)
        for li in books.lines:
            order = books.orders[li.order_id]
            where = f"order {order.id} line {li.line_no} ({li.sku}, status {order.status})"
            assert min(li.allocated, li.waiting, li.cancelled, li.shipped) >= 0, where
            assert li.allocated + li.waiting + li.cancelled == li.quantity, (
                where, li.quantity, li.allocated, li.waiting, li.cancelled,
            )  # fmt: skip
            assert li.shipped <= li.allocated, (where, li.shipped, li.allocated)
            if order.status in ("cancelled", "rejected"):
                assert li.waiting == 0, (where, "waits on a closed order", li.waiting)
                assert li.allocated == li.shipped, (where, "holds units on a closed order")
            if order.status == "fulfilled":
                assert li.waiting == 0 and li.shipped == li.quantity - li.cancelled, where
            waiting[li.sku] += li.waiting
            held[li.sku] += li.allocated - li.shipped
        for sku, row in books.stock.items():
            assert 0 <= row.reserved <= row.on_hand, (sku, row.reserved, row.on_hand)
            assert row.reserved == held[sku], (
                f"{sku}: reserved {row.reserved} but lines hold {held[sku]} unshipped units"
            )
            assert row.on_hand == self.on_hand[sku], (
                f"{sku}: on hand {row.on_hand}, receipts/counts/shipments make {self.on_hand[sku]}"
            )
            if waiting[sku]:
                assert row.on_hand - row.reserved == 0, (
                    f"{sku}: {row.on_hand - row.reserved} units free while {waiting[sku]} wait"
                )
        for order in books.orders.values():
            if order.status not in CLOSED:
                lines = books.lines_of(order.id)
                assert any(li.shipped < li.quantity - li.cancelled for li in lines), (
                    f"order {order.id} is {order.status} with nothing left to ship"
                )
        self.check_etas(books)
        self.check_shipments(books)
        fresh = books.allocations[self.seen_allocations :]
        events = books.eta_changes[self.seen_eta_changes :]
        self.check_queue_order(books, fresh)
        self.check_moves_recorded(books, fresh, events)
        self.seen_allocations = len(books.allocations)
        self.seen_eta_changes = len(books.eta_changes)
        self.before = {li.id: (li.allocated, li.told_date) for li in books.lines}

    def check_etas(self, books: Books) -> None:
        """Every waiting line is dated as the domain's queue walk dates it now."""
        today = self.server.clock.today()
        for sku, row in books.stock.items():
            queued = [li for li in books.lines if li.sku == sku and li.waiting > 0]
            if not queued:
                continue
            product = books.products[sku]
            supply = Supply(
                item=sku,
                free_now=max(row.on_hand - row.reserved, 0),
                receipts=tuple(
                    Receipt(str(r.id), sku, r.quantity - r.received, r.expected, EtaKind(r.kind))
                    for r in books.receipts
                    if r.sku == sku and r.status == "scheduled" and r.quantity > r.received
                ),
                discontinued=product.discontinued,
                alternatives=tuple(product.alternatives or ()),
            )
            terms: dict[str, Terms] = {}
            entries = []
            for li in queued:
                order = books.orders[li.order_id]
                account = books.accounts[order.account_id]
                # handling 0 days: the warehouse World makes
                terms[str(li.id)] = Terms(0, frozenset(account.delivery_days or ()))
                entries.append(
                    QueuedLine(
                        str(li.id),
                        str(order.id),
                        sku,
                        li.waiting,
                        order.committed_at,
                        order.tier,
                        order.total_cents,
                        order.policy,
                    )
                )
            dated = date_queue(
                supply,
                DemandQueue(sku, entries, self.policy),
                today=today,
                terms_of=lambda line, t=terms: t[line.line_id],
            )
            for li in queued:
                av = dated[str(li.id)]
                where = f"order {li.order_id} line {li.line_no} ({sku}, {li.waiting} waiting)"
                stored = [[d, int(q)] for d, q in li.schedule or []]
                assert sum(q for _, q in stored) == li.waiting, (where, "schedule", stored)
                undated = any(d is None for d, _ in stored)
                assert (li.eta_date is None) == undated, (where, li.eta_date, stored)
                expected = [[d.isoformat() if d else None, q] for d, q in av.schedule()]
                eta = completion_eta(av)
                assert stored == expected, (where, "schedule", stored, "should be", expected)
                assert (li.eta_date, li.eta_kind) == (
                    (eta.date, eta.kind.value) if eta else (None, None)
                ), (where, "ETA", li.eta_date, li.eta_kind, "should be", eta)

    def check_queue_order(self, books: Books, fresh: list[AllocationRecord]) -> None:
        def key(li: OrderLine) -> tuple[object, ...]:
            order = books.orders[li.order_id]
            return queue_key(
                self.policy,
                committed_at=order.committed_at,
                tier=order.tier,
                order_value=order.total_cents,
                order_id=str(order.id),
                line_id=str(li.id),
            )

        lines = {li.id: li for li in books.lines}
        for sku in SKUS:
            waiters = [li for li in books.lines if li.sku == sku and li.waiting > 0]
            # This step's allocations went to lines ranked before every line still waiting.
            for record in (a for a in fresh if a.sku == sku):
                got = lines[record.line_id]
                for w in waiters:
                    if w.id != got.id:
                        assert key(got) < key(w), (
                            f"{sku}: {record.quantity} units went to order {got.order_id} "
                            f"line {got.line_no} while order {w.order_id} line {w.line_no}, "
                            f"ahead of it under {self.policy.value}, still waits {w.waiting}"
                        )
            if self.policy is AllocationPolicy.FIFO:
                holders = [li for li in books.lines if li.sku == sku and li.allocated > li.shipped]
                for h in holders:
                    for w in waiters:
                        if w.id != h.id:
                            assert key(h) < key(w), (
                                f"{sku}: order {h.order_id} line {h.line_no}, committed later, "
                                f"holds {h.allocated - h.shipped} units while order {w.order_id} "
                                f"line {w.line_no} waits for {w.waiting}"
                            )

    def check_moves_recorded(
        self, books: Books, fresh: list[AllocationRecord], events: list[EtaChangeEvent]
    ) -> None:
        """ "Every allocation is recorded; ETAs of everything behind move and the move is
        visible": units a line gained this step are this step's allocation records, and a
        line whose customer's date moved has this step's ETA-change event from the old date to
        the new one."""
        got: dict[int, int] = defaultdict(int)
        for record in fresh:
            got[record.line_id] += record.quantity
        moved: dict[int, EtaChangeEvent] = {e.line_id: e for e in events}  # the last one
        for li in books.lines:
            if li.id not in self.before:
                assert got[li.id] == 0, (li.order_id, li.line_no, "allocated to a new line")
                continue
            allocated, told = self.before[li.id]
            where = f"order {li.order_id} line {li.line_no} ({li.sku})"
            if li.allocated > allocated:
                assert got[li.id] == li.allocated - allocated, (
                    where, "gained", li.allocated - allocated, "units, recorded", got[li.id],
                )  # fmt: skip
            # The customer's date (the line's date under its order's policy) moved: one event
            # says so, from the date told before to the new one; no move, no event.
            event = moved.get(li.id)
            if told != li.told_date:
                assert event is not None, (where, "customer's date", told, "->", li.told_date)
                assert (event.old_date, event.new_date) == (told, li.told_date), (
                    where, "the ETA change says", event.old_date, event.new_date,
                    "but the customer was told", told, "then", li.told_date,
                )  # fmt: skip
            else:
                assert event is None, (where, "an ETA change but the date stayed", told)

    def check_shipments(self, books: Books) -> None:
        by_order: dict[Any, list[Shipment]] = defaultdict(list)
        for s in books.shipments:
            by_order[s.order_id].append(s)
        for order in books.orders.values():
            lines = {li.line_no: li for li in books.lines_of(order.id)}
            shipments = by_order[order.id]
            shipped = [s for s in shipments if s.status == "shipped"]
            units: dict[tuple[str, int], int] = defaultdict(int)
            for s in shipments:
                for item in s.lines:
                    units[(s.status, item["line_no"])] += item["quantity"]
            for item in order.unscheduled or []:
                units[("unscheduled", item["line_no"])] += item["quantity"]
            where = f"order {order.id} ({order.status}, {order.policy})"
            for n, li in lines.items():
                assert units[("shipped", n)] == li.shipped, (where, n, "shipped", li.shipped)
                assert units[("ready", n)] <= li.allocated - li.shipped, (
                    where, n, "a ready shipment holds units the line has not got",
                )  # fmt: skip
                if order.status in CLOSED:
                    continue
                planned = sum(units[(k, n)] for k in ("ready", "planned", "unscheduled"))
                assert planned == li.quantity - li.cancelled - li.shipped, (
                    where, n, "plan covers", planned, "of", li.quantity - li.cancelled - li.shipped,
                )  # fmt: skip
            if order.status in CLOSED:
                assert all(s.status == "shipped" for s in shipments), (where, "still planned")
            if order.policy == "all_or_nothing":
                assert len(shipped) <= 1, (where, "shipped in parts")
                if any(s.status == "ready" for s in shipments):
                    assert all(li.allocated == li.quantity - li.cancelled for li in lines.values()), (
                        where, "ready before every line is covered",
                    )  # fmt: skip
            if order.policy == "capped_split":
                assert len(shipped) <= (order.policy_cap or 1), (where, "over its cap")


@pytest.mark.parametrize("policy", [AllocationPolicy.FIFO, AllocationPolicy.PRIORITY], ids=str)
def test_stock_books_balance_after_every_step(
    policy: AllocationPolicy, database_url: str, sqlite_template: Path, tmp_path: Path
) -> None:
    databases = Databases(database_url, sqlite_template, tmp_path)

    class Machine(StockBooks):
        pass

    Machine.databases = databases
    Machine.policy = policy
    run_state_machine_as_test(
        Machine,
        settings=settings(
            max_examples=MAX_EXAMPLES if databases.sqlite else MAX_EXAMPLES_PG,
            stateful_step_count=STEPS,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
            # STOCK_INVARIANTS_NO_SHRINK=1: report the first failing run as found (debugging).
            phases=[Phase.explicit, Phase.reuse, Phase.generate]
            if os.environ.get("STOCK_INVARIANTS_NO_SHRINK")
            else list(Phase),
        ),
    )
