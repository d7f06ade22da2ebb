"""Supervisor reports: backorder metrics over a period with a 12-week trend
(app.domain.metrics), and low-stock items (app.domain.replenishment)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import BigInteger, Date, and_, case, cast, extract, func
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from app.domain.metrics import (
    BackorderMetrics,
    LineFacts,
    OrderFacts,
    backorder_metrics,
    most_backordered_items,
    weekly_trend,
)
from app.domain.model import EtaKind, QueuedLine, Receipt, Supply
from app.domain.replenishment import daily_demand_stats, reorder_advice
from sync import protocol as p
from sync.server.models import (
    Order,
    OrderLine,
    Product,
    ScheduledReceipt,
    Stock,
    Supplier,
)
from sync.server.services.review import day_start
from sync.server.settings import Settings

_ONE_DAY = timedelta(days=1)
_O = Order.__table__.c  # type: ignore[attr-defined]
_L = OrderLine.__table__.c  # type: ignore[attr-defined]


def order_facts(session: Session, start: date, end: date, tz: tzinfo) -> Iterator[OrderFacts]:
    """Orders committed in [start, end) (business dates) with their lines, as plain facts.

    Fulfilment is measured to shipping, as the issue asks: a backordered line counts as filled
    when its last unit ships (`filled_at` = `shipped_at`)."""
    query = (
        core_select(
            _O.id,
            _O.account_id,
            _O.committed_at,
            _O.cancelled_at,
            _O.status,
            _L.id,
            _L.sku,
            _L.quantity,
            _L.backordered,
            _L.backordered_at,
            _L.first_eta_date,
            _L.shipped_at,
        )
        .join_from(Order.__table__, OrderLine.__table__, _L.order_id == _O.id)  # type: ignore[attr-defined]
        .where(_O.committed_at >= day_start(start, tz), _O.committed_at < day_start(end, tz))
        .order_by(_O.id, _L.line_no)
    )
    current: list[Any] | None = None
    lines: list[LineFacts] = []
    for row in session.execute(query):
        (oid, account, committed, cancelled, status, lid, sku, qty, back, back_at, eta, shipped) = (
            row
        )
        if current is None or current[0] != oid:
            if current is not None:
                yield _order(current, lines)
            current, lines = [oid, account, committed, cancelled, status], []
        shipped_at = shipped if back else None
        lines.append(
            LineFacts(
                line_id=str(lid),
                item=sku,
                ordered=qty,
                backordered=back,
                backordered_at=back_at if back else None,
                filled_at=shipped_at,
                first_eta=eta if back else None,
                shipped_at=shipped_at,
            )
        )
    if current is not None:
        yield _order(current, lines)


def _order(head: list[Any], lines: list[LineFacts]) -> OrderFacts:
    oid, account, committed, cancelled, status = head
    return OrderFacts(
        order_id=str(oid),
        account_id=str(account),
        committed_at=committed,
        lines=tuple(lines),
        cancelled_at=cancelled if status == "cancelled" else None,
    )


def _public(m: BackorderMetrics) -> p.MetricsPublic:
    return p.MetricsPublic.model_validate(m, from_attributes=True)


def metrics(session: Session, start: date, end: date, tz: tzinfo) -> p.MetricsReport:
    """`end` is exclusive. The trend covers the 12 ISO weeks that end with the week of the
    period's last day. Aggregated in SQL (see `_tallies`): the same figures as app.domain.metrics
    over `order_facts` (`metrics_from_facts`, which tests/integration/test_metrics_sql.py
    compares it with), without reading a row per order line into Python."""
    last_day = end - timedelta(days=1)
    trend_start = last_day - timedelta(days=last_day.weekday() + 7 * 11)
    weeks = [trend_start + timedelta(weeks=i) for i in range(12)]
    lo, hi = day_start(start, tz), day_start(end, tz)
    bounds = [day_start(w, tz) for w in weeks] + [day_start(weeks[-1] + timedelta(weeks=1), tz)]
    period, by_week = _tallies(session, lo, hi, bounds)
    return p.MetricsReport(
        start=start,
        end=end,
        metrics=_public(_freeze(period)),
        trend=[
            p.WeekMetrics(week_start=week, metrics=_public(_freeze(by_week[i])))
            for i, week in enumerate(weeks)
        ],
        top_items=_top_items(session, lo, hi, 10),
    )


def metrics_from_facts(session: Session, start: date, end: date, tz: tzinfo) -> p.MetricsReport:
    """The same report computed by app.domain.metrics over one OrderFacts per order (the
    definition `metrics` is checked against; slower: every line is read into Python)."""
    last_day = end - timedelta(days=1)
    trend_start = last_day - timedelta(days=last_day.weekday() + 7 * 11)
    facts = list(order_facts(session, min(start, trend_start), end, tz))
    lo, hi = day_start(start, tz), day_start(end, tz)
    return p.MetricsReport(
        start=start,
        end=end,
        metrics=_public(backorder_metrics(facts, lo, hi)),
        trend=[
            p.WeekMetrics(week_start=week, metrics=_public(m))
            for week, m in weekly_trend(facts, last_day, 12, tz=tz)
        ],
        top_items=[
            p.ItemBackordersPublic(
                sku=i.item,
                lines=i.lines,
                backordered_lines=i.backordered_lines,
                units_ordered=i.units_ordered,
                backordered_units=i.backordered_units,
            )
            for i in most_backordered_items(facts, lo, hi, limit=10)
        ],
    )


# -- the metrics in SQL ----------------------------------------------------------------------
#
# Every figure of app.domain.metrics is a sum over orders or lines (the rates are ratios of two
# sums, the fulfilment time a sum of durations over a count), so the database can add them up:
# per order first (an order is backordered if any line is), then per (trend week, in period).
# Definitions, as reports.order_facts hands them to the domain:
#   backordered line: backordered > 0; filled / shipped: backordered and shipped_at set
#   (fulfilment is measured to shipping); on time: shipped on or before the first ETA, the
#   shipping day being shipped_at's date in UTC (as the facts carry it); cancelled order:
#   status "cancelled" with a cancel time. Durations are summed in whole microseconds, exactly.

_FIELDS = (
    "orders",
    "backordered_orders",
    "cancelled_backordered_orders",
    "lines",
    "backordered_lines",
    "filled_lines",
    "fulfilment_us",
    "units_ordered",
    "units_available",
    "shipped_lines",
    "on_time_lines",
    "shipped_without_eta",
)


def _flag(condition: Any) -> Any:
    return case((condition, 1), else_=0)


def _micros(session: Session, later: Any, earlier: Any) -> Any:
    """Exact microseconds between two stored moments."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(extract("epoch", later - earlier) * 1_000_000, BigInteger)
    # SQLite keeps them as "YYYY-MM-DD HH:MM:SS.ffffff" (UTC): whole seconds, then the digits.
    seconds = cast(func.strftime("%s", later), BigInteger) - cast(
        func.strftime("%s", earlier), BigInteger
    )
    fraction = cast(func.substr(later, 21, 6), BigInteger) - cast(
        func.substr(earlier, 21, 6), BigInteger
    )
    return seconds * 1_000_000 + fraction


