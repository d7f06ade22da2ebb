"""The rep's orders: lists by state, one order with promise and verdict side by side,
cancellations (outbox entries) and acknowledging a verdict that differs from the promise."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from sqlalchemy import Connection

from app.domain.model import Eta, EtaKind, Label, ShipmentPolicy
from app.store.columns import py_datetime
from app.store.db import Store
from app.store.errors import StoreError
from app.store.outbox import ACKNOWLEDGE, CANCEL_LINE, CANCEL_ORDER, enqueue, wire_id
from app.store.verdicts import differences_of
from app.store.views import LineResult, OrderDetail, OrderLineView, OrderState, OrderSummary

# The rep's view of an order: attention first, then the outbox, then the server's status; an
# open order is backordered while any unit of it waits in the demand queue.
_STATE = """
CASE
  WHEN o.needs_attention THEN 'needs_attention'
  WHEN o.status IN ('pending', 'on_hold', 'cancelled', 'rejected') THEN o.status
  WHEN o.status = 'fulfilled' THEN 'shipped'
  WHEN EXISTS (SELECT 1 FROM order_line b WHERE b.order_id = o.id AND b.waiting > 0)
    THEN 'backordered'
  ELSE 'accepted'
END"""
_SUMMARY = f"""
SELECT * FROM (
  SELECT o.id, o.account_id, coalesce(a.name, ''), {_STATE} AS state, o.status,
         o.verdict, o.placed_at,
         (SELECT coalesce(sum(l.quantity * l.price_cents), 0) FROM order_line l
           WHERE l.order_id = o.id),
         (SELECT count(*) FROM order_line l WHERE l.order_id = o.id),
         o.cancel_requested
  FROM sales_order o LEFT JOIN account a ON a.id = o.account_id
)"""
_CLOSED = ("cancelled", "rejected", "fulfilled")


def _summary(row: Any) -> OrderSummary:
    return OrderSummary(
        id=row[0],
        account_id=row[1],
        account_name=row[2],
        state=OrderState(row[3]),
        status=row[4],
        verdict=row[5],
        placed_at=py_datetime(row[6]),
        total_cents=row[7],
        lines=row[8],
        cancel_requested=bool(row[9]),
    )


def _eta(day: str | None, kind: str | None) -> Eta | None:
    return Eta(date.fromisoformat(day), EtaKind(kind or "confirmed")) if day else None


_LINE_COLUMNS = (
    "l.line_id, l.sku, coalesce(p.name, ''), l.quantity, l.price_cents, l.allocated, l.waiting, "
    "l.cancelled, l.shipped, l.promise_label, l.promise_now, l.promise_eta, l.promise_eta_kind, "
    "l.promise_price_cents, l.server_label, l.server_backordered, l.server_eta, "
    "l.server_eta_kind, l.first_eta, l.cancel_requested, l.told, l.told_kind, l.likely, "
    "l.promise_ship, l.promise_ship_kind, l.promise_schedule"
)


def line_state(quantity: int, cancelled: int, shipped: int) -> str:
    if cancelled >= quantity:
        return "cancelled"
    if shipped and shipped + cancelled >= quantity:
        return "shipped"
    return "open"


def _line(row: Any) -> OrderLineView:
    (line_id, sku, name, qty, price, allocated, waiting, cancelled, shipped, p_label, p_now,
     p_eta, p_kind, p_price, s_label, s_back, s_eta, s_kind, first_eta, cancel, told,
     told_kind, likely, ship, ship_kind, schedule) = row  # fmt: skip
    promise = None
    if p_label is not None:
        promise = LineResult(Label(p_label), p_now or 0, _eta(p_eta, p_kind))
    server = None
    if s_label is not None:
        back = s_back or 0
        server = LineResult(Label(s_label), qty - back, _eta(s_eta, s_kind), back)
    return OrderLineView(
        line_id=line_id,
        sku=sku,
        name=name,
        quantity=qty,
        price_cents=price,
        state=line_state(qty, cancelled, shipped),
        allocated=allocated,
        waiting=waiting,
        cancelled=cancelled,
        shipped=shipped,
        promise=promise,
        promised_price_cents=p_price,
        server=server,
        first_eta=date.fromisoformat(first_eta) if first_eta else None,
        cancel_requested=bool(cancel),
        told=_eta(told, told_kind),
        likely=date.fromisoformat(likely) if likely else None,
        promised_ship=_eta(ship, ship_kind),
        promised_schedule=tuple(
            (date.fromisoformat(d) if d else None, int(q)) for d, q in json.loads(schedule or "[]")
        ),
    )


def _order_row(conn: Connection, order_id: str) -> Any:
    if not isinstance(order_id, str) or not order_id:
        raise StoreError(f"an order id is non-empty text, got {order_id!r}")
    row = conn.exec_driver_sql(
        "SELECT status, version, cancel_requested FROM sales_order WHERE id = ?", (order_id,)
    ).first()
    if row is None:
        raise StoreError(f"no order {order_id!r} on this device")
    return row


def _reason(reason: str) -> None:
    if not isinstance(reason, str) or len(reason) > 500:
        raise StoreError("a cancellation reason is text of at most 500 characters")


class Orders:
    def __init__(self, store: Store) -> None:
        self.store = store

    def list_orders(
        self, state: OrderState | str | None = None, *, limit: int = 200
    ) -> list[OrderSummary]:
        """The rep's orders, newest first; `state` narrows to one OrderState."""
        params: tuple[Any, ...] = (limit,)
        where = ""
        if state is not None:
            try:
                state = OrderState(state)
            except ValueError:
                names = ", ".join(s.value for s in OrderState)
                raise StoreError(f"unknown order state {state!r}; use one of {names}") from None
            where, params = "WHERE state = ?", (state.value, limit)
        with self.store.read() as session:
            rows = session.connection().exec_driver_sql(
                f"{_SUMMARY} {where} ORDER BY placed_at DESC, id LIMIT ?", params
            )
            return [_summary(row) for row in rows]

    def counts(self) -> dict[OrderState, int]:
        """How many orders are in each state (for the tabs)."""
        with self.store.read() as session:
            rows = session.connection().exec_driver_sql(
                f"SELECT state, count(*) FROM ({_SUMMARY}) GROUP BY state"
            )
            found = {OrderState(state): n for state, n in rows}
        return {state: found.get(state, 0) for state in OrderState}

    def get(self, order_id: str) -> OrderDetail:
        """One order: every line with the promise and the server's result side by side, and
        the differences in words."""
        with self.store.read() as session:
            conn = session.connection()
            _order_row(conn, order_id)
            summary = _summary(conn.exec_driver_sql(f"{_SUMMARY} WHERE id = ?", (order_id,)).one())
            policy, cap, note, version, reason = conn.exec_driver_sql(
                "SELECT policy, cap, note, version, verdict_reason FROM sales_order WHERE id = ?",
                (order_id,),
            ).one()
            lines = conn.exec_driver_sql(
                f"SELECT {_LINE_COLUMNS} FROM order_line l LEFT JOIN product p ON p.sku = l.sku "
                "WHERE l.order_id = ? ORDER BY length(l.line_id), l.line_id",
                (order_id,),
            )
            return OrderDetail(
                summary=summary,
                policy=ShipmentPolicy.parse(policy, cap),
                note=note,
                version=version,
                verdict_reason=reason,
                lines=tuple(_line(row) for row in lines),
                differences=tuple(differences_of(conn, order_id)),
            )

    def cancel(self, order_id: str, reason: str = "") -> int:
        """Ask the server to cancel the whole order (an outbox entry); returns its mutation id."""
        _reason(reason)
        with self.store.write() as session:
            conn = session.connection()
            status, version, requested = _order_row(conn, order_id)
            if status in _CLOSED:
                raise StoreError(f"order {order_id} is {status}: there is nothing to cancel")
            if requested:
                raise StoreError(f"cancelling order {order_id} is already requested")
            # The version seen: a supervisor's decision made since wins (the server says so).
            args = {"order_id": order_id, "reason": reason, "base_version": version}
            mutation_id = enqueue(conn, CANCEL_ORDER, args, now=self.store.now())
            conn.exec_driver_sql(
                "UPDATE sales_order SET cancel_requested = 1 WHERE id = ?", (order_id,)
            )
            return mutation_id

    def cancel_line(self, order_id: str, line_id: str | int, reason: str = "") -> int:
        """Ask the server to cancel what is unshipped of one line (by its number); returns the
        mutation id."""
        _reason(reason)
        line_id = str(line_id)
        with self.store.write() as session:
            conn = session.connection()
            status, version, requested = _order_row(conn, order_id)
            if status in _CLOSED or requested:
                what = status if status in _CLOSED else "being cancelled"
                raise StoreError(f"order {order_id} is {what}: its lines cannot be cancelled")
            line = conn.exec_driver_sql(
                "SELECT quantity, cancelled, shipped, cancel_requested FROM order_line "
                "WHERE order_id = ? AND line_id = ?",
                (order_id, line_id),
            ).first()
            if line is None:
                raise StoreError(f"order {order_id} has no line {line_id!r}")
            state = line_state(line[0], line[1], line[2])
            if state != "open" or line[1] + line[2] >= line[0]:
                raise StoreError(f"line {line_id} is {state}: there is nothing to cancel")
            if line[3]:
                raise StoreError(f"cancelling line {line_id} is already requested")
            args = {
                "order_id": order_id,
                "line_no": wire_id(line_id),
                "reason": reason,
                "base_version": version,
            }
            mutation_id = enqueue(conn, CANCEL_LINE, args, now=self.store.now())
            conn.exec_driver_sql(
                "UPDATE order_line SET cancel_requested = 1 WHERE order_id = ? AND line_id = ?",
                (order_id, line_id),
            )
            return mutation_id

    def acknowledge(self, order_id: str) -> tuple[str, ...]:
        """The rep has seen how the verdict differs from the promise: clear needs_attention
        here at once (until a new difference arrives) and tell the server (an outbox entry).
        Returns the differences acknowledged; acknowledging twice is harmless."""
        with self.store.write() as session:
            conn = session.connection()
            _order_row(conn, order_id)
            server_flag, version = conn.exec_driver_sql(
                "SELECT server_needs_attention, version FROM sales_order WHERE id = ?", (order_id,)
            ).one()
            diffs = differences_of(conn, order_id)
            conn.exec_driver_sql(
                "UPDATE sales_order SET needs_attention = 0, acknowledged_differences = ? "
                "WHERE id = ?",
                (json.dumps(diffs), order_id),
            )
            # The server keeps its own flag: it clears on this mutation. An order it refused
            # at commit (version 0: never committed) is not on the server: nothing to tell.
            if server_flag and version:
                enqueue(conn, ACKNOWLEDGE, {"order_id": order_id}, now=self.store.now())
            return tuple(diffs)
