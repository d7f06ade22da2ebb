"""The change log, read side: pull pages after a cursor, and full snapshot pages, both scoped to
the caller (their accounts and orders; the catalog is everyone's; stock, receipts and the
anonymised demand queue are those of the warehouses the caller's accounts are served from).

This is the read path of every device's sync, so a page is built as JSON text directly, in the
shape of sync.protocol's PullPage / SnapshotPage and its *Public records, without an ORM object
or a pydantic model per record:

- the big sections (products, stock, receipts) and pull pages have the database build each
  row's or record's JSON (SQLite `json_array`/`json_object`, PostgreSQL `json_build_array`/
  `json_build_object`), and Python only joins the texts;
- the small or nested sections (warehouses, suppliers, accounts, orders, queue) are built from
  SQLAlchemy Core rows as plain dicts and encoded once with pydantic_core.to_json, which writes
  dates, datetimes and UUIDs exactly as the pydantic models do.

Pages are keyset-paged on an indexed key (primary keys, `after` = the last key sent), never
OFFSET. tests/integration/test_feed_fast.py checks every section's output against the protocol
models and against the record converters of publish.py (the slow path they replace).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic_core import to_json
from sqlalchemy import bindparam, func, or_, select, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from sync import protocol as p
from sync.server.context import Principal
from sync.server.models import (
    Account,
    ConflictRecord,
    EtaChangeEvent,
    Order,
    OrderLine,
    Product,
    ScheduledReceipt,
    Shipment,
    Stock,
    Supplier,
    Warehouse,
)
from sync.server.services import publish as pub
from sync.server.services.changes import latest_seq
from sync.server.services.slips import NO_SUPPLIER, history


class BadAfter(ValueError):
    """`after` is not a key of the section asked for."""


class CursorAhead(Exception):
    """The device's cursor is beyond anything this server has: it must resync from a snapshot."""


# ------------------------------------------------------------------------------------------
# JSON built by the database
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Col:
    """One field of a record built in SQL: its JSON name, its SQL expression, and how the
    value is written (plain, a boolean stored as 0/1 on SQLite, or a JSON list column)."""

    name: str
    sql: str
    kind: str = "plain"  # plain | bool | list | json


def _value(dialect: str, col: Col) -> str:
    if dialect == "postgresql":
        if col.kind == "list":
            return f"coalesce({col.sql}, '[]'::json)"
        return col.sql
    if col.kind == "bool":
        return f"json(CASE WHEN {col.sql} THEN 'true' ELSE 'false' END)"
    if col.kind == "list":
        return f"json(coalesce({col.sql}, '[]'))"
    if col.kind == "json":
        return f"json({col.sql})"
    return col.sql


def _object(dialect: str, cols: Sequence[Col]) -> str:
    fn = "json_build_object" if dialect == "postgresql" else "json_object"
    return fn + "(" + ", ".join(f"'{c.name}', {_value(dialect, c)}" for c in cols) + ")"


def json_object_sql(dialect: str, cols: Sequence[Col]) -> str:
    """A SQL expression that builds a JSON object of these fields, in this order, as text."""
    expr = _object(dialect, cols)
    return f"({expr})::text" if dialect == "postgresql" else expr


def _row_sql(dialect: str, key_sql: str, data: Sequence[Col]) -> str:
    """A snapshot row [key, field, ...] built in SQL, as text."""
    fn = "json_build_array" if dialect == "postgresql" else "json_array"
    expr = fn + "(" + ", ".join([key_sql, *(_value(dialect, c) for c in data)]) + ")"
    return f"({expr})::text" if dialect == "postgresql" else expr


@dataclass(frozen=True)
class SqlSection:
    """A snapshot section whose rows the database writes as JSON."""

    table: str
    key_sql: str  # the record's key, as text
    order_by: str  # the keyset: an indexed key
    after_where: str  # the condition "after this key", with :a / :b parameters
    parse_after: Callable[[str], dict[str, Any]]
    data: tuple[Col, ...]
    scoped: bool  # limited to the caller's warehouses

    @cache  # noqa: B019 (a handful of module-level sections, each built once per variant)
    def statement(self, dialect: str, has_after: bool, warehouses: tuple[int, ...] | None) -> str:
        """The page query in the driver's own SQL (see `fetch_raw`); `warehouses` (our own
        integer ids) are written into it."""
        where = []
        if has_after:
            where.append(self.after_where)
        if warehouses is not None:
            where.append(warehouse_in(warehouses))
        row = _row_sql(dialect, self.key_sql, self.data)
        sql = (
            f"SELECT {self.key_sql} AS k, {row} AS j FROM {self.table}"
            + (" WHERE " + " AND ".join(where) if where else "")
            + f" ORDER BY {self.order_by} LIMIT :limit"
        )
        return driver_sql(dialect, sql)


