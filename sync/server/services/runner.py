"""Run one operation as one write transaction: a Tx around the session, the change log written
last (with the COMMIT, see changes.publish), a retry when the database asks for one."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlmodel import Session

from sync.server.clock import Clock
from sync.server.context import Tx
from sync.server.db import Database
from sync.server.services.changes import publish
from sync.server.settings import Settings

T = TypeVar("T")


def make_tx(session: Session, db: Database, clock: Clock, settings: Settings, actor: str) -> Tx:
    return Tx(
        session=session,
        now=clock.now(),
        today=clock.today(),
        tz=clock.tz,
        settings=settings,
        actor=actor,
        is_postgres=db.is_postgres,
    )


def run_write(
    db: Database, clock: Clock, settings: Settings, actor: str, work: Callable[[Tx], T]
) -> T:
    def attempt(session: Session) -> T:
        tx = make_tx(session, db, clock, settings, actor)
        result = work(tx)
        publish(tx)
        return result

    return db.transact(attempt)


def run_read(
    db: Database, clock: Clock, settings: Settings, actor: str, work: Callable[[Tx], T]
) -> T:
    with db.session() as session:
        return work(make_tx(session, db, clock, settings, actor))
