"""The device side of sync: push the outbox, then pull what the server changed.

One cycle = push, then pull. Pushes send the outbox in mutation-id order, in batches; the server
applies each mutation exactly once by (device id, mutation id), so a retry after a lost answer is
harmless. Pulls apply each page in one store transaction together with its cursor, so a crash
never leaves a page half-applied or the cursor ahead of the data. A fresh device (or a resync)
downloads a full snapshot in pages, written while the next page downloads, without touching the
outbox or the cart.

Faults a retry may cure (no connection, timeouts, 5xx, 429) are retried with exponential backoff
and full jitter; a 4xx is final and its message is shown. The engine never raises out of `sync()`
for a network fault: it records the error in words, marks itself offline and tries again later.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import random
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
from pydantic import ValidationError
from pydantic_core import from_json

from app.store import (
    SnapshotLoader,
    Store,
    apply_changes,
    apply_verdicts,
    mark_applied,
    mark_dead,
    pending,
    record_sync,
    save_sign_in,
    set_promise_confidence,
    set_server_settings,
    sync_state,
)
from app.store.errors import StoreError
from app.store.outbox import close_gap, mark_refused, renumber_reused
from app.store.snapshot import awaiting_pull
from app.store.syncstate import switching_user
from app.store.views import OutboxEntry
from sync import protocol as p

log = logging.getLogger(__name__)

Phase = Literal["idle", "sign_in", "push", "pull", "snapshot", "done", "error"]


class SyncError(Exception):
    """A sync problem, in words a rep can act on."""


class SignInError(SyncError):
    pass


class AppTooOld(SyncError):
    pass


class NotSignedIn(SyncError):
    pass


class Offline(SyncError):
    pass


@dataclass(frozen=True, slots=True)
class SyncProgress:
    phase: Phase
    done: int = 0
    total: int | None = None
    message: str = ""
    section: str | None = None  # the snapshot section being downloaded


@dataclass(slots=True)
class SyncReport:
    pushed: int = 0  # mutations the server confirmed (applied now or before)
    dead: int = 0  # mutations the server set aside
    pulled: int = 0  # changes applied from pull pages
    snapshot_records: int = 0  # records of a full snapshot, when one was taken
    renumbered: int = 0  # unsent changes given new ids (a device restored from a copy)
    error: str | None = None
    note: str | None = None  # something the rep should know that is not an error
    signed_out: bool = False  # the server does not know the token (or none is kept): sign in

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with full jitter: attempt n waits uniform(0, min(cap, base * 2**n))."""

    base: float = 0.5
    cap: float = 20.0
    attempts: int = 5

    def delays(self, rng: random.Random) -> Iterator[float]:
        for n in range(self.attempts - 1):
            yield rng.uniform(0, min(self.cap, self.base * 2**n))

    def idle(self, reached: bool, every: float, offline: float) -> tuple[float, float]:
        """Between background cycles: (the pause before the next one, the offline pause to
        carry on). `every` while the server answers; while it does not, a pause that doubles
        up to `cap`, so a basement does not drain the battery."""
        if reached:
            return every, self.base
        offline = min(self.cap, offline * 2)
        return offline, offline


Sleep = Callable[[float], Awaitable[None]]
ProgressFn = Callable[[SyncProgress], None]

_RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
_ENTITY_NAMES = {"queue_entry": "demand", "eta_change": "eta_event"}


