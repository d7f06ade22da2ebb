"""Supervisor reports: backorder metrics over a period with a 12-week trend
(app.domain.metrics), the accounts most affected by backorders, and low-stock items
(app.domain.replenishment)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import BigInteger, Date, and_, case, cast, extract, func, or_
from sqlalchemy import select as core_select
from sqlmodel import Session

from app.domain.metrics import (
    BackorderMetrics,
    LineFacts,
    OrderFacts,
    Tally,
    backorder_metrics,
    customer_cancelled_units,
    most_backordered_items,
    weekly_trend,
)
from app.domain.model import EtaKind, Receipt, Supply
from app.domain.replenishment import daily_demand_stats, reorder_advice, since_first_sale
from sync import protocol as p
from sync.server.models import (
    Account,
    Order,
    OrderLine,
    Product,
    ScheduledReceipt,
    Stock,
    Supplier,
)
from sync.server.services.review import day_start
from sync.server.settings import Settings

_O = Order.__table__.c  # type: ignore[attr-defined]
_L = OrderLine.__table__.c  # type: ignore[attr-defined]
_A = Account.__table__.c  # type: ignore[attr-defined]
_P = Product.__table__.c  # type: ignore[attr-defined]
_ST = Stock.__table__.c  # type: ignore[attr-defined]
_SUP = Supplier.__table__.c  # type: ignore[attr-defined]
_R = ScheduledReceipt.__table__.c  # type: ignore[attr-defined]


def order_facts(session: Session, start: date, end: date, tz: tzinfo) -> Iterator[OrderFacts]:
    """Orders committed in [start, end) (business dates) with their lines, as plain facts.

    Fulfilment is measured to shipping, as the issue asks: a backordered line counts as filled
    when its last unit ships (`filled_at` = `shipped_at`). A line's first date is the one the
    customer was first shown (None: promised with no date; never a date found later)."""
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
            _L.cancelled,
            _L.label,
        )
        .join_from(Order.__table__, OrderLine.__table__, _L.order_id == _O.id)  # type: ignore[attr-defined]
        .where(_O.committed_at >= day_start(start, tz), _O.committed_at < day_start(end, tz))
        .order_by(_O.id, _L.line_no)
    )
    current: list[Any] | None = None
    lines: list[LineFacts] = []
    for row in session.execute(query):
        (oid, account, committed, cancelled, status, lid, sku, qty, back, back_at, eta, shipped,
         gone, label) = row  # fmt: skip
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
                cancelled=customer_cancelled_units(
                    gone,
                    back,
                    discontinued_at_commit=label == "discontinued",
                    rejected=status == "rejected",
                ),
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
#   shipping day being shipped_at's date in UTC (as the facts carry it); promised with no date:
#   backordered with no first ETA (left out of accuracy and waits, counted on its own); waits:
#   whole days from backordered_at's UTC date to the first ETA and to the shipping day;
#   cancelled order: status "cancelled" with a cancel time; cancelled backordered line: units
#   the customer cancelled (customer_cancelled_units: not those a discontinued item lost at
#   commit, none of a rejected order), or its order cancelled before it shipped; a backordered
#   order counts as cancelled when it is, or one of its backordered lines is. Durations are
#   summed in whole microseconds, exactly.

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
    "undated_lines",
    "cancelled_backordered_lines",
    "promised_wait",
    "actual_wait",
)


def _flag(condition: Any) -> Any:
    return case((condition, 1), else_=0)


def _micros(session: Session, later: Any, earlier: Any) -> Any:
    """Exact microseconds between two stored moments."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(extract("epoch", later - earlier) * 1_000_000, BigInteger)
    # SQLite keeps them as "YYYY-MM-DD HH:MM:SS.ffffff" (UTC): whole seconds, then the digits.
    seconds = _epoch_seconds(session, later) - _epoch_seconds(session, earlier)
    fraction = cast(func.substr(later, 21, 6), BigInteger) - cast(
        func.substr(earlier, 21, 6), BigInteger
    )
    return seconds * 1_000_000 + fraction


def _utc_date(session: Session, moment: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone("UTC", moment), Date)
    return func.substr(moment, 1, 10)  # SQLite: the stored text starts with the UTC date


def _days(session: Session, later: Any, earlier: Any) -> Any:
    """Whole days from one date to another (both dates: a stored date or a _utc_date)."""
    if session.get_bind().dialect.name == "postgresql":
        return later - earlier  # date - date is an integer
    return cast(func.julianday(later) - func.julianday(earlier), BigInteger)


