"""Sign-in limits: failed attempts per user name and per client address, with growing delays,
and a rate of attempts per address.

The state lives in memory, per server process: with several uvicorn workers each keeps its own
counts (an attacker spread over n workers gets about n times the attempts), and a restart
forgets them. That is enough to turn brute force from thousands of guesses a minute into a few
an hour; it keeps the database out of every failed attempt (no write per guess, and a refused
request changes nothing). Time comes from the server's Clock, so tests move it instead of
sleeping.

- A user name (known or not: the answer must not tell) may fail `user_free` times; each
  further failure locks it for `delay`, doubled each time up to `max_delay`. While locked,
  every attempt is refused (429 with Retry-After), the right password included, and costs no
  password hash.
- An address may fail `address_free` times (an office behind one NAT has many reps), then
  the same growing delays.
- An address may try `burst` sign-ins at once, then `per_minute` a minute (a token bucket),
  whatever their outcome.
- Counts are forgotten after `forget_after` seconds without a failure; a successful sign-in
  clears its user name's count (not its address's: one good account must not launder another
  account's guesses).
"""

from __future__ import annotations

import json
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sync.server.clock import Clock


class Throttled(Exception):
    """A sign-in refused for now: 429, try again after `retry_after` seconds."""

    def __init__(self, retry_after: float, reason: str) -> None:
        self.retry_after = max(1, math.ceil(retry_after))
        super().__init__(f"{reason}: try again in {self.retry_after} s")


@dataclass
class Limits:
    user_free: int = 5
    address_free: int = 20
    delay: float = 1.0
    max_delay: float = 900.0
    forget_after: float = 3600.0
    burst: int = 30
    per_minute: float = 30.0
    max_keys: int = 100_000  # entries kept per table (a flood of made-up names stays bounded)


@dataclass
class _Strikes:
    failures: int
    last: datetime
    until: datetime | None = None


@dataclass
class _Bucket:
    tokens: float
    at: datetime


class _Table(OrderedDict[str, object]):
    """Least recently touched first; the oldest entries go when it is full."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def put(self, key: str, value: object) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.limit:
            self.popitem(last=False)


class SignInGuard:
    def __init__(self, clock: Clock, limits: Limits | None = None) -> None:
        self.clock = clock
        self.limits = limits or Limits()
        self._lock = threading.Lock()
        self._users = _Table(self.limits.max_keys)
        self._addresses = _Table(self.limits.max_keys)
        self._buckets = _Table(self.limits.max_keys)
        self._pending: dict[str, int] = {}

    @staticmethod
    def user_key(username: str) -> str:
        return username.strip().casefold()

    def check_address(self, address: str) -> None:
        """First, before the request is read (SignInGate): raise Throttled if the address
        must wait; otherwise the attempt takes one of the address's tokens."""
        now = self.clock.now()
        with self._lock:
            self._locked(self._addresses, address, now, "this address")
            self._take_token(address, now)

    def check_user(self, username: str) -> None:
        """Then, with the user name read: raise Throttled if it must wait. Otherwise the
        attempt counts as started (call `failed` or `succeeded` when its outcome is known,
        `ended` if neither)."""
        now = self.clock.now()
        user = self.user_key(username)
        with self._lock:
            self._locked(self._users, user, now, "this user name")
            if self._pending.get(user, 0) >= 2:  # guesses in parallel would skip the delays
                raise Throttled(1, "a sign-in for this user name is already being checked")
            self._pending[user] = self._pending.get(user, 0) + 1

    def failed(self, username: str, address: str) -> None:
        now = self.clock.now()
        user = self.user_key(username)
        with self._lock:
            self._end(user)
            self._strike(self._users, user, now, self.limits.user_free)
            self._strike(self._addresses, address, now, self.limits.address_free)

    def succeeded(self, username: str, address: str) -> None:
        user = self.user_key(username)
        with self._lock:
            self._end(user)
            self._users.pop(user, None)

    def ended(self, username: str) -> None:
        with self._lock:
            self._end(self.user_key(username))

    # -- internals (under the lock) ----------------------------------------------------------

    def _locked(self, table: _Table, key: str, now: datetime, whose: str) -> None:
        strikes = self._strikes(table, key, now)
        if strikes is not None and strikes.until is not None and now < strikes.until:
            wait = (strikes.until - now).total_seconds()
            raise Throttled(wait, f"too many failed sign-ins for {whose}")

    def _end(self, user: str) -> None:
        left = self._pending.get(user, 0) - 1
        if left > 0:
            self._pending[user] = left
        else:
            self._pending.pop(user, None)

    def _strikes(self, table: _Table, key: str, now: datetime) -> _Strikes | None:
        strikes = table.get(key)
        if strikes is None:
            return None
        assert isinstance(strikes, _Strikes)
        if (now - strikes.last).total_seconds() > self.limits.forget_after:
            del table[key]
            return None
        return strikes

    def _strike(self, table: _Table, key: str, now: datetime, free: int) -> None:
        strikes = self._strikes(table, key, now) or _Strikes(0, now)
        strikes.failures += 1
        strikes.last = now
        over = strikes.failures - free
        if over > 0:
            delay = min(self.limits.delay * 2 ** min(over - 1, 40), self.limits.max_delay)
            strikes.until = now + timedelta(seconds=delay)
        table.put(key, strikes)

    def _take_token(self, address: str, now: datetime) -> None:
        limits = self.limits
        rate = limits.per_minute / 60.0
        bucket = self._buckets.get(address)
        if bucket is None:
            bucket = _Bucket(float(limits.burst), now)
        assert isinstance(bucket, _Bucket)
        elapsed = max(0.0, (now - bucket.at).total_seconds())
        bucket.tokens = min(float(limits.burst), bucket.tokens + elapsed * rate)
        bucket.at = now
        if bucket.tokens < 1:
            self._buckets.put(address, bucket)
            wait = (1 - bucket.tokens) / rate if rate > 0 else limits.max_delay
            raise Throttled(wait, "too many sign-ins from this address")
        bucket.tokens -= 1
        self._buckets.put(address, bucket)


class SignInGate:
    """The address's limits, checked as plain ASGI middleware before the request is read: a
    flood of sign-ins is mostly answered here, for a fraction of what a route costs (body
    parsing, validation, dependencies), which keeps the event loop free for sync."""

    def __init__(self, app: Any, guard: SignInGuard, path: str = "/auth/sign-in") -> None:
        self.app = app
        self.guard = guard
        self.path = path

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == self.path and scope["method"] == "POST":
            client = scope.get("client")
            try:
                self.guard.check_address(client[0] if client else "unknown")
            except Throttled as wait:
                body = json.dumps({"detail": str(wait)}).encode()
                headers = [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", str(wait.retry_after).encode()),
                ]
                await send({"type": "http.response.start", "status": 429, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
