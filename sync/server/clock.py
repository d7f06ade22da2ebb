"""Time as a dependency: the server asks a Clock for "now" and "today", so tests can fix both."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    tz: tzinfo

    def now(self) -> datetime:
        """An aware UTC datetime."""
        ...

    def today(self) -> date:
        """The business date (in the server's time zone)."""
        ...


class SystemClock:
    def __init__(self, tz: str | tzinfo = "UTC") -> None:
        self.tz = ZoneInfo(tz) if isinstance(tz, str) else tz

    def now(self) -> datetime:
        return datetime.now(UTC)

    def today(self) -> date:
        return self.now().astimezone(self.tz).date()


class FixedClock:
    """A clock that stands still until told to move; each `now()` still ticks one microsecond
    so that commit times stay distinct and ordered, as they are in real life."""

    def __init__(self, start: datetime, tz: str | tzinfo = "UTC") -> None:
        if start.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()
        self.tz = ZoneInfo(tz) if isinstance(tz, str) else tz

    def now(self) -> datetime:
        with self._lock:
            self._now += timedelta(microseconds=1)
            return self._now

    def today(self) -> date:
        return self._now.astimezone(self.tz).date()

    def advance(self, **delta: float) -> None:
        with self._lock:
            self._now += timedelta(**delta)
