"""Alembic environment: runs on the engine the server hands over (see sync/server/migrate.py),
or, from the alembic command line, on the settings' DATABASE_URL."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from sqlalchemy import Engine
from sqlmodel.sql.sqltypes import AutoString

from sync.server.models import metadata
from sync.server.models.types import UTCDateTime

config = context.config


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Write plain SQLAlchemy types into migrations, so they do not depend on sqlmodel."""
    if type_ == "type" and isinstance(obj, AutoString):
        return f"sa.String(length={obj.length})" if obj.length else "sa.String()"
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "server_types.UTCDateTime()"
    return False


def _engine() -> Engine:
    engine = config.attributes.get("engine")
    if engine is not None:
        return engine
    from sync.server.db import make_engine
    from sync.server.settings import Settings

    return make_engine(Settings().database_url)


def run_migrations_online() -> None:
    engine = _engine()
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=engine.dialect.name == "sqlite",  # SQLite cannot ALTER much
            compare_type=True,
            user_module_prefix="server_types.",
            render_item=_render_item,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run against a database")
run_migrations_online()
