"""The low-stock report reads plain rows and has the database add up the waiting units
(reports.low_stock); it must give exactly what the earlier version gave, which read every order
line of the demand window and every waiting line as ORM objects and added them up in Python
(`low_stock_before`, kept here as the definition). On a seeded database, on SQLite and PostgreSQL, in UTC and in zones whose clocks
change inside the demand window, with and without a warehouse filter."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import bindparam, text, update
from sqlmodel import Session, col, select

from app.domain.model import EtaKind, QueuedLine, Receipt, Supply
from app.domain.replenishment import daily_demand_stats, reorder_advice, since_first_sale
from sync import protocol as p
from sync.server.db import Database, make_engine
from sync.server.migrate import upgrade
from sync.server.models import Order, OrderLine, Product, ScheduledReceipt, Stock, Supplier
from sync.server.seed.generate import SeedConfig, generate
from sync.server.services import reports
from sync.server.services.review import day_start
from sync.server.settings import Settings
from tests.integration.test_seed_and_run import NOW


def demand_before(
    session: Session, first: date, today: date, tz: tzinfo, warehouse_id: int | None
) -> dict[tuple[str, int], list[int]]:
    """Units ordered per (sku, warehouse) and business day of [first, today), from the rows."""
    window = (today - first).days
    demand: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0] * window)
    query = (
        select(OrderLine.sku, OrderLine.warehouse_id, Order.committed_at, OrderLine.quantity)
        .join(Order, col(Order.id) == OrderLine.order_id)
        .where(col(Order.committed_at) >= day_start(first, tz))
        .where(col(Order.committed_at) < day_start(today, tz))
    )
    if warehouse_id is not None:
        query = query.where(OrderLine.warehouse_id == warehouse_id)
    for sku, wh, committed, quantity in session.exec(query):
        day = (committed.astimezone(tz).date() - first).days
        if 0 <= day < window:
            demand[(sku, wh)][day] += quantity
    return dict(demand)


def low_stock_before(
    session: Session, settings: Settings, today: date, tz: tzinfo, warehouse_id: int | None
) -> p.LowStockList:
    """reports.low_stock as it was before the SQL aggregation (unchunked, one page of all)."""
    window = settings.demand_history_days
    first = today - timedelta(days=window)
    demand = demand_before(session, first, today, tz, warehouse_id)
    waiting: dict[tuple[str, int], list[QueuedLine]] = defaultdict(list)
    queue = (
        select(OrderLine, Order.committed_at)
        .join(Order, col(Order.id) == OrderLine.order_id)
        .where(col(OrderLine.waiting) > 0)
    )
    if warehouse_id is not None:
        queue = queue.where(OrderLine.warehouse_id == warehouse_id)
    for line, committed in session.exec(queue):
        waiting[(line.sku, line.warehouse_id)].append(
            QueuedLine(str(line.id), str(line.order_id), line.sku, line.waiting, committed)
        )
    keys = sorted(set(demand) | set(waiting))
    # Days before an item's first sale ever are not days of zero demand.
    earlier = select(OrderLine.sku, OrderLine.warehouse_id).join(
        Order, col(Order.id) == OrderLine.order_id
    )
    earlier = earlier.where(col(Order.committed_at) < day_start(first, tz))
    sold_before = set(session.exec(earlier.distinct()))
    demand = {k: since_first_sale(v, sold_before=k in sold_before) for k, v in demand.items()}
    products = {x.sku: x for x in session.exec(select(Product))}
    suppliers = {s.id: s for s in session.exec(select(Supplier))}
    stock = {(s.sku, s.warehouse_id): s for s in session.exec(select(Stock))}
    receipts: dict[tuple[str, int], list[Receipt]] = defaultdict(list)
    for r in session.exec(select(ScheduledReceipt).where(ScheduledReceipt.status == "scheduled")):
        receipts[(r.sku, r.warehouse_id)].append(
            Receipt(str(r.id), r.sku, r.quantity - r.received, r.expected, EtaKind(r.kind))
        )
    items = []
    for key in keys:
        sku, wh = key
        product = products.get(sku)
        row = stock.get(key)
        if product is None or product.discontinued:
            continue
        supplier = suppliers.get(product.supplier_id) if product.supplier_id else None
        lead, spread = (
            (supplier.lead_time_mean_days, supplier.lead_time_sd_days) if supplier else (14.0, 3.0)
        )
        stats = daily_demand_stats(demand.get(key) or [0] * window)
        supply = Supply(
            sku, max(row.on_hand - row.reserved, 0) if row else 0, tuple(receipts.get(key, ()))
        )
        advice = reorder_advice(
            supply,
            today=today,
            mean_daily_demand=stats.mean,
            sd_daily_demand=stats.sd,
            lead_time_days=lead,
            sd_lead_time_days=spread,
            service_level=settings.service_level,
            backordered=sum(line.waiting for line in waiting.get(key, ())),
        )
        if advice.below:
            items.append(
                p.LowStockItem(
                    sku=sku,
                    name=product.name,
                    warehouse_id=wh,
                    free_now=advice.free_now,
                    inbound=advice.inbound,
                    backordered=advice.backordered,
                    projected_free=advice.projected_free,
                    safety_stock=advice.safety_stock,
                    reorder_point=advice.reorder_point,
                    suggested_quantity=advice.suggested_quantity,
                    mean_daily_demand=round(stats.mean, 3),
                    lead_time_days=lead,
                )
            )
    items.sort(key=lambda i: (i.projected_free - i.reorder_point, i.sku, i.warehouse_id))
    return p.LowStockList(items=items, total=len(items))


def time_of_day(i: int) -> timedelta:
    """Times spread over the day, every fourth the last microsecond of an hour."""
    if i % 4 == 0:
        return timedelta(hours=i // 4 % 24, minutes=59, seconds=59.999999)
    return timedelta(minutes=i * 37 % 1440, seconds=59.999999)


@pytest.fixture
def seeded(database_url):
    db = Database(make_engine(database_url))
    upgrade(db.engine)
    generate(
        db,
        Settings(database_url=database_url),
        SeedConfig(products=150, accounts=40, history_weeks=40),
        now=NOW,
    )
    with db.write() as s:
        # Half the orders moved to other times of their UTC day, a microsecond before a whole
        # second: whatever the zone, some fall just before or after its midnight, on both sides
        # of a clock change, and some in the last microsecond before a whole hour.
        orders_table = Order.__table__
        orders = s.execute(select(Order.id, Order.committed_at).order_by(Order.id)).all()
        moved = [
            {"oid": oid, "at": datetime.combine(at.date(), time(), UTC) + time_of_day(i)}
            for i, (oid, at) in enumerate(orders)
            if i % 2 == 0
        ]
        s.execute(
            update(orders_table)
            .where(orders_table.c.id == bindparam("oid"))
            .values(committed_at=bindparam("at")),
            moved,
        )
        s.execute(
            text(
                "UPDATE product SET supplier_id = NULL WHERE sku IN "
                "(SELECT sku FROM order_line WHERE waiting > 0 ORDER BY sku LIMIT 1)"
            )
        )
        # Small receipts, overdue for every `today` below (so inbound within any lead time),
        # for items that wait: partly received, or cancelled (which does not count).
        short = s.execute(
            text(
                "SELECT DISTINCT sku, warehouse_id FROM order_line WHERE waiting > 0 "
                "ORDER BY sku, warehouse_id LIMIT 8"
            )
        ).all()
        for i, (sku, wh) in enumerate(short):
            s.add(
                ScheduledReceipt(
                    sku=sku,
                    warehouse_id=wh,
                    quantity=3,
                    received=i % 3,
                    status="cancelled" if i % 4 == 3 else "scheduled",
                    expected=date(2024, 11, 1),
                    kind="estimated" if i % 2 else "confirmed",
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
    yield db
    db.dispose()


def test_sql_low_stock_equals_the_rows_added_up_in_python(seeded):
    db = seeded
    with db.session() as s:
        warehouses = [w for (w,) in s.execute(text("SELECT id FROM warehouse ORDER BY id"))]
    assert len(warehouses) >= 2
    cases = [
        (ZoneInfo("UTC"), NOW.date(), 56),
        (ZoneInfo("Europe/Berlin"), NOW.date() + timedelta(days=30), 56),  # over 30 March 2025
        (ZoneInfo("America/New_York"), date(2024, 11, 20), 28),  # over 3 November 2024
        (ZoneInfo("Australia/Sydney"), NOW.date() + timedelta(days=40), 90),  # 6 April 2025
        (ZoneInfo("Asia/Kolkata"), NOW.date(), 14),  # a half-hour offset
    ]
    seen = {"items": 0, "backordered": 0, "inbound": 0, "dst": 0}
    for tz, today, days in cases:
        settings = Settings(database_url="sqlite://", demand_history_days=days)
        lo, hi = day_start(today - timedelta(days=days), tz), day_start(today, tz)
        seen["dst"] += lo.utcoffset() != hi.utcoffset()  # a clock change inside the window
        for warehouse_id in (None, *warehouses):
            with db.session() as s:
                # the days themselves, not only the statistics of them (which do not change
                # when a day's demand moves to a day without any)
                first = today - timedelta(days=days)
                assert reports._daily_demand(s, first, today, tz, warehouse_id) == demand_before(
                    s, first, today, tz, warehouse_id
                ), (tz, today, warehouse_id)
                before = low_stock_before(s, settings, today, tz, warehouse_id)
                now = reports.low_stock(
                    s, settings, today, tz, warehouse_id=warehouse_id, offset=0, limit=10_000
                )
                page = reports.low_stock(
                    s, settings, today, tz, warehouse_id=warehouse_id, offset=3, limit=5
                )
            assert now.model_dump() == before.model_dump(), (tz, today, warehouse_id)
            assert page.total == before.total and page.items == before.items[3:8]
            seen["items"] += before.total
            seen["backordered"] += sum(i.backordered > 0 for i in before.items)
            seen["inbound"] += sum(i.inbound > 0 for i in before.items)
    # the data exercised every input: demand, waiting lines, receipts, clock changes
    assert all(seen.values()), seen
