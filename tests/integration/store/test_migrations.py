"""An installed app upgrades its database in place and keeps its outbox, cursor and cart."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from app.store import (
    SCHEMA_VERSION,
    Accounts,
    CartService,
    Catalog,
    Store,
    pending,
    sync_state,
)
from app.store.db import make_engine
from app.store.migrations import migrate, schema_version
from tests.unit.store.helpers import Clock


def test_upgrade_from_schema_1_keeps_outbox_cursor_and_cart(tmp_path):
    path = tmp_path / "device.db"
    engine = make_engine(path)
    assert migrate(engine, target=1) == 1
    # What version 1 of the app left behind: a product, an account, a cart, a cursor and an
    # outbox with two unsent mutations (written with the SQL of schema 1, not today's models).
    created = datetime(2025, 3, 1, 9, 0, tzinfo=UTC).isoformat(timespec="microseconds")
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO product (sku, name) VALUES ('CF-1', 'Coffee')")
        conn.exec_driver_sql("INSERT INTO account (id, name) VALUES ('A1', 'Cafe')")
        conn.exec_driver_sql("UPDATE cart SET account_id = 'A1', note = 'keep me'")
        conn.exec_driver_sql(
            "INSERT INTO cart_line (sku, quantity, position) VALUES ('CF-1', 3, 1)"
        )
        conn.exec_driver_sql("UPDATE sync_state SET cursor = 1234, last_mutation_id = 2")
        conn.exec_driver_sql(
            "INSERT INTO sales_order (id, account_id, status, placed_at) VALUES (?, ?, ?, ?)",
            ("O1", "A1", "open", created),
        )
        for mutation_id in (1, 2):
            conn.exec_driver_sql(
                "INSERT INTO outbox (mutation_id, name, args, created_at) VALUES (?, ?, ?, ?)",
                (mutation_id, "update_account_contact",
                 f'{{"account_id": "A1", "base_version": 1, "changes": {{"contact_name": "v{mutation_id}"}}}}',
                 created),
            )  # fmt: skip
        device_id = conn.exec_driver_sql("SELECT device_id FROM sync_state").scalar()
        columns = {r[1] for r in conn.exec_driver_sql("PRAGMA table_info(outbox)")}
        assert "next_attempt_at" not in columns
    engine.dispose()

    store = Store.open(path, clock=Clock())  # the new app version opens the same file
    try:
        assert schema_version(store.engine) == SCHEMA_VERSION == 5
        with store.read() as session:
            entries = pending(session)
            state = sync_state(session)
            indexes = {r[1] for r in session.execute(text("PRAGMA index_list(outbox)"))}
            # Schema 4: an order synced before the upgrade awaits no pull (its effects are in).
            old_order = session.execute(
                text("SELECT status, awaiting_pull FROM sales_order WHERE id = 'O1'")
            ).one()
        assert [(e.mutation_id, e.args["changes"]) for e in entries] == [
            (1, {"contact_name": "v1"}),
            (2, {"contact_name": "v2"}),
        ]
        assert entries[0].next_attempt_at is None
        assert (state.cursor, state.device_id, state.last_mutation_id) == (1234, device_id, 2)
        assert "ix_outbox_state" in indexes
        assert tuple(old_order) == ("open", 0)
        view = CartService(store).view()
        assert (view.account.id, view.note, [(x.sku, x.quantity) for x in view.lines]) == (
            "A1",
            "keep me",
            [("CF-1", 3)],
        )
        # The search index was rebuilt over names and brands (schema 3): the old rows are found.
        assert [h.product.sku for h in Catalog(store).search("offe")] == ["CF-1"]
        # The upgraded database carries on: the next mutation id follows the old ones.

        assert Accounts(store).update_contact("A1", contact_phone="+34 600") == 3
    finally:
        store.close()


def test_a_crash_during_a_migration_leaves_the_previous_version(tmp_path):
    path = tmp_path / "device.db"
    engine = make_engine(path)
    migrate(engine, target=1)
    with engine.begin() as conn:  # an index in the way makes migration 2 fail half-way
        conn.exec_driver_sql("CREATE INDEX ix_outbox_state ON outbox (state)")
    with pytest.raises(OperationalError, match="ix_outbox_state"):
        migrate(engine)
    assert schema_version(engine) == 1
    with engine.connect() as conn:
        columns = {r[1] for r in conn.exec_driver_sql("PRAGMA table_info(outbox)")}
    assert "next_attempt_at" not in columns  # the ALTER before the failure was rolled back
    engine.dispose()
