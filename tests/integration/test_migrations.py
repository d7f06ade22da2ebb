"""The Alembic migrations build exactly the schema the models describe, on both backends, and
the app migrates an empty database by itself."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from sync.server.db import make_engine
from sync.server.migrate import upgrade
from sync.server.models import metadata
from tests.integration.conftest import BACKENDS, START, make_server, pg_schema_url


@pytest.fixture(params=BACKENDS)
def empty_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    return pg_schema_url(request.getfixturevalue("pg_schema"))


def test_migrations_match_the_models(empty_url):
    engine = make_engine(empty_url)
    upgrade(engine)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
    engine.dispose()


def test_the_app_migrates_an_empty_database_on_start(empty_url):
    server = make_server(empty_url)
    tables = set(inspect(server.db.engine).get_table_names())
    assert set(metadata.tables) <= tables and "alembic_version" in tables
    server.db.dispose()


def test_0003_gives_the_change_rows_already_written_their_warehouse(empty_url):
    engine = make_engine(empty_url)
    upgrade(engine, "0002")
    rows = [
        ("stock", "A@2", "upsert", '{"sku": "A", "warehouse_id": 2, "on_hand": 1}'),
        ("queue_entry", "7", "upsert", '{"entry_id": "7", "sku": "A", "warehouse_id": 3}'),
        ("receipt", "4", "upsert", '{"id": 4, "sku": "A", "warehouse_id": 2}'),
        ("order", "x", "upsert", '{"id": "x", "warehouse_id": 2}'),  # scoped by its rep
        ("queue_entry", "8", "delete", None),  # a tombstone: only a key
    ]
    with engine.begin() as conn:
        for seq, (entity, key, op, data) in enumerate(rows, 1):
            conn.execute(
                text(
                    "INSERT INTO change_log (seq, entity, key, op, data, created_at) "
                    "VALUES (:seq, :entity, :key, :op, :data, :at)"
                ),
                {"seq": seq, "entity": entity, "key": key, "op": op, "data": data, "at": START},
            )
    upgrade(engine)
    with engine.connect() as conn:
        found = conn.execute(text("SELECT warehouse_id FROM change_log ORDER BY seq")).scalars()
        assert list(found) == [2, 3, 2, None, None]
    engine.dispose()
