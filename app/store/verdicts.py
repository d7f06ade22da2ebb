"""Where the server's verdict differs from what the rep promised, in words.

The device records the promise of every line when the order is placed, and sends it with the
order; the server compares and sends its `differences` and `needs_attention` back with the
order. Those win. When an order arrives without them (a push answer mapped in a hurry, an older
server), the device compares itself: fewer units now, a later or lost ETA, another price, a
cancelled line, a rejection. Either way the order needs attention until the rep acknowledges
those exact differences; a new difference flags it again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date

from sqlalchemy import Connection

from app.domain.model import money
from app.store.bulk import chunks, placeholders

_ORDER_SQL = (
    "SELECT id, status, verdict, verdict_reason, acknowledged_differences, needs_attention, "
    "server_differences, server_needs_attention FROM sales_order WHERE id IN ({})"
)
_LINES_SQL = (
    "SELECT order_id, line_id, sku, quantity, price_cents, cancelled, cancel_requested, "
    "promise_label, promise_now, promise_eta, promise_price_cents, server_backordered, "
    "server_eta FROM order_line WHERE order_id IN ({}) ORDER BY order_id, length(line_id), line_id"
)


def _day(iso: str) -> str:
    d = date.fromisoformat(iso)
    return f"{d.day} {d:%b}"


def line_differences(line: Sequence[object]) -> list[str]:
    """Differences of one order_line row (as selected by _LINES_SQL) from its promise."""
    (_, line_id, sku, quantity, price, cancelled, cancel_requested, p_label, p_now, p_eta,
     p_price, backordered, s_eta) = line  # fmt: skip
    if p_label is None:
        return []  # placed elsewhere without a promise: nothing to compare with
    assert isinstance(quantity, int) and isinstance(price, int) and isinstance(cancelled, int)
    where = f"line {line_id} ({sku})"
    if cancelled >= quantity and not cancel_requested:
        return [f"{where}: cancelled by the server"]
    out = []
    if isinstance(backordered, int):
        now = quantity - backordered
        if isinstance(p_now, int) and now < p_now:
            out.append(f"{where}: fewer units now, promised {p_now}, available {now}")
        if backordered and isinstance(p_eta, str):
            if s_eta is None:
                out.append(f"{where}: no restock date any more (promised {_day(p_eta)})")
            elif isinstance(s_eta, str) and s_eta > p_eta:
                out.append(f"{where}: later ETA, promised {_day(p_eta)}, now {_day(s_eta)}")
    if isinstance(p_price, int) and price != p_price:
        out.append(f"{where}: price changed from {money(p_price)} to {money(price)}")
    return out


def order_differences(order: Sequence[object], lines: Iterable[Sequence[object]]) -> list[str]:
    """The differences to show: the server's when it sent them, else the device's own."""
    _, status, verdict, reason, _, _, server_diffs, server_flag = order
    if status == "pending":
        return []  # the server has not spoken yet
    if isinstance(server_diffs, str):
        found: list[str] = json.loads(server_diffs)
        if not found and server_flag and verdict:
            found = [f"the server's outcome: {str(verdict).replace('_', ' ')}"]
        return found
    out = []
    if status == "rejected" or verdict == "rejected":
        out.append("order rejected by the server" + (f": {reason}" if reason else ""))
    for line in lines:
        out.extend(line_differences(line))
    if not out and verdict == "accepted_with_changes":
        out.append("accepted with changes" + (f": {reason}" if reason else ""))
    return out


def _flag(order: Sequence[object], diffs: list[str]) -> bool:
    if order[7] == 0:  # the server says nothing needs attention (acknowledged elsewhere)
        return False
    acknowledged = set(json.loads(str(order[4])))
    return any(d not in acknowledged for d in diffs)


def refresh_attention(conn: Connection, order_ids: Iterable[str]) -> None:
    """Recompute needs_attention of these orders from their promise and the server's result."""
    for chunk in chunks(sorted(set(order_ids))):
        marks = placeholders(len(chunk))
        orders = conn.exec_driver_sql(_ORDER_SQL.format(marks), tuple(chunk)).all()
        lines: dict[str, list[Sequence[object]]] = {}
        for line in conn.exec_driver_sql(_LINES_SQL.format(marks), tuple(chunk)):
            lines.setdefault(line[0], []).append(line)
        updates = []
        for order in orders:
            flag = _flag(order, order_differences(order, lines.get(order[0], ())))
            if flag != bool(order[5]):
                updates.append((int(flag), order[0]))
        if updates:
            conn.exec_driver_sql("UPDATE sales_order SET needs_attention = ? WHERE id = ?", updates)


def differences_of(conn: Connection, order_id: str) -> list[str]:
    order = conn.exec_driver_sql(_ORDER_SQL.format("?"), (order_id,)).one()
    lines = conn.exec_driver_sql(_LINES_SQL.format("?"), (order_id,)).all()
    return order_differences(order, lines)
