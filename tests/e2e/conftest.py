"""Real-browser fixtures: the app served as web in a child process, driven by Debian's Chromium,
and the central server as a child process that tests stop and start.

Playwright is told to use /usr/bin/chromium (never `playwright install`: no browser downloads here).
Flutter draws on a canvas, so each page turns on its semantics tree before tests look for controls.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
# Tests write their pictures under build/ (ignored by git): a test run changes no tracked file.
# `python -m tests.e2e.screens` refreshes the README's pictures in docs/screenshots from them.
SHOTS = Path(os.environ.get("FIELDSALES_SHOTS_DIR") or ROOT / "build" / "screenshots")
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the process exited early with code {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing opened port {port} within {timeout} s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


# Per module, not per session: Playwright's sync API keeps an event loop running on the main
# thread while it is open, and the async tests that run after tests/e2e (pytest-asyncio) need
# that thread's loop free.
@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.skip("Chromium is not installed (apt-get install chromium); .ci/run installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
            ],
        )
        yield b
        b.close()


@contextmanager
def run_app(folder: Path, **env: str) -> Iterator[str]:
    """`python -m app` as a user would start it, with its data in `folder`; yields its URL."""
    port = _free_port()
    folder.mkdir(parents=True, exist_ok=True)
    full = {
        **os.environ,
        "FIELDSALES_VIEW": "web",
        "FIELDSALES_PORT": str(port),
        "FIELDSALES_DATA_DIR": str(folder / "device"),
        "FLET_WEB_NO_CDN": "1",
        **env,
    }
    with (folder / f"app-{port}.log").open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app"], cwd=ROOT, env=full, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            _wait_for_port(port, proc)
            yield f"http://127.0.0.1:{port}"
        finally:
            _stop(proc)


@pytest.fixture
def app_server(tmp_path: Path) -> Iterator[str]:
    """The README's run command as it is: embedded demo server, signed in as the demo rep."""
    with run_app(tmp_path) as url:
        yield url


class Central:
    """`python -m sync.server` on a fixed port over one SQLite file: stop it to take the device
    offline, start it again and the device's saved address works again."""

    def __init__(self, folder: Path, *, products: int = 400) -> None:
        self.folder = folder
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database_url = f"sqlite:///{folder / 'server.db'}"
        self.proc: subprocess.Popen[bytes] | None = None
        folder.mkdir(parents=True, exist_ok=True)
        self._seed(products)

    def _seed(self, products: int) -> None:
        """The demo distributor through the server's own seed code (no year of history)."""
        from sync.server.db import Database, make_engine
        from sync.server.migrate import upgrade
        from sync.server.seed import seed_database
        from sync.server.settings import Settings

        settings = Settings(database_url=self.database_url, seed_products=products)
        db = Database(make_engine(self.database_url))
        upgrade(db.engine)
        seed_database(db, settings, products=products, history=False)
        db.dispose()

    def start(self) -> None:
        env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "FIELDSALES_SERVER_SEED_ON_START": "0",
        }
        log = (self.folder / "server.log").open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sync.server", "--port", str(self.port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        _wait_for_port(self.port, self.proc)

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)
            self.proc = None

    def supervisor(self):  # -> httpx.Client signed in as the demo supervisor
        import httpx

        from sync import protocol as p

        # A server just started dates a new day over the seeded year first (services/daily.py):
        # on a loaded machine the first answer can take longer than httpx's default 5 s.
        client = httpx.Client(
            base_url=self.url,
            headers={p.PROTOCOL_HEADER: str(p.PROTOCOL_VERSION)},
            timeout=60,
        )
        answer = client.post(
            "/auth/sign-in", json={"username": "super", "password": "demo", "device_name": "e2e"}
        )
        answer.raise_for_status()
        client.headers["Authorization"] = f"Bearer {answer.json()['token']}"
        return client


# -- driving Flutter's semantics DOM ----------------------------------------------------------


def open_app(browser, url: str, viewport: dict[str, int]):
    page = browser.new_page(viewport=viewport)
    page.goto(url)
    page.wait_for_selector("flt-semantics-placeholder", state="attached", timeout=30_000)
    enable_semantics(page)
    return page


def enable_semantics(page) -> None:
    """Flutter renders to a canvas; this switch makes its controls real DOM nodes for tests."""
    page.locator("flt-semantics-placeholder").dispatch_event("click")


