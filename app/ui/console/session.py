"""What every console screen shares: the supervisor client and the server's calendar.

The server's "today" and time zone (from /sync/info) date the periods and the times shown, so a
supervisor in another zone reads the business's calendar, as the metrics do."""

from __future__ import annotations

from datetime import date, tzinfo
from zoneinfo import ZoneInfo

from sync import protocol as p
from sync.supervisor import SupervisorClient


class ConsoleSession:
    def __init__(self, api: SupervisorClient) -> None:
        self.api = api
        self._info: p.ServerInfo | None = None

    async def info(self, *, fresh: bool = False) -> p.ServerInfo:
        if self._info is None or fresh:
            self._info = await self.api.info()
        return self._info

    @property
    def tz(self) -> tzinfo:
        return ZoneInfo(self._info.timezone) if self._info else ZoneInfo("UTC")

    async def today(self) -> date:
        return (await self.info(fresh=True)).today
