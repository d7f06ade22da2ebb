"""Push: apply a device's batch of mutations exactly once each.

Each mutation runs in its own write transaction, which also advances the device's last applied
mutation id and stores the answer, so effects and bookkeeping commit together or not at all. An id
at or below the device's last one is a duplicate: it is skipped and answered with the stored
answer. A business refusal is a `rejected` outcome. Anything else a mutation raises rolls its
effects back (to a savepoint), puts it in the dead-letter table and still advances the id, so one
bad mutation never blocks the queue behind it. Database faults a retry may cure (deadlock, busy)
retry the whole transaction.
"""

from __future__ import annotations

import logging
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from app.domain.model import DomainError
from sync import protocol as p
from sync.server.clock import Clock
from sync.server.context import Principal, Tx
from sync.server.db import Database, is_retryable
from sync.server.models import AppliedMutation, DeadLetter, Device
from sync.server.services.changes import append_changes, prepare
from sync.server.services.commit import place_order
from sync.server.services.contacts import update_contact_mutation
from sync.server.services.orders import acknowledge, cancel_line, cancel_order
from sync.server.services.refusals import Refusal
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

Handler = Callable[[Tx, Principal, Any], p.MutationResult]
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


@dataclass
class Pusher:
    db: Database
    clock: Clock
    settings: Settings
    last_seen: int = 0  # the device's last applied mutation id, as far as this push knows

    def push(self, who: Principal, request: p.PushRequest) -> p.PushResponse:
        if request.device_id != who.device_id:
            raise WrongDevice(
                f"device_id {request.device_id} is not the device this token was issued to"
            )
        results: list[p.MutationResult] = []
        self.last_seen = 0
        for mutation in request.mutations:
            outcome = self.db.transact(lambda s, m=mutation: self._apply(s, who, m))
            if isinstance(outcome, Gap):
                if not results:
                    raise outcome  # nothing applied: refuse the batch, say what to send
                break  # a concurrent push of this device moved the counter: stop here
            results.append(outcome)
            self.last_seen = max(self.last_seen, mutation.mutation_id)
        return p.PushResponse(
            device_id=request.device_id, last_applied=self.last_seen, results=results
        )

    def _apply(self, session: Session, who: Principal, m: Any) -> p.MutationResult | Gap:
        # PostgreSQL: lock the device row, one push per device at a time.
        query = _LAST_FOR_UPDATE if self.db.is_postgres else _LAST
        last = session.execute(query, {"device": who.device_id}).scalar_one()
        self.last_seen = max(self.last_seen, last)
        if m.mutation_id <= last:
            return self._stored(session, who.device_id, m)
        if m.mutation_id != last + 1:
            return Gap(last, m.mutation_id)
        now = self.clock.now()
        tx = Tx(
            session=session,
            now=now,
            today=self.clock.today(),
            tz=self.clock.tz,
            settings=self.settings,
            actor=who.username,
            is_postgres=self.db.is_postgres,
        )
        changes: list[dict[str, Any]] = []
        savepoint = session.begin_nested()
        try:
            result = HANDLERS[m.name](tx, who, m)
            changes = prepare(tx)  # reading the records back may fail too: inside the savepoint
            savepoint.commit()
        except (Refusal, DomainError) as refusal:
            savepoint.rollback()
            tx.forget_touches()
            reason = refusal.reason if isinstance(refusal, Refusal) else str(refusal)
            result = _rejected(m, reason)
        except DBAPIError as error:
            if is_retryable(error):
                raise  # the whole transaction is retried
            savepoint.rollback()
            tx.forget_touches()
            result = self._dead_letter(session, who.device_id, m, error, now)
        except Exception as error:  # a fault in this mutation must not block the queue
            savepoint.rollback()
            tx.forget_touches()
            result = self._dead_letter(session, who.device_id, m, error, now)
        # Recorded in the same transaction as the effects: both commit, or neither.
        session.execute(_ADVANCE, {"device": who.device_id, "mid": m.mutation_id})
        session.execute(
            _RECORD,
            {
                "device_id": who.device_id,
                "mutation_id": m.mutation_id,
                "name": m.name,
                "result": result.model_dump(mode="json"),
                "applied_at": now,
            },
        )
        # Last: the change rows take the change-log lock (PostgreSQL), held only to commit.
        append_changes(session, changes, is_postgres=self.db.is_postgres)
        return result

    @staticmethod
    def _stored(session: Session, device_id: uuid.UUID, m: Any) -> p.MutationResult:
        stored = session.get(AppliedMutation, (device_id, m.mutation_id))
        if stored is None:
            return p.MutationResult(mutation_id=m.mutation_id, name=m.name, status="duplicate")
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


def _rejected(m: Any, reason: str) -> p.MutationResult:
    order = None
    if m.name == "place_order":
        order = p.OrderVerdict(order_id=m.order_id, outcome="rejected", reason=reason)
    return p.MutationResult(
        mutation_id=m.mutation_id,
        name=m.name,
        status="applied",
        outcome="rejected",
        reason=reason,
        order=order,
    )
