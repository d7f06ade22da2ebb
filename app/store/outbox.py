"""The outbox: named mutations (intents, not rows) waiting for the server, in mutation-id order.

An entry's `args` are the fields of the protocol's mutation of that `name`
(sync/protocol/mutations.py) except `mutation_id` and `client_time`, which are the entry's
`mutation_id` and `created_at`:
place_order {order_id, account_id, lines: [{sku, quantity, promise: {label, now, eta,
eta_kind}}], policy, cap, note}; cancel_order {order_id, reason}; cancel_line {order_id,
line_no, reason}; update_account_contact {account_id, base_version, changes}; acknowledge
{order_id}. Ids the server numbers (account_id) are ints when they look like ints.

Mutation ids come from a counter in sync_state, bumped in the same transaction as the entry:
strictly increasing and without gaps per device (the server refuses a gap), even after applied
entries are deleted. An entry is never removed unsent, for the same reason.

An entry the server will never apply stays, with its reason, to be read and never resent:
`dead` (the server failed on it and set it aside) or `refused` (the server said no, or it is
too large to send).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection
from sqlmodel import Session

from app.store.bulk import chunks, placeholders
from app.store.columns import db_datetime, py_datetime
from app.store.errors import StoreError
from app.store.verdicts import refresh_attention
from app.store.views import OutboxEntry

PLACE_ORDER = "place_order"
CANCEL_ORDER = "cancel_order"
CANCEL_LINE = "cancel_line"
UPDATE_ACCOUNT_CONTACT = "update_account_contact"
ACKNOWLEDGE = "acknowledge"
MUTATIONS = frozenset({PLACE_ORDER, CANCEL_ORDER, CANCEL_LINE, UPDATE_ACCOUNT_CONTACT, ACKNOWLEDGE})

PENDING = "pending"
DEAD = "dead"
REFUSED = "refused"
SET_ASIDE = (DEAD, REFUSED)  # kept to be read, never resent

_COLUMNS = "mutation_id, name, args, created_at, attempts, last_error, state, next_attempt_at"


def wire_id(value: str) -> int | str:
    """An id as the server numbers it: the device keeps ids as text."""
    return int(value) if value.isdigit() else value


def enqueue(conn: Connection, name: str, args: Mapping[str, Any], *, now: datetime) -> int:
    """Add a mutation in the caller's transaction; returns its id."""
    if name not in MUTATIONS:
        known = ", ".join(sorted(MUTATIONS))
        raise StoreError(f"unknown mutation {name!r}; expected one of {known}")
    mutation_id = conn.exec_driver_sql(
        "UPDATE sync_state SET last_mutation_id = last_mutation_id + 1 WHERE id = 1 "
        "RETURNING last_mutation_id"
    ).scalar_one()
    conn.exec_driver_sql(
        "INSERT INTO outbox (mutation_id, name, args, created_at, state) VALUES (?, ?, ?, ?, ?)",
        (mutation_id, name, json.dumps(dict(args)), db_datetime(now), PENDING),
    )
    return int(mutation_id)


def _entry(row: Any) -> OutboxEntry:
    return OutboxEntry(
        mutation_id=row[0],
        name=row[1],
        args=json.loads(row[2]),
        created_at=py_datetime(row[3]),
        attempts=row[4],
        last_error=row[5],
        state=row[6],
        next_attempt_at=py_datetime(row[7]) if row[7] else None,
    )


def pending(session: Session, *, limit: int = 100, after: int = 0) -> list[OutboxEntry]:
    """The next entries to push (with mutation ids above `after`), oldest first. Send them in
    this order: the server refuses gaps."""
    rows = session.connection().exec_driver_sql(
        f"SELECT {_COLUMNS} FROM outbox WHERE state = ? AND mutation_id > ? "
        "ORDER BY mutation_id LIMIT ?",
        (PENDING, after, limit),
    )
    return [_entry(row) for row in rows]


def entries(session: Session, *, state: str | None = None) -> list[OutboxEntry]:
    """Every entry (or those in `state`), oldest first."""
    where, params = ("WHERE state = ?", (state,)) if state else ("", ())
    rows = session.connection().exec_driver_sql(
        f"SELECT {_COLUMNS} FROM outbox {where} ORDER BY mutation_id", params
    )
    return [_entry(row) for row in rows]