def _tallies(
    session: Session, lo: datetime, hi: datetime, bounds: list[datetime]
) -> tuple[dict[str, int], list[dict[str, int]]]:
    committed = _O.committed_at
    back = _L.backordered > 0
    shipped = and_(back, _L.shipped_at.is_not(None))
    with_eta = and_(shipped, _L.first_eta_date.is_not(None))
    order_cancelled = and_(_O.status == "cancelled", _O.cancelled_at.is_not(None))
    backordered_day = _utc_date(session, _L.backordered_at)
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
            func.max(_flag(order_cancelled)).label("cancelled"),
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
            func.sum(_flag(and_(back, _L.first_eta_date.is_(None)))).label("undated_lines"),
            func.sum(_flag(and_(back, _gave_up(order_cancelled)))).label(
                "cancelled_backordered_lines"
            ),
            func.sum(
                case((with_eta, _days(session, _L.first_eta_date, backordered_day)), else_=0)
            ).label("promised_wait"),
            func.sum(
                case(
                    (
                        with_eta,
                        _days(session, _utc_date(session, _L.shipped_at), backordered_day),
                    ),
                    else_=0,
                )
            ).label("actual_wait"),
        )
        .join_from(Order.__table__, OrderLine.__table__, _L.order_id == _O.id)  # type: ignore[attr-defined]
        .where(committed >= min(lo, bounds[0]), committed < hi)
        .group_by(_O.id)
        .subquery()
    )
    o = per_order.c
    has_back = o.backordered_lines > 0
    gave_up = or_(o.cancelled == 1, o.cancelled_backordered_lines > 0)
    query = core_select(
        o.week,
        o.in_period,
        func.count(),
        func.sum(_flag(has_back)),
        func.sum(_flag(and_(has_back, gave_up))),
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


def _gave_up(order_cancelled: Any) -> Any:
    """A line's units cancelled by the customer (app.domain.metrics.customer_cancelled_units:
    beyond what a discontinued item lost at commit, and not by a rejection), or its order
    cancelled before it shipped (OrderFacts.gave_up). For backordered lines."""
    lost_at_commit = case((_L.label == "discontinued", _L.backordered), else_=0)
    by_customer = and_(_O.status != "rejected", _L.cancelled > lost_at_commit)
    return or_(by_customer, and_(order_cancelled, _L.shipped_at.is_(None)))


def _freeze(t: dict[str, int]) -> BackorderMetrics:
    """The sums frozen by app.domain.metrics itself (the same arithmetic, so the same floats:
    the durations are averaged as timedeltas, then converted to days once)."""
    sums = {name: value for name, value in t.items() if name != "fulfilment_us"}
    return Tally(fulfilment=timedelta(microseconds=t["fulfilment_us"]), **sums).freeze()


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


# -- accounts most affected ---------------------------------------------------------------------


def accounts_affected(
    session: Session, start: date, end: date, tz: tzinfo, *, limit: int
) -> p.AccountsAffected:
    """The accounts with the most backordered orders committed in [start, end) (business
    dates, `end` exclusive): worst first by backordered orders, then backordered lines, then
    backordered units, then account id. An order is backordered when any of its lines is, and
    cancelled when it is or one of its backordered lines is, as in the metrics, so the counts
    add up to the period's `backordered_orders` and `cancelled_backordered_orders`."""
    lo, hi = day_start(start, tz), day_start(end, tz)
    cancelled = _gave_up(and_(_O.status == "cancelled", _O.cancelled_at.is_not(None)))
    per_order = (
        core_select(
            _O.account_id.label("account_id"),
            func.max(_flag(cancelled)).label("cancelled"),
            func.max(_O.total_cents).label("value_cents"),
            func.count().label("lines"),
            func.sum(_L.backordered).label("units"),
        )
        .join_from(Order.__table__, OrderLine.__table__, _L.order_id == _O.id)  # type: ignore[attr-defined]
        .where(_O.committed_at >= lo, _O.committed_at < hi, _L.backordered > 0)
        .group_by(_O.id, _O.account_id)
        .subquery()
    )
    o, a = per_order.c, _A
    orders, lines, units = func.count(), func.sum(o.lines), func.sum(o.units)
    query = (
        core_select(
            o.account_id,
            a.name,
            orders,
            func.sum(o.cancelled),
            lines,
            units,
            func.sum(o.value_cents),
            func.count().over(),  # accounts in all, before the limit
        )
        .join_from(per_order, Account.__table__, a.id == o.account_id)  # type: ignore[attr-defined]
        .group_by(o.account_id, a.name)
        .order_by(orders.desc(), lines.desc(), units.desc(), o.account_id)
        .limit(limit)
    )
    rows = session.execute(query).all()
    placed = _orders_per_account(session, lo, hi, [row[0] for row in rows])
    return p.AccountsAffected(
        start=start,
        end=end,
        total=int(rows[0][7]) if rows else 0,
        items=[
            p.AccountBackordersPublic(
                account_id=aid,
                account_name=name,
                orders=placed.get(aid, 0),
                backordered_orders=int(n),
                cancelled_backordered_orders=int(n_cancelled),
                backordered_lines=int(n_lines),
                backordered_units=int(n_units),
                backordered_value_cents=int(value),
            )
            for aid, name, n, n_cancelled, n_lines, n_units, value, _ in rows
        ],
    )


def _orders_per_account(
    session: Session, lo: datetime, hi: datetime, accounts: list[int]
) -> dict[int, int]:
    """Orders committed in [lo, hi) per account, for the accounts named only."""
    if not accounts:
        return {}
    query = (
        core_select(_O.account_id, func.count())
        .where(_O.account_id.in_(accounts), _O.committed_at >= lo, _O.committed_at < hi)
        .group_by(_O.account_id)
    )
    return {aid: int(n) for aid, n in session.execute(query)}


# -- low stock -------------------------------------------------------------------------------
#
# Plain rows, only the columns needed: the units ordered per (sku, warehouse) and business day
# of the demand window (dated here, by the zone's rules), and the units waiting per (sku,
# warehouse) (added up by the database). The rules themselves (demand statistics, reorder
# point, projected free stock) stay app.domain.replenishment's, run once per (sku, warehouse).

Key = tuple[str, int]  # (sku, warehouse id)
_UNKNOWN_SUPPLIER = (14.0, 3.0)  # lead time mean and sd (days) when no supplier is named


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
    first = today - timedelta(days=settings.demand_history_days)
    demand = _daily_demand(session, first, today, tz, warehouse_id)
    waiting = _waiting(session, warehouse_id)
    suppliers = {
        sid: (mean, sd)
        for sid, mean, sd in session.execute(
            core_select(_SUP.id, _SUP.lead_time_mean_days, _SUP.lead_time_sd_days)
        )
    }
    keys = sorted(set(demand) | set(waiting))
    sold_before = _sold_before(session, first, tz, keys, demand)
    demand = {
        key: since_first_sale(days, sold_before=key in sold_before) for key, days in demand.items()
    }
    items = []
    for chunk in _chunks(keys, 500):  # bounded IN lists
        items.extend(_advise(session, settings, today, chunk, demand, waiting, suppliers))
    items.sort(key=lambda i: (i.projected_free - i.reorder_point, i.sku, i.warehouse_id))
    return p.LowStockList(items=items[offset : offset + limit], total=len(items))


def _chunks(keys: list[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(keys), size):
        yield keys[i : i + size]


def _daily_demand(
    session: Session, first: date, today: date, tz: tzinfo, warehouse_id: int | None
) -> dict[Key, list[int]]:
    """Units ordered per (sku, warehouse) on each business day of [first, today), oldest
    first, 0 on a day without orders (as daily_demand_stats wants them); only keys with some.
    The rows are read as plain tuples and dated in Python (the zone's rules, clock changes
    included); the lines of one order share its moment, dated once."""
    window = (today - first).days
    query = (
        core_select(_L.sku, _L.warehouse_id, _O.committed_at, _L.quantity)
        .join_from(Order.__table__, OrderLine.__table__, _L.order_id == _O.id)  # type: ignore[attr-defined]
        .where(_O.committed_at >= day_start(first, tz), _O.committed_at < day_start(today, tz))
    )
    if warehouse_id is not None:
        query = query.where(_L.warehouse_id == warehouse_id)
    day_of: dict[datetime, int] = {}
    demand: dict[Key, list[int]] = {}
    for sku, wh, committed, quantity in session.execute(query):
        day = day_of.get(committed)
        if day is None:
            day = day_of[committed] = (committed.astimezone(tz).date() - first).days
        if 0 <= day < window:
            days = demand.get((sku, wh))
            if days is None:
                days = demand[(sku, wh)] = [0] * window
            days[day] += quantity
    return demand


def _sold_before(
    session: Session, first: date, tz: tzinfo, keys: list[Key], demand: dict[Key, list[int]]
) -> set[Key]:
    """Of the keys whose window starts without a sale, those sold before the window."""
    late_starters = sorted({sku for sku, wh in keys if (demand.get((sku, wh)) or [0])[0] == 0})
    found: set[Key] = set()
    for chunk in _chunks(late_starters, 500):
        query = (
            core_select(_L.sku, _L.warehouse_id)
            .join_from(Order.__table__, OrderLine.__table__, _L.order_id == _O.id)  # type: ignore[attr-defined]
            .where(_L.sku.in_(chunk), _O.committed_at < day_start(first, tz))
            .distinct()
        )
        found.update((sku, wh) for sku, wh in session.execute(query))
    return found


def _epoch_seconds(session: Session, moment: Any) -> Any:
    """Whole seconds since 1970-01-01 UTC (rounded down) of a stored moment."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.floor(extract("epoch", moment)), BigInteger)
    # SQLite: without the fraction, which strftime would round to milliseconds (59.9996 s
    # counts as the next second, even the next day).
    return cast(func.strftime("%s", func.substr(moment, 1, 19)), BigInteger)


def _waiting(session: Session, warehouse_id: int | None) -> dict[Key, int]:
    """Units waiting in open backorders per (sku, warehouse)."""
    query = (
        core_select(_L.sku, _L.warehouse_id, func.sum(_L.waiting))
        .join_from(Order.__table__, OrderLine.__table__, _L.order_id == _O.id)  # type: ignore[attr-defined]
        .where(_L.waiting > 0)
        .group_by(_L.sku, _L.warehouse_id)
    )
    if warehouse_id is not None:
        query = query.where(_L.warehouse_id == warehouse_id)
    return {(sku, wh): int(units) for sku, wh, units in session.execute(query)}


def _advise(
    session: Session,
    settings: Settings,
    today: date,
    keys: list[Key],
    demand: dict[Key, list[int]],
    waiting: dict[Key, int],
    suppliers: dict[int, tuple[float, float]],
) -> list[p.LowStockItem]:
    skus = sorted({sku for sku, _ in keys})
    products = {
        row.sku: row
        for row in session.execute(
            core_select(_P.sku, _P.name, _P.discontinued, _P.supplier_id).where(_P.sku.in_(skus))
        )
    }
    free = {
        (sku, wh): max(on_hand - reserved, 0)
        for sku, wh, on_hand, reserved in session.execute(
            core_select(_ST.sku, _ST.warehouse_id, _ST.on_hand, _ST.reserved).where(
                _ST.sku.in_(skus)
            )
        )
    }
    receipts = _receipts(session, skus)
    window = settings.demand_history_days
    out = []
    for key in keys:
        sku, wh = key
        product = products.get(sku)
        if product is None or product.discontinued:
            continue  # a discontinued item is not reordered
        lead, spread = suppliers.get(product.supplier_id, _UNKNOWN_SUPPLIER)
        stats = daily_demand_stats(demand.get(key) or [0] * window)
        advice = reorder_advice(
            Supply(sku, free.get(key, 0), tuple(receipts.get(key, ()))),
            today=today,
            mean_daily_demand=stats.mean,
            sd_daily_demand=stats.sd,
            lead_time_days=lead,
            sd_lead_time_days=spread,
            service_level=settings.service_level,
            backordered=waiting.get(key, 0),
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


def _receipts(session: Session, skus: list[str]) -> dict[Key, list[Receipt]]:
    """The units still to come of each scheduled receipt, per (sku, warehouse)."""
    r = _R
    query = core_select(
        r.id, r.sku, r.warehouse_id, r.quantity, r.received, r.expected, r.kind
    ).where(r.sku.in_(skus), r.status == "scheduled")
    out: dict[Key, list[Receipt]] = defaultdict(list)
    for rid, sku, wh, quantity, received, expected, kind in session.execute(query):
        out[(sku, wh)].append(Receipt(str(rid), sku, quantity - received, expected, EtaKind(kind)))
    return out
