"""Where the PostgreSQL tests run: TEST_DATABASE_URL when it is set; otherwise, when a
PostgreSQL answers on 127.0.0.1:5432 (as on these machines and in CI), its database `test`
as user postgres, so the README's test command runs them without any setting. Set
TEST_DATABASE_URL to an empty string to skip them."""

from __future__ import annotations

import os
import socket

LOCAL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


# Before any test module reads it (tests/integration/conftest.py reads it at import).
if "TEST_DATABASE_URL" not in os.environ and _answers("127.0.0.1", 5432):
    os.environ["TEST_DATABASE_URL"] = LOCAL
