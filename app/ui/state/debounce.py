"""Search-as-you-type without a query per keystroke: run only once typing pauses."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

DEBOUNCE_SECONDS = 0.15  # long enough to skip the keys of a word, short enough to feel instant


class Debouncer:
    """`trigger()` (re)starts a short timer; `action` runs when it expires undisturbed.
    Must be used from one event loop (the UI's)."""

    def __init__(
        self, action: Callable[[], Awaitable[None]], delay: float = DEBOUNCE_SECONDS
    ) -> None:
        self.action = action
        self.delay = delay
        self._task: asyncio.Task[None] | None = None

    def trigger(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._task = asyncio.get_running_loop().create_task(self._later())

    async def _later(self) -> None:
        await asyncio.sleep(self.delay)
        await self.action()

    async def flush(self) -> None:
        """Wait for the pending run, if any (tests; the submit key)."""
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
