"""`python -m app`: the composition root. It builds the store, the sync service and, unless told
otherwise, an embedded central server seeded with demo data, then serves the rep's UI.

Settings (environment, all optional):
  FIELDSALES_SERVER_URL        use this central server (the sign-in screen shows on first start)
                               instead of the embedded one
  FIELDSALES_EMBEDDED_SERVER   "0": start no embedded server (tests start one separately);
                               none starts either where the server's packages are missing
                               (a packaged phone app)
  FIELDSALES_DEMO_USER / _PASSWORD   who the embedded demo signs in as (rep1 / demo; `super`
                               opens the supervisor's console, rep1..rep5 are the reps)
  FIELDSALES_SYNC_EVERY        seconds between automatic syncs (default 60; 0: only on demand)
  FIELDSALES_VIEW              "web" or "desktop"; without a display the web UI is served
  FIELDSALES_PORT              web UI port (default 8550)
  FIELDSALES_DATA_DIR          where the device keeps its database (a packaged app uses
                               FLET_APP_STORAGE_DATA; else the platform's user data folder)

On a machine with no display it serves the web UI and prints the address.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import sys
import threading
import time
from concurrent.futures import Future
from pathlib import Path

import flet as ft

from app.store import Store, sync_state
from app.store.paths import data_dir
from app.ui.services import Services
from app.ui.shell import app
from app.ui.sync_service import SyncService

ASSETS = Path(__file__).resolve().parent.parent / "assets"
DEFAULT_REMOTE = "http://127.0.0.1:8765"  # `python -m sync.server`'s address


def _view() -> ft.AppView:
    wanted = os.environ.get("FIELDSALES_VIEW", "").lower()
    if wanted == "desktop":
        return ft.AppView.FLET_APP
    if wanted == "web" or (sys.platform.startswith("linux") and not os.environ.get("DISPLAY")):
        return ft.AppView.WEB_BROWSER
    return ft.AppView.FLET_APP


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port_is_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def start_embedded_server(folder: Path) -> str:
    """The central server in this process: uvicorn on a background thread, SQLite in `folder`,
    the demo distributor seeded on first start. Returns its address once it answers.
    The port is kept in the folder so the device's saved address stays valid across starts."""
    import uvicorn  # the server's dependencies: only needed for the embedded demo

    from sync.server.app import create_app
    from sync.server.settings import Settings

    folder.mkdir(parents=True, exist_ok=True)
    port_file = folder / "port"
    saved = int(port_file.read_text()) if port_file.exists() else 0
    port = saved if saved and _port_is_free(saved) else _free_port()
    port_file.write_text(str(port))
    settings = Settings(
        database_url=f"sqlite:///{folder / 'server.db'}",
        host="127.0.0.1",
        port=port,
        seed_on_start=False,  # seeded below, without a year of history unless asked: quick
    )
    api = create_app(settings)  # migrates
    _seed_demo(api.state.db, settings)
    server = uvicorn.Server(uvicorn.Config(api, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, name="embedded-server", daemon=True).start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the embedded server did not answer on port {port} within 30 s")
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}"


def _seed_demo(db: object, settings: object) -> None:
    """The demo distributor on first start. A year of order history (for supervisors' metrics)
    only with FIELDSALES_DEMO_HISTORY=1: it triples the first start."""
    from sync.server.seed import seed_database
    from sync.server.seed.generate import is_empty

    if not is_empty(db):  # type: ignore[arg-type]
        return
    history = os.environ.get("FIELDSALES_DEMO_HISTORY", "0") == "1"
    try:
        seed_database(db, settings, history=history)  # type: ignore[arg-type]
    except ImportError as missing:
        # The catalog, stock, people (and history) are committed before the open orders; a
        # server module in flux must not keep the rep's demo from starting.
        print(f"demo seed: open orders skipped ({missing})", file=sys.stderr, flush=True)


# The server's extra: a packaged app has none of these (fastapi and uvicorn alone do not tell:
# Flet's web runtime brings them).
SERVER_PACKAGES = ("sync.server", "uvicorn", "fastapi", "alembic", "pydantic_settings", "pwdlib")


def _server_installed() -> bool:
    try:
        return all(importlib.util.find_spec(name) for name in SERVER_PACKAGES)
    except ImportError:
        return False


def _demo(store: Store, sync: SyncService, folder: Path) -> Future[object]:
    """Start the embedded server and sign in as the demo rep, off the UI's start path."""
    done: Future[object] = Future()
    user = os.environ.get("FIELDSALES_DEMO_USER", "rep1")
    password = os.environ.get("FIELDSALES_DEMO_PASSWORD", "demo")
    # Named on purpose: that user, even where another one was signed in (FIELDSALES_DEMO_USER=
    # super opens the console on a folder that ran the demo as rep1; refused, in words, while
    # the previous user's changes wait to be sent).
    chosen = bool(os.environ.get("FIELDSALES_DEMO_USER"))

    def run() -> None:
        try:
            url = start_embedded_server(folder)
            print(f"Embedded central server at {url} (data in {folder})", flush=True)
            with store.read() as session:
                state = sync_state(session)
            sync.use_server(url)
            if not state.signed_in or (chosen and state.user_name != user):
                sync.sign_in(url, user, password).result(timeout=60)
            done.set_result(url)
        except BaseException as fault:  # the UI shows it and offers the sign-in form
            done.set_exception(fault)

    threading.Thread(target=run, name="demo-start", daemon=True).start()
    return done


def build() -> Services:
    store = Store.open()  # the path: FIELDSALES_DATA_DIR, FLET_APP_STORAGE_DATA, platformdirs
    remote = os.environ.get("FIELDSALES_SERVER_URL", "").strip()
    embedded = (
        not remote
        and os.environ.get("FIELDSALES_EMBEDDED_SERVER", "1") != "0"
        and _server_installed()  # a packaged phone app has no server: it signs in to one
    )
    sync = SyncService(store, server_url=remote or None, device_name="Field Sales (Flet)")
    services = Services(store=store, sync=sync, default_server_url=remote or DEFAULT_REMOTE)
    every = float(os.environ.get("FIELDSALES_SYNC_EVERY", "60"))
    if embedded:
        folder = data_dir() / "embedded-server"
        services.starting = _demo(store, sync, folder)
        services.sign_in_note = "Demo: the central server runs inside this app."
        services.starting.add_done_callback(lambda _f: sync.start_auto(every))
    else:
        sync.start_auto(every)
    return services


def main() -> None:
    view = _view()
    port = int(os.environ.get("FIELDSALES_PORT", "8550"))
    services = build()
    if view is ft.AppView.WEB_BROWSER:
        print(f"Field Sales is serving its web UI at http://127.0.0.1:{port}", flush=True)
    # A packaged app has no assets folder beside its code: Flet bundles the assets itself.
    assets = {"assets_dir": str(ASSETS)} if ASSETS.is_dir() else {}
    ft.run(app(services), view=view, port=port, no_cdn=True, **assets)


if __name__ == "__main__":
    main()
