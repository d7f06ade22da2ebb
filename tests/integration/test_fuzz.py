"""Schemathesis over the OpenAPI schema, bounded in examples and time: no response is a 500, a
refused request (4xx) changes nothing, and after every request the stock books balance."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from sqlalchemy import text

from sync.protocol import PROTOCOL_HEADER, PROTOCOL_VERSION
from sync.server.app import create_app
from sync.server.settings import Settings
from tests.integration.conftest import World, days, make_server, sign_in
from tests.integration.test_concurrency import check_no_oversell

pytestmark = pytest.mark.slow

TABLES = (
    "orders",
    "order_line",
    "shipment",
    "allocation",
    "eta_change",
    "change_log",
    "applied_mutation",
    "dead_letter",
    "conflict",
    "scheduled_receipt",
    "device",
    "account",
)


class Fuzzing:
    """The server under fuzz, its signed-in devices and the device's mutation counter."""

    def __init__(self, tmp_path) -> None:
        self.server = make_server(f"sqlite:///{tmp_path / 'fuzz.db'}")
        world = World(self.server.db).setup()
        world.user("rep1")
        world.user("boss", role="supervisor")
        world.account("rep1")
        world.account("rep1", policy="all_or_nothing")
        for sku, on_hand in (("A", 5), ("B", 0), ("C", 50)):
            world.product(sku, on_hand)
        world.receipt("B", 10, days(5))
        world.receipt("A", 4, days(9), kind="estimated")

        async def devices() -> tuple[Any, Any]:
            async with self.server.client() as client:
                return await sign_in(client, "rep1"), await sign_in(client, "boss")

        self.rep, self.boss = asyncio.run(devices())
        self.next_mutation = 1

    def fingerprint(self) -> str:
        """Everything a refused request must leave as it was."""
        with self.server.db.engine.connect() as conn:
            parts = [str(conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar()) for t in TABLES]
            parts += [
                repr(row)
                for row in conn.execute(
                    text("SELECT sku, on_hand, reserved FROM stock ORDER BY sku")
                )
            ]
            parts += [
                repr(row)
                for row in conn.execute(
                    text("SELECT id, status, version, needs_attention FROM orders ORDER BY id")
                )
            ]
            parts += [
                repr(row)
                for row in conn.execute(
                    text("SELECT id, contact_version, contact_phone FROM account ORDER BY id")
                )
            ]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()


@pytest.fixture(scope="module")
def fuzzing(tmp_path_factory) -> Fuzzing:
    state = Fuzzing(tmp_path_factory.mktemp("fuzz"))
    yield state
    state.server.db.dispose()


# The schema comes from an app that needs no database (the lazy fixture loader of this
# schemathesis version does not work with this pytest); cases are sent to the fuzzed server.
_schema_app = create_app(Settings(database_url="sqlite://", seed_on_start=False), prepare=False)
# Signing out would revoke the token every later case uses.
schema = schemathesis.openapi.from_asgi("/openapi.json", _schema_app).exclude(path="/auth/sign-out")
# Random fuzzing only: the boundary-value (coverage) phase would triple the run time, and
# test_bad_input.py walks those boundaries on purpose.
schema.config.phases.coverage.enabled = False


def steer(case: Any, fuzzing: Fuzzing) -> dict[str, str]:
    """Let fuzzed pushes reach the mutations: the caller's own device id and the next ids."""
    device = fuzzing.boss
    if case.path == "/sync/push" and isinstance(case.body, dict):
        device = fuzzing.rep
        case.body["device_id"] = device.device_id
        mutations = case.body.get("mutations")
        if isinstance(mutations, list):
            for mutation in mutations:
                if isinstance(mutation, dict):
                    mutation["mutation_id"] = fuzzing.next_mutation
                    fuzzing.next_mutation += 1
    return {PROTOCOL_HEADER: str(PROTOCOL_VERSION), **device.headers}


@schema.parametrize()
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_no_request_breaks_the_server_or_half_applies(case, fuzzing):
    before = fuzzing.fingerprint()
    start = fuzzing.next_mutation
    headers = steer(case, fuzzing)
    response = case.call(app=fuzzing.server.app, headers=headers)
    assert response.status_code < 500, (case.method, case.path, response.text[:500])
    if case.path == "/sync/push" and response.status_code >= 400:
        fuzzing.next_mutation = start  # nothing was applied: the ids are still free
    if response.status_code >= 400:
        assert fuzzing.fingerprint() == before, (case.method, case.path, response.status_code)
    check_no_oversell(fuzzing.server.db)
