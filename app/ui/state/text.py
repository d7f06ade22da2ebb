"""Words and numbers as the rep reads them: ages ("2 h ago"), days ("12 Dec"), money, ETAs.

Only presentation lives here: every figure comes from the store or app.domain unchanged.
"""

from __future__ import annotations

from datetime import date, timedelta

from app.domain.model import Eta, EtaKind

# An account's contact fields, as people name them (the rep's Updates, the console's log).
FIELD_NAMES = {
    "contact_name": "contact name",
    "contact_phone": "phone",
    "contact_email": "email",
    "contact_address": "address",
}


def age(delta: timedelta | None) -> str:
    """How long ago, short: "just now", "5 min", "2 h", "3 days" (None: "never")."""
    if delta is None:
        return "never"
    seconds = max(int(delta.total_seconds()), 0)
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86_400:
        return f"{seconds // 3600} h"
    days = seconds // 86_400
    return f"{days} day" if days == 1 else f"{days} days"


def ago(delta: timedelta | None) -> str:
    text = age(delta)
    return text if text in ("never", "just now") else f"{text} ago"


def day(d: date, *, today: date | None = None) -> str:
    """ "12 Dec"; the year only when it is not this year's (or `today`'s)."""
    text = f"{d.day} {d:%b}"
    if today is not None and d.year != today.year:
        text += f" {d.year}"
    return text


def eta(value: Eta | None, *, today: date | None = None) -> str:
    """ "12 Dec" for a confirmed ETA, "~12 Dec (est.)" for an estimated one, "no date" for None.
    Estimated dates are marked in words too, not only by colour, for screen readers."""
    if value is None:
        return "no date"
    text = day(value.date, today=today)
    return f"~{text} (est.)" if value.kind is EtaKind.ESTIMATED else text


def money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100:,}.{cents % 100:02d}"


def units(n: int, unit: str = "") -> str:
    return f"{n:,} {unit}".rstrip() if unit else f"{n:,}"


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (many or word + 's')}"
