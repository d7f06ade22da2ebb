"""The import arrows of docs/ARCHITECTURE.md, enforced: a wrong import fails the build, not a review."""

from __future__ import annotations

import os
from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[2]


def test_import_contracts_hold(capsys):
    # The contracts live in pyproject.toml; lint_imports returns 0 only when every one is kept.
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        status = lint_imports(no_cache=True, no_logo=True)
    finally:
        os.chdir(cwd)
    report = capsys.readouterr().out
    assert status == 0, report
    assert "0 broken" in report
