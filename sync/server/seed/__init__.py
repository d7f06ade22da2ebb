"""Demo data: `seed_if_empty` on first start, `seed_database` for the seed command and benches."""

from __future__ import annotations

from typing import Any

from sync.server.db import Database
from sync.server.seed.generate import SeedConfig, generate, is_empty
from sync.server.settings import Settings

__all__ = ["SeedConfig", "seed_database", "seed_if_empty"]


def seed_database(
    db: Database,
    settings: Settings,
    *,
    products: int | None = None,
    accounts: int | None = None,
    seed: int | None = None,
    history: bool = True,
    open_orders: bool = True,
) -> dict[str, Any]:
    config = SeedConfig(
        products=products or settings.seed_products,
        accounts=accounts or settings.seed_accounts,
        seed=settings.seed if seed is None else seed,
    )
    return generate(db, settings, config, history=history, open_orders=open_orders)


def seed_if_empty(db: Database, settings: Settings) -> dict[str, Any] | None:
    if not is_empty(db):
        return None
    return seed_database(db, settings)