def warehouse_in(warehouses: Sequence[int]) -> str:
    """`warehouse_id IN (...)` for our own integer ids; none at all matches no row (SQL has
    no empty IN list)."""
    if not warehouses:
        return "1 = 0"
    return f"warehouse_id IN ({', '.join(str(int(w)) for w in warehouses)})"


def driver_sql(dialect: str, sql: str) -> str:
    """`:name` parameters as the driver wants them: sqlite3 takes `:name` itself, psycopg
    `%(name)s`. (Our SQL holds no other colons or percent signs.)"""
    if dialect == "postgresql":
        return re.sub(r"(?<![:\w]):(\w+)", r"%(\1)s", sql)
    return sql


def fetch_raw(session: Session, sql: str, params: dict[str, Any]) -> list[Any]:
    """Rows as the driver returns them (plain tuples), in the session's transaction: for pages
    of JSON text, SQLAlchemy's Row objects and result processing would cost more than the
    query."""
    conn = session.connection()
    dbapi_error = conn.dialect.loaded_dbapi.Error
    cursor = conn.connection.cursor()
    try:
        cursor.execute(sql, params)
        return cursor.fetchall()
    except dbapi_error as error:  # as SQLAlchemy would raise it
        raise DBAPIError.instance(sql, None, error, dbapi_error, dialect=conn.dialect) from error
    finally:
        cursor.close()


def _text_after(after: str) -> dict[str, Any]:
    return {"a": after}


def _int_after(after: str) -> dict[str, Any]:
    return {"a": int(after)}


def _stock_after(after: str) -> dict[str, Any]:
    sku, warehouse_id = pub.stock_key_parts(after)
    return {"a": sku, "b": warehouse_id}


PRODUCTS = SqlSection(
    table="product",
    key_sql="sku",
    order_by="sku",
    after_where="sku > :a",
    parse_after=_text_after,
    data=(
        Col("sku", "sku"),
        Col("name", "name"),
        Col("brand", "brand"),
        Col("category", "category"),
        Col("unit", "unit"),
        Col("pack_size", "pack_size"),
        Col("price_cents", "price_cents"),
        Col("barcode", "barcode"),
        Col("supplier_id", "supplier_id"),
        Col("discontinued", "discontinued", "bool"),
        Col("alternatives", "alternatives", "list"),
    ),
    scoped=False,
)
STOCK = SqlSection(
    table="stock",
    key_sql="sku || '@' || CAST(warehouse_id AS TEXT)",
    order_by="sku, warehouse_id",  # the primary key
    after_where="(sku, warehouse_id) > (:a, :b)",
    parse_after=_stock_after,
    data=(
        Col("sku", "sku"),
        Col("warehouse_id", "warehouse_id"),
        Col("on_hand", "on_hand"),
        Col("reserved", "reserved"),
    ),
    scoped=True,
)
RECEIPTS = SqlSection(
    table="scheduled_receipt",
    key_sql="CAST(id AS TEXT)",
    order_by="id",
    after_where="id > :a",
    parse_after=_int_after,
    data=(
        Col("id", "id"),
        Col("supplier_id", "supplier_id"),
        Col("sku", "sku"),
        Col("warehouse_id", "warehouse_id"),
        Col("quantity", "quantity"),
        Col("received", "received"),
        Col("remaining", "quantity - received"),
        Col("expected", "expected"),
        Col("kind", "kind"),
        Col("status", "status"),
        Col("first_expected", "first_expected"),
        Col("moved", "moved", "bool"),
        Col("base", "base"),
        Col("arrived", "arrived"),
        Col("po_id", "po_id"),
        Col("ordered_on", "ordered_on"),
    ),
    scoped=True,
)


# ------------------------------------------------------------------------------------------
# JSON built from Core rows (small or nested sections)
# ------------------------------------------------------------------------------------------

