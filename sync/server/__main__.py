"""`python -m sync.server`: migrate, seed demo data on first start, serve on 127.0.0.1.

python -m sync.server [--port N] [--workers N]   serve (settings: FIELDSALES_SERVER_*, DATABASE_URL)
python -m sync.server seed [--products N] [--accounts N] [--force] [--no-history]
python -m sync.server migrate                     upgrade the database to the latest schema
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys

from sync.server.app import prepare_database
from sync.server.db import Database, make_engine
from sync.server.migrate import upgrade
from sync.server.settings import Settings


def _db(settings: Settings) -> Database:
    return Database(make_engine(settings.database_url, pool_size=settings.db_pool_size))


def serve(settings: Settings, port: int | None, workers: int | None) -> None:
    import uvicorn

    db = _db(settings)
    prepare_database(settings, db)  # once, here, not in every worker
    db.dispose()
    # Workers build their own app from the same environment, without migrating or seeding.
    os.environ["FIELDSALES_SERVER_MIGRATE_ON_START"] = "0"
    os.environ["FIELDSALES_SERVER_SEED_ON_START"] = "0"
    os.environ.setdefault("DATABASE_URL", settings.database_url)
    where = settings.database_url.split("@")[-1]
    print(f"field sales server on http://{settings.host}:{port or settings.port} ({where})")
    uvicorn.run(
        "sync.server.app:app_factory",
        factory=True,
        host=settings.host,
        port=port or settings.port,
        workers=workers or settings.workers,
        log_level="warning",
    )


def seed(
    settings: Settings, products: int | None, accounts: int | None, force: bool, history: bool
) -> None:
    from sync.server.models import metadata
    from sync.server.seed import seed_database
    from sync.server.seed.generate import is_empty

    db = _db(settings)
    if force:
        metadata.drop_all(db.engine)
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    upgrade(db.engine)
    if not is_empty(db):
        sys.exit("the database already has data: pass --force to start it afresh")
    report = seed_database(db, settings, products=products, accounts=accounts, history=history)
    print(json.dumps(report))
    db.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m sync.server",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--port", type=int, help="listen on this port (default 8765)")
    parser.add_argument("--workers", type=int, help="uvicorn worker processes (default 1)")
    sub = parser.add_subparsers(dest="command")
    seeding = sub.add_parser("seed", help="create the demo distributor's data")
    seeding.add_argument("--products", type=int, help="catalog size (default 2000)")
    seeding.add_argument("--accounts", type=int, help="customer accounts (default 200)")
    seeding.add_argument("--force", action="store_true", help="drop existing data first")
    seeding.add_argument("--no-history", action="store_true", help="skip a year of orders")
    sub.add_parser("migrate", help="upgrade the database schema")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    settings = Settings()
    if args.command == "seed":
        seed(settings, args.products, args.accounts, args.force, not args.no_history)
    elif args.command == "migrate":
        db = _db(settings)
        upgrade(db.engine)
        db.dispose()
    else:
        serve(settings, args.port, args.workers)


if __name__ == "__main__":
    main()
