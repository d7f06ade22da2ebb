"""Server settings from the environment (prefix FIELDSALES_SERVER_; DATABASE_URL also works).

Nothing is required: without configuration the server keeps a SQLite file in the user's data
folder and listens on 127.0.0.1:8765.
"""

from __future__ import annotations

from pathlib import Path

import platformdirs
from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.domain.model import AllocationPolicy

APP_NAME = "fieldsales-server"


def default_database_url() -> str:
    folder = Path(platformdirs.user_data_path(APP_NAME))
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'server.db'}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="FIELDSALES_SERVER_", extra="ignore", populate_by_name=True
    )

    database_url: str = Field(
        default_factory=default_database_url,
        validation_alias=AliasChoices("DATABASE_URL", "FIELDSALES_SERVER_DATABASE_URL"),
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8765, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=32)
    # How receipts and freed stock are shared among waiting lines (and how new lines rank).
    allocation_policy: AllocationPolicy = AllocationPolicy.FIFO
    # The business calendar: "today", weekly trends and delivery days are read in this zone.
    timezone: str = "UTC"
    service_level: float = Field(default=0.95, gt=0, lt=1)
    # Dates are promised at this confidence, from how late each supplier has been (empty: trust
    # every receipt's date as it is, as before).
    promise_confidence: float | None = Field(default=0.95, gt=0, lt=1)
    # How often the server checks whether a new business day began (then it re-dates what time
    # moves: services/daily.py); 0 turns it off (tests and simulations call /warehouse/new-day).
    new_day_check_seconds: float = Field(default=300, ge=0)
    demand_history_days: int = Field(default=56, ge=2, le=730)
    # Run `alembic upgrade head` when the app starts, and seed demo data into an empty database.
    migrate_on_start: bool = True
    seed_on_start: bool = True
    seed_products: int = Field(default=2000, ge=10, le=200_000)
    seed_accounts: int = Field(default=200, ge=5, le=100_000)
    seed: int = 42
    max_body_bytes: int = Field(default=2_000_000, ge=1024)
    # gzip level of responses (when the client accepts gzip). 1, as nginx's default: a snapshot
    # page of 2,000 products compresses 10:1 in ~2 ms at level 1, 16:1 in ~20 ms at level 9,
    # which would cost more than building the page. Raise it for slow links.
    gzip_level: int = Field(default=1, ge=1, le=9)
    # Build a device's next snapshot page while it writes the last one (services/prefetch.py).
    snapshot_prefetch: bool = True
    db_pool_size: int = Field(default=10, ge=1, le=100)
    threads: int = Field(default=8, ge=1, le=200)  # request threads per worker
    # Threads per worker that apply pushes. Fewer than `threads`: a push is mostly CPU, and the
    # more of them run at once, the longer each holds its stock rows' locks (hot items queue on
    # them) and the more the threads fight over the GIL. Measured with 32 devices on 50 hot
    # items (bench/server.py, PostgreSQL): 4 gave ~5% more orders/s than 8, p95 150 ms not 195.
    push_threads: int = Field(default=4, ge=1, le=200)
    sql_echo: bool = False
    # Sign-in (throttle.py, hashing.py; kept in memory per worker process). Password hashes run
    # on `signin_hash_threads` threads of their own; more than `signin_hash_waiting` waiting
    # beyond them are refused with 429.
    signin_hash_threads: int = Field(default=1, ge=1, le=16)
    signin_hash_waiting: int = Field(default=8, ge=0, le=1000)
    # Failed sign-ins allowed per user name and per client address before the growing delays
    # (the first `signin_delay_seconds`, doubled each failure up to `signin_max_delay_seconds`).
    signin_user_free_failures: int = Field(default=5, ge=1, le=1000)
    signin_address_free_failures: int = Field(default=20, ge=1, le=100_000)
    signin_delay_seconds: float = Field(default=1.0, gt=0, le=3600)
    signin_max_delay_seconds: float = Field(default=900.0, gt=0, le=86_400)
    # Sign-ins per client address, failed or not: `signin_address_burst` at once, then
    # `signin_address_per_minute` a minute.
    signin_address_burst: int = Field(default=30, ge=1, le=1_000_000)
    signin_address_per_minute: float = Field(default=30.0, gt=0, le=1_000_000)
    # A device token unused this long stops working (the device asks the rep to sign in again
    # and keeps its outbox); 0: tokens do not expire.
    token_idle_days: float = Field(default=30.0, ge=0, le=3650)
    # Live devices (tokens) a user may hold: signing in on another device retires the least
    # recently used past this number.
    max_devices_per_user: int = Field(default=5, ge=1, le=1000)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
