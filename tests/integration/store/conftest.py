from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _data_dir(tmp_path, monkeypatch):
    # Nothing in these tests may touch the real user data folder.
    monkeypatch.setenv("FIELDSALES_DATA_DIR", str(tmp_path / "data"))
