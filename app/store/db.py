"""The SQLite engine and the two kinds of transaction the store uses.

Every connection gets WAL (readers never block the writer), a busy timeout (a second writer
waits instead of failing), foreign keys and synchronous=NORMAL (safe with WAL, no fsync per
commit). pysqlite's own transaction handling is switched off and we emit BEGIN ourselves, so
that a read sees one snapshot across statements and a write takes the lock up front
(BEGIN IMMEDIATE): two writers queue on the timeout instead of deadlocking on an upgrade.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from app.store.errors import StoreError
from app.store.paths import database_path

BUSY_TIMEOUT_MS = 10_000

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def make_engine(path: Path) -> Engine:
    engine = create_engine(
        f"sqlite:///{path}",
        connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (see _on_begin)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


DEVICE_FULL = (
    "This device's storage is full, so this change was not saved. Free some space (photos, "
    "videos, other apps) and try again; orders and changes saved before are kept and will "
    "still be sent."
)


class DeviceFull(StoreError):
    """No room left on the device to write: nothing of the change was written."""


def private(path: Path) -> None:
    """The database and its folder readable by this user only: it holds the sign-in token and
    customers' details. SQLite gives its WAL and shared-memory files the database file's
    permissions, so the file is made (or made private) before SQLite opens it."""
    if os.name != "posix":
        return  # Windows: the user's profile folder is private already
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    for f in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if f.exists():
            f.chmod(0o600)


class Store:
    """The device's database: an engine, a clock, and read/write transactions.

    Services take a Store and open one transaction per call; the sync engine may open a
    `write()` itself and call the session-level functions (apply_changes, outbox marks) in it.
    """

    def __init__(self, engine: Engine, *, clock: Clock = utc_now) -> None:
        self.engine = engine
        self.clock = clock
        self._writer = engine.execution_options(sqlite_begin="IMMEDIATE")

    @classmethod
    def open(cls, path: Path | None = None, *, clock: Clock = utc_now) -> Store:
        """Open (creating or upgrading in place) the database at `path`, default: paths.py."""
        from app.store.migrations import migrate  # here: migrations import nothing of ours back

        path = Path(path) if path else database_path()
        private(path)
        engine = make_engine(path)
        migrate(engine)
        return cls(engine, clock=clock)

    def now(self) -> datetime:
        return self.clock()

    def today(self) -> date:
        """The rep's calendar day: ETAs and 'ships today' are local dates."""
        return self.clock().astimezone().date()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """One consistent snapshot for several queries; never blocks the writer (WAL)."""
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One write transaction: commits on success, rolls back everything on any error.
        A full disk is said in words: the transaction is rolled back, and what was queued
        before stays queued."""
        try:
            with Session(self._writer, expire_on_commit=False) as session, session.begin():
                yield session
        except OperationalError as error:
            if "full" in str(error.orig).lower():  # SQLITE_FULL: "database or disk is full"
                raise DeviceFull(DEVICE_FULL) from error
            raise

    def close(self) -> None:
        self.engine.dispose()
