"""Where the database lives, how connections are set up, and the schema the migrations make."""

from __future__ import annotations

import sqlite3

import platformdirs
import pytest
from sqlalchemy import text

from app.store import SCHEMA_VERSION, StoreError
from app.store.migrations import migrate, schema_version
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
