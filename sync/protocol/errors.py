"""The bodies of error answers, as the server sends them (for the OpenAPI schema and clients)."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict

from sync.protocol.common import Response


class ErrorDetail(Response):
    """401, 403, 404, 413, 426, 429 and most 409s: what was wrong and what to do, in words."""

    detail: str


class ValidationIssue(Response):
    """One problem of a request, where FastAPI found it (`loc`: body, query, path, header,
    then the field's path)."""

    type: str
    loc: list[str | int]
    msg: str
    ctx: dict[str, Any] | None = None


class ValidationProblem(Response):
    """422: the request does not fit the schema (`detail` lists each problem) or names what
    does not exist (`detail` in words); `message` says it in one line, naming the field."""

    detail: list[ValidationIssue] | str
    message: str


class ConflictProblem(Response):
    """409: the request conflicts with the state it met; some carry more fields (a push's gap:
    `last_applied` and `expected`; a pull ahead of the server: `resync`)."""

    model_config = ConfigDict(extra="allow")

    detail: str
