"""Local schema migrations: PRAGMA user_version and an ordered list of migration functions.

An installed app upgrades its database in place on open: each migration runs in its own
BEGIN IMMEDIATE transaction together with the user_version bump, so a crash leaves the database
at the last completed version, outbox, cursor and cart untouched. Migrations are frozen: never
edit a shipped one, add the next. Their DDL is written out (not create_all) for that reason.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy import Connection, Engine

from app.store.errors import StoreError

_SCHEMA_1 = (
    """CREATE TABLE warehouse (
        id TEXT PRIMARY KEY,
        code TEXT NOT NULL DEFAULT '',
        name TEXT NOT NULL DEFAULT '',
        handling_days INTEGER NOT NULL DEFAULT 0
    )""",
    """CREATE TABLE product (
        id INTEGER PRIMARY KEY,
        sku TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        brand TEXT NOT NULL DEFAULT '',
        category TEXT NOT NULL DEFAULT '',
        unit TEXT NOT NULL DEFAULT 'each',
        pack_size INTEGER NOT NULL DEFAULT 1,
        price_cents INTEGER NOT NULL DEFAULT 0,
        barcode TEXT NOT NULL DEFAULT '',
        discontinued BOOLEAN NOT NULL DEFAULT 0,
        alternatives JSON NOT NULL DEFAULT '[]'
    )""",
    "CREATE INDEX ix_product_category ON product (category)",
    "CREATE INDEX ix_product_barcode ON product (barcode)",
    # Trigram: prefix and substring matches over every column; external content, kept in step
    # with `product` by snapshot.py (set-based, no per-row triggers on the bulk path). No
    # per-row column sizes (columnsize=0): they only serve bm25, which search never runs.
    """CREATE VIRTUAL TABLE product_fts USING fts5(
        sku, name, brand, barcode, content='product', content_rowid='id', tokenize='trigram',
        columnsize=0
    )""",
    """CREATE TABLE stock (
        warehouse_id TEXT NOT NULL DEFAULT '',
        sku TEXT NOT NULL,
        on_hand INTEGER NOT NULL DEFAULT 0,
        reserved INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (sku, warehouse_id)
    )""",
    """CREATE TABLE receipt (
        id TEXT PRIMARY KEY,
        sku TEXT NOT NULL,
        warehouse_id TEXT NOT NULL DEFAULT '',
        remaining INTEGER NOT NULL,
        expected DATE NOT NULL,
        kind TEXT NOT NULL DEFAULT 'confirmed',
        status TEXT NOT NULL DEFAULT 'scheduled'
    )""",
    "CREATE INDEX ix_receipt_sku ON receipt (sku)",
    """CREATE TABLE demand (
        id TEXT PRIMARY KEY,
        order_ref TEXT NOT NULL,
        sku TEXT NOT NULL,
        warehouse_id TEXT NOT NULL DEFAULT '',
        waiting INTEGER NOT NULL,
        committed_at TEXT NOT NULL,
        tier INTEGER NOT NULL DEFAULT 3,
        order_value_cents INTEGER NOT NULL DEFAULT 0,
        policy TEXT NOT NULL DEFAULT 'ship_as_available'
    )""",
    "CREATE INDEX ix_demand_sku ON demand (sku)",
    """CREATE TABLE account (
        id TEXT PRIMARY KEY,
        code TEXT NOT NULL DEFAULT '',
        name TEXT NOT NULL,
        warehouse_id TEXT NOT NULL DEFAULT '',
        tier INTEGER NOT NULL DEFAULT 3,
        delivery_weekdays JSON NOT NULL DEFAULT '[]',
        default_policy TEXT NOT NULL DEFAULT 'ship_as_available',
        default_cap INTEGER,
        credit_hold BOOLEAN NOT NULL DEFAULT 0,
        contact_name TEXT NOT NULL DEFAULT '',
        contact_phone TEXT NOT NULL DEFAULT '',
        contact_email TEXT NOT NULL DEFAULT '',
        contact_address TEXT NOT NULL DEFAULT '',
        contact_version INTEGER NOT NULL DEFAULT 1
    )""",
    """CREATE TABLE sales_order (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        warehouse_id TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL DEFAULT 'pending',
        verdict TEXT,
        verdict_reason TEXT NOT NULL DEFAULT '',
        policy TEXT NOT NULL DEFAULT 'ship_as_available',
        cap INTEGER,
        note TEXT NOT NULL DEFAULT '',
        version INTEGER NOT NULL DEFAULT 0,
        placed_at TEXT NOT NULL,
        committed_at TEXT,
        server_differences JSON,
        server_needs_attention BOOLEAN,
        needs_attention BOOLEAN NOT NULL DEFAULT 0,
        acknowledged_differences JSON NOT NULL DEFAULT '[]',
        cancel_requested BOOLEAN NOT NULL DEFAULT 0
    )""",
    """CREATE TABLE order_line (
        order_id TEXT NOT NULL REFERENCES sales_order (id) ON DELETE CASCADE,
        line_id TEXT NOT NULL,
        sku TEXT NOT NULL,
        quantity INTEGER NOT NULL,
        price_cents INTEGER NOT NULL,
        allocated INTEGER NOT NULL DEFAULT 0,
        waiting INTEGER NOT NULL DEFAULT 0,
        cancelled INTEGER NOT NULL DEFAULT 0,
        shipped INTEGER NOT NULL DEFAULT 0,
        server_label TEXT,
        server_backordered INTEGER,
        server_eta DATE,
        server_eta_kind TEXT,
        first_eta DATE,
        promise_label TEXT,
        promise_now INTEGER,
        promise_eta DATE,
        promise_eta_kind TEXT,
        promise_price_cents INTEGER,
        cancel_requested BOOLEAN NOT NULL DEFAULT 0,
        PRIMARY KEY (order_id, line_id)
    )""",
    "CREATE INDEX ix_order_line_sku ON order_line (sku)",
    """CREATE TABLE eta_event (
        id TEXT PRIMARY KEY,
        order_id TEXT NOT NULL,
        line_id TEXT NOT NULL,
        sku TEXT NOT NULL DEFAULT '',
        old_eta DATE,
        old_eta_kind TEXT,
        new_eta DATE,
        new_eta_kind TEXT,
        message TEXT NOT NULL DEFAULT '',
        at TEXT NOT NULL,
        seen BOOLEAN NOT NULL DEFAULT 0
    )""",
    "CREATE INDEX ix_eta_event_order_id ON eta_event (order_id)",
    """CREATE TABLE conflict (
        id TEXT PRIMARY KEY,
        entity TEXT NOT NULL,
        entity_key TEXT NOT NULL,
        field TEXT NOT NULL,
        winner_value TEXT NOT NULL DEFAULT '',
        loser_value TEXT NOT NULL DEFAULT '',
        base_version INTEGER NOT NULL DEFAULT 0,
        at TEXT NOT NULL,
        resolved BOOLEAN NOT NULL DEFAULT 0
    )""",
    """CREATE TABLE outbox (
        mutation_id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        args JSON NOT NULL,
        created_at TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        state TEXT NOT NULL DEFAULT 'pending'
    )""",
    """CREATE TABLE sync_state (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        device_id TEXT NOT NULL,
        server_url TEXT,
        user_name TEXT,
        token TEXT,
        role TEXT,
        cursor INTEGER NOT NULL DEFAULT 0,
        last_sync_at TEXT,
        last_error TEXT,
        last_error_at TEXT,
        protocol_version INTEGER,
        last_mutation_id INTEGER NOT NULL DEFAULT 0,
        allocation_policy TEXT NOT NULL DEFAULT 'fifo'
    )""",
    """CREATE TABLE cart (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        account_id TEXT,
        policy TEXT,
        cap INTEGER,
        note TEXT NOT NULL DEFAULT '',
        updated_at TEXT
    )""",
    """CREATE TABLE cart_line (
        sku TEXT PRIMARY KEY,
        quantity INTEGER NOT NULL CHECK (quantity > 0),
        position INTEGER NOT NULL
    )""",
    "INSERT INTO cart (id) VALUES (1)",
)


def _initial_schema(conn: Connection) -> None:
    for statement in _SCHEMA_1:
        conn.exec_driver_sql(statement)
    # The device id is made once, with the database: the server keys exactly-once on it.
    conn.exec_driver_sql(
        "INSERT INTO sync_state (id, device_id) VALUES (1, ?)", (str(uuid.uuid4()),)
    )


def _outbox_retry_schedule(conn: Connection) -> None:
    # When the engine may retry a failed entry (backoff survives a restart), and the index the
    # engine's "next entries to push" and the UI's per-state order lists read through.
    conn.exec_driver_sql("ALTER TABLE outbox ADD COLUMN next_attempt_at TEXT")
    conn.exec_driver_sql("CREATE INDEX ix_outbox_state ON outbox (state, mutation_id)")
    conn.exec_driver_sql("CREATE INDEX ix_sales_order_status ON sales_order (status, placed_at)")


def _search_index_on_words(conn: Connection) -> None:
    # The search index covers names and brands, the words people type. Codes (SKU, barcode)
    # are found through their B-tree indexes, exactly or by prefix: as trigrams their digits
    # ("000", "00-") cost a third of a 100,000-product first download and matched everything.
    conn.exec_driver_sql("DROP TABLE product_fts")
    conn.exec_driver_sql(
        """CREATE VIRTUAL TABLE product_fts USING fts5(
            name, brand, content='product', content_rowid='id', tokenize='trigram',
            columnsize=0
        )"""
    )
    conn.exec_driver_sql("INSERT INTO product_fts (product_fts) VALUES ('rebuild')")


def _orders_awaiting_pull(conn: Connection) -> None:
    # An order the server has answered but whose effects (stock reserved, its place in the
    # queue) no complete pull has brought yet: it still counts as the rep's own demand, or
    # the units it took would show as free until the next pull (supply.py). A partial index:
    # at most a push's worth of orders is flagged at a time.
    conn.exec_driver_sql(
        "ALTER TABLE sales_order ADD COLUMN awaiting_pull BOOLEAN NOT NULL DEFAULT 0"
    )
    conn.exec_driver_sql(
        "CREATE INDEX ix_sales_order_awaiting_pull ON sales_order (id) WHERE awaiting_pull"
    )


def _dates_at_a_confidence(conn: Connection) -> None:
    # Suppliers' slip history and what each receipt's lateness is learned against, so the
    # device promises the server's dates (app.domain.slip); a line's customer date and likely
    # day; the promise as the cart showed it; the confidence the server promises at.
    for statement in (
        "ALTER TABLE receipt ADD COLUMN supplier_id VARCHAR",
        "ALTER TABLE receipt ADD COLUMN moved BOOLEAN NOT NULL DEFAULT 0",
        "ALTER TABLE receipt ADD COLUMN base INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE receipt ADD COLUMN arrived INTEGER NOT NULL DEFAULT 0",
        "CREATE TABLE supplier_history (id VARCHAR NOT NULL PRIMARY KEY, curves JSON)",
        "ALTER TABLE order_line ADD COLUMN told DATE",
        "ALTER TABLE order_line ADD COLUMN told_kind VARCHAR",
        "ALTER TABLE order_line ADD COLUMN likely DATE",
        "ALTER TABLE order_line ADD COLUMN promise_schedule JSON",
        "ALTER TABLE order_line ADD COLUMN promise_ship DATE",
        "ALTER TABLE order_line ADD COLUMN promise_ship_kind VARCHAR",
        "ALTER TABLE sync_state ADD COLUMN promise_confidence FLOAT",
    ):
        conn.exec_driver_sql(statement)


Migration = Callable[[Connection], None]

# Index i holds the migration to schema version i + 1. Append only.
MIGRATIONS: tuple[Migration, ...] = (
    _initial_schema,
    _outbox_retry_schedule,
    _search_index_on_words,
    _orders_awaiting_pull,
    _dates_at_a_confidence,
)
LATEST = len(MIGRATIONS)


def schema_version(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("PRAGMA user_version").scalar_one())


def migrate(engine: Engine, *, target: int = LATEST) -> int:
    """Bring the database up to `target` (default: the latest); returns the version reached."""
    if not 0 <= target <= LATEST:
        raise StoreError(f"no schema version {target}: this app knows versions 0 to {LATEST}")
    writer = engine.execution_options(sqlite_begin="IMMEDIATE")
    while True:
        with writer.begin() as conn:  # re-read under the write lock: two openers race safely
            current = int(conn.exec_driver_sql("PRAGMA user_version").scalar_one())
            if current > LATEST:
                raise StoreError(
                    f"this database has schema version {current}, made by a newer version of "
                    f"the app (this one knows up to {LATEST}); update the app to open it"
                )
            if current >= target:
                return current
            MIGRATIONS[current](conn)
            conn.exec_driver_sql(f"PRAGMA user_version = {current + 1}")
