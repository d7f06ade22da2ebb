"""Engines and transactions.

SQLite: WAL, a busy timeout and foreign keys are set on every new connection; pysqlite's own
transaction handling is switched off so that we emit BEGIN ourselves. Writes use BEGIN IMMEDIATE:
the write lock is taken up front, so concurrent writers queue on the busy timeout instead of
failing when a read transaction tries to upgrade. PostgreSQL: psycopg 3, row locks in the
services.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, TypeVar

from pydantic_core import to_json
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.pool import StaticPool
from sqlmodel import Session

try:
    import fcntl
except ImportError:  # not POSIX: threads still queue; processes rely on the busy timeout
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)
T = TypeVar("T")

# PostgreSQL SQLSTATEs a retry may cure: serialization failure, deadlock, lock timeout.
_RETRYABLE_PG = {"40001", "40P01", "55P03"}


def make_engine(url: str, *, echo: bool = False, pool_size: int = 10) -> Engine:
    engine = _engine(url, echo=echo, pool_size=pool_size)
    # Core inserts of many rows go out as multi-row INSERT ... VALUES statements, batched.
    engine.dialect.use_insertmanyvalues_wo_returning = True  # type: ignore[attr-defined]
    return engine


def json_text(value: Any) -> str:
    """JSON columns are written with pydantic-core's encoder: compact, UTF-8 as is, several
    times quicker than json.dumps on the small values the order commit writes by the dozen."""
    return to_json(value).decode()


def _engine(url: str, *, echo: bool, pool_size: int) -> Engine:
    if url.startswith("sqlite") and _in_memory(url):
        # One shared connection: an in-memory database exists only inside its connection.
        engine = create_engine(
            url,
            echo=echo,
            poolclass=StaticPool,
            connect_args={"check_same_thread": False},
            json_serializer=json_text,
        )
        _configure_sqlite(engine)
        return engine
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            echo=echo,
            pool_size=pool_size,
            max_overflow=2 * pool_size,
            connect_args={"check_same_thread": False, "timeout": 30},
            insertmanyvalues_page_size=500,
            json_serializer=json_text,
        )
        _configure_sqlite(engine)
        return engine
    engine = create_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=2 * pool_size,
        insertmanyvalues_page_size=1000,
        json_serializer=json_text,
    )
    _ping_when_idle(engine)
    return engine


# A pooled connection idle for longer than this is pinged before use (a database restarted
# meanwhile has dropped it). SQLAlchemy's pool_pre_ping pings at every checkout: a round trip
# on every request of a busy server, whose connections are never idle for long.
IDLE_BEFORE_PING = 2.0  # seconds


def _ping_when_idle(engine: Engine) -> None:
    @event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")  # None: a connection just made
        if since is None or time.monotonic() - since < IDLE_BEFORE_PING:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:  # the pool drops it and checks out another
            raise DisconnectionError("a pooled connection was closed while idle") from error


def _in_memory(url: str) -> bool:
    return url in ("sqlite://", "sqlite:///:memory:") or "mode=memory" in url


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (see "begin")
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")  # safe with WAL; no fsync per commit
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


class Checkpoints:
    """SQLite's WAL, copied back into the database file by a thread of its own while the server
    serves, instead of by whichever commit makes the WAL cross 1,000 pages (SQLite's default):
    that commit paid about 60 ms for it, a fifth of a push of 100 orders (bench/server.py).
    Outside `serving()` (migrations, seeding, tests that use the app without its lifespan)
    SQLite checkpoints as usual. Each worker process runs its own; SQLite serialises them."""

    AUTOMATIC = 1000  # pages: SQLite's default

    def __init__(self, engine: Engine, every: float = 1.0) -> None:
        on_disk = engine.dialect.name == "sqlite" and not _in_memory(str(engine.url))
        self.path = engine.url.database if on_disk else None  # in memory: nothing to copy back
        self.every = every
        self.active = False
        self._stop = threading.Event()
        if self.path:
            event.listen(engine, "checkout", self._on_checkout)

    def _on_checkout(self, dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        wanted = 0 if self.active else self.AUTOMATIC
        if record.info.get("wal_autocheckpoint") != wanted:
            dbapi_connection.execute(f"PRAGMA wal_autocheckpoint={wanted}")
            record.info["wal_autocheckpoint"] = wanted

    @contextmanager
    def serving(self) -> Iterator[None]:
        if not self.path:
            yield
            return
        # Its own connection, outside the pool and its BEGIN; opened here, so that a database
        # it cannot open fails the start rather than leave commits with no checkpoints at all.
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._stop.clear()
        worker = threading.Thread(target=self._run, args=(db,), name="wal-checkpoint", daemon=True)
        self.active = True
        worker.start()
        try:
            yield
        finally:
            self.active = False
            self._stop.set()
            worker.join(timeout=30)

    def _run(self, db: sqlite3.Connection) -> None:
        try:
            while not self._stop.wait(self.every):
                self.checkpoint(db)
            self.checkpoint(db)
        finally:
            db.close()

    @staticmethod
    def checkpoint(db: Any) -> None:
        try:  # PASSIVE: copies what no reader still needs; never waits for a lock
            db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except Exception:  # the next round tries again; SQLite's data is safe either way
            log.warning("WAL checkpoint failed", exc_info=True)


def is_retryable(error: BaseException) -> bool:
    """A fault another attempt may cure: a deadlock, a serialization failure, a busy database."""
    if not isinstance(error, DBAPIError):
        return False
    sqlstate = getattr(error.orig, "sqlstate", None)
    if sqlstate in _RETRYABLE_PG:
        return True
    return isinstance(error, OperationalError) and "database is locked" in str(error.orig)


class WriterLock:
    """A thread lock plus, for a database file, an flock on "<file>.writelock"."""

    def __init__(self, database: str | None) -> None:
        self._thread = threading.Lock()
        self._fd: int | None = None
        if (
            fcntl is not None
            and database
            and database != ":memory:"
            and "mode=memory" not in database
        ):
            self._fd = os.open(f"{database}.writelock", os.O_CREAT | os.O_RDWR, 0o644)

    def __enter__(self) -> WriterLock:
        self._thread.acquire()
        if self._fd is not None:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX)
            except BaseException:
                self._thread.release()
                raise
        return self

    def __exit__(self, *_: object) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._thread.release()

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class Database:
    """The engine and the two kinds of session the services use."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        self.is_postgres = engine.dialect.name == "postgresql"
        self._write_bind = (
            engine.execution_options(sqlite_begin="IMMEDIATE") if self.is_sqlite else engine
        )
        # SQLite has one writer at a time anyway. Writers queue on a lock and are woken at once,
        # instead of polling the database lock with SQLite's sleeping busy handler, which wastes
        # most of the time under contention: a thread lock within this process, and a file lock
        # beside the database across processes (several uvicorn workers).
        self._writer: AbstractContextManager[object] = (
            WriterLock(engine.url.database) if self.is_sqlite else nullcontext()
        )
        # The process's slip book (services/slips.SlipCache), set by the app; None: dates trust
        # receipt dates as they are.
        self.slips: Any = None

    def session(self) -> Session:
        """A session for reading (and for writes that cannot collide, e.g. in tests)."""
        return Session(self.engine, expire_on_commit=False)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One write transaction: committed on success, rolled back on any error."""
        with self._writer, Session(self._write_bind, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def transact(self, work: Callable[[Session], T], *, attempts: int = 4) -> T:
        """Run `work` in one write transaction, again if the database asks for a retry."""
        for attempt in range(1, attempts + 1):
            try:
                with self.write() as session:
                    return work(session)
            except DBAPIError as error:
                if attempt == attempts or not is_retryable(error):
                    raise
                log.info("retrying a write transaction after %s", type(error.orig).__name__)
                time.sleep(0.005 * 2**attempt)
        raise AssertionError("unreachable")

    def dispose(self) -> None:
        self.engine.dispose()
        if isinstance(self._writer, WriterLock):
            self._writer.close()
