"""Many rows per statement: the write path of snapshots and pages.

The statement comes from SQLAlchemy Core (`insert(table)`, optionally `.on_conflict_do_update`),
compiled once per shape; its single VALUES group is then repeated so that one statement carries
ROWS_PER_STATEMENT rows, and the rows go to the driver as flat positional tuples. This keeps
SQLAlchemy's per-row parameter processing (several microseconds a row, more than SQLite's own
insert) off a 100,000-row snapshot. Rows therefore arrive already in storage form (see
columns.py and changes.py): ints for bools, ISO text for dates and moments, JSON text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import lru_cache
from itertools import chain, islice
from operator import itemgetter
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table
from sqlalchemy import column as sql_column
from sqlalchemy import table as sql_table
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.sqlite import insert

ROWS_PER_STATEMENT = 200
MAX_VARIABLES = 32_000  # SQLite's default limit is 32,766 bound variables per statement

Row = Sequence[Any]
Conflict = tuple[tuple[str, ...], tuple[tuple[str, Any], ...]] | None
_DIALECT = sqlite.dialect(paramstyle="qmark")


@lru_cache(maxsize=64)
def _statement(
    table: Table, columns: tuple[str, ...], conflict: Conflict, rows: int
) -> tuple[str, Callable[[Row], Row] | None]:
    """The SQL for `rows` rows, and how to reorder a row into the statement's parameter order
    (SQLAlchemy lists the columns in table order; None when the rows already are)."""
    # A bare table clause: the models' Python-side defaults must not add parameters.
    bare = sql_table(table.name, *(sql_column(c.name) for c in table.columns))
    stmt = insert(bare)
    if conflict is not None:
        keys, updates = conflict
        set_: dict[str, ColumnElement[Any] | Any] = {
            name: (stmt.excluded[name] if expr is None else expr(bare, stmt.excluded))
            for name, expr in updates
        }
        stmt = stmt.on_conflict_do_update(index_elements=list(keys), set_=set_)
    compiled = stmt.compile(dialect=_DIALECT, column_keys=list(columns))
    order = tuple(columns.index(name) for name in compiled.positiontup or ())
    if sorted(order) != list(range(len(columns))):
        raise AssertionError(f"unexpected parameters for {table.name}: {compiled.positiontup}")
    text = str(compiled)
    group = "(" + ", ".join("?" * len(columns)) + ")"
    if text.count(group) != 1:
        raise AssertionError(f"cannot find the VALUES group in {text!r}")
    reorder = None if order == tuple(range(len(columns))) else itemgetter(*order)
    return text.replace(group, ", ".join([group] * rows), 1), reorder


def _batches(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
    it = iter(rows)
    while batch := list(islice(it, size)):
        yield batch


def insert_rows(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[Row],
    *,
    conflict: Conflict = None,
) -> int:
    """Insert (or, with `conflict`, upsert) `rows`, each a tuple in `columns` order.

    `conflict` = (key columns, ((column, None | expr(table, excluded)), ...)): the columns to set
    when the key exists; None means "take the incoming value"."""
    cols = tuple(columns)
    per = max(1, min(ROWS_PER_STATEMENT, MAX_VARIABLES // len(cols)))
    full = len(rows) - len(rows) % per
    if full:
        sql, reorder = _statement(table, cols, conflict, per)
        ordered = rows[:full] if reorder is None else [reorder(r) for r in rows[:full]]
        params = [tuple(chain.from_iterable(b)) for b in _batches(ordered, per)]
        conn.exec_driver_sql(sql, params)
    if full < len(rows):
        sql, reorder = _statement(table, cols, conflict, len(rows) - full)
        rest = rows[full:] if reorder is None else [reorder(r) for r in rows[full:]]
        conn.exec_driver_sql(sql, tuple(chain.from_iterable(rest)))
    return len(rows)


def chunks(values: Sequence[Any], size: int = 500) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def placeholders(n: int) -> str:
    return ", ".join("?" * n)
