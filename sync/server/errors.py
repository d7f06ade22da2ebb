"""Error answers: each names what was wrong and what to do. Validation errors get a one-line
`message` naming the field, beside FastAPI's usual `detail` list."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from app.domain.model import DomainError
from sync import protocol as p
from sync.protocol import MUTATION_NAMES
from sync.server.services.feed import BadAfter, CursorAhead
from sync.server.services.push import Gap, WrongDevice
from sync.server.services.refusals import Conflict, NotFound, Refusal, Unprocessable
from sync.server.throttle import Throttled

# Error answers for the OpenAPI schema (`responses=` of a route), in the shapes sent.
AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {
        "model": p.ErrorDetail,
        "description": "no token, or an unknown, revoked, retired or expired one: sign in again",
    },
}
FORBIDDEN: dict[int | str, dict[str, Any]] = {
    403: {"model": p.ErrorDetail, "description": "the caller's role may not do this"},
}
VALIDATION: dict[int | str, dict[str, Any]] = {
    422: {"model": p.ValidationProblem, "description": "the request is not valid: names the field"},
}
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": p.ConflictProblem, "description": "the request conflicts with the state"},
}
THROTTLED: dict[int | str, dict[str, Any]] = {
    429: {
        "model": p.ErrorDetail,
        "description": "too many sign-ins (for this user name or address), or the server is "
        "busy checking others: wait the seconds Retry-After says",
        "headers": {
            "Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}
        },
    },
}


def _where(loc: tuple[Any, ...] | list[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in MUTATION_NAMES:
            continue  # the discriminator's branch name, not a field
        else:
            out += f".{part}" if out else str(part)
    return out


def _say(error: dict[str, Any]) -> str:
    if error.get("type") == "json_invalid":
        why = (error.get("ctx") or {}).get("error", "")
        return f"body: not valid JSON ({why}) at character {error.get('loc', ('', '?'))[-1]}"
    return f"{_where(error.get('loc', ()))}: {error.get('msg', 'invalid')}"


def validation_message(errors: list[dict[str, Any]]) -> str:
    parts = [_say(e) for e in errors[:5]]
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return "; ".join(parts) + more


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [dict(e) for e in exc.errors()]
        for e in errors:
            e.pop("input", None)  # never echo (possibly huge) input back
            if isinstance(e.get("ctx"), dict):  # e.g. {"error": ValueError(...)}: as text
                e["ctx"] = {k: str(v) for k, v in e["ctx"].items()}
        return JSONResponse(
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
            content=jsonable_encoder({"detail": errors, "message": validation_message(errors)}),
        )

    @app.exception_handler(Throttled)
    async def _throttled(_: Request, exc: Throttled) -> JSONResponse:
        return JSONResponse(
            status_code=status.HTTP_429_TOO_MANY_REQUESTS,
            content={"detail": str(exc)},
            headers={"Retry-After": str(exc.retry_after)},
        )

    @app.exception_handler(Gap)
    async def _gap(_: Request, exc: Gap) -> JSONResponse:
        return JSONResponse(
            status_code=status.HTTP_409_CONFLICT,
            content={
                "detail": str(exc),
                "last_applied": exc.last_applied,
                "expected": exc.expected,
            },
        )

    @app.exception_handler(WrongDevice)
    async def _wrong_device(_: Request, exc: WrongDevice) -> JSONResponse:
        return JSONResponse(status_code=status.HTTP_403_FORBIDDEN, content={"detail": str(exc)})

    @app.exception_handler(CursorAhead)
    async def _ahead(_: Request, exc: CursorAhead) -> JSONResponse:
        return JSONResponse(
            status_code=status.HTTP_409_CONFLICT,
            content={"detail": f"{exc}: download a fresh snapshot", "resync": True},
        )

    @app.exception_handler(BadAfter)
    async def _bad_after(_: Request, exc: BadAfter) -> JSONResponse:
        return JSONResponse(
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
            content={"detail": str(exc), "message": str(exc)},
        )

    @app.exception_handler(Unprocessable)
    async def _unprocessable(_: Request, exc: Unprocessable) -> JSONResponse:
        return JSONResponse(
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
            content={"detail": str(exc), "message": str(exc)},
        )

    @app.exception_handler(NotFound)
    async def _not_found(_: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse(status_code=status.HTTP_404_NOT_FOUND, content={"detail": str(exc)})

    @app.exception_handler(Conflict)
    async def _conflict(_: Request, exc: Conflict) -> JSONResponse:
        body = {"detail": str(exc), **exc.body}
        return JSONResponse(status_code=status.HTTP_409_CONFLICT, content=jsonable_encoder(body))

    @app.exception_handler(DomainError)
    async def _rule(_: Request, exc: DomainError) -> JSONResponse:
        # A business rule of app.domain refused the data it was given (outside a push, where it
        # is a verdict): the request conflicts with the state it met.
        return JSONResponse(status_code=status.HTTP_409_CONFLICT, content={"detail": str(exc)})

    @app.exception_handler(Refusal)
    async def _refused(_: Request, exc: Refusal) -> JSONResponse:
        # Outside a push (where it is a verdict), a business "no" is a conflict with the state.
        return JSONResponse(status_code=status.HTTP_409_CONFLICT, content={"detail": exc.reason})