def _utc_date(session: Session, moment: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone("UTC", moment), Date)
    return func.substr(moment, 1, 10)  # SQLite: the stored text starts with the UTC date


def _tallies(
    session: Session, lo: datetime, hi: datetime, bounds: list[datetime]
) -> tuple[dict[str, int], list[dict[str, int]]]:
    committed = _O.committed_at
    back = _L.backordered > 0
    shipped = and_(back, _L.shipped_at.is_not(None))
    with_eta = and_(shipped, _L.first_eta_date.is_not(None))
    week = case(
        *[
            (and_(committed >= bounds[i], committed < bounds[i + 1]), i)
            for i in range(len(bounds) - 1)
        ],
        else_=-1,
    )
    per_order = (
        core_select(
            week.label("week"),
            _flag(and_(committed >= lo, committed < hi)).label("in_period"),
            func.max(_flag(and_(_O.status == "cancelled", _O.cancelled_at.is_not(None)))).label(
                "cancelled"
            ),
            func.count().label("lines"),
            func.sum(_flag(back)).label("backordered_lines"),
            func.sum(_flag(shipped)).label("filled_lines"),
            func.sum(
                case((shipped, _micros(session, _L.shipped_at, _L.backordered_at)), else_=0)
            ).label("fulfilment_us"),
            func.sum(_L.quantity).label("units_ordered"),
            func.sum(_L.quantity - _L.backordered).label("units_available"),
            func.sum(_flag(with_eta)).label("shipped_lines"),
            func.sum(
                _flag(and_(with_eta, _utc_date(session, _L.shipped_at) <= _L.first_eta_date))
            ).label("on_time_lines"),
            func.sum(_flag(and_(shipped, _L.first_eta_date.is_(None)))).label(
                "shipped_without_eta"
            ),
        )
        .join_from(Order.__table__, OrderLine.__table__, _L.order_id == _O.id)  # type: ignore[attr-defined]
        .where(committed >= min(lo, bounds[0]), committed < hi)
        .group_by(_O.id)
        .subquery()
    )
    o = per_order.c
    has_back = o.backordered_lines > 0
    query = core_select(
        o.week,
        o.in_period,
        func.count(),
        func.sum(_flag(has_back)),
        func.sum(_flag(and_(has_back, o.cancelled == 1))),
        *(func.sum(getattr(o, name)) for name in _FIELDS[3:]),
    ).group_by(o.week, o.in_period)
    period = dict.fromkeys(_FIELDS, 0)
    by_week = [dict.fromkeys(_FIELDS, 0) for _ in range(len(bounds) - 1)]
    for row in session.execute(query):
        counts = {name: int(value or 0) for name, value in zip(_FIELDS, row[2:], strict=True)}
        targets = []
        if row[1]:
            targets.append(period)
        if row[0] >= 0:
            targets.append(by_week[row[0]])
        for target in targets:
            for name, value in counts.items():
                target[name] += value
    return period, by_week


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _freeze(t: dict[str, int]) -> BackorderMetrics:
    """As app.domain.metrics freezes its running sums (the same arithmetic, so the same floats:
    the durations are averaged as timedeltas, then converted to days once)."""
    filled = t["filled_lines"]
    return BackorderMetrics(
        orders=t["orders"],
        backordered_orders=t["backordered_orders"],
        cancelled_backordered_orders=t["cancelled_backordered_orders"],
        lines=t["lines"],
        backordered_lines=t["backordered_lines"],
        filled_lines=filled,
        units_ordered=t["units_ordered"],
        units_available=t["units_available"],
        shipped_lines=t["shipped_lines"],
        on_time_lines=t["on_time_lines"],
        shipped_without_eta=t["shipped_without_eta"],
        backorder_rate=_rate(t["backordered_orders"], t["orders"]),
        avg_fulfilment_days=(
            timedelta(microseconds=t["fulfilment_us"]) / filled / _ONE_DAY if filled else None
        ),
        cancellation_rate=_rate(t["cancelled_backordered_orders"], t["backordered_orders"]),
        line_fill_rate=_rate(t["lines"] - t["backordered_lines"], t["lines"]),
        unit_fill_rate=_rate(t["units_available"], t["units_ordered"]),
        promise_accuracy=_rate(t["on_time_lines"], t["shipped_lines"]),
    )


