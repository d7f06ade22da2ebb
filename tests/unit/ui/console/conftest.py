"""The console's state classes against the real server in process (httpx.ASGITransport), with
test data built by the integration tests' World. `Line` is an httpx transport around the server
that can be cut (nothing arrives), lose answers (the server acts, the answer is lost), or hold
chosen requests until the test releases them."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from app.ui.console.session import ConsoleSession
from sync.protocol import PROTOCOL_HEADER, PROTOCOL_VERSION
from sync.server.db import make_engine
from sync.server.migrate import upgrade
from sync.supervisor import SupervisorClient
from tests.integration.conftest import Device, Server, World, make_server, sign_in

URL = "http://server"


@dataclass
class Line(httpx.AsyncBaseTransport):
    inner: httpx.AsyncBaseTransport
    mode: str = "up"  # up | down (refuse to connect) | lose (apply, then lose the answer)
    slow: str = ""  # requests whose URL contains this answer 0.3 s late
    # Requests whose URL contains `hold` wait (before reaching the server) until `release` is
    # set; `held` is set as soon as the first of them has arrived and waits.
    hold: str = ""
    held: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    answers: list[str] = field(default_factory=list)  # the URL of each answer, in order

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.hold and self.hold in str(request.url):
            self.held.set()
            await self.release.wait()
        if self.slow and self.slow in str(request.url):
            await asyncio.sleep(0.3)
        if self.mode == "down":
            raise httpx.ConnectError("connection refused", request=request)
        response = await self.inner.handle_async_request(request)
        if self.mode == "lose":
            await response.aread()
            raise httpx.ReadTimeout("the answer was lost", request=request)
        self.answers.append(str(request.url))
        return response


@pytest.fixture(scope="session")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("console-template") / "server.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture
def server(tmp_path: Path, migrated: Path):
    target = tmp_path / "server.db"
    shutil.copy(migrated, target)
    srv = make_server(f"sqlite:///{target}")
    yield srv
    srv.db.dispose()


@pytest.fixture
def line(server: Server) -> Line:
    return Line(httpx.ASGITransport(app=server.app))


@pytest.fixture
async def http(line: Line) -> AsyncIterator[httpx.AsyncClient]:
    headers = {PROTOCOL_HEADER: str(PROTOCOL_VERSION)}
    async with httpx.AsyncClient(transport=line, base_url=URL, headers=headers) as client:
        yield client


@pytest.fixture
def world(server: Server) -> World:
    world = World(server.db).setup()
    world.user("boss", role="supervisor")
    return world


@pytest.fixture
async def boss(http: httpx.AsyncClient, world: World) -> Device:
    return await sign_in(http, "boss")


@pytest.fixture
def session(http: httpx.AsyncClient, boss: Device) -> ConsoleSession:
    return ConsoleSession(SupervisorClient(http, URL, boss.token))
