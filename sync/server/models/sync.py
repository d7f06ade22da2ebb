"""The sync machinery's own tables: the change log, applied mutations, dead letters, conflicts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index
from sqlmodel import Field

from sync.server.models.base import ServerModel
from sync.server.models.types import JSON, BigKey, UTCDateTime


class ChangeRow(ServerModel, table=True):
    """One entry of the change log. `rep_id` None means every rep's devices may see it (within
    `warehouse_id`, if set)."""

    __tablename__ = "change_log"
    __table_args__ = (Index("ix_change_log_entity_key", "entity", "key"),)
    seq: int | None = Field(default=None, primary_key=True, sa_type=BigKey)
    entity: str = Field(max_length=20)
    key: str = Field(max_length=80)
    op: str = Field(max_length=6)  # upsert | delete
    rep_id: int | None = Field(default=None, index=True)
    # The warehouse of a stock, receipt or queue row: a rep pulls those of the warehouses their
    # accounts are served from, as the snapshot gives them. None: every warehouse's devices.
    warehouse_id: int | None = Field(default=None)
    data: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    created_at: datetime = Field(sa_type=UTCDateTime)


class AppliedMutation(ServerModel, table=True):
    """A mutation applied for a device, with the answer it got (replayed for duplicates)."""

    __tablename__ = "applied_mutation"
    device_id: uuid.UUID = Field(primary_key=True, foreign_key="device.id")
    mutation_id: int = Field(primary_key=True)
    name: str = Field(max_length=40)
    result: dict[str, Any] = Field(sa_type=JSON)
    applied_at: datetime = Field(sa_type=UTCDateTime)


class DeadLetter(ServerModel, table=True):
    __tablename__ = "dead_letter"
    id: int | None = Field(default=None, primary_key=True)
    device_id: uuid.UUID = Field(foreign_key="device.id", index=True)
    mutation_id: int
    name: str = Field(max_length=40)
    payload: dict[str, Any] = Field(sa_type=JSON)
    error: str = Field(max_length=2000)
    created_at: datetime = Field(sa_type=UTCDateTime)


class ConflictRecord(ServerModel, table=True):
    """An overlapping edit: the later arrival won; the value it replaced is kept here."""

    __tablename__ = "conflict"
    id: int | None = Field(default=None, primary_key=True)
    entity: str = Field(max_length=20)
    key: str = Field(max_length=80, index=True)
    field: str = Field(max_length=40)
    rep_id: int | None = None  # whose record it is (scope of the change log entry)
    winner_value: str = Field(max_length=300)
    loser_value: str = Field(max_length=300)
    winner_user_id: int | None = None
    loser_user_id: int | None = None
    base_version: int
    created_at: datetime = Field(sa_type=UTCDateTime)
