"""Where the database lives, how connections are set up, and the schema the migrations make."""

from __future__ import annotations

import sqlite3
import stat

import platformdirs
import pytest
from sqlalchemy import event, text

from app.store import SCHEMA_VERSION, Accounts, CartService, Store, StoreError
from app.store.db import DeviceFull
from app.store.migrations import migrate, schema_version
from app.store.outbox import entries
from app.store.paths import data_dir, database_path
from app.store.tables import metadata


def test_data_dir_prefers_our_variable_then_flet_then_platformdirs(tmp_path, monkeypatch):
    monkeypatch.setenv("FIELDSALES_DATA_DIR", str(tmp_path / "ours"))
    monkeypatch.setenv("FLET_APP_STORAGE_DATA", str(tmp_path / "flet"))
    assert data_dir() == tmp_path / "ours"
    monkeypatch.delenv("FIELDSALES_DATA_DIR")
    assert data_dir() == tmp_path / "flet"
    monkeypatch.delenv("FLET_APP_STORAGE_DATA")
    assert data_dir() == platformdirs.user_data_path("fieldsales", "fieldsales")


def test_database_path_creates_its_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("FIELDSALES_DATA_DIR", str(tmp_path / "a" / "b"))
    path = database_path()
    assert path.parent.is_dir() and path.name == "fieldsales.db"


def test_store_open_uses_the_data_dir(tmp_path, monkeypatch):
    from app.store import Store

    monkeypatch.setenv("FIELDSALES_DATA_DIR", str(tmp_path / "env"))
    store = Store.open()
    try:
        assert (tmp_path / "env" / "fieldsales.db").exists()
    finally:
        store.close()


def test_every_connection_has_wal_foreign_keys_and_a_busy_timeout(store):
    with store.read() as session:
        conn = session.connection()
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


def test_a_failed_write_leaves_nothing(store):
    with pytest.raises(RuntimeError), store.write() as session:
        session.connection().exec_driver_sql("UPDATE cart SET note = 'half' WHERE id = 1")
        raise RuntimeError("crash in the middle")
    with store.read() as session:
        assert session.execute(text("SELECT note FROM cart")).scalar() == ""


def test_migrations_make_the_schema_the_table_models_describe(store):
    assert schema_version(store.engine) == SCHEMA_VERSION
    with store.read() as session:
        conn = session.connection()
        for table in metadata.sorted_tables:
            found = {r[1] for r in conn.exec_driver_sql(f"PRAGMA table_info({table.name})")}
            assert found == set(table.columns.keys()), table.name
        assert conn.exec_driver_sql("SELECT count(*) FROM sync_state").scalar() == 1
        assert conn.exec_driver_sql("SELECT count(*) FROM cart").scalar() == 1


def test_opening_twice_migrates_once_and_keeps_the_device_id(tmp_path):
    from tests.unit.store.helpers import open_store

    first = open_store(tmp_path)
    with first.read() as session:
        device = session.execute(text("SELECT device_id FROM sync_state")).scalar()
    first.close()
    again = open_store(tmp_path)
    with again.read() as session:
        assert session.execute(text("SELECT device_id FROM sync_state")).scalar() == device
    again.close()


def test_a_database_from_a_newer_app_is_refused_clearly(tmp_path, store):
    path = tmp_path / "device.db"
    store.close()
    with sqlite3.connect(path) as raw:
        raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="newer version of the app"):
        migrate(store.engine)


def test_unknown_target_version(store):
    with pytest.raises(StoreError, match="no schema version 99"):
        migrate(store.engine, target=99)


def test_the_database_and_its_folder_are_private_to_the_user(tmp_path, clock):
    # It holds the sign-in token and customers' details: 0700 folder, 0600 files (the WAL and
    # shared-memory files take the database file's mode).
    store = Store.open(tmp_path / "new" / "device.db", clock=clock)
    with store.write() as session:
        session.execute(text("UPDATE sync_state SET token = 'secret'"))
    mode = lambda p: stat.S_IMODE(p.stat().st_mode)  # noqa: E731
    assert mode(tmp_path / "new") == 0o700
    files = sorted((tmp_path / "new").glob("device.db*"))
    assert [f.name for f in files] == ["device.db", "device.db-shm", "device.db-wal"]
    assert {mode(f) for f in files} == {0o600}
    store.close()
    # An older install's world-readable file is made private when opened.
    (tmp_path / "new" / "device.db").chmod(0o644)
    Store.open(tmp_path / "new" / "device.db", clock=clock).close()
    assert mode(tmp_path / "new" / "device.db") == 0o600


def test_a_full_disk_is_said_in_words_and_keeps_what_was_queued(shop):
    # SQLite's own SQLITE_FULL, made real by capping the file at the pages it has now.
    Accounts(shop).update_contact("A1", contact_name="Ana")
    shop.engine.dispose()

    @event.listens_for(shop.engine, "connect")
    def _cap(dbapi_connection, _record):
        pages = dbapi_connection.execute("PRAGMA page_count").fetchone()[0]
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

    cart = CartService(shop)
    cart.set_account("A1")
    with pytest.raises(DeviceFull, match="storage is full") as full:
        for _ in range(200):  # until a page more is needed
            cart.add("CF-100", 1)
            cart.place()
            cart.set_account("A1")
    assert "kept" in str(full.value) and isinstance(full.value, StoreError)
    with shop.read() as session:
        queued = [e.name for e in entries(session)]
    assert queued[0] == "update_account_contact" and len(queued) >= 1
