"""The device's sync state (one row): who is signed in, where, the cursor, the last outcome."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection
from sqlmodel import Session

from app.domain.model import AllocationPolicy
from app.store.columns import db_datetime, py_datetime
from app.store.errors import StoreError
from app.store.outbox import step_aside
from app.store.views import SyncState

_COLUMNS = (
    "device_id, server_url, user_name, token, role, cursor, last_sync_at, last_error, "
    "last_error_at, protocol_version, last_mutation_id, allocation_policy"
)


def sync_state(session: Session) -> SyncState:
    row = session.connection().exec_driver_sql(f"SELECT {_COLUMNS} FROM sync_state").one()
    return SyncState(
        device_id=row[0],
        server_url=row[1],
        user_name=row[2],
        token=row[3],
        role=row[4],
        cursor=row[5],
        last_sync_at=py_datetime(row[6]) if row[6] else None,
        last_error=row[7],
        last_error_at=py_datetime(row[8]) if row[8] else None,
        protocol_version=row[9],
        last_mutation_id=row[10],
        allocation_policy=row[11],
    )


def save_sign_in(
    session: Session,
    *,
    server_url: str,
    user_name: str,
    token: str,
    role: str,
    protocol_version: int | None = None,
    device_id: str | None = None,
    last_mutation_id: int | None = None,
) -> None:
    """Keep the sign-in so later starts work offline. Another user on this device starts from
    an empty cursor (a full snapshot of their data), and only once the outbox is empty: the
    previous user's unsent work must not be sent under someone else's name. Everything else of
    theirs leaves the device (see `_forget_previous_user`).

    `device_id` and `last_mutation_id` are the server's answer (the device id it knows this
    device by, the last mutation it applied from it): see `adopt_device`."""
    if not server_url or not user_name or not token:
        raise StoreError("signing in needs the server address, the user name and a token")
    conn = session.connection()
    if switching_user(session, user_name):
        # A full snapshot for the new user: no last sync, cursor 0 (the engine takes one then).
        conn.exec_driver_sql("UPDATE sync_state SET cursor = 0, last_sync_at = NULL")
        _forget_previous_user(conn)
    conn.exec_driver_sql(
        "UPDATE sync_state SET server_url = ?, user_name = ?, token = ?, role = ?, "
        "protocol_version = coalesce(?, protocol_version)",
        (server_url, user_name, token, role, protocol_version),
    )
    if device_id is not None:
        adopt_device(session, device_id=device_id, last_applied=last_mutation_id or 0)


def switching_user(session: Session, user_name: str) -> bool:
    """Whether `user_name` is another user than the one last signed in here (a fresh device has
    none). Such a user registers this device anew: the server keeps each device id to one
    user. Refused while the previous user's changes wait: they must be sent under their name."""
    conn = session.connection()
    previous = conn.exec_driver_sql("SELECT user_name FROM sync_state").scalar_one()
    if not previous or previous == user_name:
        return False
    waiting = conn.exec_driver_sql(
        "SELECT count(*) FROM outbox WHERE state = 'pending'"
    ).scalar_one()
    if waiting:
        raise StoreError(
            f"{waiting} change{'' if waiting == 1 else 's'} made by {previous} "
            f"{'is' if waiting == 1 else 'are'} not sent yet; sign in as {previous} "
            "and sync before another user signs in on this device"
        )
    return True


# What belongs to the user signed in: their accounts, the stock and supply of their warehouses,
# their orders and what the server said of them, their cart and outbox. (The catalog and the
# warehouses are everyone's; the snapshot refreshes them.)
_USERS_OWN = (
    "account", "stock", "receipt", "demand", "order_line", "sales_order", "eta_event",
    "conflict", "outbox", "cart_line",
)  # fmt: skip


def _forget_previous_user(conn: Connection) -> None:
    """Another user signs in: nothing of the previous one may show, not even before the new
    user's first snapshot arrives, nor what only this device held (an order the server refused
    at commit, their cart, changes the server refused). Their unsent changes would have
    stopped the switch (`switching_user`): nothing they meant to send is lost."""
    for table in _USERS_OWN:
        conn.exec_driver_sql(f"DELETE FROM {table}")
    conn.exec_driver_sql(
        "UPDATE cart SET account_id = NULL, policy = NULL, cap = NULL, note = '', updated_at = NULL"
    )


