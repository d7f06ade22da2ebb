"""Hot statements run on the DBAPI cursor.

The order commit runs about ten statements per order, and SQLAlchemy's per-execution work
(parameter construction, execution context, result objects) costs several times what SQLite or
PostgreSQL spend on them. A `Fast` statement keeps what SQLAlchemy is for, and drops the rest:

- the SQL is SQLAlchemy's, compiled once per dialect (and per set of inserted columns);
- parameters go through SQLAlchemy's own bind processors, results through its result
  processors (public TypeEngine API), so values are stored and read exactly as through
  SQLAlchemy (UUIDs, aware datetimes, dates, JSON, booleans on SQLite);
- it runs on the cursor of the session's connection, inside the session's transaction.

Expanding IN parameters get one placeholder per value. A list of parameter sets is sent as one
multi-row INSERT ... VALUES (with RETURNING rows, if any) or, for UPDATEs, with executemany.
Python-side column defaults are not applied: an INSERT must name every column it fills (checked
when it is compiled). tests/integration/test_fastsql.py runs each statement both ways.
"""

from __future__ import annotations

import re
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Executable
from sqlalchemy.sql.dml import Insert

Processor = Callable[[Any], Any] | None
_POSTCOMPILE = re.compile(r"__\[POSTCOMPILE_(\w+)\]")
_MAX_ROWS = 400  # rows per multi-row INSERT (SQLite allows 32,766 parameters a statement)


@dataclass
class _Compiled:
    sql: str
    positional: bool
    names: list[str]  # bind names in placeholder order (positional) or all of them (named)
    binds: dict[str, Processor]
    results: list[Processor]
    expanding: frozenset[str]
    values_at: tuple[int, int] | None  # the "(...)" after VALUES, for multi-row inserts
    has_rows: bool
    row_type: Any  # a namedtuple of the result columns
    fixed: dict[str, Any]  # values of the statement's own literals
    procs: list[Processor] = field(default_factory=list)  # bind processors in `names` order

    def __post_init__(self) -> None:
        self.procs = [self.binds[name] for name in self.names]