_W = Warehouse.__table__.c  # type: ignore[attr-defined]
_SU = Supplier.__table__.c  # type: ignore[attr-defined]
_A = Account.__table__.c  # type: ignore[attr-defined]
_O = Order.__table__.c  # type: ignore[attr-defined]
_L = OrderLine.__table__.c  # type: ignore[attr-defined]
_SH = Shipment.__table__.c  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Page:
    """Records of one page: (key, record dict) in key order."""

    rows: list[tuple[str, dict[str, Any]]]


def _warehouses(session: Session, _who: Principal, after: str | None, limit: int, _s: Any) -> Page:
    query = select(_W.id, _W.code, _W.name, _W.handling_days)
    if after is not None:
        query = query.where(_W.id > int(after))
    rows = session.execute(query.order_by(_W.id).limit(limit)).all()
    return Page(
        [
            (
                str(r.id),
                {"id": r.id, "code": r.code, "name": r.name, "handling_days": r.handling_days},
            )
            for r in rows
        ]
    )


def _suppliers(session: Session, _who: Principal, after: str | None, limit: int, _s: Any) -> Page:
    query = select(
        _SU.id,
        _SU.name,
        _SU.lead_time_mean_days,
        _SU.lead_time_sd_days,
        _SU.contact_name,
        _SU.email,
        _SU.phone,
    )
    if after is not None:
        query = query.where(_SU.id > int(after))
    rows = session.execute(query.order_by(_SU.id).limit(limit)).all()
    return Page(
        [
            (
                str(r.id),
                {
                    "id": r.id,
                    "name": r.name,
                    "lead_time_mean_days": float(r.lead_time_mean_days),
                    "lead_time_sd_days": float(r.lead_time_sd_days),
                    "contact_name": r.contact_name,
                    "email": r.email,
                    "phone": r.phone,
                },
            )
            for r in rows
        ]
    )


def _supplier_history(
    session: Session, _who: Principal, after: str | None, limit: int, _s: Any
) -> Page:
    """Every supplier's slip history (the catalog's: shared), 0 first for no supplier."""
    ids = [NO_SUPPLIER, *session.execute(select(_SU.id).order_by(_SU.id)).scalars()]
    if after is not None:
        ids = [i for i in ids if i > int(after)]
    ids = ids[:limit]
    found = history(session, ids)
    return Page(
        [(str(i), {"supplier_id": i, "curves": [c.wire() for c in found.get(i, [])]}) for i in ids]
    )


_ACCOUNT_COLS = (
    _A.id, _A.code, _A.name, _A.rep_id, _A.warehouse_id, _A.tier, _A.delivery_days,
    _A.default_policy, _A.default_cap, _A.credit_hold, _A.contact_name, _A.contact_phone,
    _A.contact_email, _A.contact_address, _A.contact_version,
)  # fmt: skip
_ACCOUNT_KEYS = tuple(c.name for c in _ACCOUNT_COLS)


def account_record(row: Any) -> dict[str, Any]:
    record = dict(zip(_ACCOUNT_KEYS, row, strict=True))
    record["delivery_days"] = list(record["delivery_days"] or [])
    record["credit_hold"] = bool(record["credit_hold"])
    return record


def _accounts(session: Session, who: Principal, after: str | None, limit: int, _s: Any) -> Page:
    query = select(*_ACCOUNT_COLS)
    if not who.is_supervisor:
        query = query.where(_A.rep_id == who.user_id)
    if after is not None:
        query = query.where(_A.id > int(after))
    rows = session.execute(query.order_by(_A.id).limit(limit)).all()
    return Page([(str(r.id), account_record(r)) for r in rows])


_ORDER_COLS = (
    _O.id, _O.account_id, _O.rep_id, _O.warehouse_id, _O.status, _O.outcome, _O.reason,
    _O.differences, _O.needs_attention, _O.version, _O.policy, _O.policy_cap, _O.note,
    _O.review_note, _O.client_time, _O.committed_at, _O.total_cents, _O.has_backorders,
    _O.unscheduled,
)  # fmt: skip
_LINE_COLS = (
    _L.order_id, _L.line_no, _L.sku, _L.quantity, _L.price_cents, _L.label, _L.allocated,
    _L.waiting, _L.cancelled, _L.shipped, _L.backordered, _L.eta_date, _L.eta_kind,
    _L.first_eta_date, _L.alternatives, _L.told_date, _L.told_kind, _L.likely_date,
)  # fmt: skip
_LINES_OF = select(*_LINE_COLS).where(_L.order_id.in_(bindparam("ids", expanding=True)))
_SHIPMENTS_OF = select(
    _SH.order_id, _SH.id, _SH.status, _SH.planned_date, _SH.lines, _SH.shipped_at
).where(_SH.order_id.in_(bindparam("ids", expanding=True)))
_CHUNK = 500  # ids per IN list


