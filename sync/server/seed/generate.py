"""The demo distributor, generated deterministically from one random.Random(seed).

Catalog, people and a year of closed order history are written with SQLAlchemy Core inserts of
many rows per statement. The last two weeks of orders go through the real commit path
(sync.server.services.orders.place_order), so open orders, reservations, the demand queue, ETAs
and shipment plans are exactly what the server itself would have made; some of their ready
shipments are then shipped through the real shipping path.
"""

from __future__ import annotations

import logging
import random
import time as clock_time
import uuid
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import accumulate
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, text
from sqlmodel import Session, select

from sync import protocol as p
from sync.server.context import Principal, Tx
from sync.server.db import Database
from sync.server.models import (
    Account,
    AllocationRecord,
    ItemSupplier,
    Order,
    OrderEvent,
    OrderLine,
    Product,
    PurchaseOrder,
    ReceiptDelivery,
    ReceiptPromise,
    ScheduledReceipt,
    Shipment,
    Stock,
    Supplier,
    User,
    Warehouse,
)
from sync.server.security import hash_password
from sync.server.seed import supply as supplies
from sync.server.seed import vocabulary as words
from sync.server.services.slips import SlipCache
from sync.server.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SeedConfig:
    products: int = 2000
    accounts: int = 200
    history_weeks: int = 52
    open_order_days: int = 14
    orders_per_account_week: float = 0.8
    seed: int = 42


def ean13(body12: str) -> str:
    """EAN-13: 12 digits and the check digit (weights 1 and 3 from the left)."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body12))
    return body12 + str((10 - total % 10) % 10)


def bulk_insert(session: Session, model: Any, rows: Sequence[dict[str, Any]]) -> None:
    """A Core insert() with a list of rows: the engine's "insertmanyvalues" mode (see
    db.make_engine) sends them as multi-row INSERT statements, batched to stay under the
    drivers' parameter limits, without compiling one huge statement per batch."""
    if rows:
        session.execute(insert(model.__table__), list(rows))


