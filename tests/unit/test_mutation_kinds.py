"""Every mutation kind the protocol declares is known to every side that switches on its name:
the server's handler and its stock locks, the device's outbox and the words the rep reads. A kind
added to the protocol and forgotten on one side fails here, not in a PostgreSQL deadlock or a
rep's "place_order for Cafe Roma"."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.store.outbox import MUTATIONS
from app.store.views import OutboxEntry
from app.ui.state.updates import change_text
from sync.protocol import MUTATION_NAMES
from sync.server.services.push import HANDLERS
from sync.server.services.stockbook import STOCK_TOUCHED


def test_the_protocol_names_its_kinds():
    assert {"place_order", "cancel_order", "cancel_line", "acknowledge"} <= MUTATION_NAMES


def test_the_server_handles_and_locks_for_every_kind():
    assert set(HANDLERS) == MUTATION_NAMES
    assert set(STOCK_TOUCHED) == MUTATION_NAMES


def test_the_device_queues_every_kind():
    assert MUTATIONS == MUTATION_NAMES


@pytest.mark.parametrize("name", sorted(MUTATION_NAMES))
def test_the_rep_reads_every_kind_in_words(name):
    args = {"order_id": "1a2b3c4d-0000-4000-8000-000000000000", "line_no": 2, "changes": {}}
    entry = OutboxEntry(
        mutation_id=1,
        name=name,
        args=args,
        state="refused",
        attempts=0,
        last_error=None,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        next_attempt_at=None,
    )
    words = change_text(entry, "Cafe Roma")
    assert name not in words and "Cafe Roma" in words  # not the fallback that names the kind