def order_records(session: Session, heads: Sequence[Any]) -> list[dict[str, Any]]:
    """Orders (Core rows of _ORDER_COLS) with their lines and shipments, as OrderPublic dicts."""
    ids = [h.id for h in heads]
    lines: dict[uuid.UUID, list[Any]] = {i: [] for i in ids}
    shipments: dict[uuid.UUID, list[Any]] = {i: [] for i in ids}
    for start in range(0, len(ids), _CHUNK):
        chunk = {"ids": ids[start : start + _CHUNK]}
        for r in session.execute(_LINES_OF, chunk):
            lines[r.order_id].append(r)
        for s in session.execute(_SHIPMENTS_OF, chunk):
            shipments[s.order_id].append(s)
    return [pub.order_data(h, lines[h.id], shipments[h.id]) for h in heads]


def _orders(session: Session, who: Principal, after: str | None, limit: int, _s: Any) -> Page:
    query = select(*_ORDER_COLS)
    if not who.is_supervisor:
        query = query.where(_O.rep_id == who.user_id)
    if after is not None:
        query = query.where(_O.id > uuid.UUID(after))
    heads = session.execute(query.order_by(_O.id).limit(limit)).all()
    records = order_records(session, heads)
    return Page([(str(h.id), r) for h, r in zip(heads, records, strict=True)])


_OPEN = text("order_line.waiting > 0")  # a literal, so the partial index applies


def _queue(
    session: Session, _who: Principal, after: str | None, limit: int, scope: list[int] | None
) -> Page:
    query = (
        select(
            _L.id,
            _L.sku,
            _L.warehouse_id,
            _L.waiting,
            _O.committed_at,
            _O.tier,
            _O.total_cents,
            _O.policy,
        )
        .join_from(OrderLine.__table__, Order.__table__, _O.id == _L.order_id)  # type: ignore[attr-defined]
        .where(_OPEN)
    )
    if scope is not None:
        query = query.where(_L.warehouse_id.in_(scope))
    if after is not None:
        query = query.where(_L.id > int(after))
    rows = session.execute(query.order_by(_L.id).limit(limit)).all()
    return Page([(str(r.id), pub.queue_entry_data(r, r)) for r in rows])


_E = EtaChangeEvent.__table__.c  # type: ignore[attr-defined]
_C = ConflictRecord.__table__.c  # type: ignore[attr-defined]


def _eta_changes(session: Session, who: Principal, after: str | None, limit: int, _s: Any) -> Page:
    """The ETA moves of the caller's order lines: a resync or a new device keeps the history."""
    query = select(EtaChangeEvent, _L.line_no).join_from(
        EtaChangeEvent.__table__,  # type: ignore[attr-defined]
        OrderLine.__table__,  # type: ignore[attr-defined]
        _L.id == _E.line_id,
    )
    if not who.is_supervisor:
        query = query.where(_E.rep_id == who.user_id)
    if after is not None:
        query = query.where(_E.id > int(after))
    rows = session.execute(query.order_by(_E.id).limit(limit)).all()
    return Page([(str(e.id), pub.eta_change(e, n).model_dump()) for e, n in rows])


def _conflict_scope(who: Principal) -> Any:
    # As the pull scopes change rows: the caller's, and those of no rep in particular.
    return or_(_C.rep_id.is_(None), _C.rep_id == who.user_id)


def _conflicts(session: Session, who: Principal, after: str | None, limit: int, _s: Any) -> Page:
    query = select(ConflictRecord)
    if not who.is_supervisor:
        query = query.where(_conflict_scope(who))
    if after is not None:
        query = query.where(_C.id > int(after))
    rows = session.execute(query.order_by(_C.id).limit(limit)).scalars().all()
    return Page([(str(c.id), pub.conflict(c).model_dump()) for c in rows])


