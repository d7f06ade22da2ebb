from __future__ import annotations

import pytest

from app.store import Store
from tests.unit.store.helpers import SMALL, Clock, load, open_store


@pytest.fixture(autouse=True)
def _data_dir(tmp_path, monkeypatch):
    # Nothing in these tests may touch the real user data folder.
    monkeypatch.setenv("FIELDSALES_DATA_DIR", str(tmp_path / "data"))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path, clock) -> Store:
    s = open_store(tmp_path, clock)
    yield s
    s.close()


@pytest.fixture
def shop(store) -> Store:
    """A store holding the SMALL snapshot, synced now."""
    load(store, SMALL, cursor=1)
    return store
