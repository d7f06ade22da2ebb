"""Run one operation as one transaction on behalf of a caller: a Tx around the session; for a
write, the change log written last (with the COMMIT, see changes.publish) and a retry when the
database asks for one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlmodel import Session

from sync.server.clock import Clock
from sync.server.context import Principal, Tx
from sync.server.db import Database
from sync.server.services.changes import publish
from sync.server.settings import Settings

T = TypeVar("T")


@dataclass(frozen=True)
class Runner:
    """What an operation needs besides its own arguments: the database, the clock, the
    settings, and who acts (their name goes into the events it writes)."""

    db: Database
    clock: Clock
    settings: Settings
    who: Principal

    def tx(self, session: Session) -> Tx:
        return Tx(
            session=session,
            now=self.clock.now(),
            today=self.clock.today(),
            tz=self.clock.tz,
            settings=self.settings,
            actor=self.who.username,
            is_postgres=self.db.is_postgres,
            slips=self.db.slips,
        )

    def write(self, work: Callable[[Tx], T]) -> T:
        closed: list[bool] = []

        def attempt(session: Session) -> T:
            tx = self.tx(session)
            result = work(tx)
            publish(tx)
            closed[:] = [tx.slips_changed]
            return result

        result = self.db.transact(attempt)
        if any(closed):  # a receipt closed: its supplier's history grew
            self.db.slips.invalidate()
        return result

    def read(self, work: Callable[[Tx], T]) -> T:
        with self.db.session() as session:
            return work(self.tx(session))
