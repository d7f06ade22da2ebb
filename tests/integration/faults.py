"""A transport that misbehaves like a field network, around the real server's ASGI transport.

It drops requests before they arrive, drops answers after the server applied them, sends a request
twice, delays, and cuts pull answers in the middle of a page. Odds are per request and drawn from a
seeded random generator, so a failing run can be replayed.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from dataclasses import dataclass, field

import httpx


@dataclass
class Odds:
    drop_request: float = 0.1
    drop_response: float = 0.1
    duplicate: float = 0.1
    delay: float = 0.1
    cut_pull: float = 0.1
    max_delay: float = 0.02


@dataclass
class FaultyTransport(httpx.AsyncBaseTransport):
    inner: httpx.AsyncBaseTransport
    rng: random.Random
    odds: Odds = field(default_factory=Odds)
    seen: Counter[str] = field(default_factory=Counter)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        if self.rng.random() < self.odds.drop_request:
            self.seen["dropped request"] += 1
            raise httpx.ConnectError("the request was lost on the way", request=request)
        if self.rng.random() < self.odds.delay:
            self.seen["delayed"] += 1
            await asyncio.sleep(self.rng.uniform(0, self.odds.max_delay))
        if self.rng.random() < self.odds.duplicate:
            self.seen["duplicated"] += 1
            twin = httpx.Request(request.method, request.url, headers=request.headers, content=body)
            await (await self.inner.handle_async_request(twin)).aread()
        response = await self.inner.handle_async_request(request)
        content = await response.aread()
        if self.rng.random() < self.odds.drop_response:
            self.seen["dropped response"] += 1
            raise httpx.ReadError("the answer was lost on the way back", request=request)
        if request.url.path.endswith("/sync/pull") and self.rng.random() < self.odds.cut_pull:
            # The connection closes mid-body: httpx sees fewer bytes than announced.
            self.seen["cut pull"] += 1
            raise httpx.RemoteProtocolError(
                f"peer closed connection after {len(content) // 2} of {len(content)} bytes",
                request=request,
            )
        headers = [
            (k, v)
            for k, v in response.headers.items()
            if k.lower() not in ("content-encoding", "content-length")
        ]
        return httpx.Response(response.status_code, headers=headers, content=content)
