"""Snapshot rows checked a column at a time: the fast way into the cached tables.

A snapshot page is one entity's records as rows under named columns ("key" first, then the
record's fields; see sync.protocol.SnapshotPage). Checking a whole column at once (the set of
its value types, its minimum) runs in C, where checking each field of each record in Python
costs a microsecond or more a record: at 266,000 records that is the difference between a
fresh device's first sync taking seconds or a fraction of one.

The rules are changes.py's FIELDS, not a second copy: a column check only accepts what the
field's converter would store unchanged (or converts it the same way, e.g. ids to text);
anything else (a null, a bool where a number belongs, a bad date) goes value by value through
changes.py's converter, which stores it or raises the StoreError that names the entity, the
record and the field. Orders carry their lines nested: they take the record path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from itertools import compress
from typing import Any

from app.store import values as vals
from app.store.changes import (
    ALIASES,
    FIELDS,
    IGNORED,
    POLICY_FIELDS,
    REQUIRED,
    check_policy,
    stock_key,
    storage_default,
    stored_value,
    upsert_rows,
)
from app.store.errors import StoreError

Column = list[Any]


def _types(values: Column) -> set[type]:
    return set(map(type, values))


def _whole(values: Column, low: int, high: int | None = None) -> Column | None:
    if not values:
        return values
    if _types(values) <= {int} and min(values) >= low and (high is None or max(values) <= high):
        return values
    return None


def _text(values: Column) -> Column | None:
    return values if _types(values) <= {str} else None


def _ref(values: Column) -> Column | None:
    kinds = _types(values)
    if kinds <= {str}:
        return values if "" not in values else None
    return list(map(str, values)) if kinds <= {int} else None


def _warehouse(values: Column) -> Column | None:
    return list(map(str, values)) if _types(values) <= {int} else _text(values)


def _flag(values: Column) -> Column | None:
    return list(map(int, values)) if _types(values) <= {bool} else None


def _day(values: Column) -> Column | None:
    if not _types(values) <= {str}:
        return None
    try:  # only the canonical YYYY-MM-DD passes unchanged (fromisoformat takes more forms)
        canonical = list(map(date.isoformat, map(date.fromisoformat, values)))
    except ValueError:
        return None
    return values if canonical == values else None


def _texts(values: Column) -> Column | None:
    if not _types(values) <= {list}:
        return None
    stored = ["[]"] * len(values)
    try:  # most lists are empty: convert only the others
        for i in compress(range(len(values)), values):
            stored[i] = vals.texts(values[i])
    except vals.Bad:
        return None
    return stored


def _one_of(values: Column, allowed: frozenset[str]) -> Column | None:
    return values if _types(values) <= {str} and set(values) <= allowed else None


ColumnCheck = Callable[[Column], Column | None]
# Per converter: the column in storage form, or None to go value by value.
_CHECKS: dict[vals.Convert, ColumnCheck] = {
    vals.text: _text,
    vals.ref: _ref,
    vals.warehouse: _warehouse,
    vals.count: lambda v: _whole(v, 0),
    vals.positive: lambda v: _whole(v, 1),
    vals.tier: lambda v: _whole(v, 1, 9),
    vals.flag: _flag,
    vals.day: _day,
    vals.texts: _texts,
}


def _field(entity: str, index: int, values: Column | None, keys: Column) -> Column:
    """One field's column in storage form, checked (None: the page has no such column)."""
    _column, name, convert, default = FIELDS[entity][index]
    if values is None:
        if default is REQUIRED:
            raise StoreError(f"{entity} {keys[0]}: field {name!r} is missing")
        return [storage_default(convert, default)] * len(keys)
    if (allowed := getattr(convert, "allowed", None)) is not None:
        stored = _one_of(values, allowed)
    else:
        check = _CHECKS.get(convert)
        stored = None if check is None else check(values)
    if stored is not None:
        return stored
    return [stored_value(entity, index, v, k) for v, k in zip(values, keys, strict=True)]


def _key_columns(entity: str, keys: Column, data: dict[str, Column]) -> list[Column]:
    """The table's key column(s): the record's key, or for stock (sku, warehouse id), named in
    the record or else read from its key "<sku>@<warehouse id>" (as changes.stock_key does)."""
    if entity != "stock":
        return [keys]
    if "sku" in data and "warehouse_id" in data:
        fast = _ref(data["sku"]), _ref(data["warehouse_id"])
        if fast[0] is not None and fast[1] is not None:
            return list(fast)
    named = {name: data[name] for name in ("sku", "warehouse_id") if name in data}
    pairs = [
        stock_key(key, {name: values[k] for name, values in named.items()})
        for k, key in enumerate(keys)
    ]
    return [list(column) for column in zip(*pairs, strict=True)]


def table_rows(
    entity: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> dict[str, list[tuple[Any, ...]]]:
    """The rows of one snapshot page (an entity's records under `columns`, "key" first) as
    table rows per store entity, checked and in storage form (as changes.upsert_rows makes
    them). Raises StoreError naming the record and the field of the first bad value."""
    entity = ALIASES.get(entity, entity)
    if entity in IGNORED or not rows:
        return {}
    if entity not in FIELDS:
        raise StoreError(f"unknown entity {entity!r} in a snapshot page")
    # The first column is the record's key by position: a field may be named "key" too (a
    # conflict's entity key).
    if (
        not columns
        or columns[0] != "key"
        or not _types(list(columns)) <= {str}
        or len(set(columns[1:])) != len(columns) - 1
    ):
        raise StoreError(
            f"a snapshot page's columns must be 'key' first, then distinct field names: {columns!r}"
        )
    width = len(columns)
    if not _types(list(rows)) <= {list, tuple} or set(map(len, rows)) != {width}:
        raise StoreError(f"every {entity} row must be a list of {width} values, one per column")
    if entity == "order":  # lines nested in each order: the record path
        names = columns[1:]
        changes = [
            {"entity": "order", "id": row[0], "data": dict(zip(names, row[1:], strict=True))}
            for row in rows
        ]
        return upsert_rows(changes)
    keys, *fields = (list(c) for c in zip(*rows, strict=True))
    if _types(keys) != {str} or "" in keys:
        raise StoreError(f"every {entity} row needs a key (non-empty text)")
    data = dict(zip(columns[1:], fields, strict=True))
    stored = [_field(entity, i, data.get(spec[1]), keys) for i, spec in enumerate(FIELDS[entity])]
    if entity == "demand":  # order_ref (field 0) defaults to the entry's own id
        stored[0] = [key if ref is None else ref for key, ref in zip(keys, stored[0], strict=True)]
    if entity in POLICY_FIELDS:
        kind, cap = POLICY_FIELDS[entity]
        for key, k, c in zip(keys, stored[kind], stored[cap], strict=True):
            check_policy(entity, key, k, c)
    return {entity: list(zip(*_key_columns(entity, keys, data), *stored, strict=True))}
