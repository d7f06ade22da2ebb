"""The demo's suppliers at work: who supplies each item on what terms (a primary, and a backup
on some), a year of purchase orders closed the way live ones close (every date promise and every
delivery recorded, as services/receipts.py records them, so services/slips.py learns each
supplier's slip from them and the device gets it as `supplier_history`), and the open receipts
as sent or confirmed purchase orders, a few of them overdue.

Each supplier follows its profile (vocabulary.SUPPLIERS): punctual, often late, or delivering
part. Everything is drawn from a random.Random of its own, so the rest of the demo (catalog,
accounts, orders) comes out exactly as it did before suppliers were records."""

from __future__ import annotations

import math
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sync.server.seed import vocabulary as words

HISTORY_DAYS = 365
# The last history order is sent this long before its lead time ends before today, so that
# even a late rest of a part delivery has come and the receipt is closed.
SETTLE_DAYS = 30
# Of the part deliveries, the share whose rest never comes (closed short). Kept rare, as it is
# in trade: a promise whose units never all come has no date at any confidence above the share
# of such receipts in the supplier's history (app.domain.slip), so at 95% it must stay < 5%.
SHORT_SHARE = 0.1
OVERDUE_SHARE = 0.12  # of the open receipts of the suppliers that slip: already past their date
BACKUPS = {  # primary -> (backup, share of its items that have one)
    1: (4, 0.10),
    2: (5, 0.30),
    3: (4, 0.60),
}


