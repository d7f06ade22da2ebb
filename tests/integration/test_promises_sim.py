"""A shortened quarter of bench/promises.py (two weeks of orders, two reps) on the real server in
process, through the device store and sync engine: the invariants, not the figures. Every
backordered line the device showed was stored with exactly the date it showed, every settled one
was dated or counted as promised with no date, and no date a customer was told ever changed
without an ETA-change event naming the date told before."""

from __future__ import annotations

import pytest

from bench.promises import Config, simulate

pytestmark = pytest.mark.slow


async def test_a_short_quarter_keeps_every_promise_visible(tmp_path):
    config = Config(
        days=14, accounts_per_rep=5, reps=2, items_per_supplier=3, history_days=42, drain_days=14
    )
    result = await simulate(config, "0.95", tmp_path)
    f = result.figures
    assert result.orders > 20 and f["backordered_lines"] > 0, f  # the run did something
    assert result.mismatched == []  # the date measured is the one the device showed
    assert result.silent == []
    assert f["silent"] == 0
    # Every backordered line is accounted for exactly once: dated and measured, dated and not
    # due yet, shown with no date, or cancelled by its customer.
    assert f["measured"] + f["pending"] + f["no_date_lines"] + f["cancelled_lines"] == len(
        result.lines
    )
    assert all(line.line_id is not None for line in result.lines)
    assert result.events >= 0 and 0 <= f["on_time"] <= 1
