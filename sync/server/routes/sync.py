"""The device's sync endpoints: push mutations, pull changes, read a snapshot."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from sync import protocol as p
from sync.server.deps import ClockDep, CurrentUser, DbDep, ProtocolChecked, SessionDep, SettingsDep
from sync.server.services import feed
from sync.server.services.info import server_info
from sync.server.services.push import Pusher

router = APIRouter(prefix="/sync", tags=["sync"], dependencies=[ProtocolChecked])


@router.get("/info", response_model=p.ServerInfo)
def info(_: CurrentUser, settings: SettingsDep, clock: ClockDep) -> p.ServerInfo:
    return server_info(settings, clock)


@router.post(
    "/push",
    response_model=p.PushResponse,
    responses={
        403: {"description": "the token belongs to another device"},
        409: {"model": p.GapDetail, "description": "mutation ids skip: resend from `expected`"},
        413: {"description": "the request body is too large"},
    },
)
def push(
    body: p.PushRequest, who: CurrentUser, db: DbDep, clock: ClockDep, settings: SettingsDep
) -> Response:
    answer = Pusher(db, clock, settings).push(who, body)
    # Already a validated PushResponse: serialise it once, skip FastAPI's second validation.
    return Response(answer.model_dump_json(), media_type="application/json")


@router.get(
    "/pull",
    response_model=p.PullPage,
    responses={409: {"description": "the cursor is ahead of the server: resync"}},
)
def pull(
    who: CurrentUser,
    session: SessionDep,
    cursor: Annotated[int, Query(ge=0, le=2**62, description="the last seq applied")] = 0,
    limit: Annotated[int, Query(ge=1, le=p.MAX_PAGE)] = 500,
) -> Any:
    return feed.pull(session, who, cursor, limit)


@router.get(
    "/snapshot",
    response_model=p.SnapshotPage,
    responses={422: {"description": "unknown section or a malformed `after`"}},
)
def snapshot(
    who: CurrentUser,
    session: SessionDep,
    section: p.SnapshotSection,
    after: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=p.MAX_PAGE)] = 1000,
) -> Any:
    return feed.snapshot(session, who, section, after, limit)
