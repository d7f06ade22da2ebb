"""The FastAPI application: `create_app()` builds it (engine, migrations, demo data on first
start), so tests and uvicorn workers alike get a ready app without relying on lifespan events."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware

from sync import protocol as p
from sync.server import errors, openapi
from sync.server.clock import Clock, SystemClock
from sync.server.context import Principal
from sync.server.db import Checkpoints, Database, make_engine
from sync.server.deps import TokenRules
from sync.server.hashing import HashPool
from sync.server.limits import BodyLimit
from sync.server.migrate import upgrade
from sync.server.routes import auth, purchasing, supervisor, sync, warehouse
from sync.server.services import daily
from sync.server.services.prefetch import Prefetcher
from sync.server.services.runner import Runner
from sync.server.services.slips import SlipCache
from sync.server.settings import Settings
from sync.server.textcheck import NoNul
from sync.server.throttle import Limits, SignInGate, SignInGuard

log = logging.getLogger(__name__)


def prepare_database(settings: Settings, db: Database) -> None:
    """Migrate to head and, on an empty database, seed the demo distributor."""
    if settings.migrate_on_start:
        upgrade(db.engine)
    if settings.seed_on_start:
        from sync.server.seed import seed_if_empty

        seed_if_empty(db, settings)


SYSTEM = Principal(0, "system", "system", "supervisor", None)


async def _each_new_day(app: FastAPI) -> None:
    """Once per business day (checked every few minutes, and at start), re-date what time
    moves (services/daily.py). Several workers may each do it: the second finds nothing."""
    settings: Settings = app.state.settings
    last = None
    while True:
        today = app.state.clock.today()
        if today != last:
            runner = Runner(app.state.db, app.state.clock, settings, SYSTEM)
            try:
                await anyio.to_thread.run_sync(runner.write, daily.new_day)
                last = today
            except Exception:  # logged; tried again at the next check
                logging.getLogger(__name__).exception("the new day's re-dating failed")
        await asyncio.sleep(settings.new_day_check_seconds)


def create_app(
    settings: Settings | None = None, *, clock: Clock | None = None, prepare: bool = True
) -> FastAPI:
    settings = settings or Settings()
    db = Database(
        make_engine(settings.database_url, echo=settings.sql_echo, pool_size=settings.db_pool_size)
    )
    db.slips = SlipCache()
    if prepare:
        prepare_database(settings, db)
    app_checkpoints = Checkpoints(db.engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Under uvicorn: fewer threads than anyio's default 40 means less GIL and lock
        # contention for the same work (requests queue in the event loop instead).
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.threads
        app.state.pushers = pushers = _pushers(settings)  # a fresh pool each time it serves
        days = asyncio.create_task(_each_new_day(app)) if settings.new_day_check_seconds else None
        with app_checkpoints.serving():
            yield
        if days is not None:
            days.cancel()
        pushers.shutdown(wait=False)
        app.state.hashes.shutdown()

    app = FastAPI(
        lifespan=lifespan,
        title="Field sales server",
        version=f"protocol {p.PROTOCOL_VERSION}",
        description="Authoritative stock, order commit, receipts, supervisor API and sync.",
    )
    app.state.settings = settings
    app.state.db = db
    app.state.checkpoints = app_checkpoints
    app.state.clock = clock = clock or SystemClock(settings.timezone)
    app.state.token_rules = TokenRules.of(settings, clock)
    # Sign-in limits and the password-hash pool: per process (see throttle.py, hashing.py).
    app.state.signin_guard = SignInGuard(
        clock,
        Limits(
            user_free=settings.signin_user_free_failures,
            address_free=settings.signin_address_free_failures,
            delay=settings.signin_delay_seconds,
            max_delay=settings.signin_max_delay_seconds,
            burst=settings.signin_address_burst,
            per_minute=settings.signin_address_per_minute,
        ),
    )
    app.state.hashes = HashPool(settings.signin_hash_threads, settings.signin_hash_waiting)
    app.state.prefetch = Prefetcher(db, enabled=settings.snapshot_prefetch)
    app.state.pushers = _pushers(settings)  # for use without a lifespan (tests in process)
    errors.install(app)
    app.add_middleware(GZipMiddleware, minimum_size=1000, compresslevel=settings.gzip_level)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(NoNul)
    app.add_middleware(SignInGate, guard=app.state.signin_guard)

    @app.get("/health", tags=["meta"])
    def health() -> dict[str, object]:
        return {"ok": True, "protocol_version": p.PROTOCOL_VERSION}

    app.include_router(auth.router)
    app.include_router(auth.supervising)
    app.include_router(sync.router)
    app.include_router(warehouse.router)
    app.include_router(purchasing.router)
    app.include_router(supervisor.router)
    openapi.install(app)
    return app


def _pushers(settings: Settings) -> ThreadPoolExecutor:
    """Threads for the pushes' blocking work (routes/sync.py): handing work to a plain executor
    costs the server about 0.2 ms of CPU less per request than anyio's thread pool. Its
    threads start on first use."""
    return ThreadPoolExecutor(settings.push_threads, thread_name_prefix="push")


def app_factory() -> FastAPI:
    """For `uvicorn --factory sync.server.app:app_factory` (workers: settings from env)."""
    app = create_app()
    # What a worker holds once started (modules, the app, SQLAlchemy's and pydantic's schemas)
    # lives as long as the process: out of the garbage collector's full passes, which a push of
    # a hundred orders sets off a few times (measured: 7% of its CPU).
    gc.collect()
    gc.freeze()
    return app
