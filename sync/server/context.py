"""The unit of work the services share: one session in one transaction, the moment it runs at,
the business date, the allocation policy, and the entities it touched (published to the change
log when it ends)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from typing import Any, TypeVar

from sqlalchemy import Connection
from sqlmodel import Session

from app.domain.model import AllocationPolicy
from app.domain.slip import Confidence
from sync.server.settings import Settings

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the signed-in user and the device the token belongs to."""

    user_id: int
    username: str
    full_name: str
    role: str
    device_id: object  # uuid.UUID

    @property
    def is_supervisor(self) -> bool:
        return self.role == "supervisor"


@dataclass
class Tx:
    session: Session
    now: datetime
    today: date
    tz: tzinfo
    settings: Settings
    actor: str
    is_postgres: bool
    # (entity, key) pairs to publish, in first-touch order (dict keeps order, drops repeats).
    touched: dict[tuple[str, str], None] = field(default_factory=dict)
    prepared: dict[tuple[str, str], tuple[int | None, Any]] = field(default_factory=dict)
    # Strong references to rows loaded in this transaction: the session's identity map is
    # weak, and re-selecting a row we already had costs a round trip.
    held: list[object] = field(default_factory=list)
    _conn: Connection | None = field(default=None, repr=False)
    # The process's slip book (services/slips.SlipCache); None: dates trust receipt dates.
    slips: Any = None
    slips_changed: bool = False  # a receipt closed: the book is rebuilt after the commit
    cause: str = ""  # why dates may move in this transaction, in words (for ETA-change events)
    _confidence: Confidence | None = field(default=None, repr=False)

    def core(self) -> Connection:
        """The transaction's connection, for Core statements on tables (the hot paths): the
        same transaction as the session's, without the ORM session's per-statement overhead.
        (Session.execute does not autoflush Core statements either.)"""
        if self._conn is None:
            self._conn = self.session.connection()
        return self._conn

    def hold(self, *rows: object) -> None:
        self.held.extend(rows)

    def get(self, model: type[T], key: object) -> T | None:
        row = self.session.get(model, key)
        if row is not None:
            self.held.append(row)
        return row

    @property
    def policy(self) -> AllocationPolicy:
        return self.settings.allocation_policy

    @property
    def confidence(self) -> Confidence | None:
        """What dates are promised at: the suppliers' slip history and the business's chosen
        confidence (None when the server trusts receipt dates as they are)."""
        if self.slips is None or self.settings.promise_confidence is None:
            return None
        if self._confidence is None:
            level = self.settings.promise_confidence
            self._confidence = self.slips.confidence(self.session, level)
        return self._confidence

    def touch(self, entity: str, key: object) -> None:
        self.touched[(entity, str(key))] = None

    def ready(self, entity: str, key: str, rep_id: int | None, record: Any) -> None:
        """A change row whose record the caller already has (no need to read it back)."""
        self.prepared[(entity, key)] = (rep_id, record)

    def forget_touches(self) -> None:
        self.touched.clear()
        self.prepared.clear()
