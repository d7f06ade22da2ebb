"""The cart: persisted (it survives a restart), checked against the domain rules, placed into
the outbox and the local pending order in one transaction.

Bad input raises StoreError, or app.domain's DomainError for a quantity or policy that breaks a
business rule (both are ValueErrors with a message to show).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import Connection

from app.domain.availability import CartLine, NewOrder, check_cart
from app.domain.model import EtaKind, Label, ShipmentPolicy, require_quantity
from app.domain.plans import line_dates, plan_order
from app.store.columns import db_datetime, py_datetime
from app.store.db import Store
from app.store.errors import StoreError
from app.store.outbox import PLACE_ORDER, enqueue, wire_id
from app.store.reads import account, terms, warehouse_of
from app.store.supply import load_inputs
from app.store.views import (
    AccountView,
    CartCheck,
    CartLineView,
    CartView,
    CheckedLine,
    PlacedOrder,
)

# The server's limits (sync/protocol/common.py), checked here so the rep hears at once, offline.
MAX_QUANTITY = 100_000
MAX_NOTE = 500
MAX_LINES = 200
STALE_AFTER = timedelta(hours=24)  # older stock figures get a warning beside the labels

_LINES_SQL = """
SELECT c.sku, coalesce(p.name, ''), c.quantity, coalesce(p.price_cents, 0), p.id IS NOT NULL
FROM cart_line c LEFT JOIN product p ON p.sku = c.sku
ORDER BY c.position
"""


def _quantity(value: object, sku: str, *, allow_zero: bool = False) -> int:
    quantity = require_quantity(value, f"quantity of {sku}", allow_zero=allow_zero)
    if quantity > MAX_QUANTITY:
        raise StoreError(f"quantity of {sku} must be at most {MAX_QUANTITY:,}, got {quantity:,}")
    return quantity


def _cart_view(conn: Connection) -> CartView:
    account_id, kind, cap, note = conn.exec_driver_sql(
        "SELECT account_id, policy, cap, note FROM cart WHERE id = 1"
    ).one()
    buyer: AccountView | None = None
    if account_id is not None:
        try:
            buyer = account(conn, account_id)
        except StoreError:
            buyer = None  # gone from the device since it was chosen: check() says so
    lines = tuple(
        CartLineView(str(n), sku, name, qty, price, bool(known))
        for n, (sku, name, qty, price, known) in enumerate(
            conn.exec_driver_sql(_LINES_SQL), start=1
        )
    )
    if kind is not None:
        policy = ShipmentPolicy.parse(kind, cap)
    elif buyer is not None:
        policy = buyer.default_policy
    else:
        policy = ShipmentPolicy.parse("ship_as_available")
    return CartView(buyer, lines, policy, note)


def _check(store: Store, conn: Connection, now: datetime) -> CartCheck:
    cart = _cart_view(conn)
    problems: list[str] = []
    warnings: list[str] = []
    chosen = conn.exec_driver_sql("SELECT account_id FROM cart WHERE id = 1").scalar_one()
    if cart.account is None:
        problems.append(
            "choose an account for this order"
            if chosen is None
            else f"the account {chosen!r} is no longer on this device; choose another"
        )
    elif cart.account.credit_hold:
        warnings.append(
            f"{cart.account.name} is on credit hold: the server will likely reject the order"
        )
    if not cart.lines:
        problems.append("the cart is empty: add at least one product")
    if len(cart.lines) > MAX_LINES:
        problems.append(
            f"an order has at most {MAX_LINES} lines, this one {len(cart.lines)}: split it"
        )
    gone = [line.sku for line in cart.lines if not line.in_catalog]
    if gone:
        problems.append(f"no longer in the catalog: {', '.join(gone)}; remove them from the cart")
    known = [line for line in cart.lines if line.in_catalog]
    inputs = load_inputs(conn, [line.sku for line in known], warehouse_of(conn, cart.account))
    results = check_cart(
        [CartLine(line.line_id, line.sku, line.quantity) for line in known],
        inputs.supplies,
        inputs.queues,
        NewOrder(
            order_id="~cart",
            committed_at=now,
            tier=cart.account.tier if cart.account else 3,
            order_value=cart.total_cents,
        ),
        today=store.today(),
        terms=terms(conn, cart.account),
        policy=inputs.policy,
        pending=inputs.pending,
        confidence=inputs.confidence,
    )
    checked = tuple(
        CheckedLine(line.line_id, line.sku, line.name, line.quantity, line.price_cents, av)
        for line, av in zip(known, results, strict=True)
    )
    for line in checked:
        if line.label is Label.DISCONTINUED:
            alternatives = line.availability.alternatives
            hint = f"; alternatives: {', '.join(alternatives)}" if alternatives else ""
            warnings.append(f"{line.sku} is discontinued: only stock on hand can ship{hint}")
    plan = None
    if checked and not gone:
        plan = plan_order([(line.line_id, line.availability) for line in checked], cart.policy)
        unsure = [
            line.line_id
            for line in checked
            if any(part.eta.kind is EtaKind.ESTIMATED for part in line.availability.dated)
        ]
        days = line_dates(
            [(s.date, [x.line_id for x in s.lines]) for s in plan.shipments],
            [x.line_id for x in plan.unscheduled],
            unsure,
        )
        checked = tuple(replace(line, ship=days.get(line.line_id)) for line in checked)
    stamp = conn.exec_driver_sql("SELECT last_sync_at FROM sync_state").scalar_one()
    snapshot_at = py_datetime(stamp) if stamp else None
    age = now - snapshot_at if snapshot_at else None
    if age is None:
        warnings.append("stock has never been synced on this device: labels may be wrong")
    elif age > STALE_AFTER:
        warnings.append(f"stock figures are {age.days * 24 + age.seconds // 3600} hours old")
    return CartCheck(cart, checked, plan, snapshot_at, age, tuple(problems), tuple(warnings))


class CartService:
    def __init__(self, store: Store) -> None:
        self.store = store

    def view(self) -> CartView:
        with self.store.read() as session:
            return _cart_view(session.connection())

    def _touch(self, conn: Connection) -> CartView:
        conn.exec_driver_sql(
            "UPDATE cart SET updated_at = ? WHERE id = 1", (db_datetime(self.store.now()),)
        )
        return _cart_view(conn)

    def set_account(self, account_id: str | None) -> CartView:
        """Choose the account (None: none); the policy follows the account's default unless
        the rep picked one."""
        with self.store.write() as session:
            conn = session.connection()
            if account_id is not None:
                account_id = account(conn, account_id).id  # raises if unknown
            conn.exec_driver_sql("UPDATE cart SET account_id = ? WHERE id = 1", (account_id,))
            return self._touch(conn)

    def add(self, sku: str, quantity: int = 1) -> CartView:
        """Add units of a product (to its line if the cart has one)."""
        _quantity(quantity, sku)
        with self.store.write() as session:
            conn = session.connection()
            if conn.exec_driver_sql("SELECT 1 FROM product WHERE sku = ?", (sku,)).first() is None:
                raise StoreError(f"no product with SKU {sku!r} in the catalog")
            current = conn.exec_driver_sql(
                "SELECT quantity FROM cart_line WHERE sku = ?", (sku,)
            ).scalar()
            if current is None:
                conn.exec_driver_sql(
                    "INSERT INTO cart_line (sku, quantity, position) "
                    "VALUES (?, ?, (SELECT coalesce(max(position), 0) + 1 FROM cart_line))",
                    (sku, quantity),
                )
            else:
                total = _quantity(current + quantity, sku)
                conn.exec_driver_sql(
                    "UPDATE cart_line SET quantity = ? WHERE sku = ?", (total, sku)
                )
            return self._touch(conn)

    def set_quantity(self, sku: str, quantity: int) -> CartView:
        """Set a line's quantity; 0 removes the line."""
        _quantity(quantity, sku, allow_zero=True)
        if quantity == 0:
            return self.remove(sku)
        with self.store.write() as session:
            conn = session.connection()
            updated = conn.exec_driver_sql(
                "UPDATE cart_line SET quantity = ? WHERE sku = ?", (quantity, sku)
            ).rowcount
            if not updated:
                raise StoreError(f"{sku!r} is not in the cart; add it first")
            return self._touch(conn)

    def remove(self, sku: str) -> CartView:
        with self.store.write() as session:
            conn = session.connection()
            if not conn.exec_driver_sql("DELETE FROM cart_line WHERE sku = ?", (sku,)).rowcount:
                raise StoreError(f"{sku!r} is not in the cart")
            return self._touch(conn)

    def set_policy(self, kind: str | None, cap: int | None = None) -> CartView:
        """The order's shipment policy; None returns to the account's default."""
        if kind is not None:
            ShipmentPolicy.parse(kind, cap)  # DomainError with the reason if they do not fit
        elif cap is not None:
            raise StoreError("a cap needs the capped_split policy")
        with self.store.write() as session:
            conn = session.connection()
            conn.exec_driver_sql("UPDATE cart SET policy = ?, cap = ? WHERE id = 1", (kind, cap))
            return self._touch(conn)

    def set_note(self, note: str) -> CartView:
        if not isinstance(note, str):
            raise StoreError(f"a note is text, got {note!r}")
        if len(note) > MAX_NOTE:
            raise StoreError(f"a note has at most {MAX_NOTE} characters, got {len(note)}")
        with self.store.write() as session:
            conn = session.connection()
            conn.exec_driver_sql("UPDATE cart SET note = ? WHERE id = 1", (note,))
            return self._touch(conn)

    def clear(self) -> CartView:
        """Empty the cart (lines, policy, note); the account stays chosen."""
        with self.store.write() as session:
            conn = session.connection()
            _clear(conn)
            return self._touch(conn)

    def check(self) -> CartCheck:
        """Every line labelled and dated from the last snapshot minus the rep's own unsynced
        orders, the shipment plan, problems that block placing and warnings."""
        with self.store.read() as session:
            return _check(self.store, session.connection(), self.store.now())

    def place(self) -> PlacedOrder:
        """Place the cart as an order: the local pending order (with the promise of every line)
        and the outbox entry are written in one transaction, and the cart is emptied in it."""
        now = self.store.now()
        with self.store.write() as session:
            conn = session.connection()
            check = _check(self.store, conn, now)
            if check.problems:
                raise StoreError("cannot place the order: " + "; ".join(check.problems))
            cart = check.cart
            assert cart.account is not None  # no problems means an account is chosen
            order_id = str(uuid.uuid4())
            _write_order(conn, order_id, check, now)
            # The protocol's place_order; the server numbers the lines in this order (1, 2, ...).
            lines = [
                {"sku": line.sku, "quantity": line.quantity, "promise": _promise_args(line)}
                for line in check.lines
            ]
            args = {
                "order_id": order_id,
                "account_id": wire_id(cart.account.id),
                "lines": lines,
                "policy": cart.policy.kind.value,
                "cap": cart.policy.cap,
                "note": cart.note,
            }
            mutation_id = enqueue(conn, PLACE_ORDER, args, now=now)
            _clear(conn)
        return PlacedOrder(order_id, mutation_id, check)


