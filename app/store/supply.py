"""The inputs of app.domain's availability rules, read from the cached layer plus the rep's own
unsynced orders: supply per product, the server's demand queue, and the rep's own demand the
cache does not show yet (orders still pending, and answered ones whose effects no complete pull
has brought).

The rules themselves (check_cart, date_line) stay in app.domain; this module only loads values.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection

from app.domain.availability import DemandQueue
from app.domain.model import (
    AllocationPolicy,
    EtaKind,
    PolicyKind,
    QueuedLine,
    Receipt,
    Stock,
    Supply,
)
from app.domain.slip import Confidence, FillCurve, SlipBasis, SlipBook, SlipSample
from app.store.bulk import chunks, placeholders
from app.store.columns import py_datetime
from app.store.reads import rows


@dataclass(frozen=True, slots=True)
class AvailabilityInputs:
    supplies: dict[str, Supply]  # products the catalog has, by sku
    queues: dict[str, DemandQueue]
    pending: tuple[QueuedLine, ...]  # the rep's own demand the cached stock does not show yet
    policy: AllocationPolicy
    confidence: Confidence | None = None  # dates at the server's confidence (None: as is)


def _in(conn: Connection, sql: str, skus: list[str], warehouse_id: str) -> list[Any]:
    """Rows of `sql` (`IN ({})` then one `warehouse_id = ?`) over the skus, in chunks."""
    out: list[Any] = []
    for chunk in chunks(skus):
        out.extend(rows(conn, sql.format(placeholders(len(chunk))), (*chunk, warehouse_id)))
    return out


def load_inputs(
    conn: Connection,
    skus: Collection[str],
    warehouse_id: str,
) -> AvailabilityInputs:
    """Everything the domain needs to label and date lines of these products, shipped from
    this warehouse."""
    wanted = sorted(set(skus))
    products: list[Any] = []
    for chunk in chunks(wanted):
        sql = (
            "SELECT p.sku, p.discontinued, p.alternatives, coalesce(s.on_hand, 0), "
            "coalesce(s.reserved, 0) FROM product p LEFT JOIN stock s ON s.sku = p.sku "
            f"AND s.warehouse_id = ? WHERE p.sku IN ({placeholders(len(chunk))})"
        )
        products.extend(rows(conn, sql, (warehouse_id, *chunk)))
    receipts: dict[str, list[Receipt]] = {}
    for rid, sku, qty, expected, kind, supplier, moved, base, arrived in _in(
        conn,
        "SELECT id, sku, remaining, expected, kind, supplier_id, moved, base, arrived "
        "FROM receipt WHERE sku IN ({}) "
        "AND warehouse_id = ? AND status = 'scheduled' AND remaining > 0",
        wanted,
        warehouse_id,
    ):
        receipt = Receipt(
            rid,
            sku,
            qty,
            date.fromisoformat(expected),
            EtaKind(kind),
            supplier=supplier,
            moved=bool(moved),
            base=base if base >= arrived + qty else 0,
            arrived=arrived if base else 0,
        )
        receipts.setdefault(sku, []).append(receipt)
    supplies = {}
    for sku, discontinued, alternatives, on_hand, reserved in products:
        supplies[sku] = Supply.of(
            Stock(sku, on_hand, reserved),
            receipts.get(sku, ()),
            discontinued=bool(discontinued),
            alternatives=tuple(json.loads(alternatives)),
        )
    policy = AllocationPolicy(rows(conn, "SELECT allocation_policy FROM sync_state", ())[0][0])
    lines: dict[str, list[QueuedLine]] = {}
    for lid, ref, sku, waiting, committed, tier, value, line_policy in _in(
        conn,
        "SELECT id, order_ref, sku, waiting, committed_at, tier, order_value_cents, policy "
        "FROM demand WHERE sku IN ({}) AND warehouse_id = ? AND waiting > 0",
        wanted,
        warehouse_id,
    ):
        when = py_datetime(committed)
        line = QueuedLine(lid, ref, sku, waiting, when, tier, value, PolicyKind(line_policy))
        lines.setdefault(sku, []).append(line)
    queues = {sku: DemandQueue(sku, found, policy) for sku, found in lines.items()}
    pending = _pending(conn, wanted, warehouse_id)
    return AvailabilityInputs(supplies, queues, pending, policy, confidence(conn))


_BOOKS: dict[tuple[float, str], Confidence] = {}  # by level and the history's digest


def confidence(conn: Connection) -> Confidence | None:
    """The server's confidence and the slip book built from the suppliers' history it sent:
    the same curves as the server's (app.domain.slip), so the same dates. Built once per
    history (the book is kept by a digest of the stored curves)."""
    level = rows(conn, "SELECT promise_confidence FROM sync_state", ())[0][0]
    if level is None:
        return None
    stored = rows(conn, "SELECT id, curves FROM supplier_history ORDER BY id", ())
    digest = hashlib.blake2b(repr(stored).encode(), digest_size=16).hexdigest()
    found = _BOOKS.get((level, digest))
    if found is None:
        if len(_BOOKS) > 8:
            _BOOKS.clear()
        found = _BOOKS[(level, digest)] = Confidence(_book(stored), level)
    return found


def _book(stored: list[Any]) -> SlipBook:
    samples = []
    for supplier_id, curves in stored:
        supplier = None if supplier_id == "0" else supplier_id
        for sku, basis, steps in json.loads(curves or "[]"):
            curve = FillCurve(tuple((int(s), float(f)) for s, f in steps))
            samples.append(SlipSample(supplier, sku, SlipBasis(basis), curve))
    return SlipBook(samples)


_OWN_SQL = """
SELECT o.id, l.line_id, l.sku, o.status, o.awaiting_pull, l.quantity, l.allocated, l.waiting,
       o.placed_at, coalesce(a.tier, 3), o.policy,
       (SELECT sum(x.quantity * x.price_cents) FROM order_line x WHERE x.order_id = o.id)