def _detail(response: httpx.Response) -> str:
    """The server's explanation of a 4xx, as one readable sentence."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300] or f"HTTP {response.status_code}"
    detail = body.get("detail", body) if isinstance(body, dict) else body
    if isinstance(detail, list):  # FastAPI validation errors: name the fields
        parts = []
        for err in detail[:3]:
            where = ".".join(str(x) for x in err.get("loc", ()) if x != "body")
            parts.append(f"{where}: {err.get('msg', '')}".strip(": "))
        return "; ".join(parts)
    return str(detail)


def to_store_changes(changes: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The protocol's changes (as decoded JSON) in the store's format: an order's lines become
    order_line changes right after their order (the store wants an order before its lines).

    Records are not validated twice: the store checks every field it keeps (app/store/changes.py)
    and refuses a page whole if one is wrong, which is both stricter and far cheaper than
    building a pydantic model per record first."""
    for change in changes:
        entity = _ENTITY_NAMES.get(change["entity"], change["entity"])
        if entity == "supplier":
            continue  # the device keeps no supplier records
        key, op, data = change["key"], change["op"], change.get("data")
        if entity == "order" and data is not None:
            lines = data.pop("lines", [])
            yield {"entity": "order", "id": key, "op": op, "data": data}
            for line in lines:
                line["order_id"] = key
                line["line_id"] = str(line["line_no"])
                yield {
                    "entity": "order_line",
                    "id": f"{key}:{line['line_no']}",
                    "op": "upsert",
                    "data": line,
                }
            continue
        yield {"entity": entity, "id": key, "op": op, "data": data}


@contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a snapshot streams in: its hundreds of thousands of
    new rows would trigger collection after collection, each walking every live object
    (measured: decoding took 2.5x as long). Reference counting still frees what is dropped;
    cycles wait for the collector, which runs again at the end."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _push_body(device_id: str, entries: list[OutboxEntry]) -> dict[str, Any]:
    mutations = [
        {**e.args, "name": e.name, "mutation_id": e.mutation_id}
        | {"client_time": e.created_at.isoformat()}
        for e in entries
    ]
    return {"device_id": device_id, "mutations": mutations}


def _refusals(results: Iterable[p.MutationResult]) -> dict[int, str]:
    """The business refusals to keep on the device, by mutation id, with the server's reason.
    A refused order is not among them: its verdict records the refusal on the order itself."""
    return {
        r.mutation_id: r.reason or "refused by the server"
        for r in results
        if r.status != "dead_lettered" and r.outcome == "rejected" and r.name != "place_order"
    }


def _malformed(response: httpx.Response, entries: list[OutboxEntry]) -> dict[int, str]:
    """A push refused as malformed (422) because of some of its mutations: why each of them can
    never be accepted, by mutation id (e.g. a NUL byte in a note). Empty when any error is not
    inside one mutation (then the push as a whole is at fault)."""
    try:
        errors = response.json().get("detail")
    except (ValueError, AttributeError):
        return {}
    if not isinstance(errors, list) or not errors:
        return {}
    why: dict[int, list[str]] = {}
    for error in errors:
        loc = error.get("loc") if isinstance(error, dict) else None
        if not isinstance(loc, list) or loc[:2] != ["body", "mutations"] or len(loc) < 4:
            return {}
        index = loc[2]
        if not isinstance(index, int) or not 0 <= index < len(entries):
            return {}
        entry = entries[index]
        where = [str(x) for x in loc[3:] if x != entry.name]  # the union's branch: no field
        why.setdefault(entry.mutation_id, []).append(
            f"{'.'.join(where) or 'it'}: {error.get('msg', 'invalid')}"
        )
    return {
        mutation_id: "the server cannot accept it: " + "; ".join(reasons[:3])
        for mutation_id, reasons in why.items()
    }


def _too_large(size: int) -> str:
    """Why a mutation will never be sent, in words the rep can act on (the server's own words
    ask for fewer mutations per push: no help for one alone)."""
    return (
        f"too large to send: the server refused it even on its own ({size:,} bytes); "
        "it was not sent: make it smaller (fewer lines, a shorter note) and enter it again"
    )


def _page(response: httpx.Response, *fields: str) -> dict[str, Any]:
    """A pull or snapshot page's envelope, checked by hand (its records are checked by the
    store). Decoded by pydantic's Rust parser (already here for pydantic): about twice as fast
    as the json module on a snapshot page; no string cache, as a page's values are unique."""
    try:
        body = from_json(response.content, cache_strings=False)
    except ValueError as bad:
        raise SyncError(f"the server sent a page that is not JSON: {bad}") from None
    if not isinstance(body, dict) or any(f not in body for f in fields):
        raise SyncError(f"the server sent a page without {', '.join(fields)}")
    return body