class Fast:
    """A Core statement compiled once per dialect and run on the DBAPI cursor."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._compiled: dict[tuple[str, frozenset[str] | None], _Compiled] = {}
        self._sql: dict[tuple[int, tuple[int, ...]], str] = {}

    # -- compiling ----------------------------------------------------------------------

    def _compile(self, dialect: Dialect, keys: frozenset[str] | None) -> _Compiled:
        statement = self.statement
        if isinstance(statement, Insert):
            compiled = statement.compile(dialect=dialect, column_keys=sorted(keys or ()))
            missing = set(compiled.binds) - set(keys or ())
            if missing:
                raise ValueError(f"insert into {statement.table}: give values for {missing}")
        else:
            compiled = statement.compile(dialect=dialect)
        binds: dict[str, Processor] = {}
        fixed: dict[str, Any] = {}
        expanding = set()
        for name, bind in compiled.binds.items():
            binds[name] = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if bind.expanding:
                expanding.add(name)
            if not bind.required:  # a literal in the statement (e.g. status == "scheduled")
                fixed[name] = bind.effective_value
        columns = _result_columns(statement)
        results = [t.dialect_impl(dialect).result_processor(dialect, None) for _, t in columns]
        row_type = namedtuple("Row", [name for name, _ in columns], rename=True)  # type: ignore[misc]
        sql = compiled.string
        values_at = None
        if isinstance(statement, Insert):
            start = sql.index(" VALUES (") + len(" VALUES ")
            end = _closing(sql, start) + 1
            values_at = (start, end)
        positional = bool(compiled.positional)
        names = list(compiled.positiontup or ()) if positional else list(compiled.binds)
        return _Compiled(
            sql,
            positional,
            names,
            binds,
            results,
            frozenset(expanding),
            values_at,
            bool(columns),
            row_type,
            fixed,
        )

    def _get(self, dialect: Dialect, keys: frozenset[str] | None) -> _Compiled:
        found = self._compiled.get((dialect.name, keys))
        if found is None:
            found = self._compiled[(dialect.name, keys)] = self._compile(dialect, keys)
        return found

    # -- running --------------------------------------------------------------------------

    def run(
        self, conn: Connection, params: Mapping[str, Any] | Sequence[Mapping[str, Any]] = ()
    ) -> list[tuple[Any, ...]]:
        """Execute; the result rows (plain tuples, processed) if the statement has any."""
        dialect = conn.dialect
        many = isinstance(params, Sequence)
        sets: Sequence[Mapping[str, Any]] = params if many else [params]  # type: ignore[list-item]
        if not sets:
            return []
        keys = frozenset(sets[0]) if isinstance(self.statement, Insert) else None
        c = self._get(dialect, keys)
        dbapi_error = dialect.loaded_dbapi.Error
        cursor = conn.connection.cursor()
        sql: str = c.sql
        try:
            if c.values_at is not None and many and len(sets) > 1:
                rows: list[tuple[Any, ...]] = []
                for start in range(0, len(sets), _MAX_ROWS):
                    chunk = sets[start : start + _MAX_ROWS]
                    sql, args = self._multi_insert(c, chunk)
                    cursor.execute(sql, args)
                    if c.has_rows:
                        rows.extend(cursor.fetchall())
            elif many and len(sets) > 1:
                sql = self._render(c, sets[0])
                cursor.executemany(sql, [self._args(c, s) for s in sets])
                rows = []
            else:
                sql = self._render(c, sets[0])
                cursor.execute(sql, self._args(c, sets[0]))
                rows = cursor.fetchall() if c.has_rows else []
        except dbapi_error as error:
            # As SQLAlchemy would raise it (IntegrityError, OperationalError, ...): callers tell
            # a fault a retry may cure (deadlock, busy database) by these classes.
            raise DBAPIError.instance(
                sql, None, error, dbapi_error, hide_parameters=True, dialect=dialect
            ) from error
        finally:
            cursor.close()
        make = c.row_type._make
        if not any(c.results):
            return [make(row) for row in rows]
        procs = c.results
        return [
            make(v if p is None or v is None else p(v) for p, v in zip(procs, row, strict=True))
            for row in rows
        ]

    def first(self, conn: Connection, params: Mapping[str, Any] = ()) -> tuple[Any, ...] | None:
        rows = self.run(conn, params)
        return rows[0] if rows else None

    # -- helpers --------------------------------------------------------------------------

    def _render(self, c: _Compiled, params: Mapping[str, Any]) -> str:
        if not c.expanding:
            return c.sql
        sizes = tuple(len(params[name]) for name in sorted(c.expanding))
        key = (id(c), sizes)
        sql = self._sql.get(key)
        if sql is None:
            counts = dict(zip(sorted(c.expanding), sizes, strict=True))

            def placeholders(match: re.Match[str]) -> str:
                name, n = match.group(1), counts[match.group(1)]
                if n == 0:
                    raise ValueError(f"{name}: an empty IN list")
                if c.positional:
                    return ", ".join("?" * n)
                return ", ".join(f"%({name}_{i})s" for i in range(n))

            sql = self._sql[key] = _POSTCOMPILE.sub(placeholders, c.sql)
        return sql

    def _args(self, c: _Compiled, params: Mapping[str, Any]) -> Any:
        if c.fixed:
            params = {**c.fixed, **params}
        if not c.expanding:  # the common case, kept short
            if c.positional:
                return [
                    v if p is None else p(v)
                    for p, v in zip(c.procs, map(params.__getitem__, c.names), strict=True)
                ]
            return {
                n: params[n] if p is None else p(params[n])
                for n, p in zip(c.names, c.procs, strict=True)
            }
        binds = c.binds
        if c.positional:
            out: list[Any] = []
            for name in c.names:
                value = params[name]
                proc = binds[name]
                if name in c.expanding:
                    out.extend(v if proc is None else proc(v) for v in value)
                else:
                    out.append(value if proc is None else proc(value))
            return out
        named: dict[str, Any] = {}
        for name in c.names:
            value = params[name]
            proc = binds[name]
            if name in c.expanding:
                for i, v in enumerate(value):
                    named[f"{name}_{i}"] = v if proc is None else proc(v)
            else:
                named[name] = value if proc is None else proc(value)
        return named

    def _multi_insert(self, c: _Compiled, sets: Sequence[Mapping[str, Any]]) -> tuple[str, Any]:
        assert c.values_at is not None
        start, end = c.values_at
        row = c.sql[start:end]
        if c.positional:
            sql = c.sql[:start] + ", ".join([row] * len(sets)) + c.sql[end:]
            args: list[Any] = []
            for s in sets:
                args.extend(self._args(c, s))
            return sql, args
        groups, named = [], {}
        for i, s in enumerate(sets):
            groups.append(re.sub(r"%\((\w+)\)s", lambda m, i=i: f"%({m.group(1)}__{i})s", row))
            for name, value in self._args(c, s).items():
                named[f"{name}__{i}"] = value
        return c.sql[:start] + ", ".join(groups) + c.sql[end:], named


def _closing(sql: str, start: int) -> int:
    """The index of the parenthesis closing the one at `start`."""
    depth = 0
    for i in range(start, len(sql)):
        if sql[i] == "(":
            depth += 1
        elif sql[i] == ")":
            depth -= 1
            if depth == 0:
                return i
    raise ValueError("unbalanced parentheses")


def _result_columns(statement: Any) -> list[tuple[str, Any]]:
    """(name, type) of the rows a statement returns: RETURNING columns, or a SELECT's."""
    described = getattr(statement, "returning_column_descriptions", None)
    if described:
        return [(d["name"], d["type"]) for d in described]
    if described is None and hasattr(statement, "selected_columns"):
        columns = statement.selected_columns
        return [(key, c.type) for key, c in zip(columns.keys(), columns, strict=True)]
    return []
