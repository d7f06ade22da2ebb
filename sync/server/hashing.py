"""Password checks on a small pool of their own, apart from the threads that serve sync.

A password hash is slow on purpose (argon2: tens to hundreds of ms of CPU, several threads).
Run on the request threads, 32 sign-ins at once took every one of them and sync stalled for
seconds. Here at most `workers` hashes run at once, at most `waiting` more queue, and any more
are refused at once (429 with Retry-After) instead of queueing without end. The pool's threads
run at a lower CPU priority (Linux: nice is per thread, and argon2's own lane threads inherit
it), so that on a busy machine the scheduler serves sync first and a flood of sign-ins only
slows the sign-ins. Per server process, like the sign-in limits (throttle.py)."""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from sync.server.security import verify_password
from sync.server.throttle import Throttled

NICE = 10


def _lower_priority() -> None:
    with contextlib.suppress(AttributeError, OSError):  # not on this platform: run as is
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICE)


class HashPool:
    def __init__(self, workers: int = 1, waiting: int = 8) -> None:
        self.workers = workers
        self.limit = workers + waiting
        self._executor: ThreadPoolExecutor | None = None
        self._busy = 0  # hashes running or queued (changed on the event loop only)
        self._seconds = 0.2  # a running estimate of one hash's time, for Retry-After

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:  # threads start on first use
            self._executor = ThreadPoolExecutor(
                self.workers, thread_name_prefix="password-hash", initializer=_lower_priority
            )
        return self._executor

    async def verify(self, password: str, password_hash: str | None) -> bool:
        if self._busy >= self.limit:
            wait = math.ceil(self._busy / self.workers * self._seconds)
            raise Throttled(wait, "the server is busy checking other sign-ins")
        self._busy += 1
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._pool(), self._timed, password, password_hash)
        finally:
            self._busy -= 1

    def _timed(self, password: str, password_hash: str | None) -> bool:
        began = time.perf_counter()
        try:
            return verify_password(password, password_hash)
        finally:
            self._seconds = 0.8 * self._seconds + 0.2 * (time.perf_counter() - began)

    def shutdown(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False)
            self._executor = None
