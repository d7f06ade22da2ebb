"""Real-browser fixtures: the app served as web in a child process, driven by Debian's Chromium.

Playwright is told to use /usr/bin/chromium (never `playwright install`: no browser downloads here).
Flutter draws on a canvas, so each page turns on its semantics tree before tests look for controls.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the app exited early with code {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"the app did not open port {port} within {timeout} s")


@pytest.fixture(scope="session")
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


@pytest.fixture
def app_server(tmp_path: Path) -> Iterator[str]:
    """`python -m app` as a user would start it, with its data in a temporary folder."""
    port = _free_port()
    env = {
        **os.environ,
        "FIELDSALES_VIEW": "web",
        "FIELDSALES_PORT": str(port),
        "FIELDSALES_DATA_DIR": str(tmp_path / "device"),
        "FLET_WEB_NO_CDN": "1",
    }
    log = (tmp_path / "app.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "app"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        _wait_for_port(port, proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def enable_semantics(page) -> None:
    """Flutter renders to a canvas; this switch makes its controls real DOM nodes for tests."""
    page.locator("flt-semantics-placeholder").dispatch_event("click")
