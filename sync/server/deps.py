"""FastAPI dependencies as `Annotated` aliases: the database, a session, the clock, the caller.

Dependencies that do no I/O are `async def`: FastAPI runs plain `def` dependencies in its thread
pool, and a hop there and back per dependency per request costs more than the work itself."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Header, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Connection, bindparam
from sqlalchemy import select as sa_select
from sqlmodel import Session

from sync.protocol import PROTOCOL_HEADER, PROTOCOL_VERSION
from sync.server.clock import Clock
from sync.server.context import Principal
from sync.server.db import Database
from sync.server.fastsql import Fast, pipeline
from sync.server.models import Device, User
from sync.server.security import token_digest
from sync.server.services.runner import Runner
from sync.server.settings import Settings


async def get_db(request: Request) -> Database:
    return request.app.state.db


async def get_clock(request: Request) -> Clock:
    return request.app.state.clock


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


DbDep = Annotated[Database, Depends(get_db)]
ClockDep = Annotated[Clock, Depends(get_clock)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_session(db: DbDep) -> Iterator[Session]:
    with db.session() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


async def check_protocol(
    version: Annotated[
        int,
        Header(
            alias=PROTOCOL_HEADER,
            description=f"The client's wire protocol; this server speaks {PROTOCOL_VERSION}.",
        ),
    ],
) -> None:
    if version == PROTOCOL_VERSION:
        return
    if version < PROTOCOL_VERSION:
        message = (
            f"This app speaks protocol {version} but the server speaks {PROTOCOL_VERSION}: "
            "update the app to sync again (your unsent orders are kept)."
        )
    else:
        message = (
            f"This app speaks protocol {version}, newer than the server's {PROTOCOL_VERSION}: "
            "the server must be updated before this app can sync (your unsent orders are kept)."
        )
    raise HTTPException(status.HTTP_426_UPGRADE_REQUIRED, detail=message)


ProtocolChecked = Depends(check_protocol)

_bearer = HTTPBearer(auto_error=False, description="The device token from /auth/sign-in")


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail=message, headers={"WWW-Authenticate": "Bearer"}
    )


Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
_NO_TOKEN = "sign in first: send Authorization: Bearer <device token>"


def authenticate(db: Database, credentials: HTTPAuthorizationCredentials | None) -> Principal:
    """The caller of a device token (blocking: call it from a worker thread)."""
    if credentials is None or not credentials.credentials:
        raise _unauthorized(_NO_TOKEN)
    # A pooled connection, no ORM session and no transaction of our own: one indexed read on
    # the driver's cursor (every request pays for it). On PostgreSQL in autocommit, so no BEGIN
    # and no ROLLBACK either: a ROLLBACK also makes psycopg drop the connection's prepared
    # statements. (Not on SQLite: pysqlite's transaction mode would not be restored after.)
    with db.engine.connect() as conn:
        if db.is_postgres:
            conn.execution_options(isolation_level="AUTOCOMMIT")
        return principal_of(conn, credentials.credentials)


def get_principal(db: DbDep, credentials: Bearer) -> Principal:
    return authenticate(db, credentials)


async def get_token(credentials: Bearer) -> HTTPAuthorizationCredentials:
    """The bearer token, only checked to be there (no I/O). The sync routes do all their
    blocking work, authentication included (`authenticate`), in ONE worker-thread hop: each
    hop (a sync dependency, a session generator, a sync endpoint) costs CPU and GIL churn
    on every request."""
    if credentials is None or not credentials.credentials:
        raise _unauthorized(_NO_TOKEN)
    return credentials


TokenDep = Annotated[HTTPAuthorizationCredentials, Depends(get_token)]


_D = Device.__table__.c  # type: ignore[attr-defined]
_U = User.__table__.c  # type: ignore[attr-defined]
_CALLER = (
    sa_select(
        _D.id,
        _D.revoked_at,
        _U.id.label("user_id"),
        _U.username,
        _U.full_name,
        _U.role,
        _U.active,
    )
    .join_from(Device.__table__, User.__table__, _U.id == _D.user_id)  # type: ignore[attr-defined]
    .where(_D.token_hash == bindparam("digest"))
)
# Every request runs one of them: Core columns on the DBAPI cursor (see fastsql.py), no ORM.
_AUTH = Fast(_CALLER)
# A push's: with the device's last applied mutation id, its row locked (PostgreSQL) for the
# push's transaction, so that one device's pushes run one at a time.
_AUTH_PUSH = Fast(
    _CALLER.add_columns(_D.last_mutation_id).with_for_update(of=Device.__table__)  # type: ignore[attr-defined]
)


def principal_of(conn: Connection, token: str) -> Principal:
    """The caller of a device token, read on a connection the caller holds."""
    return _checked(_AUTH.first(conn, {"digest": token_digest(token)}))


def push_caller(conn: Connection, token: str) -> tuple[Principal, int]:
    """A push checks its caller inside its own write transaction: the caller of the token and
    the last mutation id applied for their device, whose row stays locked to the end of the
    transaction. On PostgreSQL the transaction's BEGIN goes with it: one round trip."""
    with pipeline(conn):
        sent = _AUTH_PUSH.send(conn, {"digest": token_digest(token)})
    found = sent.first()
    return _checked(found), found.last_mutation_id  # type: ignore[union-attr]


def _checked(found: Any) -> Principal:
    if found is None:
        raise _unauthorized("unknown device token: sign in again")
    if found.revoked_at is not None:
        raise _unauthorized("this device's token was revoked: sign in again")
    if not found.active:
        raise _unauthorized(f"user {found.username} is disabled")
    return Principal(
        user_id=found.user_id,
        username=found.username,
        full_name=found.full_name,
        role=found.role,
        device_id=found.id,
    )


CurrentUser = Annotated[Principal, Depends(get_principal)]


async def get_rep(who: CurrentUser) -> Principal:
    if who.role != "rep":
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="only sales reps may do this")
    return who


async def get_supervisor(who: CurrentUser) -> Principal:
    if not who.is_supervisor:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="only supervisors may do this")
    return who


CurrentRep = Annotated[Principal, Depends(get_rep)]
CurrentSupervisor = Annotated[Principal, Depends(get_supervisor)]


async def get_supervisor_runner(
    who: CurrentSupervisor, db: DbDep, clock: ClockDep, settings: SettingsDep
) -> Runner:
    return Runner(db, clock, settings, who)


# A supervisor's operation: refused to anyone else (403), run by `.write(...)` or `.read(...)`.
SupervisorRunner = Annotated[Runner, Depends(get_supervisor_runner)]
