"""Push: apply a device's batch of mutations exactly once each.

A batch is applied in ONE write transaction. The device's last applied mutation id and each
mutation's answer are written in that same transaction, so effects and bookkeeping commit
together or not at all. An id at or below the device's last one is a duplicate: it is skipped
and answered with the stored answer; an id that skips one is a gap (refused if nothing before
it in the batch was applied). A business refusal is a `rejected` outcome. Anything else a
mutation raises is a fault: its effects are undone, it goes to the dead-letter table and the id
still advances, so one bad mutation never blocks the queue behind it, nor undoes the mutations
before it. Database faults a retry may cure (deadlock, serialization failure, busy) retry the
whole batch.

Undoing one mutation alone needs a savepoint around it, which costs about as much as a small
mutation. So a batch runs optimistically without them; when a mutation fails (rare: a refusal
or a fault), the transaction is rolled back whole and the batch runs again, the failed
mutation's outcome decided (recorded, not re-run) and every mutation in its own savepoint.

One transaction per batch instead of one per mutation: one commit (and, on SQLite, one turn of
the writer lock) per batch, one insert of the answers and one of the change rows (the change
rows of an entity touched by several mutations are merged into its final state: nobody can see
the states in between, they commit together). On PostgreSQL the stock rows every mutation of
the batch will touch are locked up front, in (warehouse, sku) order, the order every writer
uses; otherwise two batches could lock hot items in opposite orders and deadlock.
"""

from __future__ import annotations

import logging
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from app.domain.model import DomainError
from sync import protocol as p
from sync.server.clock import Clock
from sync.server.context import Principal, Tx
from sync.server.db import Database, is_retryable
from sync.server.fastsql import Fast, commit, pipeline
from sync.server.models import AppliedMutation, DeadLetter, Device
from sync.server.services.changes import append_changes, prepare
from sync.server.services.commit import place_order
from sync.server.services.contacts import update_contact_mutation
from sync.server.services.orders import acknowledge, cancel_line, cancel_order, rejected
from sync.server.services.refusals import Refusal
from sync.server.services.stockbook import lock_batch_stock
from sync.server.settings import Settings

log = logging.getLogger(__name__)
_D = Device.__table__.c  # type: ignore[attr-defined]
_LAST = select(_D.last_mutation_id).where(_D.id == bindparam("device"))
_LAST_FOR_UPDATE = _LAST.with_for_update()
_ADVANCE = (
    update(Device.__table__)  # type: ignore[attr-defined]
    .where(_D.id == bindparam("device"))
    .values(last_mutation_id=bindparam("mid"))
)
_RECORD = insert(AppliedMutation.__table__)  # type: ignore[attr-defined]
_LAST_F, _LAST_FOR_UPDATE_F = Fast(_LAST), Fast(_LAST_FOR_UPDATE)
_ADVANCE_F, _RECORD_F = Fast(_ADVANCE), Fast(_RECORD)

Handler = Callable[[Tx, Principal, Any], p.MutationResult]
# Who is pushing and the last mutation id applied for their device, read inside the push's own
# transaction with the device row locked: the route checks the device token this way, on the
# push's connection and in the round trip that begins its transaction.
Identify = Callable[[Connection], tuple[Principal, int]]
HANDLERS: dict[str, Handler] = {
    "place_order": place_order,
    "cancel_order": cancel_order,
    "cancel_line": cancel_line,
    "update_account_contact": update_contact_mutation,
    "acknowledge": acknowledge,
}


class Gap(Exception):
    def __init__(self, last_applied: int, got: int) -> None:
        super().__init__(
            f"mutation {got} skips ids: the server has applied up to {last_applied}; "
            f"send mutation {last_applied + 1} next"
        )
        self.last_applied = last_applied
        self.expected = last_applied + 1


class WrongDevice(Exception):
    pass


@dataclass(frozen=True)
class Failure:
    """How a mutation failed: a business refusal (its reason) or a fault (the error)."""

    reason: str | None = None
    error: BaseException | None = None


class Unprotected(Exception):
    """A mutation run without a savepoint failed: the transaction is rolled back whole and the
    batch runs again with this mutation's outcome decided (its refusal or dead letter is
    recorded, not re-run), and with savepoints."""

    def __init__(self, mutation_id: int, failure: Failure) -> None:
        super().__init__(f"mutation {mutation_id} failed")
        self.mutation_id = mutation_id
        self.failure = failure


