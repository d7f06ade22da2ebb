"""The OpenAPI schema as the server really answers: every route that wants a token documents
401, every route with a role check 403, every route checking the protocol header 426, and the
422 and 409 bodies in the shapes the error handlers send (errors.py), not FastAPI's default
422 model. Derived from the routes themselves, so a route added later is documented too."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel

from sync import protocol as p
from sync.server.deps import check_protocol, get_rep, get_supervisor

_REF = "#/components/schemas/{model}"


def _api_routes(app: FastAPI) -> list[APIRoute]:
    """The app's routes as the schema sees them (FastAPI 0.16x includes routers lazily)."""
    try:
        from fastapi.openapi.utils import _get_api_route_for_openapi
        from fastapi.routing import iter_route_contexts
    except ImportError:  # a FastAPI whose app.routes lists every route itself
        return [r for r in app.routes if isinstance(r, APIRoute)]
    found = (_get_api_route_for_openapi(c) for c in iter_route_contexts(app.routes))
    return [r for r in found if r is not None]


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dep in dependant.dependencies:
        if dep.call is not None:
            yield dep.call
        yield from _calls(dep)


def _json(model: type[BaseModel]) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": _REF.format(model=model.__name__)}}}


def _answer(responses: dict[str, Any], code: str, model: type[BaseModel], words: str) -> None:
    entry = responses.setdefault(code, {"description": words})
    entry["content"] = entry.get("content") or _json(model)


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in (p.ErrorDetail, p.ValidationProblem, p.ConflictProblem):
            body = model.model_json_schema(ref_template=_REF)
            components.update(body.pop("$defs", {}))
            components[model.__name__] = body
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        for route in _api_routes(app):
            calls = set(_calls(route.dependant))
            for method in route.methods:
                operation = schema["paths"][route.path_format].get(method.lower())
                if operation is None:
                    continue
                responses = operation["responses"]
                if operation.get("security"):
                    _answer(
                        responses,
                        "401",
                        p.ErrorDetail,
                        "no token, or an unknown, revoked, retired or expired one: sign in again",
                    )
                if calls & {get_rep, get_supervisor}:
                    _answer(responses, "403", p.ErrorDetail, "the caller's role may not do this")
                elif "403" in responses:
                    _answer(responses, "403", p.ErrorDetail, "refused")
                if check_protocol in calls:
                    _answer(
                        responses,
                        "426",
                        p.ErrorDetail,
                        "the client's protocol version is not the server's: says which to update",
                    )
                if "422" in responses:
                    responses["422"]["content"] = _json(p.ValidationProblem)
                if "409" in responses and "content" not in responses["409"]:
                    _answer(responses, "409", p.ConflictProblem, "conflicts with the state")
                for code in ("404", "413", "429"):
                    if code in responses:
                        _answer(responses, code, p.ErrorDetail, "refused")
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
