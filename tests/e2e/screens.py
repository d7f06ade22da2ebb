"""Refresh the README's pictures: `python -m tests.e2e.screens`.

The browser tests write their screenshots to build/screenshots/ (ignored by git), so running the
tests never changes a tracked file. This command runs the tests that take the README's pictures,
one file at a time, then copies the pictures the docs use (those already in docs/screenshots/)
from the build folder over the old ones. `--copy-only` skips the tests and copies what the last
run left in build/screenshots/. Needs Chromium, like the browser tests.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

from tests.e2e.conftest import ROOT, SHOTS

DOCS = ROOT / "docs" / "screenshots"
# The tests that take the pictures in docs/screenshots/ (see the README's "Screens").
PICTURE_TESTS = (
    "tests/e2e/test_app_starts.py",
    "tests/e2e/test_offline_order.py",
    "tests/e2e/test_refused_changes.py",
    "tests/e2e/test_screens.py",
    "tests/e2e/test_console.py",
)


def run_tests() -> int:
    """Each file on its own: one browser at a time keeps a small machine responsive."""
    failed = 0
    for path in PICTURE_TESTS:
        print(f"taking pictures: {path}", flush=True)
        answer = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", path], cwd=ROOT)
        failed += answer.returncode != 0
    return failed


def copy_pictures(source: Path = SHOTS, target: Path = DOCS) -> tuple[list[str], list[str]]:
    """Copy the pictures the docs use from `source`; returns (copied, missing) names."""
    copied, missing = [], []
    for old in sorted(target.glob("*.png")):
        new = source / old.name
        if new.is_file():
            shutil.copyfile(new, old)
            copied.append(old.name)
        else:
            missing.append(old.name)
    return copied, missing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--copy-only", action="store_true", help="copy from build/screenshots without testing"
    )
    args = parser.parse_args(argv)
    failed = 0 if args.copy_only else run_tests()
    copied, missing = copy_pictures()
    print(f"{len(copied)} picture(s) copied from {SHOTS} to {DOCS}")
    if missing:
        print(f"not taken (kept as they were): {', '.join(missing)}")
    if failed:
        print(f"{failed} test file(s) failed: their pictures may be missing or stale")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
