"""The device's sync endpoints: push mutations, pull changes, read a snapshot."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from sync import protocol as p
from sync.server.deps import (
    ClockDep,
    CurrentUser,
    DbDep,
    ProtocolChecked,
    SessionDep,
    SettingsDep,
    TokenDep,
    TokenRulesDep,
    authenticate,
    push_caller,
)
from sync.server.services import feed
from sync.server.services.info import server_info
from sync.server.services.prefetch import Key, Prefetcher
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
async def push(
    request: Request,
    body: p.PushRequest,
    token: TokenDep,
    db: DbDep,
    clock: ClockDep,
    settings: SettingsDep,
    rules: TokenRulesDep,
) -> Response:
    def work() -> bytes:
        # The token is checked inside the push's own transaction, on its connection.
        caller = partial(push_caller, token=token.credentials, rules=rules)
        answer = Pusher(db, clock, settings).push(caller, body)
        # Already a validated PushResponse: serialise it once, skip FastAPI's second validation.
        return answer.model_dump_json().encode()

    loop = asyncio.get_running_loop()
    answer = await loop.run_in_executor(request.app.state.pushers, work)
    return Response(answer, media_type="application/json")


@router.get(
    "/pull",
    response_model=p.PullPage,
    responses={409: {"description": "the cursor is ahead of the server: resync"}},
)
async def pull(
    token: TokenDep,
    db: DbDep,
    rules: TokenRulesDep,
    cursor: Annotated[int, Query(ge=0, le=2**62, description="the last seq applied")] = 0,
    limit: Annotated[int, Query(ge=1, le=p.MAX_PAGE)] = 500,
) -> Response:
    # The page is built as JSON text in the shape of p.PullPage (see feed.py): returned as is,
    # FastAPI neither validates nor serialises it again.
    def work() -> bytes:
        who = authenticate(db, token, rules)
        with db.session() as session:
            return feed.pull_json(session, who, cursor, limit)

    return Response(await run_in_threadpool(work), media_type="application/json")


@router.get("/snapshot-counts", response_model=p.SnapshotCounts)
def snapshot_counts(who: CurrentUser, session: SessionDep) -> p.SnapshotCounts:
    """Records per section of the caller's snapshot: ask before a first download to draw its
    progress."""
    return p.SnapshotCounts(sections=feed.snapshot_counts(session, who))


@router.get(
    "/snapshot",
    response_model=p.SnapshotPage,
    responses={422: {"description": "unknown section or a malformed `after`"}},
)
async def snapshot(
    request: Request,
    token: TokenDep,
    db: DbDep,
    settings: SettingsDep,
    rules: TokenRulesDep,
    section: p.SnapshotSection,
    after: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=p.MAX_PAGE)] = 1000,
) -> Response:
    # Built as JSON text in the shape of p.SnapshotPage (see feed.py), often ahead of the
    # request while the device wrote the previous page (see prefetch.py).
    prefetch: Prefetcher = request.app.state.prefetch
    gzip_ok = "gzip" in request.headers.get("accept-encoding", "")
    key = Key(section, after, limit, settings.gzip_level if gzip_ok else None)

    def work() -> Response:
        who = authenticate(db, token, rules)
        with db.session() as session:
            served = prefetch.take(session, who, key)
            if served is not None:
                page, headers = served.page, {"Vary": "Accept-Encoding"}
                if served.gzipped:
                    headers["Content-Encoding"] = "gzip"
                response = Response(served.body, media_type="application/json", headers=headers)
            else:
                page = feed.snapshot_page(session, who, section, after, limit)
                response = Response(page.body, media_type="application/json")
        prefetch.offer(who, page, limit, key.gzip_level)
        return response

    return await run_in_threadpool(work)
