"""The unit of work the services share: one session in one transaction, the moment it runs at,
the business date, the allocation policy, and the entities it touched (published to the change
log when it ends)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo

from sqlmodel import Session

from app.domain.model import AllocationPolicy
from sync.server.settings import Settings


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

    @property
    def policy(self) -> AllocationPolicy:
        return self.settings.allocation_policy

    def touch(self, entity: str, key: object) -> None:
        self.touched[(entity, str(key))] = None

    def forget_touches(self) -> None:
        self.touched.clear()
