"""Who uses the system: users (reps, supervisors), their devices (tokens), and accounts."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field

from sync.server.models.base import ServerModel
from sync.server.models.types import JSON, UTCDateTime


class UserBase(ServerModel):
    username: str = Field(max_length=60, unique=True)
    full_name: str = Field(max_length=120)
    role: str = Field(max_length=12)  # rep | supervisor
    team: str = Field(default="", max_length=60)
    active: bool = True


class User(UserBase, table=True):
    __tablename__ = "app_user"
    id: int | None = Field(default=None, primary_key=True)
    password_hash: str = Field(max_length=255)


class UserCreate(UserBase):
    password: str = Field(min_length=4, max_length=200)


class Device(ServerModel, table=True):
    """A signed-in device: its token (stored as a sha256 digest) and how far its outbox got."""

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    name: str = Field(max_length=120)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Why the token stopped working: signed_out | revoked (by its user) | supervisor | retired
    # (the user signed in on more devices than allowed); None while it works.
    revoked_reason: str | None = Field(default=None, max_length=20)
    # The token's last use, written at most hourly (deps.TokenRules): idle tokens expire.
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # A supervisor revoked this device: signing in on it again is refused until one restores it.
    blocked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The last mutation id applied for this device: exactly-once and gap detection.
    last_mutation_id: int = 0


CONTACT_FIELDS = ("contact_name", "contact_phone", "contact_email", "contact_address")


class AccountBase(ServerModel):
    code: str = Field(max_length=20, unique=True)
    name: str = Field(max_length=160)
    rep_id: int = Field(foreign_key="app_user.id")
    warehouse_id: int = Field(foreign_key="warehouse.id")
    tier: int = Field(default=3, ge=1, le=3)  # 1 is the most important
    delivery_days: list[int] = Field(default_factory=list, sa_type=JSON)  # 0=Mon .. 6=Sun
    default_policy: str = Field(default="ship_as_available", max_length=20)
    default_cap: int | None = Field(default=None, ge=1, le=50)
    credit_hold: bool = False
    contact_name: str = Field(default="", max_length=120)
    contact_phone: str = Field(default="", max_length=40)
    contact_email: str = Field(default="", max_length=120)
    contact_address: str = Field(default="", max_length=300)


class Account(AccountBase, table=True):
    __table_args__ = (Index("ix_account_rep", "rep_id"),)
    id: int | None = Field(default=None, primary_key=True)
    contact_version: int = 1
    # Per contact field, the contact_version at which it last changed (for the per-field merge).
    contact_field_versions: dict[str, int] = Field(default_factory=dict, sa_type=JSON)


class AccountCreate(AccountBase):
    pass