def mark_applied(session: Session, mutation_ids: Iterable[int]) -> int:
    """The server applied these (whatever its verdict): drop them. Apply the verdicts they
    brought (apply_changes without a cursor) in the same transaction. Returns how many."""
    conn = session.connection()
    ids = sorted(set(mutation_ids))
    done = 0
    for chunk in chunks(ids):
        marks = placeholders(len(chunk))
        rows = conn.exec_driver_sql(
            f"SELECT name, args FROM outbox WHERE mutation_id IN ({marks})", tuple(chunk)
        ).all()
        for name, args in rows:
            _settle_cancel(conn, name, json.loads(args))
        done += conn.exec_driver_sql(
            f"DELETE FROM outbox WHERE mutation_id IN ({marks})", tuple(chunk)
        ).rowcount
    return done


def _settle_cancel(conn: Connection, name: str, args: dict[str, Any]) -> None:
    # The server has answered the cancellation; its order status (pulled) now tells the outcome.
    if name == CANCEL_ORDER:
        conn.exec_driver_sql(
            "UPDATE sales_order SET cancel_requested = 0 WHERE id = ?", (args["order_id"],)
        )
    elif name == CANCEL_LINE:
        conn.exec_driver_sql(
            "UPDATE order_line SET cancel_requested = 0 WHERE order_id = ? AND line_id = ?",
            (args["order_id"], str(args["line_no"])),
        )


def _require(conn: Connection, mutation_id: int) -> tuple[str, dict[str, Any]]:
    row = conn.exec_driver_sql(
        "SELECT name, args FROM outbox WHERE mutation_id = ?", (mutation_id,)
    ).first()
    if row is None:
        raise StoreError(f"no outbox entry with mutation id {mutation_id}")
    return row[0], json.loads(row[1])


def mark_failed(
    session: Session, mutation_id: int, error: str, *, retry_at: datetime | None = None
) -> None:
    """A fault a retry may cure: count the attempt, keep the entry and its place in line."""
    conn = session.connection()
    _require(conn, mutation_id)
    conn.exec_driver_sql(
        "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? "
        "WHERE mutation_id = ?",
        (error, db_datetime(retry_at) if retry_at else None, mutation_id),
    )


def mark_dead(session: Session, mutation_id: int, reason: str) -> None:
    """The server gave up on this mutation (dead letter): keep it, shown, never resent. An order
    it would have placed becomes rejected and needs the rep's attention."""
    why = f"the server could not process it: {reason}"
    _set_aside(session.connection(), mutation_id, DEAD, reason, why)


def mark_refused(session: Session, mutation_id: int, reason: str) -> None:
    """The server said no to this mutation (a business refusal of a cancel, a contact edit, an
    acknowledgement), or it can never be sent (too large): keep it with the reason, shown,
    never resent, like a dead letter. An order it would have placed becomes rejected."""
    _set_aside(session.connection(), mutation_id, REFUSED, reason, reason)


def _set_aside(
    conn: Connection, mutation_id: int, state: str, reason: str, order_reason: str
) -> None:
    name, args = _require(conn, mutation_id)
    conn.exec_driver_sql(
        "UPDATE outbox SET state = ?, last_error = ? WHERE mutation_id = ?",
        (state, reason, mutation_id),
    )
    if name == PLACE_ORDER:
        conn.exec_driver_sql(
            "UPDATE sales_order SET status = 'rejected', verdict = 'rejected', verdict_reason = ? "
            "WHERE id = ? AND status = 'pending'",
            (order_reason, args["order_id"]),
        )
        refresh_attention(conn, [args["order_id"]])
    else:
        _settle_cancel(conn, name, args)


def set_aside(session: Session) -> list[OutboxEntry]:
    """The entries the server will never apply (dead or refused), with their reasons, newest
    first: what the rep must read to know a change did not go through."""
    marks = placeholders(len(SET_ASIDE))
    rows = session.connection().exec_driver_sql(
        f"SELECT {_COLUMNS} FROM outbox WHERE state IN ({marks}) "
        "ORDER BY created_at DESC, abs(mutation_id) DESC",
        SET_ASIDE,
    )
    return [_entry(row) for row in rows]


