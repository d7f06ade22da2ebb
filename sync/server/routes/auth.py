"""Sign in (a device token), sign out, who am I, and device management.

Sign-in is guarded (throttle.py: failures per user name and per address with growing delays,
a rate per address) and its password hash runs on a pool of its own (hashing.py), so that a
flood of sign-ins cannot take the threads that serve sync. A device a supervisor revoked stays
revoked, whoever signs in on it, until a supervisor restores it; a user signing in on one device
more than allowed retires their least recently used token."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, HTTPException, Request, status
from sqlalchemy import func
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from sync import protocol as p
from sync.server.clock import Clock
from sync.server.context import Principal
from sync.server.db import Database
from sync.server.deps import (
    ClockDep,
    CurrentSupervisor,
    CurrentUser,
    DbDep,
    ProtocolChecked,
    SessionDep,
    SettingsDep,
)
from sync.server.errors import AUTH_ERRORS, THROTTLED, VALIDATION
from sync.server.hashing import HashPool
from sync.server.models import Device, User
from sync.server.security import new_token, token_digest
from sync.server.services.info import server_info
from sync.server.settings import Settings
from sync.server.throttle import SignInGuard

router = APIRouter(prefix="/auth", tags=["auth"], dependencies=[ProtocolChecked])
supervising = APIRouter(prefix="/supervisor", tags=["supervisor"], dependencies=[ProtocolChecked])

# The same words whether the id is unknown, another user's or blocked for this one: a 403 must
# not tell a caller which device ids exist.
DEVICE_REFUSED = (
    "this device cannot sign in with that device_id: sign in without it to register the "
    "device anew, or ask a supervisor (a device they revoked stays revoked until they "
    "restore it)"
)


def _device(d: Device) -> p.DevicePublic:
    return p.DevicePublic.model_validate(d, from_attributes=True)


def _user(u: User) -> p.UserPublic:
    return p.UserPublic.model_validate(u, from_attributes=True)


def _find(db: Database, username: str) -> User | None:
    with db.session() as session:
        return session.exec(select(User).where(User.username == username)).first()


@router.post(
    "/sign-in",
    response_model=p.SignInResponse,
    responses={
        401: {"model": p.ErrorDetail, "description": "wrong username or password"},
        403: {"model": p.ErrorDetail, "description": "this device_id cannot be used"},
        **THROTTLED,
        **VALIDATION,
    },
)
async def sign_in(
    request: Request, body: p.SignInRequest, db: DbDep, clock: ClockDep, settings: SettingsDep
) -> p.SignInResponse:
    guard: SignInGuard = request.app.state.signin_guard
    hashes: HashPool = request.app.state.hashes
    address = request.client.host if request.client else "unknown"
    guard.check_user(body.username)  # 429 while it must wait (the address: SignInGate)
    try:
        user = await run_in_threadpool(_find, db, body.username)
        ok = await hashes.verify(body.password, user.password_hash if user else None)
    except BaseException:
        guard.ended(body.username)
        raise
    if user is None or not ok or not user.active:
        guard.failed(body.username, address)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="wrong username or password")
    guard.succeeded(body.username, address)
    return await run_in_threadpool(_register, db, clock, settings, user, body)


def _register(
    db: Database, clock: Clock, settings: Settings, user: User, body: p.SignInRequest
) -> p.SignInResponse:
    token = new_token()
    now = clock.now()
    with db.write() as session:
        device = session.get(Device, body.device_id) if body.device_id else None
        if device is not None and (device.user_id != user.id or device.blocked_at is not None):
            raise HTTPException(status.HTTP_403_FORBIDDEN, detail=DEVICE_REFUSED)
        if device is None:
            device = Device(
                id=body.device_id or uuid.uuid4(),
                user_id=user.id,
                name=body.device_name,
                token_hash=token_digest(token),
                created_at=now,
                last_used_at=now,
            )
            session.add(device)
        else:  # the same device again: a new token, the same mutation counter
            device.token_hash = token_digest(token)
            device.revoked_at = None
            device.revoked_reason = None
            device.last_used_at = now
            device.name = body.device_name
        session.flush()
        _retire_past_limit(session, user, device, now, settings.max_devices_per_user)
        answer = p.SignInResponse(
            token=token,
            device_id=device.id,
            last_mutation_id=device.last_mutation_id,
            user=_user(user),
            server=server_info(settings, clock),
        )
    return answer


def _retire_past_limit(
    session: Session, user: User, keep: Device, now: datetime, limit: int
) -> None:
    """A user holds at most `limit` live tokens: the least recently used others are retired."""
    live = session.exec(
        select(Device)
        .where(Device.user_id == user.id, col(Device.revoked_at).is_(None), Device.id != keep.id)
        .order_by(func.coalesce(Device.last_used_at, Device.created_at).desc(), Device.created_at)
    ).all()
    for device in live[limit - 1 :]:
        device.revoked_at = now
        device.revoked_reason = "retired"


@router.post("/sign-out", status_code=status.HTTP_204_NO_CONTENT, responses={**AUTH_ERRORS})
def sign_out(who: CurrentUser, db: DbDep, clock: ClockDep) -> None:
    with db.write() as session:
        device = session.get(Device, who.device_id)
        if device is not None:
            device.revoked_at = clock.now()
            device.revoked_reason = "signed_out"


@router.get("/me", response_model=p.UserPublic, responses={**AUTH_ERRORS})
def me(who: CurrentUser, session: SessionDep) -> p.UserPublic:
    return _user(session.get(User, who.user_id))


@router.get("/devices", response_model=list[p.DevicePublic], responses={**AUTH_ERRORS})
def devices(_: CurrentSupervisor, session: SessionDep) -> list[p.DevicePublic]:
    return [_device(d) for d in session.exec(select(Device).order_by(Device.created_at))]


def _own_or_supervised(session: Session, device_id: uuid.UUID, who: Principal) -> Device:
    device = session.get(Device, device_id)
    if device is None or (not who.is_supervisor and device.user_id != who.user_id):
        # The same answer for another user's device as for none: ids are not disclosed.
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"device_id {device_id}: not found")
    return device


@router.post(
    "/devices/{device_id}/revoke",
    response_model=p.DevicePublic,
    responses={404: {"model": p.ErrorDetail, "description": "no such device"}, **AUTH_ERRORS},
)
def revoke(device_id: uuid.UUID, who: CurrentUser, db: DbDep, clock: ClockDep) -> p.DevicePublic:
    """A supervisor's revoke blocks the device (signing in on it again is refused until a
    supervisor restores it); a user revoking one of their own devices only signs it out."""
    with db.write() as session:
        device = _own_or_supervised(session, device_id, who)
        now = clock.now()
        if device.revoked_at is None:
            device.revoked_at = now
            device.revoked_reason = "supervisor" if who.is_supervisor else "revoked"
        if who.is_supervisor and device.blocked_at is None:
            device.blocked_at = now
            device.revoked_reason = "supervisor"
        session.flush()
        return _device(device)


@supervising.post(
    "/devices/{device_id}/restore",
    response_model=p.DevicePublic,
    responses={404: {"model": p.ErrorDetail, "description": "no such device"}, **AUTH_ERRORS},
)
def restore(device_id: uuid.UUID, who: CurrentSupervisor, db: DbDep) -> p.DevicePublic:
    """Lift a supervisor's revoke: the device's user may sign in on it again (its old token
    stays revoked; the mutation counter is kept)."""
    with db.write() as session:
        device = _own_or_supervised(session, device_id, who)
        device.blocked_at = None
        session.flush()
        return _device(device)
