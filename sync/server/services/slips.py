"""Suppliers' slip history, read from the receipts they closed, and the confidence dates are
promised at (app.domain.slip).

Each date promise a closed receipt had (its first, confirmed or estimated, and every move) is one
fill curve: the units that arrived after the promise was made, as a fraction of the units it
covered, against the days since the promised date. A supplier's history is the curves of its
last HISTORY_RECEIPTS closed receipts: a count, not a time window, so that it changes only when a
receipt closes (the device holds the same curves, synced as `supplier_history` records, and
builds the same book: the offline date and the server's agree).

The book is built once per process and rebuilt when a receipt closes here, or after
BOOK_TTL_SECONDS (another worker may have closed one).
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from app.domain.slip import Confidence, FillCurve, SlipBasis, SlipBook, SlipSample
from sync.server.models import ReceiptDelivery, ReceiptPromise, ScheduledReceipt

HISTORY_RECEIPTS = 100  # closed receipts per supplier the model learns from
BOOK_TTL_SECONDS = 30.0
NO_SUPPLIER = 0  # the history of receipts with no supplier (transfers) is keyed 0

_R = ScheduledReceipt.__table__.c  # type: ignore[attr-defined]
_P = ReceiptPromise.__table__.c  # type: ignore[attr-defined]
_D = ReceiptDelivery.__table__.c  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class CurveRecord:
    """One fill curve as stored on the wire: [sku, basis, [[slip, fraction], ...]]."""

    sku: str
    basis: str
    steps: tuple[tuple[int, float], ...]

    def wire(self) -> list[Any]:
        return [self.sku, self.basis, [[s, round(f, 4)] for s, f in self.steps]]


def curves(promises: Iterable[Any], deliveries: Iterable[Any]) -> list[tuple[int, str, FillCurve]]:
    """(receipt id, basis, curve) for each promise, from the rows of closed receipts. A promise
    no unit arrived after (cancelled before anything came) gives no curve: it says nothing of
    how late the supplier was, only that the order was cancelled; one whose rest was closed
    gives the curve of the units that came."""
    by_receipt: dict[int, list[Any]] = defaultdict(list)
    for d in sorted(deliveries, key=lambda d: d.id):
        by_receipt[d.receipt_id].append(d)
    out = []
    for promise in promises:
        arrived = 0
        steps: list[tuple[int, float]] = []
        for d in by_receipt.get(promise.receipt_id, ()):
            before, arrived = arrived, arrived + d.quantity
            if arrived <= promise.arrived_before or promise.base <= 0:
                continue
            covered = min(arrived, promise.arrived_before + promise.base)
            if covered <= max(before, promise.arrived_before):
                continue  # all of it beyond what the promise covered
            fraction = (covered - promise.arrived_before) / promise.base
            slip = (d.received_on - promise.expected).days
            if steps and steps[-1][0] == slip:
                steps[-1] = (slip, fraction)
            else:
                steps.append((slip, fraction))
        if steps and steps[-1][1] < 1:
            # The rest was closed, never to come: a date is a promise of when supply that
            # comes will be here (what never comes re-dates its lines, told, when it closes),
            # so the curve is of the units that came; else a few short deliveries would leave
            # no full receipt promisable at a high confidence at all.
            whole = steps[-1][1]
            steps = [(slip, fraction / whole) for slip, fraction in steps]
        if steps:
            out.append((promise.receipt_id, promise.basis, FillCurve(tuple(steps))))
    return out


def history(
    session: Session, supplier_ids: Iterable[int] | None = None
) -> dict[int, list[CurveRecord]]:
    """Each supplier's curves (NO_SUPPLIER for receipts without one), newest receipt first."""
    closed = select(_R.id, _R.supplier_id, _R.sku, _R.closed_at).where(
        _R.status.in_(("received", "cancelled")), _R.closed_at.is_not(None)
    )
    if supplier_ids is not None:
        wanted = sorted(set(supplier_ids))
        has_none = NO_SUPPLIER in wanted
        cond = _R.supplier_id.in_([s for s in wanted if s != NO_SUPPLIER])
        closed = closed.where(cond | _R.supplier_id.is_(None) if has_none else cond)
    closed = closed.order_by(_R.closed_at.desc(), _R.id.desc())
    keep: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for rid, supplier, sku, _closed in session.execute(closed):
        key = supplier or NO_SUPPLIER
        if len(keep[key]) < HISTORY_RECEIPTS:
            keep[key].append((rid, sku))
    ids = [rid for rows in keep.values() for rid, _ in rows]
    out: dict[int, list[CurveRecord]] = {key: [] for key in keep}
    if not ids:
        return out
    promises, deliveries = [], []
    for chunk in _chunks(ids, 900):
        promises.extend(session.execute(select(_P).where(_P.receipt_id.in_(chunk))))
        deliveries.extend(session.execute(select(_D).where(_D.receipt_id.in_(chunk))))
    made: dict[int, list[tuple[str, FillCurve]]] = defaultdict(list)
    for rid, basis, curve in curves(promises, deliveries):
        made[rid].append((basis, curve))
    for key, rows in keep.items():
        for rid, sku in rows:
            out[key].extend(CurveRecord(sku, basis, c.steps) for basis, c in made.get(rid, ()))
    return out


def _chunks(values: list[int], size: int) -> Iterable[list[int]]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


def book_of(records: dict[int, list[CurveRecord]]) -> SlipBook:
    """The book both ends build from the same records."""
    return SlipBook(
        SlipSample(
            None if supplier == NO_SUPPLIER else str(supplier),
            rec.sku,
            SlipBasis(rec.basis),
            FillCurve(rec.steps),
        )
        for supplier, recs in records.items()
        for rec in recs
    )


class SlipCache:
    """The process's slip book and the Confidence dates are promised at."""

    def __init__(self, ttl: float = BOOK_TTL_SECONDS) -> None:
        self._lock = threading.Lock()
        self._confidence: Confidence | None = None
        self._level: float | None = None
        self._built = 0.0
        self.ttl = ttl

    def invalidate(self) -> None:
        with self._lock:
            self._confidence = None

    def confidence(self, session: Session, level: float) -> Confidence:
        with self._lock:
            fresh = time.monotonic() - self._built < self.ttl
            if self._confidence is not None and fresh and self._level == level:
                if len(self._confidence._cache) > 200_000:  # bounded memory
                    self._confidence._cache.clear()
                return self._confidence
        made = Confidence(book_of(history(session)), level)
        with self._lock:
            self._confidence, self._level, self._built = made, level, time.monotonic()
        return made
