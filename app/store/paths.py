"""Where the device keeps its database.

Order of precedence: FIELDSALES_DATA_DIR (tests, power users), FLET_APP_STORAGE_DATA (set by
packaged Flet apps to the app's sandboxed data folder on mobile), then the platform's user data
folder from platformdirs.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "fieldsales"
APP_AUTHOR = "fieldsales"
DATABASE_FILE = "fieldsales.db"
ENV_VARS = ("FIELDSALES_DATA_DIR", "FLET_APP_STORAGE_DATA")


def data_dir() -> Path:
    """The folder for the device's data (not created here)."""
    for name in ENV_VARS:
        value = os.environ.get(name, "").strip()
        if value:
            return Path(value).expanduser()
    return platformdirs.user_data_path(APP_NAME, APP_AUTHOR)


def database_path() -> Path:
    """The database file, with its folder created if missing."""
    folder = data_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)  # private: see db.private
    return folder / DATABASE_FILE
