"""`python -m app`: the composition root. It builds the pieces and hands them to the UI.

On a machine with no display it serves the web UI and prints the address; set
FIELDSALES_VIEW=desktop for Flet's desktop window (downloads Flet's client on first run).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import flet as ft

from app.ui import shell

ASSETS = Path(__file__).resolve().parent.parent / "assets"


def _view() -> ft.AppView:
    wanted = os.environ.get("FIELDSALES_VIEW", "").lower()
    if wanted == "desktop":
        return ft.AppView.FLET_APP
    if wanted == "web" or (sys.platform.startswith("linux") and not os.environ.get("DISPLAY")):
        return ft.AppView.WEB_BROWSER
    return ft.AppView.FLET_APP


def main() -> None:
    view = _view()
    port = int(os.environ.get("FIELDSALES_PORT", "8550"))
    if view is ft.AppView.WEB_BROWSER:
        print(f"Field Sales is serving its web UI at http://127.0.0.1:{port}", flush=True)
    ft.run(shell.build, view=view, port=port, no_cdn=True, assets_dir=str(ASSETS))


if __name__ == "__main__":
    main()
