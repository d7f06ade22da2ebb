"""The rep's app at catalog scale, seen from a real browser: `python bench/ui.py`.

Builds a device database with 100,000 products (bench/store_search.py's catalog: two
warehouses, 20,000 receipts, 5,000 queued backorders), signed in, no server. Then, with
Debian's Chromium driven by Playwright (as tests/e2e does):

1. start to a usable catalog: from launching `python -m app` to the catalog screen showing
   the results of a first search (process start, port open, page loaded, results drawn);
2. search as you type: for a mix of queries (SKU, SKU prefix, barcode, word, brand, two
   words), the time from the last key press to the expected first result being on screen,
   which includes the 150 ms typing pause the screen waits for before it searches;
3. beside it, the same searches in Python (CatalogState.search: the store's ranked search,
   each hit's availability for the account, and the units-now count behind the chips).
"""

from __future__ import annotations

import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from store_search import NOW, apply_snapshot, catalog  # noqa: E402

from app.store import CartService, Store, save_sign_in  # noqa: E402
from app.ui.state.catalog import CatalogState  # noqa: E402
from app.ui.state.debounce import DEBOUNCE_SECONDS  # noqa: E402
from bench import machine  # noqa: E402

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
QUERIES = 24
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]  # fmt: skip


def build(folder: Path) -> list[tuple[str, str]]:
    """The device database, and (query, expected first SKU) pairs computed in Python."""
    rng = random.Random(20261126)
    changes = catalog(rng)
    device = folder / "device"
    device.mkdir(parents=True)
    store = Store.open(device / "fieldsales.db", clock=lambda: NOW)
    seconds = apply_snapshot(store, changes)
    with store.write() as session:
        save_sign_in(session, server_url="http://127.0.0.1:9", user_name="rep1", token="bench",
                     role="rep")  # fmt: skip
    CartService(store).set_account("1")
    print(f"device database: {len(changes):,} records applied in {seconds:.1f} s")
    products = [c["data"] for c in changes if c["entity"] == "product"]
    state = CatalogState(store)
    pairs: list[tuple[str, str]] = []
    kinds = ("sku", "sku prefix", "barcode", "word", "brand", "two words")
    while len(pairs) < QUERIES:
        p = rng.choice(products)
        kind = kinds[len(pairs) % len(kinds)]
        words = p["name"].lower().split()
        text = {
            "sku": p["sku"],
            "sku prefix": p["sku"][:9],
            "barcode": p["barcode"],
            "word": words[0],
            "brand": p["brand"].lower(),
            "two words": " ".join(words[:2]),
        }[kind]
        state.set_query(text)
        rows = state.search()
        if rows and all(rows[0].sku != q for _, q in pairs[-1:]):
            pairs.append((text, rows[0].sku))
    python = []
    for text, _ in pairs:
        state.set_query(text)
        started = time.perf_counter()
        state.search()
        python.append((time.perf_counter() - started) * 1000)
    store.close()
    print(
        f"CatalogState.search in Python (30 rows, chips):  p50 {statistics.median(python):.1f} ms"
        f", max {max(python):.1f} ms"
    )
    return pairs


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise TimeoutError(f"port {port} did not open")


def present(page, identifier: str) -> bool:
    return bool(
        page.evaluate(
            '(id) => !!document.querySelector(`[flt-semantics-identifier="${id}"]`)', identifier
        )
    )


def wait_for(page, identifier: str, timeout: float = 30) -> float:
    """Seconds until the node is on screen (polled every few milliseconds)."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if present(page, identifier):
            return time.perf_counter() - started
        time.sleep(0.005)
    raise TimeoutError(f"{identifier} did not appear")


def main() -> None:
    from playwright.sync_api import sync_playwright

    print(machine.describe())

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        pairs = build(folder)
        port = free_port()
        env = {**os.environ, "FIELDSALES_VIEW": "web", "FIELDSALES_PORT": str(port),
               "FIELDSALES_DATA_DIR": str(folder / "device"), "FIELDSALES_EMBEDDED_SERVER": "0",
               "FIELDSALES_SYNC_EVERY": "0", "FLET_WEB_NO_CDN": "1"}  # fmt: skip
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            started = time.perf_counter()
            quiet = subprocess.DEVNULL
            proc = subprocess.Popen(
                [sys.executable, "-m", "app"], cwd=ROOT, env=env, stdout=quiet, stderr=quiet
            )
            try:
                wait_port(port)
                port_open = time.perf_counter() - started
                page.goto(f"http://127.0.0.1:{port}")
                page.wait_for_selector("flt-semantics-placeholder", state="attached")
                page.locator("flt-semantics-placeholder").dispatch_event("click")
                wait_for(page, "sync-bar")
                first_screen = time.perf_counter() - started
                page.get_by_role("button", name="Catalog").first.click()
                field = page.get_by_label("Search products", exact=True)
                field.wait_for()
                for _ in range(4):  # a first click may only close the tab's tooltip
                    field.click()
                    if page.evaluate("() => document.activeElement?.tagName === 'INPUT'"):
                        break
                    time.sleep(0.2)
                first_text, first_sku = pairs[0]
                page.keyboard.type(first_text)
                wait_for(page, f"chip-{first_sku}")
                usable = time.perf_counter() - started
                print(
                    f"start to a usable catalog (100,000 products): {usable:.1f} s "
                    f"(port open {port_open:.1f} s, first screen {first_screen:.1f} s, then "
                    "the catalog tab and a first search)"
                )
                latencies = []
                for text, sku in pairs[1:]:
                    page.keyboard.press("Control+A")
                    page.keyboard.type("zzqqxx")  # matches nothing: the list empties
                    while present(page, f"chip-{sku}"):
                        time.sleep(0.01)
                    time.sleep(0.4)
                    page.keyboard.press("Control+A")
                    page.keyboard.type(text, delay=40)  # a quick typist: 25 keys a second
                    latencies.append(wait_for(page, f"chip-{sku}") * 1000)
                print(
                    f"search as you type, last key to results on screen ({len(latencies)} "
                    f"queries): p50 {statistics.median(latencies):.0f} ms, "
                    f"p95 {sorted(latencies)[int(0.95 * (len(latencies) - 1))]:.0f} ms, "
                    f"max {max(latencies):.0f} ms "
                    f"(includes the {DEBOUNCE_SECONDS * 1000:.0f} ms typing pause)"
                )
            finally:
                proc.terminate()
                proc.wait(10)
                browser.close()


if __name__ == "__main__":
    main()
