"""Words and numbers as a supervisor reads them. Presentation only: every figure is the
server's, unchanged."""

from __future__ import annotations

import uuid
from datetime import date, datetime, tzinfo

from app.domain.model import EtaKind

STATUS_WORDS = {
    "open": "Needs review",
    "on_hold": "On hold",
    "approved": "Approved",
    "rejected": "Rejected",
    "cancelled": "Cancelled",
    "fulfilled": "Fulfilled",
}
OUTCOME_WORDS = {
    "accepted": "accepted",
    "accepted_with_changes": "accepted with changes",
    "backordered": "backordered",
    "rejected": "rejected",
}
LABEL_WORDS = {
    "in_stock": "in stock",
    "partial": "partly in stock",
    "backordered": "backordered",
    "out_of_stock": "out of stock, no restock date",
    "discontinued": "discontinued",
}
POLICY_WORDS = {
    "all_or_nothing": "all or nothing",
    "ship_as_available": "ship as available",
    "capped_split": "at most {shipments}",
    "fifo": "first come, first served",
    "priority": "priority (tier, order value, time)",
}


def day(d: date | None, *, none: str = "no date") -> str:
    """ "12 Mar 2025": supervisors compare dates across years in reports, so the year stays."""
    return none if d is None else f"{d.day} {d:%b %Y}"


def eta(d: date | None, kind: EtaKind | str | None) -> str:
    """Confirmed dates plain, estimated ones marked in words (not only by colour)."""
    if d is None:
        return "no date"
    kind = EtaKind(kind) if kind is not None else None
    return f"{day(d)} (estimated)" if kind is EtaKind.ESTIMATED else f"{day(d)} (confirmed)"


def moment(at: datetime, tz: tzinfo) -> str:
    local = at.astimezone(tz)
    return f"{day(local.date())} {local:%H:%M}"


def money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100:,}.{cents % 100:02d}"


def pct(rate: float | None) -> str:
    return "no data" if rate is None else f"{rate * 100:.1f}%"


def days(value: float | None) -> str:
    return "no data" if value is None else f"{value:.1f} days"


def count(n: int, word: str, many: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else many or word + 's'}"


def short_id(order_id: uuid.UUID | str) -> str:
    return str(order_id)[:8]


def policy(kind: str, cap: int | None = None) -> str:
    shipments = f"{cap} shipment" + ("" if cap == 1 else "s")
    return POLICY_WORDS.get(kind, kind).format(shipments=shipments)


def parse_day(text: str, what: str) -> date | None:
    """An ISO date typed by the supervisor; empty means none. ValueError names the field."""
    text = text.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{what}: write the date as YYYY-MM-DD, e.g. 2025-03-14") from None
