"""SQLite's WAL is copied back into the database file by the server's own thread while it
serves (sync.server.db.Checkpoints), not by whichever commit crosses SQLite's threshold."""

from __future__ import annotations

import time

from sqlalchemy import text

from sync.server.db import Checkpoints, Database, make_engine


def autocheckpoint(db: Database) -> int:
    with db.engine.connect() as conn:
        return conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one()


def write_pages(db: Database, rows: int) -> None:
    with db.write() as session:
        session.execute(
            text("INSERT INTO filler (body) VALUES (:body)"),
            [{"body": "x" * 1000} for _ in range(rows)],
        )


def test_while_serving_commits_leave_the_wal_to_the_checkpoint_thread(tmp_path):
    path = tmp_path / "server.db"
    db = Database(make_engine(f"sqlite:///{path}"))
    with db.write() as session:
        session.execute(text("CREATE TABLE filler (id INTEGER PRIMARY KEY, body TEXT)"))
    checkpoints = Checkpoints(db.engine, every=3600)  # the thread's turn comes only at the end
    assert autocheckpoint(db) == Checkpoints.AUTOMATIC
    try:
        with checkpoints.serving():
            assert autocheckpoint(db) == 0
            before = path.stat().st_size
            write_pages(db, 6000)  # ~1,500 pages: past SQLite's own threshold
            assert path.stat().st_size == before  # still all in the WAL: the commit paid nothing
        # leaving serving() checkpoints once more and hands the WAL back to SQLite
        assert path.stat().st_size > before + 4_000_000
        assert autocheckpoint(db) == Checkpoints.AUTOMATIC
        grown = path.stat().st_size
        write_pages(db, 6000)  # SQLite's own checkpoint again, at the commit
        assert path.stat().st_size > grown + 4_000_000
    finally:
        db.dispose()


def test_the_thread_checkpoints_every_interval(tmp_path):
    path = tmp_path / "server.db"
    db = Database(make_engine(f"sqlite:///{path}"))
    with db.write() as session:
        session.execute(text("CREATE TABLE filler (id INTEGER PRIMARY KEY, body TEXT)"))
    try:
        with Checkpoints(db.engine, every=0.05).serving():
            before = path.stat().st_size
            write_pages(db, 3000)
            deadline = time.monotonic() + 10
            while path.stat().st_size < before + 2_000_000:
                assert time.monotonic() < deadline, "the WAL was never copied back"
                time.sleep(0.02)
    finally:
        db.dispose()


def test_an_in_memory_database_needs_no_thread():
    db = Database(make_engine("sqlite://"))
    checkpoints = Checkpoints(db.engine)
    with checkpoints.serving():
        assert not checkpoints.active
    db.dispose()
