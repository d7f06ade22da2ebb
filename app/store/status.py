"""The sync status the UI shows: online (from the engine), last sync, pending, last error."""

from __future__ import annotations

from app.store.bulk import placeholders
from app.store.columns import py_datetime
from app.store.db import Store
from app.store.outbox import PENDING, SET_ASIDE
from app.store.views import SyncStatus


def sync_status(store: Store, *, online: bool) -> SyncStatus:
    """`online` is the engine's knowledge; everything else is read from the database."""
    now = store.now()
    with store.read() as session:
        conn = session.connection()
        user, token, last_sync, error, error_at = conn.exec_driver_sql(
            "SELECT user_name, token, last_sync_at, last_error, last_error_at FROM sync_state"
        ).one()
        count, oldest = conn.exec_driver_sql(
            "SELECT count(*), min(created_at) FROM outbox WHERE state = ?", (PENDING,)
        ).one()
        dead = conn.exec_driver_sql(  # dead-lettered or refused: never sent again
            f"SELECT count(*) FROM outbox WHERE state IN ({placeholders(len(SET_ASIDE))})",
            SET_ASIDE,
        ).scalar_one()
    last_sync_at = py_datetime(last_sync) if last_sync else None
    oldest_at = py_datetime(oldest) if oldest else None
    return SyncStatus(
        online=online,
        signed_in=bool(token),
        user_name=user,
        last_sync_at=last_sync_at,
        last_sync_age=now - last_sync_at if last_sync_at else None,
        pending_count=count,
        oldest_pending_at=oldest_at,
        oldest_pending_age=now - oldest_at if oldest_at else None,
        dead_count=dead,
        last_error=error,
        last_error_at=py_datetime(error_at) if error_at else None,
    )