@dataclass
class SyncEngine:
    """Syncs one device's store with the central server over an httpx client given from outside
    (tests hand it one on httpx.ASGITransport, the real server in process)."""

    store: Store
    client: httpx.AsyncClient
    server_url: str = ""
    on_progress: ProgressFn | None = None
    backoff: Backoff = field(default_factory=Backoff)
    sleep: Sleep = asyncio.sleep
    rng: random.Random = field(default_factory=random.Random)
    batch: int = p.MAX_BATCH
    page_size: int = p.MAX_PAGE  # records a page: fewer round trips on a slow network
    online: bool = False
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False, repr=False)

    # -- plumbing -------------------------------------------------------------------------

    def _progress(
        self,
        phase: Phase,
        done: int = 0,
        total: int | None = None,
        msg: str = "",
        section: str | None = None,
    ) -> None:
        if self.on_progress is not None:
            self.on_progress(SyncProgress(phase, done, total, msg, section))

    def _base_url(self) -> str:
        if self.server_url:
            return self.server_url.rstrip("/")
        with self.store.read() as session:
            url = sync_state(session).server_url
        if not url:
            raise NotSignedIn("no server address yet: sign in first")
        return url.rstrip("/")

    def _token(self) -> str:
        with self.store.read() as session:
            token = sync_state(session).token
        if not token:
            raise NotSignedIn("signed out: sign in again to sync (nothing waiting is lost)")
        return token

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        token: str | None = None,
        backoff: Backoff | None = None,
        final: frozenset[int] = frozenset(),
    ) -> httpx.Response:
        """Send with retries for faults a retry may cure; return the first final answer (the
        statuses in `final` are not retried)."""
        headers = {p.PROTOCOL_HEADER: str(p.PROTOCOL_VERSION)}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        url = self._base_url() + path
        delays = (backoff or self.backoff).delays(self.rng)
        while True:
            try:
                response = await self.client.request(
                    method, url, json=json, params=params, headers=headers
                )
            except httpx.TransportError as fault:
                self.online = False
                # In words a rep reads; the fault's class stays in the log.
                log.info("no answer from %s: %r", self._base_url(), fault)
                problem = (
                    f"cannot reach the server at {self._base_url()}: no connection; "
                    "everything waits here and goes when it answers"
                )
            else:
                self.online = True
                if response.status_code not in _RETRY_STATUS or response.status_code in final:
                    return self._final(response)
                problem = f"the server is in trouble (HTTP {response.status_code}); will retry"
            delay = next(delays, None)
            if delay is None:
                raise Offline(problem)
            await self.sleep(delay)

    @staticmethod
    def _final(response: httpx.Response) -> httpx.Response:
        """Turn the answers that stop a cycle into errors that say what to do."""
        status = response.status_code
        if status == 426:
            raise AppTooOld(f"this app is too old for the server: update it ({_detail(response)})")
        if status == 401:
            raise NotSignedIn(f"sign in again: {_detail(response)}")
        return response

    # -- sign in --------------------------------------------------------------------------

    async def sign_in(
        self, username: str, password: str, *, device_name: str = "device"
    ) -> p.SignInResponse:
        """Register this device with the server and keep the token, so later starts work offline."""
        if not self.server_url:
            raise SignInError("enter the server address")
        with self.store.read() as session:
            try:  # asked before the server: a refused switch must not register a device
                switching = switching_user(session, username)
            except StoreError as waiting:
                raise SignInError(str(waiting)) from None
            # The server keeps a device id to one user: another user registers anew.
            device_id = None if switching else sync_state(session).device_id
        body = {
            "username": username,
            "password": password,
            "device_name": device_name,
            "device_id": device_id,
        }
        self._progress("sign_in", msg=f"signing in to {self.server_url}")
        try:
            response = await self._request(
                "POST",
                "/auth/sign-in",
                json=body,
                backoff=Backoff(attempts=2),
                final=frozenset({429}),  # too many attempts: say so, do not add more
            )
        except NotSignedIn:
            raise SignInError("wrong user name or password") from None
        except Offline as fault:
            raise SignInError(str(fault)) from None
        if response.status_code >= 400:
            raise SignInError(_detail(response))
        answer = p.SignInResponse.model_validate(response.json())
        with self.store.write() as session:
            save_sign_in(
                session,
                server_url=self.server_url,
                user_name=answer.user.username,
                token=answer.token,
                role=answer.user.role,
                protocol_version=p.PROTOCOL_VERSION,
                device_id=str(answer.device_id),
                last_mutation_id=answer.last_mutation_id,
            )
            set_server_settings(session, allocation_policy=answer.server.allocation_policy.value)
            set_promise_confidence(session, answer.server.promise_confidence)
        self._progress("idle", msg=f"signed in as {answer.user.username}")
        return answer

    # -- one cycle ------------------------------------------------------------------------

    async def sync(self) -> SyncReport:
        """Push, then pull. Faults are recorded in the store (shown by the status bar), not raised;
        only one cycle runs at a time."""
        async with self._lock:
            report = SyncReport()
            try:
                token = self._token()
                await self._push(token, report)
                await self._pull(token, report)
            except SyncError as problem:
                report.error = str(problem)
                report.signed_out = isinstance(problem, NotSignedIn)
            except (ValidationError, ValueError) as bad:  # a server answer we cannot read
                report.error = f"the server sent something this app cannot read: {bad}"
            with self.store.write() as session:
                record_sync(session, at=self.store.now(), error=report.error)
            self._progress("error" if report.error else "done", msg=report.error or "up to date")
            return report

    async def resync(self) -> SyncReport:
        """Rebuild the cache from a full snapshot; the outbox and the cart are kept (and pushed
        first, so nothing the rep did waits behind the download)."""
        async with self._lock:
            report = SyncReport()
            try:
                token = self._token()
                await self._push(token, report)
                await self._snapshot(token, report)
                await self._pull(token, report)
            except SyncError as problem:
                report.error = str(problem)
                report.signed_out = isinstance(problem, NotSignedIn)
            with self.store.write() as session:
                record_sync(session, at=self.store.now(), error=report.error)
            self._progress("error" if report.error else "done", msg=report.error or "up to date")
            return report

    async def _push(self, token: str, report: SyncReport) -> None:
        """Send the outbox in batches, in order. A batch's answer is written (in a worker
        thread) while the next batch is on its way: the server re-checks that one meanwhile.
        Only one answer is written at a time, in order; a crash before it is written costs
        nothing (the entries are sent again and the server answers them as duplicates)."""
        with self.store.read() as session:
            state = sync_state(session)
        answered = 0  # the last mutation id the server has answered in this cycle
        size = self.batch  # halved while the server finds a batch too large (413)
        writing: asyncio.Future[None] | None = None
        cut: int | None = None  # the next batch only: the entries before a malformed one
        try:
            while True:
                with self.store.read() as session:
                    entries = pending(session, limit=cut or size, after=answered)
                cut = None
                if not entries:
                    return
                self._progress(
                    "push",
                    report.pushed,
                    None,
                    f"sending {len(entries)} change" + ("" if len(entries) == 1 else "s"),
                )
                response = await self._request(
                    "POST", "/sync/push", json=_push_body(state.device_id, entries), token=token
                )
                if writing is not None:
                    await writing
                    writing = None
                if response.status_code == 413:  # nothing of it was read: send less
                    if len(entries) > 1:
                        size = len(entries) // 2
                        continue
                    # One mutation alone is too large: final, or it blocks the queue forever.
                    with self.store.write() as session:
                        why = _too_large(len(response.request.content))
                        mark_refused(session, entries[0].mutation_id, why)
                    report.dead += 1
                    size = self.batch  # what follows may fit in full batches again
                    continue
                if response.status_code == 409 and "expected" in response.text:
                    gap = p.GapDetail.model_validate(response.json())
                    applied = [e.mutation_id for e in entries if e.mutation_id < gap.expected]
                    if not applied:  # the server wants ids this device set aside unsent
                        with self.store.write() as session:
                            moved = close_gap(session, gap.expected)
                        if not moved:
                            raise SyncError(f"the server refused the changes: {gap.detail}")
                        continue
                    with self.store.write() as session:
                        report.pushed += mark_applied(session, applied)
                    answered = applied[-1]
                    continue
                malformed = _malformed(response, entries) if response.status_code == 422 else {}
                if malformed:  # never accepted as they are: set aside, so the rest can go
                    with self.store.write() as session:
                        for mutation_id, why in malformed.items():
                            mark_refused(session, mutation_id, why)
                    report.dead += len(malformed)
                    # Those before it go first; the server then asks for the ids set aside
                    # (a gap) and close_gap renumbers what follows.
                    cut = sum(e.mutation_id < min(malformed) for e in entries) or None
                    continue
                if response.status_code >= 400:
                    raise SyncError(f"the server refused the changes: {_detail(response)}")
                answer = p.PushResponse.model_validate_json(response.content)  # the contract
                reused = [r.mutation_id for r in answer.results if r.status == "reused"]
                if reused:  # restored from an older copy: what came before is answered
                    before = [e for e in entries if e.mutation_id < reused[0]]
                    self._record_answer(response, answer, before, {}, report)
                    with self.store.write() as session:
                        moved = renumber_reused(session, reused[0], answer.last_applied)
                    report.renumbered += moved
                    report.note = (
                        f"This device was restored from an older copy of its data: {moved} "
                        f"change{'' if moved == 1 else 's'} not yet sent "
                        f"{'was' if moved == 1 else 'were'} numbered anew and "
                        f"{'is' if moved == 1 else 'are'} being sent; nothing is lost"
                    )
                    answered = answer.last_applied
                    continue
                dead = {r.mutation_id: r for r in answer.results if r.status == "dead_lettered"}
                if answer.last_applied < entries[-1].mutation_id and not dead:
                    self._record_answer(response, answer, entries, dead, report)
                    raise SyncError(
                        f"the server applied changes up to {answer.last_applied} only; will retry"
                    )
                writing = asyncio.ensure_future(
                    asyncio.to_thread(self._record_answer, response, answer, entries, dead, report)
                )
                answered = entries[-1].mutation_id
        finally:
            if writing is not None:
                await writing

    def _record_answer(
        self,
        response: httpx.Response,
        answer: p.PushResponse,
        entries: list[OutboxEntry],
        dead: dict[int, p.MutationResult],
        report: SyncReport,
    ) -> None:
        """A push answer in the store, in one transaction: dead letters marked, each order's
        verdict recorded (it stops being pending at once), refusals of other changes kept with
        their reasons (they must not vanish without a word), the applied entries dropped."""
        # The store takes the verdicts as the JSON decoded (it checks what it keeps): cheaper
        # than dumping the models back.
        verdicts = [
            r["order"]
            for r in from_json(response.content)["results"]
            if r.get("order") is not None and r["mutation_id"] not in dead
        ]
        sent = {e.mutation_id for e in entries if e.mutation_id <= answer.last_applied}
        refused = {k: v for k, v in _refusals(answer.results).items() if k in sent}
        with self.store.write() as session:
            for mutation_id, result in dead.items():
                mark_dead(session, mutation_id, result.error or "failed on the server")
            apply_verdicts(session, verdicts)
            for mutation_id, reason in refused.items():
                mark_refused(session, mutation_id, reason)
            done = sorted(sent - dead.keys() - refused.keys())
            report.pushed += mark_applied(session, done) + len(refused)
        report.dead += len(dead)

    async def _pull(self, token: str, report: SyncReport) -> None:
        with self.store.read() as session:
            state = sync_state(session)
        if state.cursor == 0 and state.last_sync_at is None:
            await self._snapshot(token, report)
        while True:
            with self.store.read() as session:
                cursor = sync_state(session).cursor
                # Answered before this request: if its page is the last, the cache then holds
                # what they reserved and queued, and they stop counting as local demand.
                answered = awaiting_pull(session)
            response = await self._request(
                "GET",
                "/sync/pull",
                params={"cursor": cursor, "limit": self.page_size},
                token=token,
            )
            if response.status_code == 409:  # the server is behind us (restored): start over
                await self._snapshot(token, report)
                continue
            if response.status_code >= 400:
                raise SyncError(f"the server refused to send changes: {_detail(response)}")
            page = _page(response, "changes", "cursor", "has_more")
            with self.store.write() as session:
                apply_changes(
                    session,
                    list(to_store_changes(page["changes"])),
                    cursor=page["cursor"],
                    caught_up=() if page["has_more"] else answered,
                )
            report.pulled += len(page["changes"])
            self._progress("pull", report.pulled, None, f"{report.pulled} update(s) received")
            if not page["has_more"]:
                return

    async def _snapshot_total(self, token: str) -> int | None:
        """Records the snapshot will hold (for the progress bar); None if the server cannot
        say (the download works without it)."""
        response = await self._request("GET", "/sync/snapshot-counts", token=token)
        if response.status_code != 200:
            return None
        try:
            return sum(p.SnapshotCounts.model_validate_json(response.content).sections.values())
        except ValidationError:
            return None

    async def _snapshot(self, token: str, report: SyncReport) -> None:
        """Download every section in pages and rebuild the cache in ONE transaction. Each page
        is written in a worker thread while the next one downloads: on a phone network the
        round trips, not the writing, are what a first download waits for."""
        total = await self._snapshot_total(token)
        cursor: int | None = None
        ahead = asyncio.ensure_future(self._snapshot_page(token, 0, None))
        try:
            with _gc_paused(), self.store.write() as session:
                loader = SnapshotLoader(session)
                while ahead is not None:
                    index, page = await ahead
                    if cursor is None:
                        cursor = page["cursor"]  # later changes are replayed by the next pull
                    if page["has_more"]:
                        ahead = asyncio.ensure_future(
                            self._snapshot_page(token, index, page.get("after"))
                        )
                    elif index + 1 < len(p.SNAPSHOT_SECTIONS):
                        ahead = asyncio.ensure_future(self._snapshot_page(token, index + 1, None))
                    else:
                        ahead = None
                    await asyncio.to_thread(
                        loader.add_rows, page["entity"], page["columns"], page["rows"]
                    )
                    report.snapshot_records += len(page["rows"])
                    section = p.SNAPSHOT_SECTIONS[index]
                    self._progress(
                        "snapshot",
                        report.snapshot_records,
                        total,
                        f"downloading {section}: {report.snapshot_records} records",
                        section,
                    )
                loader.finish(cursor or 0)
        finally:
            if ahead is not None:  # a page failed: the one asked for next is not wanted
                ahead.cancel()

    async def _snapshot_page(
        self, token: str, index: int, after: str | None
    ) -> tuple[int, dict[str, Any]]:
        """Page `after` of the index-th section, decoded and its envelope checked."""
        params: dict[str, Any] = {"section": p.SNAPSHOT_SECTIONS[index], "limit": self.page_size}
        if after is not None:
            params["after"] = after
        response = await self._request("GET", "/sync/snapshot", params=params, token=token)
        if response.status_code >= 400:
            raise SyncError(f"the server refused the snapshot: {_detail(response)}")
        return index, _page(response, "entity", "columns", "rows", "cursor", "has_more")
