"""Sync under a sign-in flood (issue 15 item 2): p50/p95 of /sync/info and /sync/pull, quiet and
while 32 clients sign in without pause, on the real server (uvicorn in its own process, a seeded
SQLite database, real argon2 password hashes).

    python -m bench.signin_flood                       # this checkout, its default limits
    python -m bench.signin_flood --server-root ../main # another checkout (e.g. before the fix)

Scenarios (a fresh server each, so in-memory limits start empty):
- defaults: the server as shipped (sign-in limits per user name and address, the hash pool);
- pool only: the per-address and per-user limits opened wide, so every sign-in reaches the
  password-hash pool: what the pool alone does for sync;
- all refused: the address may sign in once, so the flood is all 429s at the door (no hash):
  what merely answering the flood's requests costs sync.
A few device loops poll /sync/info and an up-to-date /sync/pull (the device's cursor at the end
of the change log, as after a sync), 20 ms apart, and the flood's 32 tasks sign in the demo reps
with the right password (each needs a hash) as fast as they are answered, ignoring Retry-After
(as an attacker would). Target: sync p95 under the flood within 2x its quiet value.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
HEADERS = {"X-Protocol-Version": "5"}
REPS = ("rep1", "rep2", "rep3", "rep4", "rep5")
WIDE_OPEN = {
    "FIELDSALES_SERVER_SIGNIN_ADDRESS_BURST": "1000000",
    "FIELDSALES_SERVER_SIGNIN_ADDRESS_PER_MINUTE": "1000000",
    "FIELDSALES_SERVER_SIGNIN_USER_FREE_FAILURES": "1000",
    "FIELDSALES_SERVER_SIGNIN_ADDRESS_FREE_FAILURES": "100000",
    "FIELDSALES_SERVER_MAX_DEVICES_PER_USER": "1000",
}


# Every sign-in of the flood refused at the door (no hash at all): what answering the flood's
# requests alone costs sync.
ALL_REFUSED = {
    "FIELDSALES_SERVER_SIGNIN_ADDRESS_BURST": "1",
    "FIELDSALES_SERVER_SIGNIN_ADDRESS_PER_MINUTE": "0.001",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    """`python -m sync.server` of a checkout on a seeded SQLite copy, in its own process."""

    def __init__(self, root: Path, db: Path, env: dict[str, str]) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        url = f"sqlite:///{db}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sync.server", "--port", str(self.port)],
            cwd=root,
            env={
                **os.environ,
                "DATABASE_URL": url,
                "FIELDSALES_SERVER_DATABASE_URL": url,
                "FIELDSALES_SERVER_SEED_ON_START": "0",
                "FIELDSALES_SERVER_NEW_DAY_CHECK_SECONDS": "0",
                **env,
            },
            stdout=subprocess.DEVNULL,
        )

    def __enter__(self) -> Served:
        end = time.time() + 120
        while time.time() < end:
            if self.proc.poll() is not None:
                raise SystemExit(f"the server exited with {self.proc.returncode}")
            try:
                if httpx.get(f"{self.base}/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise SystemExit("the server did not start")

    def __exit__(self, *_: object) -> None:
        self.proc.terminate()
        self.proc.wait(30)


def seed(root: Path, db: Path, products: int, accounts: int) -> None:
    url = f"sqlite:///{db}"
    subprocess.run(
        [
            *(sys.executable, "-m", "sync.server", "seed"),
            *("--products", str(products), "--accounts", str(accounts), "--no-history"),
        ],
        cwd=root,
        env={**os.environ, "DATABASE_URL": url, "FIELDSALES_SERVER_DATABASE_URL": url},
        check=True,
        stdout=subprocess.DEVNULL,
    )


async def device(base: str) -> tuple[dict[str, str], int]:
    """A signed-in device synced to the end of the change log: its headers and cursor."""
    async with httpx.AsyncClient(base_url=base, headers=HEADERS, timeout=60) as c:
        answer = await c.post("/auth/sign-in", json={"username": "rep1", "password": "demo"})
        answer.raise_for_status()
        headers = {**HEADERS, "Authorization": f"Bearer {answer.json()['token']}"}
        cursor = 0
        while True:
            page = (await c.get("/sync/pull", params={"cursor": cursor}, headers=headers)).json()
            cursor = page["cursor"]
            if not page["has_more"]:
                return headers, cursor


async def poll(
    base: str, headers: dict[str, str], cursor: int, until: float, times: dict[str, list[float]]
) -> None:
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as c:
        while time.perf_counter() < until:
            for name, url, params in (
                ("info", "/sync/info", None),
                ("pull", "/sync/pull", {"cursor": cursor}),
            ):
                began = time.perf_counter()
                response = await c.get(url, params=params)
                times[name].append(time.perf_counter() - began)
                response.raise_for_status()
                await asyncio.sleep(0.02)


async def flood(base: str, n: int, until: float, answers: Counter[int]) -> None:
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
    async with httpx.AsyncClient(base_url=base, headers=HEADERS, timeout=120, limits=limits) as c:

        async def one(k: int) -> None:
            user = REPS[k % len(REPS)]
            while time.perf_counter() < until:
                try:
                    r = await c.post("/auth/sign-in", json={"username": user, "password": "demo"})
                    answers[r.status_code] += 1
                except httpx.HTTPError:
                    answers[0] += 1

        await asyncio.gather(*(one(k) for k in range(n)))


def flood_process(base: str, n: int, seconds: float, out: multiprocessing.Queue) -> None:
    """The flood in a process of its own: its client work must not slow the pollers' loop
    (which would count as server latency)."""
    answers: Counter[int] = Counter()
    asyncio.run(flood(base, n, time.perf_counter() + seconds, answers))
    out.put(dict(answers))


def p(values: list[float], q: float) -> float:
    if len(values) < 2:
        return values[0] * 1000 if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] * 1000


async def measure(
    base: str, signed_in: tuple[dict[str, str], int], pollers: int, seconds: float, flooders: int
) -> dict:
    headers, cursor = signed_in
    times: dict[str, list[float]] = {"info": [], "pull": []}
    answers: dict[int, int] = {}
    flooding = None
    began = time.perf_counter()
    if flooders:  # the flood first, built up for a second before the timings count
        out: multiprocessing.Queue = multiprocessing.Queue()
        flooding = multiprocessing.Process(
            target=flood_process, args=(base, flooders, seconds + 1.5, out)
        )
        flooding.start()
        await asyncio.sleep(1.5)
    until = time.perf_counter() + seconds
    await asyncio.gather(*(poll(base, headers, cursor, until, times) for _ in range(pollers)))
    if flooding is not None:
        answers = out.get(timeout=120)
        flooding.join(30)
    took = time.perf_counter() - began
    return {**times, "answers": answers, "sign_ins_per_s": sum(answers.values()) / took}


def scenario(root: Path, template: Path, work: Path, name: str, env: dict, args) -> dict:
    db = work / f"{name}.db"
    shutil.copy(template, db)
    with Served(root, db, env) as served:
        signed_in = asyncio.run(device(served.base))  # one sign-in: the door may allow one
        quiet = asyncio.run(measure(served.base, signed_in, args.pollers, args.seconds, 0))
        loud = asyncio.run(measure(served.base, signed_in, args.pollers, args.seconds, args.flood))
    return {"quiet": quiet, "flood": loud}


def report(name: str, result: dict) -> None:
    quiet, loud = result["quiet"], result["flood"]
    print(f"\n== {name}")
    for what in ("info", "pull"):
        q50, q95 = p(quiet[what], 50), p(quiet[what], 95)
        f50, f95 = p(loud[what], 50), p(loud[what], 95)
        ratio = f95 / q95 if q95 else float("nan")
        verdict = "met" if ratio <= 2 else "NOT met"
        print(
            f"   /sync/{what:<4} quiet p50 {q50:7.1f} ms p95 {q95:7.1f} ms | "
            f"flood p50 {f50:7.1f} ms p95 {f95:7.1f} ms | p95 x{ratio:.2f} "
            f"(target <= 2x: {verdict}; {len(quiet[what])}/{len(loud[what])} requests)"
        )
    answers = ", ".join(f"{k}: {v}" for k, v in sorted(loud["answers"].items()))
    print(f"   sign-ins during the flood: {loud['sign_ins_per_s']:.0f}/s answered ({answers})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server-root", type=Path, default=ROOT, help="the checkout to serve")
    parser.add_argument("--seconds", type=float, default=15.0, help="per phase (default 15)")
    parser.add_argument("--flood", type=int, default=32, help="sign-in tasks (default 32)")
    parser.add_argument("--pollers", type=int, default=2, help="sync pollers (default 2)")
    parser.add_argument("--products", type=int, default=500)
    parser.add_argument("--accounts", type=int, default=50)
    parser.add_argument(
        "--only",
        choices=("defaults", "pool-only", "all-refused"),
        help="run one scenario (default all)",
    )
    args = parser.parse_args()
    root = args.server_root.resolve()
    print(
        f"server: {root} ({os.cpu_count()} CPUs); {args.seconds:g} s a phase, "
        f"{args.flood} sign-in tasks, {args.pollers} sync pollers",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="signin-flood-") as tmp:
        work = Path(tmp)
        template = work / "seeded.db"
        seed(root, template, args.products, args.accounts)
        runs = {"defaults": {}, "pool-only": WIDE_OPEN, "all-refused": ALL_REFUSED}
        for name, env in runs.items():
            if args.only and name != args.only:
                continue
            report(name, scenario(root, template, work, name, env, args))


if __name__ == "__main__":
    main()