class Generator:
    def __init__(self, db: Database, settings: Settings, config: SeedConfig, now: datetime):
        self.db = db
        self.settings = settings
        self.config = config
        self.rng = random.Random(config.seed)
        self.tz = ZoneInfo(settings.timezone)
        self.now = now.astimezone(UTC)
        self.today = self.now.astimezone(self.tz).date()
        self.skus: list[str] = []
        self.prices: dict[str, int] = {}
        self.popular_cum: list[float] = []
        self.discontinued: set[str] = set()
        self.supplier_of: dict[str, int] = {}
        self.accounts: list[dict[str, Any]] = []
        self.reps: dict[str, int] = {}
        self.open_receipts: list[dict[str, Any]] = []
        # The open orders are dated as the server dates them, through the suppliers' slip
        # history (built once, after the history is written): the server's first new day
        # then finds every date as it left it, and tells no rep of a move.
        self.slips = SlipCache(ttl=24 * 3600)

    # -- catalog ---------------------------------------------------------------------------

    def catalog(self, session: Session) -> None:
        rng = self.rng
        bulk_insert(
            session,
            Warehouse,
            [
                {"id": i + 1, "code": c, "name": n, "handling_days": h}
                for i, (c, n, h) in enumerate(words.WAREHOUSES)
            ],
        )
        bulk_insert(
            session,
            Supplier,
            [
                {
                    "id": i + 1,
                    "name": s.name,
                    "lead_time_mean_days": s.lead_mean,
                    "lead_time_sd_days": s.lead_sd,
                    "contact_name": s.contact,
                    "email": s.email,
                    "phone": s.phone,
                }
                for i, s in enumerate(words.SUPPLIERS)
            ],
        )
        categories = list(words.CATEGORIES.items())
        rows = []
        per_category: dict[str, list[str]] = {}
        for n in range(self.config.products):
            name, (code, brands, items, variants, sizes, unit, packs, prices) = categories[
                n % len(categories)
            ]
            sku = f"{code}-{n // len(categories) + 1:05d}"
            brand = rng.choice(brands)
            title = f"{brand} {rng.choice(items)}, {rng.choice(variants)}, {rng.choice(sizes)}"
            price = rng.randrange(prices[0], prices[1], 5)
            supplier = 1 + min(2, int(rng.random() ** 1.5 * 3))
            rows.append(
                {
                    "sku": sku,
                    "name": title,
                    "brand": brand,
                    "category": name,
                    "unit": unit,
                    "pack_size": rng.choice(packs),
                    "price_cents": price,
                    "barcode": ean13(f"50{n:010d}"),
                    "supplier_id": supplier,
                    "discontinued": False,
                    "alternatives": [],
                }
            )
            per_category.setdefault(name, []).append(sku)
            self.skus.append(sku)
            self.prices[sku] = price
            self.supplier_of[sku] = supplier
        # About 3% are discontinued; most name one or two alternatives of the same category.
        for row in rows:
            if rng.random() < 0.03:
                row["discontinued"] = True
                self.discontinued.add(row["sku"])
                peers = per_category[row["category"]]
                if rng.random() < 0.8 and len(peers) > 2:
                    picks = rng.sample(peers, min(2, len(peers)))
                    row["alternatives"] = [s for s in picks if s != row["sku"]][:2]
        bulk_insert(session, Product, rows)
        # Popularity: a Zipf-like weight over a shuffled catalog, so demand is concentrated.
        order = list(range(len(self.skus)))
        rng.shuffle(order)
        weights = [0.0] * len(self.skus)
        for rank, index in enumerate(order):
            weights[index] = 1.0 / (rank + 10) ** 1.1
        self.popular_cum = list(accumulate(weights))

    def stock_and_receipts(self, session: Session) -> None:
        rng = self.rng
        stock, receipts = [], []
        for i, sku in enumerate(self.skus):
            weight = self.popular_cum[i] - (self.popular_cum[i - 1] if i else 0.0)
            base = max(5, int(weight * 40_000))
            for warehouse in (1, 2):
                roll = rng.random()
                if sku in self.discontinued:
                    on_hand = rng.randint(0, 6)
                elif roll < 0.07:
                    on_hand = 0
                elif roll < 0.25:
                    on_hand = rng.randint(1, 12)
                else:
                    on_hand = rng.randint(base, base * 4)
                stock.append(
                    {"sku": sku, "warehouse_id": warehouse, "on_hand": on_hand, "reserved": 0}
                )
                if sku in self.discontinued:
                    continue
                if (on_hand < 15 and rng.random() < 0.75) or rng.random() < 0.08:
                    receipts.extend(self._receipts(sku, warehouse, base))
        bulk_insert(session, Stock, stock)
        self.open_receipts = receipts  # inserted as purchase-order lines by supply()

    def _receipts(self, sku: str, warehouse: int, base: int) -> list[dict[str, Any]]:
        rng = self.rng
        supplier = self.supplier_of[sku]
        profile = words.SUPPLIERS[supplier - 1]
        mean, sd = profile.lead_mean, profile.lead_sd
        out = []
        for k in range(1 if rng.random() < 0.8 else 2):
            lead = max(1, round(rng.gauss(mean, sd))) + 7 * k
            confirmed = supplier == 1 or rng.random() < 0.4
            out.append(
                {
                    "supplier_id": supplier,
                    "sku": sku,
                    "warehouse_id": warehouse,
                    "quantity": rng.randint(max(6, base // 2), max(12, base * 3)),
                    "received": 0,
                    "expected": self.today + timedelta(days=lead),
                    "kind": "confirmed" if confirmed else "estimated",
                    "status": "scheduled",
                    "created_at": self.now,
                    "updated_at": self.now,
                }
            )
        return out

    def supply(self, session: Session, *, history: bool) -> dict[str, int]:
        """Item-supplier links, the open receipts as purchase orders and (with `history`) a
        year of closed ones, from a random stream of their own (seed/supply.py)."""
        rng = random.Random(self.config.seed * 1_000_003 + 7)
        links = supplies.make_links(
            rng, self.skus, self.supplier_of, self.prices, self.discontinued
        )
        writer = supplies.SupplyWriter(rng, self.tz, self.now, self.today)
        writer.open_orders(self.open_receipts, links)
        if history:
            writer.history(links)
        rows = writer.rows
        bulk_insert(session, ItemSupplier, [link.row() for link in links])
        bulk_insert(session, PurchaseOrder, rows.orders)
        bulk_insert(session, ScheduledReceipt, rows.receipts)
        bulk_insert(session, ReceiptPromise, rows.promises)
        bulk_insert(session, ReceiptDelivery, rows.deliveries)
        return {"purchase_orders": len(rows.orders), "receipts": len(rows.receipts)}

    # -- people ----------------------------------------------------------------------------

    def people(self, session: Session) -> None:
        rng = self.rng
        users = []
        for i, (username, name, team) in enumerate((*words.REPS, words.SUPERVISOR)):
            role = "supervisor" if username == words.SUPERVISOR[0] else "rep"
            users.append(
                {
                    "id": i + 1,
                    "username": username,
                    "full_name": name,
                    "role": role,
                    "team": team,
                    "active": True,
                    "password_hash": hash_password("demo"),
                }
            )
            if role == "rep":
                self.reps[username] = i + 1
        bulk_insert(session, User, users)
        rep_ids = list(self.reps.values())
        accounts = []
        for n in range(self.config.accounts):
            rep = rep_ids[n % len(rep_ids)]
            warehouse = 1 if rep <= 2 else 2
            tier = 1 if rng.random() < 0.15 else 2 if rng.random() < 0.35 else 3
            roll = rng.random()
            policy, cap = (
                ("ship_as_available", None)
                if roll < 0.6
                else ("all_or_nothing", None)
                if roll < 0.85
                else ("capped_split", 2)
            )
            days = rng.choice(([], [0, 2, 4], [1, 3], [0, 1, 2, 3, 4], [2], [0, 3]))
            first, last = rng.choice(words.FIRST_NAMES), rng.choice(words.LAST_NAMES)
            name = f"{rng.choice(words.ACCOUNT_WORDS)} {rng.choice(words.ACCOUNT_KINDS)}"
            row = {
                "id": n + 1,
                "code": f"C{n + 1:05d}",
                "name": name,
                "rep_id": rep,
                "warehouse_id": warehouse,
                "tier": tier,
                "delivery_days": days,
                "default_policy": policy,
                "default_cap": cap,
                "credit_hold": rng.random() < 0.02,
                "contact_name": f"{first} {last}",
                "contact_phone": f"555-{rng.randint(1000, 9999)}",
                "contact_email": f"{first.lower()}.{last.lower()}@example.com",
                "contact_address": f"{rng.randint(1, 400)} {rng.choice(words.STREETS)}",
                "contact_version": 1,
                "contact_field_versions": {},
            }
            accounts.append(row)
        bulk_insert(session, Account, accounts)
        self.accounts = accounts

    # -- closed history --------------------------------------------------------------------

    def pick_products(self, count: int) -> list[str]:
        total = self.popular_cum[-1]
        chosen: dict[str, None] = {}
        while len(chosen) < count:
            index = bisect_left(self.popular_cum, self.rng.random() * total)
            chosen[self.skus[min(index, len(self.skus) - 1)]] = None
        return list(chosen)

    def history(self, session: Session) -> int:
        """A year of closed orders (fulfilled or cancelled), up to `open_order_days` ago."""
        rng, cfg = self.rng, self.config
        orders, lines, shipments, allocations, events = [], [], [], [], []
        line_id = 0
        start = self.today - timedelta(weeks=cfg.history_weeks)
        stop = self.today - timedelta(days=cfg.open_order_days)
        day = start
        while day < stop:
            if day.weekday() < 5:
                for account in self.accounts:
                    if account["credit_hold"] or rng.random() > cfg.orders_per_account_week / 5:
                        continue
                    line_id = self._old_order(
                        account, day, line_id, orders, lines, shipments, allocations, events
                    )
            day += timedelta(days=1)
        bulk_insert(session, Order, orders)
        bulk_insert(session, OrderLine, lines)
        bulk_insert(session, Shipment, shipments)
        bulk_insert(session, AllocationRecord, allocations)
        bulk_insert(session, OrderEvent, events)
        return len(orders)

    def _old_order(
        self,
        account: dict[str, Any],
        day: date,
        line_id: int,
        orders: list[dict[str, Any]],
        lines: list[dict[str, Any]],
        shipments: list[dict[str, Any]],
        allocations: list[dict[str, Any]],
        events: list[dict[str, Any]],
    ) -> int:
        rng = self.rng
        committed = datetime.combine(day, time(8), self.tz) + timedelta(
            minutes=rng.randint(0, 9 * 60)
        )
        order_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        cancelled = rng.random() < 0.05
        order_lines, first_out, late_out = [], [], []
        backordered_any = False
        latest_ship = committed + timedelta(days=1)
        for line_no, sku in enumerate(self.pick_products(rng.randint(1, 7)), start=1):
            line_id += 1
            quantity = rng.randint(1, 12)
            short = rng.randint(1, quantity) if rng.random() < 0.12 else 0
            row = {
                "id": line_id,
                "order_id": order_id,
                "line_no": line_no,
                "sku": sku,
                "warehouse_id": account["warehouse_id"],
                "quantity": quantity,
                "price_cents": self.prices[sku],
                "label": "in_stock"
                if not short
                else "partial"
                if short < quantity
                else "backordered",
                "allocated": quantity,
                "waiting": 0,
                "cancelled": 0,
                "shipped": quantity,
                "backordered": short,
                "schedule": [],
                "eta_date": None,
                "eta_kind": None,
                "first_eta_date": None,
                "promised_label": None,
                "promised_now": None,
                "promised_eta": None,
                "promised_eta_kind": None,
                "alternatives": [],
                "backordered_at": committed if short else None,
                "filled_at": None,
                "shipped_at": committed + timedelta(days=1),
            }
            if short:
                backordered_any = True
                lead = words.SUPPLIERS[self.supplier_of[sku] - 1].lead_mean
                eta = committed.astimezone(self.tz).date() + timedelta(days=max(2, round(lead)))
                actual = eta + timedelta(days=round(rng.gauss(-0.5, 2.5)))
                shipped = datetime.combine(max(actual, day + timedelta(days=1)), time(15), self.tz)
                row.update(first_eta_date=eta, eta_date=eta, eta_kind="confirmed")
                row.update(filled_at=shipped - timedelta(hours=20), shipped_at=shipped)
                latest_ship = max(latest_ship, shipped)
                late_out.append((line_no, sku, short))
                allocations.append(
                    {
                        "line_id": line_id,
                        "order_id": order_id,
                        "sku": sku,
                        "warehouse_id": account["warehouse_id"],
                        "receipt_id": None,
                        "source": "receipt",
                        "policy": "fifo",
                        "quantity": short,
                        "created_at": row["filled_at"],
                    }
                )
            if quantity - short:
                first_out.append((line_no, sku, quantity - short))
            order_lines.append(row)
        if cancelled and backordered_any:
            for row in order_lines:  # cancelled while waiting: nothing of it shipped
                row.update(allocated=0, shipped=0, cancelled=row["quantity"], shipped_at=None)
                row.update(filled_at=None)
            first_out, late_out = [], []
            allocations[:] = [a for a in allocations if a["order_id"] != order_id]
        else:
            cancelled = False
        status = "cancelled" if cancelled else "fulfilled"
        total = sum(r["quantity"] * r["price_cents"] for r in order_lines)
        orders.append(
            {
                "id": order_id,
                "account_id": account["id"],
                "rep_id": account["rep_id"],
                "device_id": None,
                "warehouse_id": account["warehouse_id"],
                "policy": account["default_policy"],
                "policy_cap": account["default_cap"],
                "note": "",
                "client_time": committed,
                "status": status,
                "outcome": "backordered" if backordered_any else "accepted",
                "reason": None,
                "differences": [],
                "version": 1,
                "committed_at": committed,
                "total_cents": total,
                "tier": account["tier"],
                "has_backorders": backordered_any,
                "needs_attention": False,
                "acknowledged_at": None,
                "review_note": "",
                "reviewed_by": None,
                "reviewed_at": None,
                "cancelled_at": committed + timedelta(days=rng.randint(1, 6))
                if cancelled
                else None,
                "fulfilled_at": None if cancelled else latest_ship,
                "unscheduled": [],
            }
        )
        lines.extend(order_lines)
        for parts, when in ((first_out, committed + timedelta(days=1)), (late_out, latest_ship)):
            if parts:
                shipments.append(
                    {
                        "order_id": order_id,
                        "status": "shipped",
                        "planned_date": when.astimezone(self.tz).date(),
                        "lines": [{"line_no": n, "sku": s, "quantity": q} for n, s, q in parts],
                        "created_at": committed,
                        "shipped_at": when,
                    }
                )
        events.append(
            {
                "order_id": order_id,
                "at": committed,
                "actor": "seed",
                "kind": "committed",
                "message": "committed (history)",
            }
        )
        return line_id

    # -- open orders through the real commit path --------------------------------------------

    def open_orders(self) -> int:
        from sync.server.services.commit import place_order
        from sync.server.services.receipts import ship

        rng, cfg = self.rng, self.config
        placed = 0
        day = self.today - timedelta(days=cfg.open_order_days)
        while day <= self.today:
            if day.weekday() < 5:
                for account in self.accounts:
                    if rng.random() > cfg.orders_per_account_week / 5:
                        continue
                    at = datetime.combine(day, time(8), self.tz) + timedelta(
                        minutes=rng.randint(0, 9 * 60)
                    )
                    at = min(at, self.now - timedelta(minutes=1))
                    skus = self.pick_products(rng.randint(1, 6))
                    mutation = p.PlaceOrder(
                        name="place_order",
                        mutation_id=1,
                        client_time=at,
                        order_id=uuid.UUID(int=rng.getrandbits(128), version=4),
                        account_id=account["id"],
                        lines=[p.OrderLineIn(sku=s, quantity=rng.randint(1, 10)) for s in skus],
                    )
                    who = Principal(account["rep_id"], "seed", "seed", "rep", None)
                    with self.db.write() as session:
                        tx = self._tx(session, at)
                        try:
                            place_order(tx, who, mutation)
                            placed += 1
                        except Exception as error:  # e.g. a credit hold: a refusal
                            log.debug("seed order refused: %s", error)
            day += timedelta(days=1)
        # Ship most ready shipments of orders older than three days.
        cutoff = self.now - timedelta(days=3)
        with self.db.session() as session:
            ready = session.exec(
                select(Shipment.id)
                .join(Order, Order.id == Shipment.order_id)
                .where(Shipment.status == "ready", Order.committed_at < cutoff)
                .order_by(Shipment.id)
            ).all()
        for shipment_id in ready:
            if rng.random() < 0.8:
                with self.db.write() as session:
                    ship(self._tx(session, self.now - timedelta(hours=2)), shipment_id)
        return placed

    def _tx(self, session: Session, at: datetime) -> Tx:
        return Tx(
            session=session,
            now=at,
            today=at.astimezone(self.tz).date(),
            tz=self.tz,
            settings=self.settings,
            actor="seed",
            is_postgres=self.db.is_postgres,
            slips=self.slips,
        )

    def fix_sequences(self, session: Session) -> None:
        """Rows were inserted with explicit ids: move PostgreSQL's sequences past them."""
        if not self.db.is_postgres:
            return
        tables = ("warehouse", "supplier", "app_user", "account", "order_line", "purchase_order",
                  "scheduled_receipt", "receipt_promise", "receipt_delivery")  # fmt: skip
        for table in tables:
            session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
                )
            )


def generate(
    db: Database,
    settings: Settings,
    config: SeedConfig,
    *,
    now: datetime | None = None,
    history: bool = True,
    open_orders: bool = True,
) -> dict[str, Any]:
    started = clock_time.perf_counter()
    gen = Generator(db, settings, config, now or datetime.now(UTC))
    with db.write() as session:
        gen.catalog(session)
        gen.stock_and_receipts(session)
        supplied = gen.supply(session, history=history)
        gen.people(session)
        closed = gen.history(session) if history else 0
        gen.fix_sequences(session)
    opened = gen.open_orders() if open_orders else 0
    return {
        "products": config.products,
        "accounts": config.accounts,
        "history_orders": closed,
        "open_orders": opened,
        **supplied,
        "seconds": round(clock_time.perf_counter() - started, 1),
    }


def is_empty(db: Database) -> bool:
    with db.session() as session:
        return session.exec(select(func.count()).select_from(User)).one() == 0