def _top_items(
    session: Session, lo: datetime, hi: datetime, limit: int
) -> list[p.ItemBackordersPublic]:
    """app.domain.metrics.most_backordered_items: worst first by backordered lines, then
    backordered units, then item code (in code-point order, as Python sorts)."""
    back_lines = func.sum(_flag(_L.backordered > 0))
    back_units = func.sum(_L.backordered)
    sku = _L.sku
    if session.get_bind().dialect.name == "postgresql":
        sku = sku.collate("C")
    query = (
        core_select(_L.sku, func.count(), back_lines, func.sum(_L.quantity), back_units)
        .join_from(Order.__table__, OrderLine.__table__, _L.order_id == _O.id)  # type: ignore[attr-defined]
        .where(_O.committed_at >= lo, _O.committed_at < hi)
        .group_by(_L.sku)
        .having(back_lines > 0)
        .order_by(back_lines.desc(), back_units.desc(), sku)
        .limit(limit)
    )
    return [
        p.ItemBackordersPublic(
            sku=row[0],
            lines=int(row[1]),
            backordered_lines=int(row[2]),
            units_ordered=int(row[3]),
            backordered_units=int(row[4]),
        )
        for row in session.execute(query)
    ]


def low_stock(
    session: Session,
    settings: Settings,
    today: date,
    tz: tzinfo,
    *,
    warehouse_id: int | None,
    offset: int,
    limit: int,
) -> p.LowStockList:
    """Items whose projected free stock is under their reorder point. Only items with recent
    demand or open backorders can be: with neither, the reorder point is 0 and nothing waits."""
    window = settings.demand_history_days
    first = today - timedelta(days=window)
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
    items = []
    for chunk in _chunks(keys, 500):
        items.extend(_advise(session, settings, today, chunk, demand, waiting, window))
    items.sort(key=lambda i: (i.projected_free - i.reorder_point, i.sku, i.warehouse_id))
    return p.LowStockList(items=items[offset : offset + limit], total=len(items))


def _chunks(keys: list[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(keys), size):
        yield keys[i : i + size]


def _advise(
    session: Session,
    settings: Settings,
    today: date,
    keys: list[tuple[str, int]],
    demand: dict[tuple[str, int], list[int]],
    waiting: dict[tuple[str, int], list[QueuedLine]],
    window: int,
) -> list[p.LowStockItem]:
    skus = sorted({sku for sku, _ in keys})
    products = {x.sku: x for x in session.exec(select(Product).where(col(Product.sku).in_(skus)))}
    suppliers = {s.id: s for s in session.exec(select(Supplier))}
    stock = {
        (s.sku, s.warehouse_id): s
        for s in session.exec(select(Stock).where(col(Stock.sku).in_(skus)))
    }
    receipts: dict[tuple[str, int], list[Receipt]] = defaultdict(list)
    for r in session.exec(
        select(ScheduledReceipt).where(
            col(ScheduledReceipt.sku).in_(skus), ScheduledReceipt.status == "scheduled"
        )
    ):
        receipts[(r.sku, r.warehouse_id)].append(
            Receipt(str(r.id), r.sku, r.quantity - r.received, r.expected, EtaKind(r.kind))
        )
    out = []
    for key in keys:
        sku, wh = key
        product = products.get(sku)
        row = stock.get(key)
        if product is None or product.discontinued:
            continue  # a discontinued item is not reordered
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
            backorders=waiting.get(key, ()),
        )
        if advice.below:
            out.append(
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
    return out
