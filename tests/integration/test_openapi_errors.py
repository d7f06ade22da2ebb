"""The OpenAPI schema documents the errors the server really sends (issue 15 item 13): 401 on
every route that wants a token, 403 on every route with a role check, and 422 and 409 bodies in
the shapes the handlers send, checked against real answers with the schema's own JSON schema.
The sign-in's 403 does not tell whether a device id exists."""

from __future__ import annotations

import uuid
from typing import Any

import jsonschema_rs  # schemathesis's own validator

from sync.server.routes.auth import DEVICE_REFUSED
from tests.integration.conftest import PASSWORD, place_order, sign_in


def _documented(schema: dict[str, Any], path: str, method: str, status: int) -> dict[str, Any]:
    response = schema["paths"][path][method]["responses"][str(status)]
    return response["content"]["application/json"]["schema"]


def _check(schema: dict[str, Any], path: str, method: str, response: Any) -> None:
    """The real body validates against what the schema documents for its status."""
    documented = _documented(schema, path, method, response.status_code)
    # Raises, naming the mismatch.
    jsonschema_rs.validate({**documented, "components": schema["components"]}, response.json())


async def test_protected_routes_document_401_403_and_the_real_422_and_409_bodies(server):
    schema = server.app.openapi()
    assert "HTTPValidationError" not in str(schema)
    role_checked = 0
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            where = (method, path)
            if operation.get("security"):
                assert "401" in responses, where
                assert _documented(schema, path, method, 401)["$ref"].endswith("/ErrorDetail")
            if path.startswith(("/supervisor/", "/warehouse/")) or path == "/auth/devices":
                assert "403" in responses, where
                role_checked += 1
            if "422" in responses:
                ref = _documented(schema, path, method, 422)["$ref"]
                assert ref.endswith("/ValidationProblem"), where
            if "409" in responses:
                assert "content" in responses["409"], where
    assert role_checked >= 30


async def test_real_error_bodies_fit_the_documented_schemas(server, client, world):
    schema = server.app.openapi()
    world.user("rep1")
    world.user("boss", role="supervisor")
    account = world.account("rep1")
    world.product("A", 5)
    rep = await sign_in(client, "rep1")
    # 422 as FastAPI finds it (a list of problems), as a route says it (a sentence), and for
    # a NUL byte in the query (the middleware).
    missing = await client.post("/auth/sign-in", json={"username": "rep1"})
    assert missing.status_code == 422
    _check(schema, "/auth/sign-in", "post", missing)
    after = await rep.get("/sync/snapshot", section="accounts", after="not-a-number")
    assert after.status_code == 422 and isinstance(after.json()["detail"], str)
    _check(schema, "/sync/snapshot", "get", after)
    nul = await rep.get("/sync/snapshot", section="products", after="\x00")
    assert nul.status_code == 422
    _check(schema, "/sync/snapshot", "get", nul)
    # 409: a push's gap and a pull ahead of the server.
    gap = await rep.raw_push([{**place_order(account, ("A", 1)), "mutation_id": 5,
                               "client_time": "2025-03-03T09:00:00+00:00"}])  # fmt: skip
    assert gap.status_code == 409
    _check(schema, "/sync/push", "post", gap)
    ahead = await rep.get("/sync/pull", cursor=10**9)
    assert ahead.status_code == 409
    _check(schema, "/sync/pull", "get", ahead)
    # 401 and 403.
    anonymous = await client.get("/sync/info")
    assert anonymous.status_code == 401
    _check(schema, "/sync/info", "get", anonymous)
    refused = await rep.get("/supervisor/orders")
    assert refused.status_code == 403
    _check(schema, "/supervisor/orders", "get", refused)


async def test_the_sign_in_403_says_the_same_whoever_owns_the_device_id(client, world):
    world.user("rep1")
    world.user("rep2")
    world.user("boss", role="supervisor")
    first = await sign_in(client, "rep1")
    second = await sign_in(client, "rep2")
    boss = await sign_in(client, "boss")
    assert (await boss.post(f"/auth/devices/{second.device_id}/revoke")).status_code == 200
    theirs = await client.post(
        "/auth/sign-in",
        json={"username": "rep2", "password": PASSWORD, "device_id": first.device_id},
    )
    blocked = await client.post(
        "/auth/sign-in",
        json={"username": "rep2", "password": PASSWORD, "device_id": second.device_id},
    )
    assert theirs.status_code == blocked.status_code == 403
    assert theirs.json() == blocked.json() == {"detail": DEVICE_REFUSED}
    assert "another user" not in DEVICE_REFUSED and first.device_id not in DEVICE_REFUSED
    # An id nobody has is registered as this device's (as before): nothing to tell either.
    fresh = str(uuid.uuid4())
    assert (await sign_in(client, "rep2", device_id=fresh)).device_id == fresh