PyFetch = Callable[[Session, Principal, str | None, int, list[int] | None], Page]
PY_SECTIONS: dict[str, PyFetch] = {
    "warehouses": _warehouses,
    "suppliers": _suppliers,
    "supplier_history": _supplier_history,
    "accounts": _accounts,
    "orders": _orders,
    "queue": _queue,
    "eta_changes": _eta_changes,
    "conflicts": _conflicts,
}
SQL_SECTIONS: dict[str, SqlSection] = {"products": PRODUCTS, "stock": STOCK, "receipts": RECEIPTS}
SCOPED = frozenset({"stock", "receipts", "queue"})
assert set(PY_SECTIONS) | set(SQL_SECTIONS) == set(p.SNAPSHOT_SECTIONS)
for _name, _spec in SQL_SECTIONS.items():  # the rows' values line up with the wire's columns
    assert ("key", *(c.name for c in _spec.data)) == p.snapshot_columns(_name), _name

_REP_WAREHOUSES = select(_A.warehouse_id).where(_A.rep_id == bindparam("rep")).distinct()


def warehouse_scope(session: Session, who: Principal) -> list[int] | None:
    """The warehouses whose stock, receipts and queue a device needs: those its user's accounts
    are served from (a rep never prices an order against another warehouse; a rep without
    accounts needs none). None: all of them (a supervisor)."""
    if who.is_supervisor:
        return None
    return sorted(session.execute(_REP_WAREHOUSES, {"rep": who.user_id}).scalars())


def snapshot_counts(session: Session, who: Principal) -> dict[str, int]:
    """Records per snapshot section for this caller: the same scopes as the pages (a test
    checks each count against a full download)."""
    scope = warehouse_scope(session, who)
    mine = None if who.is_supervisor else who.user_id
    tables = {
        "warehouses": (Warehouse.__table__, None, None),
        "suppliers": (Supplier.__table__, None, None),
        "products": (Product.__table__, None, None),
        "stock": (Stock.__table__, Stock.__table__.c.warehouse_id, None),
        "receipts": (ScheduledReceipt.__table__, ScheduledReceipt.__table__.c.warehouse_id, None),
        "accounts": (Account.__table__, None, _A.rep_id),
        "orders": (Order.__table__, None, _O.rep_id),
        "eta_changes": (EtaChangeEvent.__table__, None, _E.rep_id),
    }  # type: ignore[attr-defined]
    counts = {}
    for section, (table, warehouse, rep) in tables.items():
        query = select(func.count()).select_from(table)
        if warehouse is not None and scope is not None:
            query = query.where(warehouse.in_(scope))
        if rep is not None and mine is not None:
            query = query.where(rep == mine)
        counts[section] = session.execute(query).scalar_one()
    queue = (
        select(func.count())
        .select_from(OrderLine.__table__)  # type: ignore[attr-defined]
        .join(Order.__table__, _O.id == _L.order_id)  # type: ignore[attr-defined]
        .where(_OPEN)
    )
    if scope is not None:
        queue = queue.where(_L.warehouse_id.in_(scope))
    counts["queue"] = session.execute(queue).scalar_one()
    counts["supplier_history"] = counts["suppliers"] + 1  # and receipts with no supplier
    conflicts = select(func.count()).select_from(ConflictRecord.__table__)  # type: ignore[attr-defined]
    if mine is not None:
        conflicts = conflicts.where(_conflict_scope(who))
    counts["conflicts"] = session.execute(conflicts).scalar_one()
    return {section: counts[section] for section in p.SNAPSHOT_SECTIONS}


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class SnapshotOut:
    """A snapshot page: its JSON (a p.SnapshotPage) and what the envelope says."""

    body: bytes
    section: str
    after: str | None
    has_more: bool
    cursor: int
    scope: tuple[int, ...] | None


def snapshot_json(
    session: Session, who: Principal, section: str, after: str | None, limit: int
) -> bytes:
    """One snapshot page as the JSON of a p.SnapshotPage."""
    return snapshot_page(session, who, section, after, limit).body


