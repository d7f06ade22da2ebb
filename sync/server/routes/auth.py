"""Sign in (a device token), sign out, who am I, and device management."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, HTTPException, status
from sqlmodel import select

from sync import protocol as p
from sync.server.deps import (
    ClockDep,
    CurrentSupervisor,
    CurrentUser,
    DbDep,
    ProtocolChecked,
    SessionDep,
    SettingsDep,
)
from sync.server.models import Device, User
from sync.server.security import new_token, token_digest, verify_password
from sync.server.services.info import server_info

router = APIRouter(prefix="/auth", tags=["auth"], dependencies=[ProtocolChecked])


def _device(d: Device) -> p.DevicePublic:
    return p.DevicePublic.model_validate(d, from_attributes=True)


def _user(u: User) -> p.UserPublic:
    return p.UserPublic.model_validate(u, from_attributes=True)


@router.post(
    "/sign-in",
    response_model=p.SignInResponse,
    responses={401: {"description": "wrong username or password"}},
)
def sign_in(
    body: p.SignInRequest, db: DbDep, clock: ClockDep, settings: SettingsDep
) -> p.SignInResponse:
    with db.session() as session:
        user = session.exec(select(User).where(User.username == body.username)).first()
    ok = verify_password(body.password, user.password_hash if user else None)
    if user is None or not ok or not user.active:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="wrong username or password")
    token = new_token()
    with db.write() as session:
        device = session.get(Device, body.device_id) if body.device_id else None
        if device is not None and device.user_id != user.id:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail=f"device_id {body.device_id} belongs to another user; sign in without it",
            )
        if device is None:
            device = Device(
                id=body.device_id or uuid.uuid4(),
                user_id=user.id,
                name=body.device_name,
                token_hash=token_digest(token),
                created_at=clock.now(),
            )
            session.add(device)
        else:  # the same device again: a new token, the same mutation counter
            device.token_hash = token_digest(token)
            device.revoked_at = None
            device.name = body.device_name
        session.flush()
        answer = p.SignInResponse(
            token=token,
            device_id=device.id,
            last_mutation_id=device.last_mutation_id,
            user=_user(user),
            server=server_info(settings, clock),
        )
    return answer


@router.post("/sign-out", status_code=status.HTTP_204_NO_CONTENT)
def sign_out(who: CurrentUser, db: DbDep, clock: ClockDep) -> None:
    with db.write() as session:
        device = session.get(Device, who.device_id)
        if device is not None:
            device.revoked_at = clock.now()


@router.get("/me", response_model=p.UserPublic)
def me(who: CurrentUser, session: SessionDep) -> p.UserPublic:
    return _user(session.get(User, who.user_id))


@router.get("/devices", response_model=list[p.DevicePublic])
def devices(_: CurrentSupervisor, session: SessionDep) -> list[p.DevicePublic]:
    return [_device(d) for d in session.exec(select(Device).order_by(Device.created_at))]


@router.post(
    "/devices/{device_id}/revoke",
    response_model=p.DevicePublic,
    responses={404: {"description": "no such device"}},
)
def revoke(device_id: uuid.UUID, who: CurrentUser, db: DbDep, clock: ClockDep) -> p.DevicePublic:
    with db.write() as session:
        device = session.get(Device, device_id)
        if device is None or (not who.is_supervisor and device.user_id != who.user_id):
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, detail=f"device_id {device_id}: not found"
            )
        if device.revoked_at is None:
            device.revoked_at = clock.now()
        session.flush()
        return _device(device)