@dataclass
class Pusher:
    db: Database
    clock: Clock
    settings: Settings

    def push(self, who: Principal | Identify, request: p.PushRequest) -> p.PushResponse:
        """Apply a batch for `who`: a caller known already, or a function that tells the caller
        from the transaction's connection (its refusal, e.g. a revoked token, applies nothing)."""
        decided: dict[int, Failure] = {}
        for _ in range(len(request.mutations) + 1):
            try:
                outcome = self.db.transact(lambda s: self._apply_batch(s, who, request, decided))
                break
            except Unprotected as failed:  # rolled back: run the batch again, its fate known
                decided[failed.mutation_id] = failed.failure
        else:  # pragma: no cover (each attempt decides one more mutation, at most two run)
            raise AssertionError("a push batch did not settle")
        if isinstance(outcome, Gap):
            raise outcome  # nothing applied: refuse the batch, say what to send
        results, last = outcome
        return p.PushResponse(device_id=request.device_id, last_applied=last, results=results)

    def _apply_batch(
        self,
        session: Session,
        who: Principal | Identify,
        request: p.PushRequest,
        decided: dict[int, Failure],
    ) -> tuple[list[p.MutationResult], int] | Gap:
        conn = session.connection()
        if isinstance(who, Principal):
            # PostgreSQL: lock the device row, one push per device at a time.
            query = _LAST_FOR_UPDATE_F if self.db.is_postgres else _LAST_F
            stored_last = query.run(conn, {"device": who.device_id})[0][0]
        else:
            who, stored_last = who(conn)
        if request.device_id != who.device_id:
            raise WrongDevice(
                f"device_id {request.device_id} is not the device this token was issued to"
            )
        mutations = request.mutations
        last = stored_last
        results: list[p.MutationResult] = []
        records: list[dict[str, Any]] = []
        changes: dict[tuple[str, str], dict[str, Any]] = {}
        fresh = [m for m in mutations if m.mutation_id > last]
        if len(fresh) > 1 and self.db.is_postgres:
            lock_batch_stock(session, who, fresh)
        # Optimistic first: a batch runs without savepoints; if a mutation fails, the whole
        # transaction is rolled back and the batch runs again with its outcome decided (see
        # Unprotected), this time with a savepoint around every mutation but the first (which
        # has nothing before it to protect). Most batches have no failure and pay no savepoint.
        careful = bool(decided)
        protect = False
        for m in mutations:
            if m.mutation_id <= stored_last:
                results.append(self._stored(session, who.device_id, m))
                if results[-1].status == "reused":
                    break  # the device renumbers from here; nothing after it is applied
                continue
            if m.mutation_id != last + 1:
                if not results:
                    return Gap(last, m.mutation_id)
                break  # apply what came before the gap; the device resends from last + 1
            now = self.clock.now()
            failure = decided.get(m.mutation_id)
            if failure is not None:
                result, produced = self._failed(session, who, m, failure, now), []
            else:
                result, produced = self._apply(session, who, m, now, protect=protect)
            protect = careful
            results.append(result)
            records.append(
                {
                    "device_id": who.device_id,
                    "mutation_id": m.mutation_id,
                    "name": m.name,
                    # what the id was used for, to tell a retry from a reuse (see _stored)
                    "result": {**result.model_dump(mode="json"), "of": _subject(m)},
                    "applied_at": now,
                }
            )
            for row in produced:  # an entity's last state wins, at its first place
                changes[(row["entity"], row["key"])] = row
            last = m.mutation_id
        # Last, and with the COMMIT in one round trip (PostgreSQL, fastsql.pipeline): the
        # bookkeeping, recorded in the same transaction as the effects (both commit, or
        # neither), then the change rows, which take the change-log lock: it is held while the
        # database finishes, never while a Python thread waits for its turn.
        session.flush()  # the ORM's pending rows (a dead letter) first: not in a pipeline
        with pipeline(conn):
            if records:
                _ADVANCE_F.send(conn, {"device": who.device_id, "mid": last})
                _RECORD_F.send(conn, records)
            append_changes(session, list(changes.values()), is_postgres=self.db.is_postgres)
            commit(conn)
        return results, last

    def _apply(
        self, session: Session, who: Principal, m: Any, now: datetime, *, protect: bool
    ) -> tuple[p.MutationResult, list[dict[str, Any]]]:
        """One mutation (in its own savepoint if `protect`): its result and its change rows."""
        tx = Tx(
            session=session,
            now=now,
            today=self.clock.today(),
            tz=self.clock.tz,
            settings=self.settings,
            actor=who.username,
            is_postgres=self.db.is_postgres,
            slips=self.db.slips,
        )
        # SQLAlchemy's own nested transaction, not a bare SAVEPOINT: when an ORM flush fails,
        # the session rolls back to it and stays usable for the next mutation.
        savepoint = session.begin_nested() if protect else None
        try:
            result = HANDLERS[m.name](tx, who, m)
            changes = prepare(tx)  # reading the records back may fail too: inside the savepoint
            if savepoint is not None:
                savepoint.commit()
            return result, changes
        except (Refusal, DomainError) as refusal:
            reason = refusal.reason if isinstance(refusal, Refusal) else str(refusal)
            failure = Failure(reason=reason)
        except DBAPIError as error:
            if is_retryable(error):
                raise  # the whole batch is retried
            failure = Failure(error=error)
        except Exception as error:  # a fault in this mutation must not block the queue
            failure = Failure(error=error)
        if savepoint is None:
            raise Unprotected(m.mutation_id, failure)
        savepoint.rollback()
        return self._failed(session, who, m, failure, now), []

    def _failed(
        self, session: Session, who: Principal, m: Any, failure: Failure, now: datetime
    ) -> p.MutationResult:
        if failure.error is None:
            return _rejected(m, failure.reason or "refused")
        return self._dead_letter(session, who.device_id, m, failure.error, now)

    @staticmethod
    def _stored(session: Session, device_id: uuid.UUID, m: Any) -> p.MutationResult:
        """The stored answer of an id applied before: a retry's answer, unless the id was used
        for another change (another kind, order or account): then this device was restored
        from an older copy of its database and numbers new changes with ids already spent;
        answering them as duplicates would drop them unsent."""
        stored = session.get(AppliedMutation, (device_id, m.mutation_id))
        if stored is None:
            return p.MutationResult(mutation_id=m.mutation_id, name=m.name, status="duplicate")
        was = stored.result.get("of")  # absent on answers stored before it was recorded
        if stored.name != m.name or (was is not None and was != _subject(m)):
            return p.MutationResult(
                mutation_id=m.mutation_id,
                name=m.name,
                status="reused",
                error=(
                    f"mutation id {m.mutation_id} was already used by another change from "
                    "this device: the device was restored from an older copy; it numbers its "
                    "unsent changes after the server's last and sends them again"
                ),
            )
        answer = p.MutationResult.model_validate(stored.result)
        return answer.model_copy(update={"status": "duplicate"})

    @staticmethod
    def _dead_letter(
        session: Session, device_id: uuid.UUID, m: Any, error: BaseException, now: Any
    ) -> p.MutationResult:
        log.error(
            "mutation %s of device %s dead-lettered", m.mutation_id, device_id, exc_info=error
        )
        detail = "".join(traceback.format_exception_only(type(error), error)).strip()
        session.add(
            DeadLetter(
                device_id=device_id,
                mutation_id=m.mutation_id,
                name=m.name,
                payload=m.model_dump(mode="json"),
                error=detail[:2000],
                created_at=now,
            )
        )
        return p.MutationResult(
            mutation_id=m.mutation_id,
            name=m.name,
            status="dead_lettered",
            error=f"the server could not apply this mutation and set it aside: {detail[:300]}",
        )


def _subject(m: Any) -> str:
    """What a mutation is about: its order, or its account (a contact edit)."""
    order = getattr(m, "order_id", None)
    return str(order) if order is not None else f"account {m.account_id}"


def _rejected(m: Any, reason: str) -> p.MutationResult:
    order = None
    if m.name == "place_order":
        # A difference from every promise: the rep must see it (and acknowledge it) before
        # telling the customer anything more. The order exists only on the device.
        order = p.OrderVerdict(
            order_id=m.order_id,
            outcome="rejected",
            reason=reason,
            differences=[f"order rejected: {reason}"],
        )
    return rejected(m, reason, order)
