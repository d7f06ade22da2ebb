"""Auth: signing a user's device in (the token every other request carries)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import StringConstraints

from sync.protocol.common import Request, Response, Role
from sync.protocol.sync import ServerInfo


class SignInRequest(Request):
    username: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    device_name: Annotated[str, StringConstraints(min_length=1, max_length=120)] = "device"
    # An existing device of this user signing in again keeps its id and its mutation counter.
    device_id: uuid.UUID | None = None


class UserPublic(Response):
    id: int
    username: str
    full_name: str
    role: Role
    team: str


class SignInResponse(Response):
    token: str  # send as "Authorization: Bearer <token>"
    device_id: uuid.UUID
    last_mutation_id: int
    user: UserPublic
    server: ServerInfo


class DevicePublic(Response):
    id: uuid.UUID
    user_id: int
    name: str
    created_at: datetime
    revoked_at: datetime | None
    # signed_out | revoked | supervisor | retired (see the server's Device model)
    revoked_reason: str | None = None
    # A supervisor revoked it: signing in on it is refused until one restores it.
    blocked_at: datetime | None = None
    last_used_at: datetime | None = None
    last_mutation_id: int