def by_id(page, identifier: str):
    """A control wrapped in ft.Semantics(identifier=...)."""
    return page.locator(f'[flt-semantics-identifier="{identifier}"]')


_SAYS = """(id) => {
  const node = document.querySelector(`[flt-semantics-identifier="${id}"]`);
  if (!node) return null;
  return node.getAttribute("aria-label") || node.textContent || "";
}"""


def says(page, identifier: str) -> str | None:
    """What a semantics node says right now (its label: containers merge their children's, or
    its text); None when it is not on screen. Read in one go: Flutter rebuilds nodes often."""
    found = page.evaluate(_SAYS, identifier)
    return None if found is None else " ".join(found.split())


def wait_for_words(page, identifier: str, pattern: str, timeout: float = 20) -> str:
    """Poll a node until what it says matches `pattern` (a regex); returns the words."""
    deadline = time.monotonic() + timeout
    said = None
    while time.monotonic() < deadline:
        said = says(page, identifier)
        if said is not None and re.search(pattern, said):
            return said
        page.wait_for_timeout(200)
    picture = Path(tempfile.gettempdir()) / f"e2e-failed-{identifier}.png"
    page.screenshot(path=str(picture))
    raise AssertionError(f"{identifier!r} says {said!r}, expected /{pattern}/ (see {picture})")


_FIELDS = "() => [...document.querySelectorAll('input,textarea')].map(n => n.ariaLabel)"
# The focused element, if it is a text field: its label and its text.
_FOCUSED = """() => {
    const n = document.activeElement;
    if (!n || !['INPUT', 'TEXTAREA'].includes(n.tagName)) return null;
    return {label: n.ariaLabel, value: n.value};
}"""

# The texts of the inputs with this label (its label may go on with the helper text): the
# field's node in the semantics tree and, while it has the focus, Flutter's editing element.
_VALUES_OF = """(label) => [...document.querySelectorAll('input,textarea')]
    .filter(n => (n.ariaLabel || '').split('\\n')[0] === label).map(n => n.value)"""


def type_into(page, label: str, text: str) -> None:
    """Flutter ignores locator.fill(): click the field, wait, then type key by key. A first
    click can be spent closing a tooltip (the tab just tapped shows one): click until this
    field has the focus, and type again until the field holds the text."""
    field = page.get_by_label(label, exact=True)
    try:
        field.wait_for(timeout=15_000)
    except Exception:
        labels = page.evaluate(_FIELDS)
        raise AssertionError(f"no field {label!r} on screen; fields: {labels}") from None
    typed = None
    for _ in range(4):
        try:
            field.click(timeout=10_000)
        except PlaywrightTimeout:  # a busy machine: a tooltip or a repaint in the way; try again
            continue
        page.wait_for_timeout(300)
        typed = page.evaluate(_FOCUSED)
        # Flutter may still be moving the focus from another field: wait until it is this one.
        # (Its label may go on with the helper text, on a line of its own.)
        if typed is None or (typed["label"] or label).split("\n")[0] != label:
            continue
        page.keyboard.press("Control+A")  # what was there goes
        page.keyboard.type(text)
        # Read back from the field itself: a list redrawn as the keys arrive may take the focus.
        if text in page.evaluate(_VALUES_OF, label):
            return
        # On a loaded machine the first keys can land before the field is ready: type again.
    holds = page.evaluate(_VALUES_OF, label)
    raise AssertionError(
        f"could not type {text!r} into {label!r}: it holds {holds!r}; focused: {typed}"
    )


def go(page, name: str) -> None:
    """The navigation: tabs at the bottom on a phone, rail buttons on a desktop."""
    # A badge's count may come first in the name ("3 Cart"); "Add .. to cart" is lower case.
    named = re.compile(rf"\b{name}\b")
    tab = page.get_by_role("tab", name=named)
    target = tab if tab.count() else page.get_by_role("button", name=named)
    target.first.click()
    page.wait_for_timeout(600)


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(700)  # let Flutter paint the frame the semantics tree describes
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def open_order(page, account_name: str) -> None:
    """Open the first order of this account in the orders list."""
    name = re.compile(rf"^Open order \S+ for {re.escape(account_name)}")
    page.get_by_role("button", name=name).first.click()
    page.wait_for_timeout(600)


# The sync bar once a cycle has ended: online, and no progress words (sending, receiving, ...).
SYNCED = r"^Online(?!.*(Receiving|Sending|Downloading|Signing|Syncing)).*Last sync"
