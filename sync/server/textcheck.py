"""No NUL byte in a request's path or query, as plain ASGI middleware: PostgreSQL cannot store
one (a 500 there, stored as is on SQLite), so it is refused before any route runs, with the same
422 shape as a validation error naming the parameter. Bodies are checked by the protocol's
request models (sync/protocol/common.py)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from sync.protocol.common import NUL

Scope = dict[str, Any]
WHY = "must not contain a NUL byte (\\u0000): remove it and send again"


def nul_parameters(scope: Scope) -> list[list[str]]:
    """The locations (FastAPI style) of NUL bytes in the path and query of a request."""
    found: list[list[str]] = []
    if NUL in scope.get("path", ""):
        found.append(["path"])
    query: bytes = scope.get("query_string") or b""
    if b"%00" in query or b"\x00" in query:
        for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
            if NUL in name or NUL in value:
                found.append(["query", name.replace(NUL, "\\u0000")])
    return found


class NoNul:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        found = nul_parameters(scope) if scope["type"] == "http" else []
        if not found:
            await self.app(scope, receive, send)
            return
        errors = [{"type": "nul_byte", "loc": loc, "msg": WHY} for loc in found]
        message = "; ".join(f"{'.'.join(loc)}: {WHY}" for loc in found)
        body = json.dumps({"detail": errors, "message": message}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 422,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