def snapshot_page(
    session: Session,
    who: Principal,
    section: str,
    after: str | None,
    limit: int,
    scope: list[int] | None = None,
) -> SnapshotOut:
    cursor = latest_seq(session)  # read first: the snapshot is at least this new
    if section in SCOPED and scope is None:
        scope = warehouse_scope(session, who)
    columns = p.snapshot_columns(section)
    try:
        if section in SQL_SECTIONS:
            spec = SQL_SECTIONS[section]
            params: dict[str, Any] = {"limit": limit + 1}
            if after is not None:
                params.update(spec.parse_after(after))
            statement = spec.statement(
                session.get_bind().dialect.name,
                after is not None,
                tuple(scope) if scope is not None else None,
            )
            found = fetch_raw(session, statement, params)
            has_more = len(found) > limit
            found = found[:limit]
            keys = [r[0] for r in found]
            rows = ",".join([r[1] for r in found]).encode()
        else:
            page = PY_SECTIONS[section](session, who, after, limit + 1, scope)
            has_more = len(page.rows) > limit
            chosen = page.rows[:limit]
            keys = [k for k, _ in chosen]
            fields = columns[1:]
            rows = to_json([[k, *(record[f] for f in fields)] for k, record in chosen])[1:-1]
    except ValueError:
        raise BadAfter(f"after: {after!r} is not a key of section {section}") from None
    next_after = keys[-1] if keys else after
    body = b"".join(
        (
            b'{"section":',
            _dumps(section),
            b',"entity":',
            _dumps(p.SNAPSHOT_RECORDS[section][0]),
            b',"columns":',
            _dumps(columns),
            b',"rows":[',
            rows,
            b'],"after":',
            _dumps(next_after),
            b',"has_more":',
            b"true" if has_more else b"false",
            b',"cursor":',
            str(cursor).encode(),
            b"}",
        )
    )
    return SnapshotOut(
        body, section, next_after, has_more, cursor, tuple(scope) if scope is not None else None
    )


def snapshot(
    session: Session, who: Principal, section: str, after: str | None, limit: int
) -> dict[str, Any]:
    return json.loads(snapshot_json(session, who, section, after, limit))


# ------------------------------------------------------------------------------------------
# Pull
# ------------------------------------------------------------------------------------------


@cache
def _pull_statement(dialect: str, scoped: bool, warehouses: tuple[int, ...] | None) -> str:
    record = json_object_sql(
        dialect,
        (
            Col("seq", "seq"),
            Col("entity", "entity"),
            Col("key", "key"),
            Col("op", "op"),
            Col("data", "data", "json"),
        ),
    )
    scope = " AND (rep_id IS NULL OR rep_id = :rep)" if scoped else ""
    if warehouses is not None:
        scope += f" AND (warehouse_id IS NULL OR {warehouse_in(warehouses)})"
    return driver_sql(
        dialect,
        f"SELECT seq, {record} FROM change_log WHERE seq > :cursor AND seq <= :high{scope}"
        " ORDER BY seq LIMIT :limit",
    )


def pull_json(session: Session, who: Principal, cursor: int, limit: int) -> bytes:
    """One pull page as the JSON of a p.PullPage (the change rows' data is stored as the
    public record's JSON already)."""
    # Read the high-water mark first: every seq up to it is committed (see changes.py), so
    # everything in (cursor, high] is final and the cursor may move to `high`.
    high = latest_seq(session)
    if cursor > high:
        raise CursorAhead(f"cursor {cursor} is ahead of the server's latest change {high}")
    scope = warehouse_scope(session, who)
    statement = _pull_statement(
        session.get_bind().dialect.name,
        not who.is_supervisor,
        tuple(scope) if scope is not None else None,
    )
    params = {"cursor": cursor, "high": high, "limit": limit + 1}
    if not who.is_supervisor:
        params["rep"] = who.user_id
    rows = fetch_raw(session, statement, params)
    has_more = len(rows) > limit
    rows = rows[:limit]
    return b"".join(
        (
            b'{"changes":[',
            ",".join([r[1] for r in rows]).encode(),
            b'],"cursor":',
            str(rows[-1][0] if has_more else high).encode(),
            b',"has_more":',
            b"true" if has_more else b"false",
            b"}",
        )
    )


def pull(session: Session, who: Principal, cursor: int, limit: int) -> dict[str, Any]:
    return json.loads(pull_json(session, who, cursor, limit))


def snapshot_sections() -> tuple[str, ...]:
    return p.SNAPSHOT_SECTIONS