FROM sales_order o
JOIN order_line l ON l.order_id = o.id
LEFT JOIN account a ON a.id = o.account_id
WHERE (o.status = 'pending' OR o.awaiting_pull) AND l.sku IN ({}) AND o.warehouse_id = ?
"""

# An answered order that took nothing: the server refused it, or it was cancelled since.
_TOOK_NOTHING = frozenset({"rejected", "cancelled"})


def unseen_units(
    status: str, awaiting_pull: bool, quantity: int, allocated: int, waiting: int
) -> int:
    """Units of one of the rep's own lines that the cached stock and queue do not show yet.

    Pending: the whole line (the server has not seen it). Answered but not yet pulled: what the
    verdict took, reserved now or queued (allocated + waiting); the cache learns of it with the
    next complete pull. Otherwise the cache already holds it: nothing, or it would count twice.
    """
    if status == "pending":
        return quantity
    if awaiting_pull and status not in _TOOK_NOTHING:
        return allocated + waiting
    return 0


def _pending(conn: Connection, skus: list[str], warehouse_id: str) -> tuple[QueuedLine, ...]:
    """The rep's own demand that the server's figures in the cache do not include yet."""
    out = []
    found = _in(conn, _OWN_SQL, skus, warehouse_id)
    for (order_id, line_id, sku, status, awaiting, qty, allocated, waiting, placed, tier, policy,
         value) in found:  # fmt: skip
        units = unseen_units(status, bool(awaiting), qty, allocated, waiting)
        if not units:
            continue
        out.append(
            QueuedLine(
                line_id=f"{order_id}:{line_id}",
                order_id=order_id,
                item=sku,
                waiting=units,
                committed_at=py_datetime(placed),
                tier=tier,
                order_value=value or 0,
                policy=PolicyKind(policy),
            )
        )
    return tuple(out)