def _promise_args(line: CheckedLine) -> dict[str, object]:
    """The promise as the cart showed it: label, units now, completion ETA, the units by the
    day they ship, and the day the line reaches the customer under the order's policy."""
    av = line.availability
    return {
        "label": av.label.value,
        "now": av.now,
        "eta": av.eta.date.isoformat() if av.eta else None,
        "eta_kind": av.eta.kind.value if av.eta else None,
        "price_cents": line.price_cents,  # quoted: the server flags another price
        "schedule": [[d.isoformat() if d else None, q] for d, q in av.schedule()],
        "ship": line.ship.date.isoformat() if line.ship else None,
        "ship_kind": line.ship.kind.value if line.ship else None,
    }


def _write_order(conn: Connection, order_id: str, check: CartCheck, now: datetime) -> None:
    cart = check.cart
    assert cart.account is not None
    conn.exec_driver_sql(
        "INSERT INTO sales_order (id, account_id, warehouse_id, status, policy, cap, note, "
        "version, placed_at) VALUES (?, ?, ?, 'pending', ?, ?, ?, 0, ?)",
        (
            order_id,
            cart.account.id,
            cart.account.warehouse_id,
            cart.policy.kind.value,
            cart.policy.cap,
            cart.note,
            db_datetime(now),
        ),
    )
    conn.exec_driver_sql(
        "INSERT INTO order_line (order_id, line_id, sku, quantity, price_cents, promise_label, "
        "promise_now, promise_eta, promise_eta_kind, promise_price_cents, promise_schedule, "
        "promise_ship, promise_ship_kind) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                order_id,
                line.line_id,
                line.sku,
                line.quantity,
                line.price_cents,
                line.availability.label.value,
                line.availability.now,
                p["eta"],
                p["eta_kind"],
                line.price_cents,
                json.dumps(p["schedule"]),
                p["ship"],
                p["ship_kind"],
            )
            for line in check.lines
            for p in [_promise_args(line)]
        ],
    )


def _clear(conn: Connection) -> None:
    conn.exec_driver_sql("DELETE FROM cart_line")
    conn.exec_driver_sql("UPDATE cart SET policy = NULL, cap = NULL, note = '' WHERE id = 1")
