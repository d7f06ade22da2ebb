"""The Alembic migrations build exactly the schema the models describe, on both backends, and
the app migrates an empty database by itself."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from sync.server.db import make_engine
from sync.server.migrate import upgrade
from sync.server.models import metadata
from tests.integration.conftest import BACKENDS, make_server, pg_schema_url


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
