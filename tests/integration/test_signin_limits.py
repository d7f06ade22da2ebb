"""Sign-in limits (issue 15 items 2 and 3): failed attempts per user name and per client address
with growing delays (429 with Retry-After; the right password is refused too until the delay has
passed), a rate of attempts per address, and password hashes on a bounded pool of their own.
The server's clock moves instead of the test sleeping. The limits live in memory (per process),
so both backends behave alike; they run on both anyway, as the sign-in reads the database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import update

from app.store import sync_status
from sync.engine import SignInError
from sync.protocol import PROTOCOL_HEADER, PROTOCOL_VERSION
from sync.server.models import User
from sync.server.security import hash_password
from tests.integration.conftest import PASSWORD, Server, World, make_server


def at(server: Server, address: str) -> httpx.AsyncClient:
    """A client calling from `address` (the ASGI scope's client)."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=server.app, client=(address, 40000)),
        base_url="http://server",
        headers={PROTOCOL_HEADER: str(PROTOCOL_VERSION)},
    )


async def attempt(client: httpx.AsyncClient, user: str, password: str = PASSWORD) -> httpx.Response:
    return await client.post("/auth/sign-in", json={"username": user, "password": password})


@pytest.fixture
async def office(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with at(server, "10.0.0.1") as c:
        yield c


async def test_failures_for_a_user_lock_it_with_growing_delays_even_for_the_right_password(
    server, office, world
):
    world.user("rep1")
    for _ in range(6):  # five free failures, the sixth starts a one-second lock
        assert (await attempt(office, "rep1", "guess")).status_code == 401
    locked = await attempt(office, "rep1")
    assert locked.status_code == 429, locked.text
    assert locked.headers["Retry-After"] == "1"
    assert "too many failed sign-ins for this user name" in locked.json()["detail"]
    server.clock.advance(seconds=1.1)
    assert (await attempt(office, "rep1", "guess")).status_code == 401  # the delay doubles
    again = await attempt(office, "rep1")
    assert again.status_code == 429 and again.headers["Retry-After"] == "2"
    # Another address is held back too: the lock is the user name's.
    async with at(server, "10.0.0.2") as elsewhere:
        assert (await attempt(elsewhere, "rep1")).status_code == 429
    server.clock.advance(seconds=2.1)
    assert (await attempt(office, "rep1")).status_code == 200
    # A success clears the user name's count: one slip costs nothing now.
    assert (await attempt(office, "rep1", "guess")).status_code == 401
    assert (await attempt(office, "rep1")).status_code == 200


async def test_an_unknown_user_name_is_limited_like_a_known_one(server, office, world):
    # The answers must not tell which names exist.
    world.user("rep1")
    for name in ("rep1", "nobody"):
        answers = [(await attempt(office, name, "guess")).status_code for _ in range(7)]
        assert answers == [401] * 6 + [429], (name, answers)


async def test_failures_from_one_address_lock_the_address_not_other_addresses(
    server, office, world
):
    world.user("rep1")
    for n in range(21):  # known names: their hashes are the cheap test ones
        world.user(f"user{n}")
    for n in range(20):  # different names: no user name reaches its own limit
        assert (await attempt(office, f"user{n}", "guess")).status_code == 401
    assert (await attempt(office, "user20", "guess")).status_code == 401  # 21st: locked
    refused = await attempt(office, "rep1")
    assert refused.status_code == 429 and "this address" in refused.json()["detail"]
    async with at(server, "10.0.0.2") as elsewhere:
        assert (await attempt(elsewhere, "rep1")).status_code == 200
    server.clock.advance(seconds=1.1)
    assert (await attempt(office, "rep1")).status_code == 200


@pytest.fixture
def strict(database_url: str):
    srv = make_server(database_url, signin_address_burst=3, signin_address_per_minute=60)
    yield srv
    srv.db.dispose()


async def test_an_address_gets_a_burst_of_sign_ins_then_a_rate(strict):
    world = World(strict.db).setup()
    world.user("rep1")
    async with at(strict, "10.0.0.1") as office:
        for _ in range(3):
            assert (await attempt(office, "rep1")).status_code == 200
        refused = await attempt(office, "rep1")
        assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
        assert "too many sign-ins from this address" in refused.json()["detail"]
        strict.clock.advance(seconds=1)
        assert (await attempt(office, "rep1")).status_code == 200


@pytest.fixture
def one_hash(database_url: str):
    srv = make_server(database_url, signin_hash_threads=1, signin_hash_waiting=1)
    yield srv
    srv.db.dispose()


async def test_password_hashes_queue_on_a_bounded_pool_and_the_rest_are_told_to_wait(one_hash):
    # Real (slow) argon2 hashes: while one runs and one waits, further sign-ins are refused
    # at once with 429 and Retry-After, not queued behind them; sync stays served meanwhile.
    world = World(one_hash.db).setup()
    names = [f"rep{n}" for n in range(6)]
    for name in names:
        world.user(name)
    with one_hash.db.write() as s:
        s.exec(update(User).values(password_hash=hash_password(PASSWORD)))
    async with at(one_hash, "10.0.0.1") as office:
        answers = await asyncio.gather(*(attempt(office, name) for name in names))
    codes = sorted(a.status_code for a in answers)
    assert codes.count(200) >= 2 and codes.count(429) >= 1, codes
    busy = next(a for a in answers if a.status_code == 429)
    assert int(busy.headers["Retry-After"]) >= 1
    assert "busy checking other sign-ins" in busy.json()["detail"]
    async with at(one_hash, "10.0.0.1") as office:  # nothing left waiting: all go through
        for a, name in zip(answers, names, strict=True):
            if a.status_code == 429:
                assert (await attempt(office, name)).status_code == 200


async def test_the_device_says_in_words_when_it_must_wait_to_sign_in(world, make_engine):
    world.user("rep1")
    engine = make_engine("a")
    for _ in range(6):
        with pytest.raises(SignInError, match="wrong user name or password"):
            await engine.sign_in("rep1", "guess")
    with pytest.raises(SignInError, match=r"too many failed sign-ins .* try again in 1 s"):
        await engine.sign_in("rep1", PASSWORD)
    assert sync_status(engine.store, online=True).pending_count == 0
