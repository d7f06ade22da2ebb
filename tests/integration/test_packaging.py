"""What `flet build apk | ipa | linux` puts in the rep's app bundle, rebuilt here the way Flet's
build reads pyproject.toml ([tool.flet]), without the Flutter SDK: the app folder with its entry
module, and the dependencies (the project itself through dev_packages) installed with pip into
a site-packages of their own. Then the bundle runs as the packaged app would: no site, the app
folder and that site-packages on sys.path, the data folder in FLET_APP_STORAGE_DATA.

What it cannot check: the Flutter side (icons, the native shell), which needs the Flutter SDK."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from flet_cli.utils.project_dependencies import get_project_dependencies
from flet_cli.utils.pyproject_toml import load_pyproject_toml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def bundle_dependencies(get, platform: str, root: Path = ROOT) -> list[str]:
    """The requirements Flet's build hands to pip for `platform`, dev_packages resolved
    against `root` (the project's folder)."""
    found = get_project_dependencies(get("project.dependencies")) or []
    found += get_project_dependencies(get(f"tool.flet.{platform}.dependencies")) or []
    local = get("tool.flet.dev_packages") or {}
    out = []
    for requirement in found:
        name = Requirement(requirement).name
        out.append(
            f"{name} @ {(root / local[name]).resolve().as_uri()}" if name in local else requirement
        )
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> tuple[Path, Path, str]:
    get = load_pyproject_toml(ROOT)
    app_folder = ROOT / get("tool.flet.app.path")
    module = get("tool.flet.app.module")
    assert (app_folder / f"{module}.py").is_file(), "flet build needs the entry module"
    for platform in ("android", "ios", "linux"):  # apk, ipa, linux all get the project
        assert any(r.startswith("fieldsales @ file:") for r in bundle_dependencies(get, platform))
    work = tmp_path_factory.mktemp("bundle")
    # pip builds a local project in its folder (setuptools leaves build/ there, and would
    # package a stale module of an earlier build/): build a clean copy instead.
    source = work / "project"
    skip = (".git", ".venv", "build", "*.egg-info", "__pycache__", "docs", ".*_cache")
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*skip))
    site = work / "site-packages"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--target", str(site),
         *bundle_dependencies(get, "android", source)],
        check=True,
    )  # fmt: skip
    for pattern in get("tool.flet.cleanup.package_files") or []:  # as the build deletes them
        for found in site.glob(pattern):
            shutil.rmtree(found) if found.is_dir() else found.unlink()
    excluded = set(get("tool.flet.app.exclude") or [])
    app = work / "python-app"
    shutil.copytree(
        app_folder,
        app,
        ignore=lambda d, names: [
            n for n in names if n == "__pycache__" or (Path(d) == app_folder and n in excluded)
        ],
    )
    return app, site, module


def run_bundled(bundle: tuple[Path, Path, str], code: str, **env: str) -> subprocess.Popen:
    app, site, _ = bundle
    prelude = f"import sys; sys.path[:0] = [{str(app)!r}, {str(site)!r}]; "
    return subprocess.Popen(
        [sys.executable, "-S", "-c", prelude + code],
        env={"PATH": os.environ["PATH"], "HOME": str(app.parent), **env},
        cwd=app.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_the_bundle_holds_the_entry_and_the_installed_project_not_the_server(bundle):
    app, site, _ = bundle
    assert sorted(p.name for p in app.iterdir()) == ["main.py"]  # the rest comes installed
    assert (site / "app" / "__main__.py").is_file() and (site / "sync" / "engine.py").is_file()
    assert not (site / "alembic").exists() and not (site / "pwdlib").exists()
    assert not (site / "sync" / "server").exists()  # [tool.flet.cleanup] package_files
    assert (site / "app" / "documents" / "fonts" / "DejaVuSans.ttf").is_file()  # package data
    probe = run_bundled(
        bundle,
        "import app.__main__ as m, app.store.paths as paths; "
        "print(m.__file__); print(m._server_installed()); print(paths.database_path())",
        FLET_APP_STORAGE_DATA=str(app.parent / "storage"),
    )
    out, _ = probe.communicate(timeout=60)
    where, embedded, database = out.split()[-3:]
    assert where.startswith(str(site)), out
    assert embedded == "False", out  # no embedded demo server: the sign-in screen shows
    assert database == str(app.parent / "storage" / "fieldsales.db"), out


def test_the_bundled_app_starts_and_keeps_its_data_in_flets_storage_folder(bundle):
    app, _, module = bundle
    port, storage = free_port(), app.parent / "storage-run"
    proc = run_bundled(
        bundle,
        f"import runpy; runpy.run_module({module!r}, run_name='__main__')",
        FLET_APP_STORAGE_DATA=str(storage),
        FIELDSALES_VIEW="web",
        FIELDSALES_PORT=str(port),
        FLET_WEB_NO_CDN="1",
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read()
                break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail(f"the bundled app did not serve: {proc.communicate(timeout=10)[0]}")
        assert b"flutter" in page.lower()
        assert (storage / "fieldsales.db").is_file()
    finally:
        proc.terminate()
        proc.communicate(timeout=20)
