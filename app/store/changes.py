"""The change format the sync engine hands to the store, and its validation into table rows.

A change is `Change(entity, id, op, data)` or a dict with those keys; "key" is accepted for
"id" and "seq" is ignored, so a protocol `Change` dumped with `model_dump(mode="json")` can be
passed as it is. `op` is "upsert" (data holds the record) or "delete" (a tombstone; no data).

Entities, their ids, and the data fields read (others are ignored; ids may be text or ints):

    warehouse   id                      code, name, handling_days
    product     sku                     name*, brand, category, unit, pack_size, price_cents,
                                        barcode, discontinued, alternatives
    stock       "<sku>@<warehouse_id>"  on_hand*, reserved (sku and warehouse_id in data win)
    receipt     id                      sku*, warehouse_id, remaining*, expected*, kind, status,
                                        supplier_id, moved, base, arrived
    supplier_history  supplier id       curves (fill curves: [[sku, basis, [[slip, f], ...]]])
    queue_entry id (entry_id)           sku*, warehouse_id, waiting*, committed_at*, tier,
      (alias: demand)                   order_value, policy, order_ref
    account     id                      name*, code, warehouse_id, tier, delivery_days,
                                        default_policy, default_cap, credit_hold, contact_name,
                                        contact_phone, contact_email, contact_address,
                                        contact_version
    order       the order's UUID        account_id*, status*, version*, client_time*,
                                        warehouse_id, outcome, reason, differences,
                                        needs_attention, policy, cap, note, committed_at,
                                        lines (a list of order_line data: when present, the
                                        order's lines are exactly these)
    order_line  "<order id>:<line_no>"  sku*, quantity*, price_cents*, allocated, waiting,
                                        cancelled, shipped, label, backordered, eta, eta_kind,
                                        first_eta, told, told_kind, likely, promise_label,
                                        promise_now, promise_eta, promise_eta_kind,
                                        promise_price_cents
    eta_change  id                      order_id*, line_no*, at*, sku, old, old_kind, new,
      (alias: eta_event)                new_kind, message
    conflict    id                      entity*, key*, field*, at*, winner_value, loser_value,
                                        base_version, resolved
    supplier    (accepted and ignored: the device does not need suppliers)

    * required in an upsert. Dates are ISO dates; moments ISO 8601 with a time zone.

Each row builder turns `data` into a tuple in the storage form bulk.py writes (ints for bools,
ISO text for dates and moments, JSON text for lists), or raises StoreError naming the entity,
the id and the field. It is the one place that checks what the server sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal, NamedTuple

from app.domain.model import DomainError, ShipmentPolicy
from app.store import values as vals
from app.store.errors import StoreError
from app.store.values import Convert

Op = Literal["upsert", "delete"]
# Dependency order: an order before its lines.
ENTITIES = (
    "warehouse",
    "product",
    "stock",
    "receipt",
    "supplier_history",
    "demand",
    "account",
    "order",
    "order_line",
    "eta_event",
    "conflict",
)
ALIASES = {"queue_entry": "demand", "eta_change": "eta_event"}
IGNORED = frozenset({"supplier"})

# The server's order statuses, and "pending": placed here, not yet confirmed by the server.
ORDER_STATUSES = frozenset(
    {"pending", "open", "on_hold", "approved", "rejected", "cancelled", "fulfilled"}
)
OUTCOMES = frozenset({"accepted", "accepted_with_changes", "backordered", "rejected"})
RECEIPT_STATUSES = frozenset({"draft", "scheduled", "received", "cancelled"})


class Change(NamedTuple):
    """One change of a pulled page or snapshot (a NamedTuple: cheap to make 100,000 of)."""

    entity: str
    id: str
    op: Op = "upsert"
    data: Mapping[str, Any] = {}  # shared default: never mutated

    @classmethod
    def of(cls, value: Change | Mapping[str, Any]) -> Change | None:
        """Check a change (or a dict with the same keys) and return it as a Change; None for
        an entity the device ignores."""
        if value.__class__ is dict:  # the common case first, without ABC checks
            entity = value.get("entity")  # type: ignore[union-attr]
            change_id = value.get("id", value.get("key"))  # type: ignore[union-attr]
            op, data = value.get("op", "upsert"), value.get("data") or {}  # type: ignore[union-attr]
            if (
                entity in FIELDS
                and change_id.__class__ is str
                and change_id
                and (op == "upsert" or op == "delete")
                and data.__class__ is dict
            ):
                return cls(entity, change_id, op, data)
        if isinstance(value, Change):
            entity, change_id, op, data = value
        elif isinstance(value, Mapping):
            entity, change_id = value.get("entity"), value.get("id", value.get("key"))
            op, data = value.get("op", "upsert"), value.get("data") or {}
        else:
            raise StoreError(f"a change must be a Change or a mapping, got {value!r}")
        entity = ALIASES.get(entity, entity)  # type: ignore[arg-type]
        if entity in IGNORED:
            return None
        if entity not in FIELDS:
            known = ", ".join((*ENTITIES, *ALIASES, *IGNORED))
            raise StoreError(f"unknown entity {entity!r} in a change; expected one of {known}")
        if isinstance(change_id, int) and not isinstance(change_id, bool):
            change_id = str(change_id)
        if not isinstance(change_id, str) or not change_id:
            raise StoreError(f"a {entity} change needs a non-empty id, got {change_id!r}")
        if op not in ("upsert", "delete"):
            raise StoreError(f"{entity} {change_id}: op must be upsert or delete, got {op!r}")
        if not isinstance(data, Mapping):
            raise StoreError(f"{entity} {change_id}: data must be a mapping, got {data!r}")
        return cls(entity, change_id, op, data)


class _Required:
    def __repr__(self) -> str:
        return "<required>"


REQUIRED: Any = _Required()
# (column, key in data, convert, default). REQUIRED: the upsert must carry it.
FieldSpec = tuple[str, str, Convert, Any]

FIELDS: dict[str, tuple[FieldSpec, ...]] = {
    "warehouse": (
        ("code", "code", vals.text, ""),
        ("name", "name", vals.text, ""),
        ("handling_days", "handling_days", vals.count, 0),
    ),
    "product": (
        ("name", "name", vals.text, REQUIRED),
        ("brand", "brand", vals.text, ""),
        ("category", "category", vals.text, ""),
        ("unit", "unit", vals.text, "each"),
        ("pack_size", "pack_size", vals.positive, 1),
        ("price_cents", "price_cents", vals.count, 0),
        ("barcode", "barcode", vals.text, ""),
        ("discontinued", "discontinued", vals.flag, False),
        ("alternatives", "alternatives", vals.texts, ()),
    ),
    "stock": (
        ("on_hand", "on_hand", vals.count, REQUIRED),
        ("reserved", "reserved", vals.count, 0),
    ),
    "receipt": (
        ("sku", "sku", vals.text, REQUIRED),
        ("warehouse_id", "warehouse_id", vals.warehouse, ""),
        ("remaining", "remaining", vals.count, REQUIRED),
        ("expected", "expected", vals.day, REQUIRED),
        ("kind", "kind", vals.eta_kind, "confirmed"),
        ("status", "status", vals.one_of(RECEIPT_STATUSES), "scheduled"),
        ("supplier_id", "supplier_id", vals.optional(vals.ref), None),
        ("moved", "moved", vals.flag, False),
        ("base", "base", vals.count, 0),
        ("arrived", "arrived", vals.count, 0),
    ),
    "supplier_history": (("curves", "curves", vals.curves, ()),),
    "demand": (
        ("order_ref", "order_ref", vals.text, None),  # None: the entry's own id
        ("sku", "sku", vals.text, REQUIRED),
        ("warehouse_id", "warehouse_id", vals.warehouse, ""),
        ("waiting", "waiting", vals.count, REQUIRED),
        ("committed_at", "committed_at", vals.moment, REQUIRED),
        ("tier", "tier", vals.tier, 3),
        ("order_value_cents", "order_value", vals.count, 0),
        ("policy", "policy", vals.policy, "ship_as_available"),
    ),
    "account": (
        ("code", "code", vals.text, ""),
        ("name", "name", vals.text, REQUIRED),
        ("warehouse_id", "warehouse_id", vals.warehouse, ""),
        ("tier", "tier", vals.tier, 3),
        ("delivery_weekdays", "delivery_days", vals.weekdays, ()),
        ("default_policy", "default_policy", vals.policy, "ship_as_available"),
        ("default_cap", "default_cap", vals.optional(vals.positive), None),
        ("credit_hold", "credit_hold", vals.flag, False),
        ("contact_name", "contact_name", vals.text, ""),
        ("contact_phone", "contact_phone", vals.text, ""),
        ("contact_email", "contact_email", vals.text, ""),
        ("contact_address", "contact_address", vals.text, ""),
        ("contact_version", "contact_version", vals.count, 1),
    ),
    "order": (
        ("account_id", "account_id", vals.ref, REQUIRED),
        ("warehouse_id", "warehouse_id", vals.warehouse, ""),
        ("status", "status", vals.one_of(ORDER_STATUSES), REQUIRED),
        ("verdict", "outcome", vals.optional(vals.one_of(OUTCOMES)), None),
        ("verdict_reason", "reason", vals.text_or_empty, ""),
        ("policy", "policy", vals.policy, "ship_as_available"),
        ("cap", "cap", vals.optional(vals.positive), None),
        ("note", "note", vals.text, ""),
        ("version", "version", vals.count, REQUIRED),
        ("placed_at", "client_time", vals.moment, REQUIRED),
        ("committed_at", "committed_at", vals.optional(vals.moment), None),
        ("server_differences", "differences", vals.optional(vals.texts), None),
        ("server_needs_attention", "needs_attention", vals.maybe_flag, None),
    ),
    "order_line": (
        ("sku", "sku", vals.text, REQUIRED),
        ("quantity", "quantity", vals.positive, REQUIRED),
        ("price_cents", "price_cents", vals.count, REQUIRED),
        ("allocated", "allocated", vals.count, 0),
        ("waiting", "waiting", vals.count, 0),
        ("cancelled", "cancelled", vals.count, 0),
        ("shipped", "shipped", vals.count, 0),
        ("server_label", "label", vals.optional(vals.label), None),
        ("server_backordered", "backordered", vals.optional(vals.count), None),
        ("server_eta", "eta", vals.optional(vals.day), None),
        ("server_eta_kind", "eta_kind", vals.optional(vals.eta_kind), None),
        ("first_eta", "first_eta", vals.optional(vals.day), None),
        ("told", "told", vals.optional(vals.day), None),
        ("told_kind", "told_kind", vals.optional(vals.eta_kind), None),
        ("likely", "likely", vals.optional(vals.day), None),
        # The promise shown when the order was placed (another device of the rep may have placed
        # it); a promise this device recorded itself is never overwritten.
        ("promise_label", "promise_label", vals.optional(vals.label), None),
        ("promise_now", "promise_now", vals.optional(vals.count), None),
        ("promise_eta", "promise_eta", vals.optional(vals.day), None),
        ("promise_eta_kind", "promise_eta_kind", vals.optional(vals.eta_kind), None),
        ("promise_price_cents", "promise_price_cents", vals.optional(vals.count), None),
    ),
    "eta_event": (
        ("order_id", "order_id", vals.ref, REQUIRED),
        ("line_id", "line_no", vals.ref, REQUIRED),
        ("sku", "sku", vals.text, ""),
        ("old_eta", "old", vals.optional(vals.day), None),
        ("old_eta_kind", "old_kind", vals.optional(vals.eta_kind), None),
        ("new_eta", "new", vals.optional(vals.day), None),
        ("new_eta_kind", "new_kind", vals.optional(vals.eta_kind), None),
        ("message", "message", vals.text_or_empty, ""),
        ("at", "at", vals.moment, REQUIRED),
    ),
    "conflict": (
        ("entity", "entity", vals.text, REQUIRED),
        ("entity_key", "key", vals.ref, REQUIRED),
        ("field", "field", vals.text, REQUIRED),
        ("winner_value", "winner_value", vals.text_or_empty, ""),
        ("loser_value", "loser_value", vals.text_or_empty, ""),
        ("base_version", "base_version", vals.count, 0),
        ("at", "at", vals.moment, REQUIRED),
        ("resolved", "resolved", vals.flag, False),
    ),
}

# The key column(s) each entity's id fills.
KEYS: dict[str, tuple[str, ...]] = {
    "product": ("sku",),
    "stock": ("sku", "warehouse_id"),
    "order_line": ("order_id", "line_id"),
}


def key_columns(entity: str) -> tuple[str, ...]:
    return KEYS.get(entity, ("id",))


def columns(entity: str) -> tuple[str, ...]:
    return (*key_columns(entity), *(spec[0] for spec in FIELDS[entity]))


def _key_part(entity: str, change_id: str, name: str, value: Any) -> str:
    try:
        return vals.ref(value)
    except vals.Bad as bad:
        raise StoreError(f"{entity} {change_id}: {name} {bad}, got {value!r}") from None


def stock_key(change_id: str, data: Mapping[str, Any] | None = None) -> tuple[str, str]:
    """(sku, warehouse id) of a stock change: from data, else from the id "<sku>@<warehouse>"."""
    if data and "sku" in data:
        sku = _key_part("stock", change_id, "sku", data["sku"])
        warehouse = data.get("warehouse_id")
        return sku, "" if warehouse is None else _key_part(
            "stock", change_id, "warehouse_id", warehouse
        )
    sku, sep, warehouse = change_id.rpartition("@")
    return (sku, warehouse) if sep and sku else (change_id, "")


def line_key(change_id: str, data: Mapping[str, Any] | None = None) -> tuple[str, str]:
    """(order id, line id) of an order_line change: from data (order_id and line_no), else from
    the id "<order id>:<line no>"."""
    if data and "order_id" in data and ("line_no" in data or "line_id" in data):
        number = data["line_no"] if "line_no" in data else data["line_id"]
        return (
            _key_part("order_line", change_id, "order_id", data["order_id"]),
            _key_part("order_line", change_id, "line_no", number),
        )
    order_id, sep, line_id = change_id.rpartition(":")
    if not sep or not order_id or not line_id:
        raise StoreError(
            f"order_line id must be '<order id>:<line no>' (or data must name order_id and "
            f"line_no), got {change_id!r}"
        )
    return order_id, line_id


def key_of(change: Change) -> tuple[str, ...]:
    data = change.data if change.op == "upsert" else None
    if change.entity == "order_line":
        return line_key(change.id, data)
    if change.entity == "stock":
        return stock_key(change.id, data)
    return (change.id,)


_MISSING: Any = object()

# Values stored as they come when they pass these checks; anything else takes the slow path
# (defaults, None, conversion, the error message).
_FAST_CHECKS: dict[Convert, str] = {
    vals.text: "{v}.__class__ is str",
    vals.count: "{v}.__class__ is int and {v} >= 0",
    vals.positive: "{v}.__class__ is int and {v} >= 1",
    vals.ref: "{v}.__class__ is str and {v}",
    vals.warehouse: "{v}.__class__ is str",
}


def storage_default(convert: Convert, default: Any) -> Any:
    if default is REQUIRED or default is None:
        return default
    return convert(list(default) if isinstance(default, tuple) else default)


def stored_value(entity: str, index: int, value: Any, change_id: str) -> Any:
    _column, name, convert, default = FIELDS[entity][index]
    if value is _MISSING:
        if default is REQUIRED:
            raise StoreError(f"{entity} {change_id}: field {name!r} is missing")
        return storage_default(convert, default)
    if value is None and default is None:
        return None
    if (convert is vals.flag or convert is vals.maybe_flag) and (value is True or value is False):
        return int(value)
    if value is True or value is False:
        raise StoreError(f"{entity} {change_id}: {name} must not be true/false, got {value!r}")
    try:
        return convert(value)
    except vals.Bad as bad:
        raise StoreError(f"{entity} {change_id}: {name} {bad}, got {value!r}") from None


def _field_index(entity: str, column: str) -> int:
    return next(i for i, spec in enumerate(FIELDS[entity]) if spec[0] == column)


POLICY_FIELDS = {
    "account": (_field_index("account", "default_policy"), _field_index("account", "default_cap")),
    "order": (_field_index("order", "policy"), _field_index("order", "cap")),
}


def check_policy(entity: str, change_id: str, kind: str, cap: int | None) -> None:
    try:
        ShipmentPolicy.parse(kind, cap)
    except DomainError as bad:
        raise StoreError(f"{entity} {change_id}: {bad}") from None


RowBuilder = Callable[[str, Mapping[str, Any]], tuple[Any, ...]]
_KEYS_CODE = {
    "order_line": "*line_key(change_id, data)",
    "stock": "*stock_key(change_id, data)",
}


def _compile_row_builder(entity: str) -> RowBuilder:
    """A row builder specialised for one entity (generated like dataclasses' __init__): a
    100,000-product snapshot spends about a microsecond a row here instead of several."""
    lines = ["def build(change_id, data):", "    get = data.get"]
    for i, (_column, name, convert, _default) in enumerate(FIELDS[entity]):
        v, slow = f"v{i}", f"slow({entity!r}, {i}, v{i}, change_id)"
        lines.append(f"    {v} = get({name!r}, MISSING)")
        if convert is vals.flag:
            lines.append(f"    {v} = 0 if {v} is False else 1 if {v} is True else {slow}")
        elif convert is vals.texts:
            lines.append(f"    {v} = '[]' if {v}.__class__ is list and not {v} else {slow}")
        elif check := _FAST_CHECKS.get(convert):
            lines.append(f"    if not ({check.format(v=v)}):")
            lines.append(f"        {v} = {slow}")
        else:
            lines.append(f"    {v} = {slow}")
    if entity == "demand":  # order_ref (field 0) defaults to the entry's own id
        lines.append("    v0 = change_id if v0 is None else v0")
    if entity in POLICY_FIELDS:  # the shipment policy and its cap must fit together
        kind, cap = (f"v{i}" for i in POLICY_FIELDS[entity])
        lines.append(f"    check_policy({entity!r}, change_id, {kind}, {cap})")
    values = ", ".join(f"v{i}" for i in range(len(FIELDS[entity])))
    if entity == "stock":  # the protocol's common case inline: sku text, warehouse id an int
        lines += [
            "    sku, wh = get('sku'), get('warehouse_id')",
            "    if sku.__class__ is str and sku and wh.__class__ is int and wh >= 0:",
            f"        return (sku, str(wh), {values})",
        ]
    key = _KEYS_CODE.get(entity, "change_id")
    lines.append(f"    return ({key}, {values})")
    namespace: dict[str, Any] = {
        "MISSING": _MISSING,
        "slow": stored_value,
        "line_key": line_key,
        "stock_key": stock_key,
        "check_policy": check_policy,
    }
    exec("\n".join(lines), namespace)
    return namespace["build"]  # type: ignore[no-any-return]


_BUILDERS: dict[str, RowBuilder] = {entity: _compile_row_builder(entity) for entity in FIELDS}


def row_of(change: Change) -> tuple[Any, ...]:
    """The change's row in `columns(entity)` order, validated and in storage form."""
    return _BUILDERS[change[0]](change[1], change[3])


def order_lines(change: Change) -> list[Change] | None:
    """The order_line changes embedded in an order upsert (its `lines`), or None if it has none."""
    lines = change.data.get("lines") if change.op == "upsert" else None
    if lines is None:
        return None
    if not isinstance(lines, list | tuple) or not all(isinstance(x, Mapping) for x in lines):
        raise StoreError(f"order {change.id}: lines must be a list of line records")
    out = []
    for line in lines:
        number = line.get("line_no", line.get("line_id"))
        data = {**line, "order_id": change.id, "line_no": number}
        out.append(Change("order_line", f"{change.id}:{number}", "upsert", data))
    return out


def upsert_rows(changes: Iterable[Change | Mapping[str, Any]]) -> dict[str, list[tuple[Any, ...]]]:
    """Rows per entity of the upserts in `changes`, in arrival order, embedded order lines
    included (deletes are skipped: this is the snapshot path, where everything listed exists).
    Plain dicts of the common entities take a fast path."""
    rows: dict[str, list[tuple[Any, ...]]] = {entity: [] for entity in ENTITIES}
    appenders = {entity: found.append for entity, found in rows.items()}
    fast = {
        name: (builder, appenders[ALIASES.get(name, name)])
        for name, builder in (*_BUILDERS.items(), *((a, _BUILDERS[e]) for a, e in ALIASES.items()))
        if name not in ("order", "order_line")  # orders carry lines: the full path
    }
    for raw in changes:
        if raw.__class__ is dict:
            get = raw.get  # type: ignore[union-attr]
            change_id, data = get("id"), get("data")
            if change_id is None:
                change_id = get("key")
            target = fast.get(get("entity"))
            if (
                target is not None
                and change_id.__class__ is str
                and change_id
                and data.__class__ is dict
                and get("op", "upsert") == "upsert"
            ):
                target[1](target[0](change_id, data))
                continue
        change = Change.of(raw)
        if change is None or change.op != "upsert":
            continue
        rows[change.entity].append(row_of(change))
        for line in order_lines(change) or ():
            rows["order_line"].append(row_of(line))
    return rows


def _checked(what: str, name: str, convert: Convert, value: Any) -> Any:
    try:
        return convert(value)
    except vals.Bad as bad:
        raise StoreError(f"{what}: {name} {bad}, got {value!r}") from None


def verdict_rows(verdict: Mapping[str, Any]) -> tuple[str, dict[str, Any], list[dict[str, Any]]]:
    """Check a push answer's order verdict (the protocol's OrderVerdict as a dict) and return
    (order id, the order's new server columns, one dict of server columns per line)."""
    order_id = _checked("a verdict", "order_id", vals.ref, verdict.get("order_id"))
    what = f"verdict of order {order_id}"
    outcome = _checked(what, "outcome", vals.one_of(OUTCOMES), verdict.get("outcome"))
    differences = verdict.get("differences") or []
    order: dict[str, Any] = {
        "verdict": outcome,
        "verdict_reason": _checked(what, "reason", vals.text_or_empty, verdict.get("reason")),
        "server_differences": _checked(what, "differences", vals.texts, differences),
        "server_needs_attention": int(bool(differences)),
    }
    if verdict.get("status") is not None:
        order["status"] = _checked(what, "status", vals.one_of(ORDER_STATUSES), verdict["status"])
    if verdict.get("version") is not None:
        order["version"] = _checked(what, "version", vals.count, verdict["version"])
    lines = []
    for line in verdict.get("lines") or ():
        if not isinstance(line, Mapping):
            raise StoreError(f"{what}: lines must be line results, got {line!r}")
        number = _checked(what, "line_no", vals.ref, line.get("line_no"))
        where = f"{what}, line {number}"
        reserved = _checked(where, "reserved", vals.count, line.get("reserved", 0))
        backordered = _checked(where, "backordered", vals.count, line.get("backordered", 0))
        unavailable = _checked(where, "unavailable", vals.count, line.get("unavailable", 0))
        lines.append({
            "line_id": number,
            "server_label": _checked(where, "label", vals.label, line.get("label")),
            "allocated": reserved,
            "waiting": backordered,
            "server_backordered": backordered + unavailable,  # not there now, dated or not
            "server_eta": _checked(where, "eta", vals.optional(vals.day), line.get("eta")),
            "server_eta_kind": _checked(
                where, "eta_kind", vals.optional(vals.eta_kind), line.get("eta_kind")
            ),
        })  # fmt: skip
    return order_id, order, lines
