"""Reads several services share: products and accounts as views, with both layers merged."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import Connection

from app.domain.model import ShipmentPolicy, Terms
from app.store.bulk import chunks, placeholders
from app.store.errors import StoreError
from app.store.outbox import PENDING, UPDATE_ACCOUNT_CONTACT
from app.store.views import AccountView, ProductView

PRODUCT_COLUMNS = (
    "p.sku, p.name, p.brand, p.category, p.unit, p.pack_size, p.price_cents, p.barcode, "
    "p.discontinued, p.alternatives"
)
CONTACT_FIELDS = ("contact_name", "contact_phone", "contact_email", "contact_address")
_ACCOUNT_SELECT = (
    "SELECT a.id, a.code, a.name, a.tier, a.delivery_weekdays, coalesce(w.handling_days, 0), "
    "a.default_policy, a.default_cap, a.credit_hold, a.contact_name, a.contact_phone, "
    "a.contact_email, a.contact_address, a.contact_version, a.warehouse_id "
    "FROM account a LEFT JOIN warehouse w ON w.id = a.warehouse_id"
)


def rows(conn: Connection, sql: str, params: Sequence[Any]) -> list[Any]:
    """Run a read on the session's own sqlite3 connection (inside its transaction): a search
    issues several small queries per keystroke, and SQLAlchemy's per-statement overhead would
    be a large share of the 10 ms budget."""
    driver = conn.connection.driver_connection
    assert driver is not None
    return driver.execute(sql, tuple(params)).fetchall()  # type: ignore[no-any-return]


def product_view(row: Any) -> ProductView:
    """A ProductView from the first ten columns of PRODUCT_COLUMNS."""
    return ProductView(
        sku=row[0],
        name=row[1],
        brand=row[2],
        category=row[3],
        unit=row[4],
        pack_size=row[5],
        price_cents=row[6],
        barcode=row[7],
        discontinued=bool(row[8]),
        alternatives=tuple(json.loads(row[9])),
    )


def products(conn: Connection, skus: Collection[str]) -> dict[str, ProductView]:
    found: dict[str, ProductView] = {}
    wanted = sorted(set(skus))
    for chunk in chunks(wanted):
        sql = f"SELECT {PRODUCT_COLUMNS} FROM product p WHERE p.sku IN ({placeholders(len(chunk))})"
        for row in conn.exec_driver_sql(sql, tuple(chunk)):
            found[row[0]] = product_view(row)
    return found


def pending_contact_edits(
    conn: Connection, account_id: str | None = None
) -> dict[str, dict[str, str]]:
    """Contact edits made here and not yet confirmed, per account, later edits winning."""
    rows = conn.exec_driver_sql(
        "SELECT args FROM outbox WHERE name = ? AND state = ? ORDER BY mutation_id",
        (UPDATE_ACCOUNT_CONTACT, PENDING),
    )
    edits: dict[str, dict[str, str]] = {}
    for (args,) in rows:
        payload = json.loads(args)
        owner = str(payload["account_id"])  # sent as the server numbers it (an int)
        if account_id is None or owner == account_id:
            edits.setdefault(owner, {}).update(payload["changes"])
    return edits


def _account_view(row: Any, edits: dict[str, str]) -> AccountView:
    contact = dict(zip(CONTACT_FIELDS, row[9:13], strict=True)) | edits
    return AccountView(
        id=row[0],
        code=row[1],
        name=row[2],
        tier=row[3],
        delivery_weekdays=tuple(json.loads(row[4])),
        handling_days=row[5],
        default_policy=ShipmentPolicy.parse(row[6], row[7]),
        credit_hold=bool(row[8]),
        contact_name=contact["contact_name"],
        contact_phone=contact["contact_phone"],
        contact_email=contact["contact_email"],
        contact_address=contact["contact_address"],
        contact_version=row[13],
        pending_contact_fields=tuple(f for f in CONTACT_FIELDS if f in edits),
        warehouse_id=row[14],
    )


def account(conn: Connection, account_id: str) -> AccountView:
    """The account with this id (pending contact edits shown), or StoreError."""
    if isinstance(account_id, int) and not isinstance(account_id, bool):
        account_id = str(account_id)  # the server numbers accounts; the device keeps text
    if not isinstance(account_id, str) or not account_id:
        raise StoreError(f"an account id is non-empty text, got {account_id!r}")
    row = conn.exec_driver_sql(f"{_ACCOUNT_SELECT} WHERE a.id = ?", (account_id,)).first()
    if row is None:
        raise StoreError(f"no account {account_id!r} on this device (sync, or pick another)")
    return _account_view(row, pending_contact_edits(conn, account_id).get(account_id, {}))


def accounts(conn: Connection, query: str = "") -> list[AccountView]:
    """Accounts by name; `query` filters on name or code (any part, any case)."""
    needle = f"%{query.strip()}%"
    rows = conn.exec_driver_sql(
        f"{_ACCOUNT_SELECT} WHERE a.name LIKE ? OR a.code LIKE ? "
        "ORDER BY a.name COLLATE NOCASE, a.id",
        (needle, needle),
    )
    edits = pending_contact_edits(conn)
    return [_account_view(row, edits.get(row[0], {})) for row in rows]


def terms(conn: Connection, view: AccountView | None) -> Terms:
    """How goods reach the account: its warehouse's handling days, its delivery weekdays
    (without an account: the home warehouse's handling days, any day)."""
    if view is None:
        days = rows(
            conn,
            "SELECT handling_days FROM warehouse WHERE id = ?",
            (home_warehouse(conn),),
        )
        return Terms(days[0][0] if days else 0)
    return Terms(view.handling_days, frozenset(view.delivery_weekdays))


def home_warehouse(conn: Connection) -> str:
    """The warehouse to check stock in when no account is chosen: the one most of the rep's
    accounts are served from (else the first the device knows, else "")."""
    found = rows(
        conn,
        "SELECT warehouse_id FROM account GROUP BY warehouse_id "
        "ORDER BY count(*) DESC, warehouse_id LIMIT 1",
        (),
    ) or rows(conn, "SELECT warehouse_id FROM stock ORDER BY warehouse_id LIMIT 1", ())
    return str(found[0][0]) if found else ""


def warehouse_of(conn: Connection, view: AccountView | None) -> str:
    return view.warehouse_id if view is not None else home_warehouse(conn)