def adopt_device(session: Session, *, device_id: str, last_applied: int) -> None:
    """Take the server's word on this device after sign-in, keeping mutation ids gapless.

    Same device id: the counter never falls behind the server's; entries up to `last_applied`
    stay to be sent: the server answers those it applied as duplicates (their answers were
    lost) and those whose ids it spent on other changes (a device restored from an older copy
    of its database) as reused, and they are renumbered then (outbox.renumber_reused), so
    nothing unsent is dropped here. A new device id (the server did not know the
    old one): what is still to send is renumbered from `last_applied + 1`, in order, because
    the server refuses a gap; dead entries (never to be sent) step aside to negative ids."""
    if not device_id:
        raise StoreError("the server's device id is empty")
    if isinstance(last_applied, bool) or not isinstance(last_applied, int) or last_applied < 0:
        raise StoreError(f"the server's last mutation id must be 0 or more, got {last_applied!r}")
    conn = session.connection()
    current, counter = conn.exec_driver_sql(
        "SELECT device_id, last_mutation_id FROM sync_state"
    ).one()
    if device_id == current:
        conn.exec_driver_sql(
            "UPDATE sync_state SET last_mutation_id = ?", (max(counter, last_applied),)
        )
        return
    step_aside(conn)  # out of the way first: the new ids may overlap the old ones
    waiting = [
        r[0]
        for r in conn.exec_driver_sql(
            "SELECT mutation_id FROM outbox WHERE state = 'pending' ORDER BY mutation_id DESC"
        )
    ]  # set aside, the oldest is the closest to 0: descending order is oldest first
    if waiting:
        conn.exec_driver_sql(
            "UPDATE outbox SET mutation_id = ? WHERE mutation_id = ?",
            [(last_applied + n, old) for n, old in enumerate(waiting, start=1)],
        )
    conn.exec_driver_sql(
        "UPDATE sync_state SET device_id = ?, last_mutation_id = ?",
        (device_id, last_applied + len(waiting)),
    )


def sign_out(session: Session) -> None:
    """Forget the token; keep everything else (the outbox waits for the next sign-in)."""
    session.connection().exec_driver_sql("UPDATE sync_state SET token = NULL")


def record_sync(session: Session, *, at: datetime, error: str | None = None) -> None:
    """After a cycle: success moves `last_sync_at` (the age of the stock figures) and clears the
    error; a failure keeps the last good time and records the error in words."""
    stamp = db_datetime(at)
    if error is None:
        sql, params = "UPDATE sync_state SET last_sync_at = ?, last_error = NULL", (stamp,)
    else:
        sql, params = "UPDATE sync_state SET last_error = ?, last_error_at = ?", (error, stamp)
    session.connection().exec_driver_sql(sql, params)


def set_promise_confidence(session: Session, level: float | None) -> None:
    """The confidence the server promises dates at (None: it trusts receipts' dates as they
    are); the device dates its lines the same way."""
    if level is not None and not 0 < level < 1:
        raise StoreError(f"a promise confidence is between 0 and 1, got {level!r}")
    session.connection().exec_driver_sql("UPDATE sync_state SET promise_confidence = ?", (level,))


def set_server_settings(
    session: Session,
    *,
    allocation_policy: str | None = None,
    protocol_version: int | None = None,
) -> None:
    """Settings the server announces: its queue order (fifo | priority), its protocol version."""
    conn = session.connection()
    if allocation_policy is not None:
        try:
            policy = AllocationPolicy(allocation_policy)
        except ValueError:
            raise StoreError(
                f"unknown allocation policy {allocation_policy!r}; use fifo or priority"
            ) from None
        conn.exec_driver_sql("UPDATE sync_state SET allocation_policy = ?", (policy.value,))
    if protocol_version is not None:
        conn.exec_driver_sql("UPDATE sync_state SET protocol_version = ?", (protocol_version,))