def dismiss(session: Session, mutation_id: int) -> None:
    """The rep has read why this change did not go through: it leaves the device. Only a change
    the server will never apply may go (a pending one still has to be sent)."""
    conn = session.connection()
    marks = placeholders(len(SET_ASIDE))
    gone = conn.exec_driver_sql(
        f"DELETE FROM outbox WHERE mutation_id = ? AND state IN ({marks})",
        (mutation_id, *SET_ASIDE),
    ).rowcount
    if not gone:
        raise StoreError(f"no refused change with mutation id {mutation_id} on this device")


def step_aside(conn: Connection, where: str = "1", params: tuple[Any, ...] = ()) -> None:
    """Move the positive-id entries matching `where` to negative ids, below every negative id
    already there (a second new device must not collide with the first one's), keeping their
    order: the most negative is the newest."""
    floor = conn.exec_driver_sql("SELECT min(0, coalesce(min(mutation_id), 0)) FROM outbox")
    conn.exec_driver_sql(
        f"UPDATE outbox SET mutation_id = ? - mutation_id WHERE mutation_id > 0 AND ({where})",
        (floor.scalar_one(), *params),
    )


def renumber_reused(session: Session, first: int, after: int) -> int:
    """The server has applied ids up to `after`, and `first` among them for another change:
    this device was restored from an older copy of its database and gave spent ids to new
    changes. Renumber every entry still to send from `first` on to `after + 1`, in order,
    and move the counter past them; entries set aside step out of the way. Returns how many
    were renumbered."""
    conn = session.connection()
    if first < 1 or after < first:
        raise StoreError(
            f"cannot renumber from {first} after {after}: the server's answer is wrong"
        )
    step_aside(conn, "state != ? AND mutation_id >= ?", (PENDING, first))
    waiting = [
        r[0]
        for r in conn.exec_driver_sql(
            "SELECT mutation_id FROM outbox WHERE state = ? AND mutation_id >= ? "
            "ORDER BY mutation_id",
            (PENDING, first),
        )
    ]
    # Through ids above any in use first: old and new ranges overlap in both directions.
    lift = 2**61
    conn.exec_driver_sql(
        "UPDATE outbox SET mutation_id = mutation_id + ? WHERE state = ? AND mutation_id >= ?",
        (lift, PENDING, first),
    )
    conn.exec_driver_sql(
        "UPDATE outbox SET mutation_id = ? WHERE mutation_id = ?",
        [(after + n, old + lift) for n, old in enumerate(waiting, start=1)],
    )
    conn.exec_driver_sql(
        "UPDATE sync_state SET last_mutation_id = max(last_mutation_id, ?)",
        (after + len(waiting),),
    )
    return len(waiting)


def close_gap(session: Session, expected: int) -> int:
    """The server wants `expected` next but this device holds nothing pending with that id:
    those ids were set aside here unsent (too large). Renumber what is still to send from
    `expected`, in order (the server refuses a gap and has applied nothing from `expected`
    on), so the queue moves. Returns how many entries were renumbered."""
    conn = session.connection()
    if expected < 1:
        raise StoreError(f"the server's expected mutation id must be 1 or more, got {expected}")
    step_aside(conn, "state != ? AND mutation_id >= ?", (PENDING, expected))
    waiting = [
        r[0]
        for r in conn.exec_driver_sql(
            "SELECT mutation_id FROM outbox WHERE state = ? AND mutation_id >= ? "
            "ORDER BY mutation_id",
            (PENDING, expected),
        )
    ]
    # Ascending: each new id is at most its old one and above the ids already moved.
    for new, old in enumerate(waiting, start=expected):
        conn.exec_driver_sql("UPDATE outbox SET mutation_id = ? WHERE mutation_id = ?", (new, old))
    conn.exec_driver_sql(
        "UPDATE sync_state SET last_mutation_id = ?", (expected - 1 + len(waiting),)
    )
    return len(waiting)
