"""What a device needs to know about this server to compute the same answers offline."""

from __future__ import annotations

from sync import protocol as p
from sync.server.clock import Clock
from sync.server.settings import Settings


def server_info(settings: Settings, clock: Clock) -> p.ServerInfo:
    return p.ServerInfo(
        protocol_version=p.PROTOCOL_VERSION,
        allocation_policy=settings.allocation_policy,
        timezone=settings.timezone,
        today=clock.today(),
        max_batch=p.MAX_BATCH,
        max_page=p.MAX_PAGE,
        promise_confidence=settings.promise_confidence,
    )