@dataclass(frozen=True)
class Link:
    sku: str
    supplier_id: int
    role: str
    lead_time_days: int
    min_order_qty: int
    pack_multiple: int
    unit_cost_cents: int

    def row(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def rounded(self, quantity: int) -> int:
        """At least the minimum, in whole packs (as services/purchasing.rounded)."""
        wanted = max(quantity, self.min_order_qty)
        return math.ceil(wanted / self.pack_multiple) * self.pack_multiple


@dataclass
class Rows:
    """What the seed inserts, with explicit ids (promises and deliveries point at receipts)."""

    orders: list[dict[str, Any]] = field(default_factory=list)
    receipts: list[dict[str, Any]] = field(default_factory=list)
    promises: list[dict[str, Any]] = field(default_factory=list)
    deliveries: list[dict[str, Any]] = field(default_factory=list)


def make_links(
    rng: random.Random, skus: list[str], supplier_of: dict[str, int], prices: dict[str, int],
    discontinued: set[str],
) -> list[Link]:  # fmt: skip
    """The primary of every item (the product's supplier) and a backup on some."""
    out = []
    for sku in skus:
        primary = supplier_of[sku]
        out.append(_link(rng, sku, primary, "primary", prices[sku], 0.6))
        backup, share = BACKUPS[primary]
        if sku not in discontinued and rng.random() < share:
            dearer = 0.75 if backup == 4 else 0.5  # the fast backup costs more
            out.append(_link(rng, sku, backup, "backup", prices[sku], dearer))
    return out


def _link(
    rng: random.Random, sku: str, supplier_id: int, role: str, price: int, cost_share: float
) -> Link:
    profile = words.SUPPLIERS[supplier_id - 1]
    pack = rng.choice((1, 1, 6, 12, 24))
    return Link(
        sku=sku,
        supplier_id=supplier_id,
        role=role,
        lead_time_days=max(1, round(profile.lead_mean)),
        min_order_qty=pack * rng.choice((1, 2, 4)),
        pack_multiple=pack,
        unit_cost_cents=int(price * rng.uniform(cost_share - 0.05, cost_share + 0.05)),
    )


class SupplyWriter:
    """Numbers the rows as it makes them; `first_receipt` leaves room for nothing else."""

    def __init__(self, rng: random.Random, tz: ZoneInfo, now: datetime, today: date) -> None:
        self.rng = rng
        self.tz = tz
        self.now = now
        self.today = today
        self.rows = Rows()
        self._ids = {"po": 0, "receipt": 0, "promise": 0, "delivery": 0}

    def _next(self, kind: str) -> int:
        self._ids[kind] += 1
        return self._ids[kind]

    def at(self, day: date, hour: int = 10) -> datetime:
        return min(datetime.combine(day, time(hour), self.tz), self.now - timedelta(minutes=5))

    def order(self, supplier_id: int, warehouse_id: int, sent_on: date, status: str) -> int:
        po_id = self._next("po")
        self.rows.orders.append(
            {
                "id": po_id,
                "supplier_id": supplier_id,
                "warehouse_id": warehouse_id,
                "status": status,
                "note": "",
                "created_at": self.at(sent_on, 9),
                "sent_on": sent_on,
                "created_by": "seed",
            }
        )
        return po_id

    def promise(self, receipt: dict[str, Any], basis: str, expected: date, at: datetime) -> None:
        """As receipts.promise: a new date for what remains, slip measured from here on."""
        remaining = receipt["quantity"] - receipt["received"]
        if receipt["first_expected"] is None:
            receipt["first_expected"] = expected
        receipt.update(moved=basis == "moved", base=remaining, arrived=0, promise_started=at)
        receipt.update(expected=expected, updated_at=at)
        if basis != "estimated":
            receipt["kind"] = "confirmed"
        self.rows.promises.append(
            {
                "id": self._next("promise"),
                "receipt_id": receipt["id"],
                "basis": basis,
                "expected": expected,
                "base": remaining,
                "arrived_before": receipt["received"],
                "started_at": at,
            }
        )

    def arrive(self, receipt: dict[str, Any], quantity: int, day: date) -> None:
        """As receipts.arrive: a delivery in the receipt's history; all of it closes it."""
        at = self.at(day, 14)
        receipt["received"] += quantity
        receipt["arrived"] += quantity
        receipt["updated_at"] = at
        self.rows.deliveries.append(
            {
                "id": self._next("delivery"),
                "receipt_id": receipt["id"],
                "quantity": quantity,
                "received_on": day,
                "created_at": at,
            }
        )
        if receipt["received"] == receipt["quantity"]:
            self.close(receipt, at)

    def close(self, receipt: dict[str, Any], at: datetime) -> None:
        receipt.update(status="received", closed_at=at, updated_at=at)

    def receipt(
        self, po_id: int, supplier_id: int, sku: str, warehouse_id: int, quantity: int,
        ordered_on: date,
    ) -> dict[str, Any]:  # fmt: skip
        row = {
            "id": self._next("receipt"),
            "supplier_id": supplier_id,
            "sku": sku,
            "warehouse_id": warehouse_id,
            "quantity": quantity,
            "received": 0,
            "expected": ordered_on,
            "kind": "estimated",
            "status": "scheduled",
            "created_at": self.at(ordered_on, 9),
            "updated_at": self.at(ordered_on, 9),
            "po_id": po_id,
            "ordered_on": ordered_on,
            "first_expected": None,
            "moved": False,
            "base": quantity,
            "arrived": 0,
            "promise_started": None,
            "closed_at": None,
        }
        self.rows.receipts.append(row)
        return row

    # -- a year of closed orders ----------------------------------------------------------

    def history(self, links: list[Link]) -> None:
        """Weekly orders to each supplier per warehouse, over the last year, all closed."""
        by_supplier: dict[int, list[Link]] = defaultdict(list)
        for link in links:
            by_supplier[link.supplier_id].append(link)
        start = self.today - timedelta(days=HISTORY_DAYS)
        for supplier_id in sorted(by_supplier):
            options = by_supplier[supplier_id]
            lead = options[0].lead_time_days
            last = self.today - timedelta(days=lead + SETTLE_DAYS)
            day = start + timedelta(days=self.rng.randrange(7))
            while day <= last:
                sent = day - timedelta(days=max(0, day.weekday() - 4))  # a weekend: Friday
                for warehouse_id in (1, 2):
                    if self.rng.random() < 0.7:
                        self._closed_order(supplier_id, warehouse_id, sent, options)
                day += timedelta(days=7)

    def _closed_order(
        self, supplier_id: int, warehouse_id: int, day: date, options: list[Link]
    ) -> None:
        rng = self.rng
        po_id = self.order(supplier_id, warehouse_id, day, "received")
        for link in rng.sample(options, min(len(options), rng.randint(1, 3))):
            quantity = link.rounded(rng.randint(10, 200))
            receipt = self.receipt(po_id, supplier_id, link.sku, warehouse_id, quantity, day)
            self._delivered(receipt, link, day)

    def _delivered(self, receipt: dict[str, Any], link: Link, day: date) -> None:
        """One receipt's life by its supplier's profile: sent (the nominal date), maybe
        confirmed, maybe moved ahead of time, then in full, in part with the rest later, or in
        part and closed short."""
        rng, profile = self.rng, words.SUPPLIERS[link.supplier_id - 1]
        nominal = day + timedelta(days=link.lead_time_days)
        self.promise(receipt, "estimated", nominal, self.at(day))
        target = nominal
        if rng.random() < profile.confirms:
            target = max(day + timedelta(days=1), nominal + timedelta(rng.choice((-1, 0, 0, 1))))
            self.promise(receipt, "confirmed", target, self.at(day + timedelta(days=1)))
            receipt["first_expected"] = target  # as purchasing.confirm: on time is by it
        roll = rng.random()
        slip = (
            rng.randint(*profile.slip)
            if roll < profile.late
            else -rng.randint(1, 2)
            if roll < profile.late + profile.early
            else 0
        )
        arrival = max(day + timedelta(days=1), target + timedelta(days=slip))
        if slip > 0 and rng.random() < profile.announced:  # told before the date: a move
            told = max(day + timedelta(days=1), target - timedelta(days=rng.randint(1, 3)))
            moved_to = max(told, arrival - timedelta(days=rng.choice((0, 0, 0, 1))))
            self.promise(receipt, "moved", moved_to, self.at(told, 11))
        quantity = receipt["quantity"]
        if rng.random() < profile.partial and quantity > 1:
            part = max(1, min(quantity - 1, int(quantity * rng.uniform(0.4, 0.9))))
            self.arrive(receipt, part, arrival)
            if rng.random() >= SHORT_SHARE:  # the rest comes later, at a date it gives
                rest_day = arrival + timedelta(days=rng.randint(3, 10))
                self.promise(receipt, "moved", rest_day, self.at(arrival, 15))
                self.arrive(receipt, quantity - part, rest_day + timedelta(rng.choice((0, 0, 2))))
            else:  # the rest will not come: closed short
                self.close(receipt, self.at(arrival, 15))
        else:
            self.arrive(receipt, quantity, arrival)

    # -- the open receipts as purchase orders ---------------------------------------------

    def open_orders(self, open_receipts: list[dict[str, Any]], links: list[Link]) -> None:
        """Each open receipt becomes a line of a sent (estimated) or confirmed order, grouped
        by supplier, warehouse and the week it was sent. Some of the slipping suppliers' are
        overdue: their date has passed and nothing came."""
        terms = {(x.sku, x.supplier_id): x for x in links}
        groups: dict[tuple[int, int, date], list[tuple[dict[str, Any], date]]] = defaultdict(list)
        for r in open_receipts:
            lead = terms[(r["sku"], r["supplier_id"])].lead_time_days
            profile = words.SUPPLIERS[r["supplier_id"] - 1]
            if profile.late >= 0.2 and self.rng.random() < OVERDUE_SHARE:
                r["expected"] = self.today - timedelta(days=self.rng.randint(1, 6))
            ordered_on = min(self.today, r["expected"] - timedelta(days=lead))
            week = ordered_on - timedelta(days=ordered_on.weekday())
            groups[(r["supplier_id"], r["warehouse_id"], week)].append((r, ordered_on))
        for (supplier_id, warehouse_id, _week), members in sorted(groups.items()):
            confirmed = any(r["kind"] == "confirmed" for r, _ in members)
            sent_on = min(day for _, day in members)
            po_id = self.order(
                supplier_id, warehouse_id, sent_on, "confirmed" if confirmed else "sent"
            )
            for r, ordered_on in members:
                self._open_line(r, po_id, ordered_on, terms[(r["sku"], supplier_id)])

    def _open_line(self, r: dict[str, Any], po_id: int, ordered_on: date, link: Link) -> None:
        receipt = self.receipt(
            po_id, r["supplier_id"], r["sku"], r["warehouse_id"], r["quantity"], ordered_on
        )
        expected = r["expected"]
        if r["kind"] == "confirmed":
            nominal = ordered_on + timedelta(days=link.lead_time_days)
            self.promise(receipt, "estimated", nominal, self.at(ordered_on))
            confirmed_on = min(self.today, ordered_on + timedelta(days=1))
            self.promise(receipt, "confirmed", expected, self.at(confirmed_on, 11))
            receipt["first_expected"] = expected  # the supplier's own date: on time is by it
        else:
            self.promise(receipt, "estimated", expected, self.at(ordered_on))
