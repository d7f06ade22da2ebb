"""What the composition root hands to the UI: the device store, the sync service, start-up."""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass

from app.store import Store
from app.ui.sync_service import SyncService


@dataclass
class Services:
    store: Store
    sync: SyncService
    # The address the sign-in form offers when the device has none saved.
    default_server_url: str = ""
    # Set while the composition root is still starting the embedded demo server and signing
    # in: the UI waits for it instead of asking the rep to sign in. Its result is ignored; an
    # exception's text is shown on the sign-in screen.
    starting: Future[object] | None = None
    # Words for the sign-in screen, e.g. where the demo server runs.
    sign_in_note: str = ""
