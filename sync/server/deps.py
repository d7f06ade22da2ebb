"""FastAPI dependencies as `Annotated` aliases: the database, a session, the clock, the caller.

Dependencies that do no I/O are `async def`: FastAPI runs plain `def` dependencies in its thread
pool, and a hop there and back per dependency per request costs more than the work itself."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Header, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Connection, bindparam, update
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


@dataclass(frozen=True)
class TokenRules:
    """How long a token lives without use. Its last use is written at most once per `touch`
    (not on every request: a write per read would cost every pull a database write)."""

    clock: Clock
    idle: timedelta | None  # None: tokens do not expire

    @classmethod
    def of(cls, settings: Settings, clock: Clock) -> TokenRules:
        days = settings.token_idle_days
        return cls(clock, timedelta(days=days) if days else None)

    @property
    def touch(self) -> timedelta:
        hour = timedelta(hours=1)
        return hour if self.idle is None else min(hour, self.idle / 24)


async def get_token_rules(request: Request) -> TokenRules:
    return request.app.state.token_rules


TokenRulesDep = Annotated[TokenRules, Depends(get_token_rules)]


def authenticate(
    db: Database, credentials: HTTPAuthorizationCredentials | None, rules: TokenRules
) -> Principal:
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
        who, stale = principal_of(conn, credentials.credentials, rules)
        if stale:
            touch(conn, who, rules)
            if not db.is_postgres:
                conn.commit()
        return who


def get_principal(db: DbDep, credentials: Bearer, rules: TokenRulesDep) -> Principal:
    return authenticate(db, credentials, rules)


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
        _D.revoked_reason,
        _D.created_at,
        _D.last_used_at,
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


def principal_of(conn: Connection, token: str, rules: TokenRules) -> tuple[Principal, bool]:
    """The caller of a device token, read on a connection the caller holds, and whether its
    last use should be written (see `touch`)."""
    return _checked(_AUTH.first(conn, {"digest": token_digest(token)}), rules)


def push_caller(conn: Connection, token: str, rules: TokenRules) -> tuple[Principal, int]:
    """A push checks its caller inside its own write transaction: the caller of the token and
    the last mutation id applied for their device, whose row stays locked to the end of the
    transaction. On PostgreSQL the transaction's BEGIN goes with it: one round trip."""
    with pipeline(conn):
        sent = _AUTH_PUSH.send(conn, {"digest": token_digest(token)})
    found = sent.first()
    who, stale = _checked(found, rules)
    if stale:
        touch(conn, who, rules)
    return who, found.last_mutation_id  # type: ignore[union-attr]


_TOUCH = update(Device).where(_D.id == bindparam("device")).values(last_used_at=bindparam("now"))


def touch(conn: Connection, who: Principal, rules: TokenRules) -> None:
    """Write a token's last use (in the caller's transaction, or at once in autocommit)."""
    conn.execute(_TOUCH, {"device": who.device_id, "now": rules.clock.now()})


# Why a token stopped working, by Device.revoked_reason (None: revoked before reasons were kept).
REVOKED = {
    "signed_out": "this device was signed out: sign in again",
    "revoked": "this device's sign-in was revoked: sign in again",
    "supervisor": "a supervisor revoked this device: ask them to restore it, then sign in again",
    "retired": "this device's sign-in was retired because the user signed in on more devices "
    "than allowed: sign in again",
    None: "this device's token was revoked: sign in again",
}


def _checked(found: Any, rules: TokenRules) -> tuple[Principal, bool]:
    if found is None:
        raise _unauthorized("unknown device token: sign in again")
    if found.revoked_at is not None:
        raise _unauthorized(REVOKED.get(found.revoked_reason, REVOKED[None]))
    if not found.active:
        raise _unauthorized(f"user {found.username} is disabled")
    last: datetime = found.last_used_at or found.created_at
    now = rules.clock.now()
    if rules.idle is not None and now - last > rules.idle:
        days = rules.idle.total_seconds() / 86_400
        raise _unauthorized(
            f"this device's sign-in expired after {days:g} days without use: sign in again "
            "(nothing waiting to be sent is lost)"
        )
    who = Principal(
        user_id=found.user_id,
        username=found.username,
        full_name=found.full_name,
        role=found.role,
        device_id=found.id,
    )
    return who, now - last > rules.touch


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
