"""Snapshot prefetch: while a device writes the snapshot page it just got, build the page it will
ask for next, so its next request is answered at once (the server's reading and encoding
overlap the device's writing instead of adding to it).

A device downloads a snapshot strictly in order (section after section, `after` = the key the
last page ended with), so after serving page N the next request is, almost always, page N+1.
Each device gets at most one slot: the page expected next, built by one background thread per
process. A request takes the slot only if it asks for exactly that page and the slot's page is
still exactly what a fresh read would give:

- the change log has not moved since the slot was read (every server write appends change rows
  in the same transaction, so an unchanged latest seq means no committed change in between, and
  the page and its cursor equal a fresh read's);
- the caller's warehouse scope is the same;
- it is a few seconds old at most.

Any other request of the device drops its slot, so a slot never outlives the download it
belongs to. Only the big sections (products, stock, receipts) are prefetched. The process keeps
no state a request depends on: a miss, another worker or a restart only means building the page
in the request, as without prefetch.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sync import protocol as p
from sync.server.context import Principal
from sync.server.db import Database
from sync.server.services import feed
from sync.server.services.changes import latest_seq

log = logging.getLogger(__name__)

MAX_AGE = 10.0  # seconds a prefetched page may wait for its request
MAX_SLOTS = 64  # devices with a page waiting, per process
WAIT = 5.0  # seconds a request waits for a page being built before building its own


def gzip(body: bytes, level: int) -> bytes:
    compressor = zlib.compressobj(level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return compressor.compress(body) + compressor.flush()


@dataclass(frozen=True)
class Key:
    section: str
    after: str | None
    limit: int
    gzip_level: int | None  # the body is gzipped at this level (the request accepted gzip)


@dataclass
class Slot:
    key: Key
    made: float = field(default_factory=time.monotonic)
    state: str = "queued"  # queued | running | done | failed | dropped
    page: feed.SnapshotOut | None = None
    body: bytes = b""  # page.body, gzipped if key.gzip_level
    done: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class Served:
    page: feed.SnapshotOut
    body: bytes  # page.body, gzipped if `gzipped`
    gzipped: bool


def next_request(page: feed.SnapshotOut) -> tuple[str, str | None] | None:
    """(section, after) of the page a device asks for after this one, if it is worth building."""
    if page.has_more:
        return (page.section, page.after) if page.section in feed.SQL_SECTIONS else None
    order = p.SNAPSHOT_SECTIONS
    index = order.index(page.section)
    if index + 1 < len(order) and order[index + 1] in feed.SQL_SECTIONS:
        return order[index + 1], None
    return None


class Prefetcher:
    def __init__(self, db: Database, *, enabled: bool = True) -> None:
        self.db = db
        self.enabled = enabled
        self._slots: dict[Any, Slot] = {}
        self._lock = threading.Lock()
        self._jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._worker: threading.Thread | None = None
        self.hits = self.misses = 0

    # -- the request side -------------------------------------------------------------------

    def take(self, session: Any, who: Principal, key: Key) -> Served | None:
        """The prefetched page for this request, if it is exactly what a fresh read gives."""
        with self._lock:
            slot = self._slots.pop(who.device_id, None)
            if slot is not None and slot.state == "queued":
                slot.state = "dropped"  # not started: building it here is as quick
                slot = None
        if slot is None or slot.key != key:
            return None
        if not slot.done.wait(WAIT) or slot.state != "done" or slot.page is None:
            return None
        page = slot.page
        fresh = (
            time.monotonic() - slot.made <= MAX_AGE
            and latest_seq(session) == page.cursor
            and (
                page.section not in feed.SCOPED
                or _scope(feed.warehouse_scope(session, who)) == page.scope
            )
        )
        if not fresh:
            self.misses += 1
            return None
        self.hits += 1
        return Served(page, slot.body, key.gzip_level is not None)

    def offer(self, who: Principal, page: feed.SnapshotOut, limit: int, level: int | None) -> None:
        """After serving `page`: build the device's next page in the background."""
        if not self.enabled:
            return
        wanted = next_request(page)
        if wanted is None:
            with self._lock:
                self._slots.pop(who.device_id, None)
            return
        slot = Slot(Key(wanted[0], wanted[1], limit, level))
        with self._lock:
            old = self._slots.pop(who.device_id, None)
            if old is not None and old.state == "queued":
                old.state = "dropped"
            while len(self._slots) >= MAX_SLOTS:
                self._slots.pop(next(iter(self._slots))).state = "dropped"
            self._slots[who.device_id] = slot
            self._start()
        scope = list(page.scope) if page.scope is not None else None
        self._jobs.put(lambda: self._build(slot, who, scope))

    # -- the background side ----------------------------------------------------------------

    def _start(self) -> None:
        if self._worker is None or not self._worker.is_alive():
            # A daemon thread: it never holds up the process's exit.
            self._worker = threading.Thread(target=self._run, name="snapshot-prefetch", daemon=True)
            self._worker.start()

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                job()
            except Exception:  # a failed prefetch only means building the page on request
                log.exception("snapshot prefetch failed")

    def _build(self, slot: Slot, who: Principal, scope: list[int] | None) -> None:
        with self._lock:
            if slot.state != "queued":
                return
            slot.state = "running"
        try:
            key = slot.key
            with self.db.session() as session:
                page = feed.snapshot_page(session, who, key.section, key.after, key.limit, scope)
            slot.body = page.body if key.gzip_level is None else gzip(page.body, key.gzip_level)
            slot.page = page
            slot.state = "done"
        except BaseException:
            slot.state = "failed"
            raise
        finally:
            slot.done.set()


def _scope(found: list[int] | None) -> tuple[int, ...] | None:
    return tuple(found) if found is not None else None
