"""What the sync bar says: online or not, last sync, what waits in the outbox, progress, error."""

from __future__ import annotations

from dataclasses import dataclass

from app.store import Store, sync_state, sync_status
from app.ui.state.text import age, ago, plural
from sync.engine import SyncProgress
from sync.protocol import SNAPSHOT_SECTIONS

_PHASE_WORDS = {
    "sign_in": "Signing in",
    "push": "Sending changes",  # orders, cancels, contact edits, acknowledgements
    "pull": "Receiving updates",
    "snapshot": "Downloading",
}


@dataclass(frozen=True, slots=True)
class SyncBarView:
    online: bool
    status: str  # "Online" | "Offline"
    last_sync: str  # "Last sync 2 h ago"
    pending: str  # "3 orders waiting, oldest 25 min" | "Nothing waiting to send"
    pending_count: int
    error: str | None  # the last error in words, None when the last cycle worked
    syncing: bool
    progress: float | None  # 0..1 when known, None for "busy, amount unknown"
    progress_text: str


_SECTION_WORDS = {"eta_changes": "ETA changes"}


def progress_of(progress: SyncProgress | None) -> tuple[float | None, str]:
    """A bar value and words for a progress report. A first download says which section of
    the snapshot it is in, and how far it is against the records the server said it holds
    (without that total, the bar moves section by section)."""
    if progress is None:
        return None, "Syncing…"
    words = _PHASE_WORDS.get(progress.phase, "Syncing")
    if progress.phase == "snapshot" and progress.section in SNAPSHOT_SECTIONS:
        index = SNAPSHOT_SECTIONS.index(progress.section)
        name = _SECTION_WORDS.get(progress.section, progress.section)
        where = f"First download: {name} ({index + 1} of {len(SNAPSHOT_SECTIONS)})"
        if progress.total:
            share = min(progress.done / progress.total, 1.0)
            return share, f"{where}, {progress.done:,} of {progress.total:,} records"
        return index / len(SNAPSHOT_SECTIONS), f"{where}, {progress.done:,} records"
    if progress.total:
        share = min(progress.done / progress.total, 1.0)
        return share, f"{words}: {progress.done:,} of {progress.total:,}"
    if progress.phase == "snapshot":
        return None, f"First download: {progress.done:,} records"
    if progress.phase == "push":  # the engine's "sending 1 change(s)" would only repeat it
        return None, f"{words}…"
    return None, f"{words}…" if not progress.message else f"{words}: {progress.message}"


def sync_bar(
    store: Store, *, online: bool, syncing: bool = False, progress: SyncProgress | None = None
) -> SyncBarView:
    status = sync_status(store, online=online)
    if status.last_sync_at is None:
        last = "Never synced"
    else:
        last = f"Last sync {ago(status.last_sync_age)}"
    if status.pending_count:
        pending = (
            f"{plural(status.pending_count, 'change')} waiting, "
            f"oldest {age(status.oldest_pending_age)}"
        )
    else:
        pending = "Nothing waiting to send"
    if status.dead_count:
        pending += f"; {plural(status.dead_count, 'change')} refused by the server"
    error = status.last_error
    synced, failed = status.last_sync_at, status.last_error_at
    if error and synced and failed and failed < synced:
        error = None  # a later sync worked
    value, words = progress_of(progress) if syncing else (None, "")
    return SyncBarView(
        online=online,
        status="Online" if online else "Offline",
        last_sync=last,
        pending=pending,
        pending_count=status.pending_count,
        error=error,
        syncing=syncing,
        progress=value,
        progress_text=words,
    )


class OutboxWatch:
    """Tells when the rep has just queued a change, so the sync goes at once rather than at
    the next periodic cycle. It watches the device's mutation counter, which only grows as
    changes are queued (sending them does not lower it): a rise means something new, however
    many were sent meanwhile (an outbox count would not rise after an order was sent)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.seen = self._newest()

    def _newest(self) -> int:
        with self.store.read() as session:
            return sync_state(session).last_mutation_id

    def new_changes(self) -> bool:
        newest = self._newest()
        rose = newest > self.seen
        self.seen = newest
        return rose

    def reset(self) -> None:
        """After a sign-in: the server sets the counter where it left this device."""
        self.seen = self._newest()
