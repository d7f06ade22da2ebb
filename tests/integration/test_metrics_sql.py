"""The supervisor's metrics are added up in SQL (reports.metrics); they must equal, figure for
figure and float for float, app.domain.metrics over one OrderFacts per order
(reports.metrics_from_facts), on SQLite and PostgreSQL, in UTC and across a DST change; the
accounts most affected count cancels as the metrics do."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import text

from sync.server.db import Database, make_engine
from sync.server.seed.generate import SeedConfig, generate
from sync.server.services import reports
from sync.server.settings import Settings
from tests.integration.test_seed_and_run import NOW


def test_sql_metrics_equal_the_domain_metrics_over_the_facts(database_url):
    db = Database(make_engine(database_url))
    try:
        from sync.server.migrate import upgrade

        upgrade(db.engine)
        generate(
            db,
            Settings(database_url=database_url),
            SeedConfig(products=150, accounts=40, history_weeks=40),
            now=NOW,
        )
        with db.write() as s:
            # moments with odd microseconds, as real clocks give them, some a hair before the
            # next second (which SQLite's strftime would round up to it)
            for micros, rest in (("123457", 0), ("999999", 1)):
                if db.is_postgres:
                    shift = f"date_trunc('second', shipped_at) + interval '0.{micros} seconds'"
                else:  # SQLite keeps "YYYY-MM-DD HH:MM:SS.ffffff"
                    shift = f"substr(shipped_at, 1, 20) || '{micros}'"
                s.execute(
                    text(
                        f"UPDATE order_line SET shipped_at = {shift} "
                        f"WHERE shipped_at IS NOT NULL AND id % 3 = {rest}"
                    )
                )
            # and some backorders shipped that never had an ETA
            s.execute(
                text(
                    "UPDATE order_line SET first_eta_date = NULL "
                    "WHERE shipped_at IS NOT NULL AND backordered > 0 AND id % 5 = 0"
                )
            )
            # customers who gave up on a backordered line and kept the rest of the order
            s.execute(
                text(
                    "UPDATE order_line SET cancelled = 1, allocated = allocated - 1, "
                    "shipped = CASE WHEN shipped > 0 THEN shipped - 1 ELSE 0 END, "
                    "shipped_at = NULL, filled_at = NULL "
                    "WHERE backordered > 0 AND cancelled = 0 AND allocated > 0 AND id % 7 = 0"
                )
            )
            # units a discontinued item lost at commit are not a customer's cancel: one line
            # with nothing more cancelled, one whose customer cancelled the rest too
            s.execute(
                text(
                    "UPDATE order_line SET label = 'discontinued', cancelled = backordered, waiting = 0, "
                    "allocated = quantity - backordered, shipped = quantity - backordered "
                    "WHERE backordered > 0 AND cancelled = 0 AND id % 11 = 0"
                )
            )
            s.execute(
                text(
                    "UPDATE order_line SET cancelled = quantity, allocated = 0, shipped = 0, waiting = 0, "
                    "shipped_at = NULL, filled_at = NULL "
                    "WHERE label = 'discontinued' AND id % 2 = 1"
                )
            )
            # a supervisor's rejection cancels lines too, but the customer did not
            s.execute(
                text(
                    "UPDATE orders SET status = 'rejected' WHERE id IN (SELECT order_id FROM "
                    "order_line WHERE cancelled > 0 AND id % 4 = 0)"
                )
            )
        today = NOW.date()
        periods = [
            (today - timedelta(days=27), today + timedelta(days=1)),  # the console's default
            (today - timedelta(days=365), today + timedelta(days=1)),  # a year
            (today - timedelta(days=100), today - timedelta(days=97)),  # three days
            (date(2024, 10, 20), date(2024, 11, 3)),  # over the end of summer time
            (today + timedelta(days=10), today + timedelta(days=20)),  # nothing in it
        ]
        seen_backorders = seen_shipped = seen_cancelled = seen_no_eta = False
        seen_line_cancel = seen_padding = False
        for tz in (ZoneInfo("UTC"), ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")):
            for start, end in periods:
                with db.session() as s:
                    fast = reports.metrics(s, start, end, tz)
                    slow = reports.metrics_from_facts(s, start, end, tz)
                assert fast.model_dump() == slow.model_dump(), (tz, start, end)
                m = slow.metrics
                seen_backorders |= m.backordered_orders > 0
                seen_shipped |= m.shipped_lines > 0 and m.avg_fulfilment_days is not None
                seen_cancelled |= m.cancelled_backordered_orders > 0
                seen_no_eta |= m.shipped_without_eta > 0 and m.undated_lines > m.shipped_without_eta
                seen_line_cancel |= m.cancelled_backordered_lines > 0
                seen_padding |= m.padding_days is not None and m.padding_days != 0
                with db.session() as s:
                    ranked = reports.accounts_affected(s, start, end, tz, limit=10_000)
                assert sum(a.backordered_orders for a in ranked.items) == m.backordered_orders
                assert (
                    sum(a.cancelled_backordered_orders for a in ranked.items)
                    == m.cancelled_backordered_orders
                )
        # the data exercised every figure
        assert seen_backorders and seen_shipped and seen_cancelled and seen_no_eta
        assert seen_line_cancel and seen_padding
    finally:
        db.dispose()
