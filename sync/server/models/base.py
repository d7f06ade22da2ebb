"""The server's own SQLModel base: a registry (and MetaData) apart from SQLModel's default one,
so the device's tables (app.store) and the server's never meet in one MetaData when both are
imported in one process (as the sync tests do)."""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlalchemy.orm import registry
from sqlmodel import SQLModel

# Stable constraint names on every backend, so migrations can name what they alter.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

server_registry = registry(metadata=MetaData(naming_convention=NAMING))


class ServerModel(SQLModel, registry=server_registry):
    pass


metadata = server_registry.metadata
