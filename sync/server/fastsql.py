"""Hot statements run on the DBAPI cursor.

The order commit runs about fifteen statements per order, and SQLAlchemy's per-execution work
(parameter construction, execution context, result objects) costs several times what SQLite or
PostgreSQL spend on them. A `Fast` statement keeps what SQLAlchemy is for, and drops the rest:

- the SQL is SQLAlchemy's, compiled once per dialect (and per set of inserted columns), then
  kept as text and parameter slots, so that the statement for a given number of IN values or
  inserted rows is rendered once and reused;
- parameters go through SQLAlchemy's own bind processors, results through its result
  processors (public TypeEngine API), so values are stored and read exactly as through
  SQLAlchemy (UUIDs, aware datetimes, dates, JSON, booleans on SQLite);
- it runs on a cursor of the session's connection, inside the session's transaction, kept
  for the next run of the statement (a fresh psycopg cursor looks up its adapters again). On
  psycopg that is a `RawCursor` with PostgreSQL's own numbered placeholders ($1, $2, ...) and
  the values as a list: psycopg has no query to parse and no names to map (which, for a
  multi-row INSERT of more than 50 values, it would otherwise do on every execution);
- statements that do not need each other's results can go to PostgreSQL together, in one
  round trip (`pipeline`, `Fast.send`), the transaction's COMMIT too (`commit`).

Expanding IN parameters get one placeholder per value. A list of parameter sets is sent as one
multi-row INSERT ... VALUES (with RETURNING rows, if any) or, for UPDATEs, with executemany.
Python-side column defaults are not applied: an INSERT must name every column it fills (checked
when it is compiled). tests/integration/test_fastsql.py runs each statement both ways.
"""

from __future__ import annotations

import re
from collections import namedtuple
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Executable
from sqlalchemy.sql.dml import Insert

Processor = Callable[[Any], Any] | None
# A compiled statement's parameter slots: "%(name)s" (psycopg, SQLAlchemy's pyformat style),
# "?" (sqlite3), "__[POSTCOMPILE_name]" (an expanding IN list); "%%" is a literal "%".
_PYFORMAT = re.compile(r"%\((\w+)\)s|__\[POSTCOMPILE_(\w+)\]|%%")
_QMARK = re.compile(r"\?|__\[POSTCOMPILE_(\w+)\]")
_MAX_ROWS = 400  # rows per multi-row INSERT (SQLite allows 32,766 parameters a statement)
_NONE: Mapping[str, Any] = MappingProxyType({})  # no parameters


@dataclass(frozen=True)
class _Slot:
    """Where a parameter's value goes: one placeholder, or one per value of an IN list."""

    name: str
    expanding: bool
    proc: Processor


@dataclass
class _Compiled:
    parts: list[str | _Slot]  # the SQL as text between parameter slots
    values_at: tuple[int, int] | None  # the parts of the "(...)" after VALUES, for inserts
    slots: list[_Slot]  # in placeholder order
    numbered: bool  # $1, $2, ... (psycopg's RawCursor) rather than "?"
    fixed: dict[str, Any]  # values of the statement's own literals
    has_rows: bool
    results: list[tuple[int, Processor]]  # the result columns to process: (index, processor)
    row_type: Any  # a namedtuple of the result columns
    # (name, processor) of each slot, if none is an IN list (one value a slot): the common case
    plain: list[tuple[str, Processor]] | None = None

    def __post_init__(self) -> None:
        if not any(s.expanding for s in self.slots):
            self.plain = [(s.name, s.proc) for s in self.slots]


class Fast:
    """A Core statement compiled once per dialect and run on the DBAPI cursor."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._compiled: dict[tuple[str, frozenset[str] | None], _Compiled] = {}
        # SQL text by (compiled statement, sizes of its IN lists or number of inserted rows)
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
        procs: dict[str, Processor] = {}
        fixed: dict[str, Any] = {}
        expanding = set()
        for name, bind in compiled.binds.items():
            procs[name] = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if bind.expanding:
                expanding.add(name)
            if not bind.required:  # a literal in the statement (e.g. status == "scheduled")
                fixed[name] = bind.effective_value

        def slot(name: str) -> _Slot:
            return _Slot(name, name in expanding, procs[name])

        sql = compiled.string
        parts: list[str | _Slot] = []
        at = 0
        if dialect.driver == "psycopg" and dialect.paramstyle == "pyformat":
            numbered = True
            for match in _PYFORMAT.finditer(sql):
                parts.append(sql[at : match.start()])
                name = match.group(1) or match.group(2)
                parts.append("%" if name is None else slot(name))
                at = match.end()
        elif dialect.paramstyle == "qmark":
            numbered = False
            names = iter(compiled.positiontup or ())
            for match in _QMARK.finditer(sql):
                parts.append(sql[at : match.start()])
                parts.append(slot(next(names)))
                at = match.end()
        else:  # pragma: no cover (the server runs on sqlite3 and psycopg)
            raise NotImplementedError(f"Fast: {dialect.driver} ({dialect.paramstyle})")
        parts.append(sql[at:])
        parts = _joined(parts)
        values_at = None
        if isinstance(statement, Insert):
            values_at = _values_group(parts)
        columns = _result_columns(statement)
        return _Compiled(
            parts=parts,
            values_at=values_at,
            slots=[p for p in parts if isinstance(p, _Slot)],
            numbered=numbered,
            fixed=fixed,
            has_rows=bool(columns),
            results=[
                (i, proc)
                for i, (_, t) in enumerate(columns)
                if (proc := t.dialect_impl(dialect).result_processor(dialect, None)) is not None
            ],
            row_type=namedtuple("Row", [name for name, _ in columns], rename=True),  # type: ignore[misc]
        )

    def _get(self, dialect: Dialect, keys: frozenset[str] | None) -> _Compiled:
        found = self._compiled.get((dialect.name, keys))
        if found is None:
            found = self._compiled[(dialect.name, keys)] = self._compile(dialect, keys)
        return found

    # -- running --------------------------------------------------------------------------

    def run(
        self, conn: Connection, params: Mapping[str, Any] | Sequence[Mapping[str, Any]] = _NONE
    ) -> list[tuple[Any, ...]]:
        """Execute; the result rows (plain tuples, processed) if the statement has any."""
        return self.send(conn, params).rows()

    def first(self, conn: Connection, params: Mapping[str, Any] = _NONE) -> tuple[Any, ...] | None:
        rows = self.run(conn, params)
        return rows[0] if rows else None

    def send(
        self, conn: Connection, params: Mapping[str, Any] | Sequence[Mapping[str, Any]] = _NONE
    ) -> Sent:
        """Execute with one set of parameters (none by default), or once per set in a list (an
        empty list runs nothing). Read the rows later: inside a `pipeline` block the statement
        is only queued, and its rows are there once the block has ended."""
        dialect = conn.dialect
        many = isinstance(params, Sequence)
        sets: Sequence[Mapping[str, Any]] = params if many else [params]  # type: ignore[list-item]
        if not sets:
            return Sent(dialect, None, [], "", None)
        keys = frozenset(sets[0]) if isinstance(self.statement, Insert) else None
        c = self._get(dialect, keys)
        # Each statement keeps a cursor per connection, lent out until its rows are read: a new
        # psycopg cursor would look up its adapters again, as costly as the rest of a run.
        pooled = conn.connection
        cursor = pooled.info.pop(self, None) or _cursor(c, dialect, pooled.dbapi_connection)
        cursors = [cursor]
        sql = ""
        try:
            if c.values_at is not None and many and len(sets) > 1:
                for start in range(0, len(sets), _MAX_ROWS):
                    chunk = sets[start : start + _MAX_ROWS]
                    sql = self._render(c, (len(chunk),))
                    args: list[Any] = []
                    for s in chunk:
                        args += self._args(c, s)
                    if start:  # each chunk's rows wait in a cursor of their own
                        cursors.append(_cursor(c, dialect, pooled.dbapi_connection))
                    cursors[-1].execute(sql, args)
            elif many and len(sets) > 1:
                sql = self._render(c, self._sizes(c, sets[0]))
                cursor.executemany(sql, [self._args(c, s) for s in sets])
            else:
                sql = self._render(c, self._sizes(c, sets[0]))
                cursor.execute(sql, self._args(c, sets[0]))
        except DBAPIError:
            raise
        except dialect.loaded_dbapi.Error as error:
            raise _as_sqlalchemy(error, dialect, sql) from error
        sent = Sent(dialect, c, cursors, sql, (pooled.info, self))
        if not (c.has_rows and c.numbered and cursor.connection.pgconn.pipeline_status):
            sent.rows()  # read at once: nothing to wait for
        return sent

    # -- helpers --------------------------------------------------------------------------

    @staticmethod
    def _sizes(c: _Compiled, params: Mapping[str, Any]) -> tuple[int, ...]:
        if c.values_at is not None:
            return (1,)  # one row
        return tuple(len(params[s.name]) for s in c.slots if s.expanding)

    def _render(self, c: _Compiled, shape: tuple[int, ...]) -> str:
        """The SQL for these IN-list sizes (or, for an INSERT, this many rows)."""
        key = (id(c), shape)
        sql = self._sql.get(key)
        if sql is None:
            sql = self._sql[key] = _render(c, shape)
        return sql

    @staticmethod
    def _args(c: _Compiled, params: Mapping[str, Any]) -> list[Any]:
        if c.fixed:
            params = {**c.fixed, **params}
        if c.plain is not None:
            return [params[n] if p is None else p(params[n]) for n, p in c.plain]
        out: list[Any] = []
        for s in c.slots:
            value = params[s.name]
            proc = s.proc
            if s.expanding:
                out.extend(value if proc is None else map(proc, value))
            else:
                out.append(value if proc is None else proc(value))
        return out


class Sent:
    """A statement executed (or, in a `pipeline` block, queued): its rows."""

    __slots__ = ("_c", "_cursors", "_dialect", "_home", "_rows", "_sql")

    def __init__(
        self,
        dialect: Dialect,
        c: _Compiled | None,
        cursors: list[Any],
        sql: str,
        home: tuple[dict[Any, Any], Fast] | None,
    ) -> None:
        self._dialect = dialect
        self._c = c
        self._cursors = cursors
        self._sql = sql
        self._home = home  # where the statement's cursor goes back once read
        self._rows: list[tuple[Any, ...]] | None = None if c is not None else []

    def rows(self) -> list[tuple[Any, ...]]:
        if self._rows is not None:
            return self._rows
        c = self._c
        assert c is not None
        raw: list[tuple[Any, ...]] = []
        if c.has_rows:
            try:
                for cursor in self._cursors:
                    raw.extend(cursor.fetchall())
            except self._dialect.loaded_dbapi.Error as error:
                raise _as_sqlalchemy(error, self._dialect, self._sql) from error
        if self._home is not None:
            info, fast = self._home
            info[fast] = self._cursors[0]
        self._cursors = []
        make = c.row_type._make
        if not c.results:
            self._rows = [make(row) for row in raw]
            return self._rows
        self._rows = []
        for row in raw:
            values = list(row)
            for i, proc in c.results:
                if values[i] is not None:
                    values[i] = proc(values[i])
            self._rows.append(make(values))
        return self._rows

    def first(self) -> tuple[Any, ...] | None:
        rows = self.rows()
        return rows[0] if rows else None


@contextmanager
def pipeline(conn: Connection) -> Iterator[None]:
    """psycopg: the statements `Fast.send` queues in the block go to PostgreSQL together and
    their results come back together, in one round trip (psycopg's pipeline mode); PostgreSQL
    still runs them one after the other, each with its own snapshot. Read their rows after the
    block. Only `Fast` statements may run in it (SQLAlchemy cannot read a result that is not
    there yet). Elsewhere (SQLite) the statements simply run one by one."""
    if conn.dialect.driver != "psycopg":
        yield
        return
    raw: Any = conn.connection.dbapi_connection
    try:
        with raw.pipeline():
            yield
    except DBAPIError:
        raise
    except conn.dialect.loaded_dbapi.Error as error:  # a statement's, raised when the block ends
        raise _as_sqlalchemy(error, conn.dialect, "(a pipeline)") from error


def commit(conn: Connection) -> None:
    """COMMIT, sent like any other statement: in a `pipeline` block it goes out in the same
    round trip as the statements before it (and a failure is raised when the block ends).
    SQLAlchemy's own commit afterwards finds the transaction over and sends nothing. (Not
    `Session.commit()` inside the block: it would hand the connection back to the pool while
    the block still uses it.)"""
    _COMMIT.send(conn)


def _as_sqlalchemy(error: Exception, dialect: Dialect, sql: str) -> DBAPIError:
    """A driver error as SQLAlchemy would raise it (IntegrityError, OperationalError, ...):
    callers tell a fault a retry may cure (deadlock, busy database) by these classes."""
    return DBAPIError.instance(
        sql, None, error, dialect.loaded_dbapi.Error, hide_parameters=True, dialect=dialect
    )


def _cursor(c: _Compiled, dialect: Dialect, raw: Any) -> Any:
    return dialect.loaded_dbapi.RawCursor(raw) if c.numbered else raw.cursor()


def _render(c: _Compiled, shape: tuple[int, ...]) -> str:
    parts = c.parts
    if c.values_at is not None:  # shape: (rows,): the VALUES group once per row
        (rows,) = shape
        start, end = c.values_at
        group = parts[start:end]
        parts = parts[:start] + [*group, ", "] * (rows - 1) + group + parts[end:]
        sizes = iter(())
    else:
        sizes = iter(shape)
    out: list[str] = []
    n = 0

    def placeholder() -> str:
        nonlocal n
        n += 1
        return f"${n}" if c.numbered else "?"

    for part in parts:
        if isinstance(part, str):
            out.append(part)
        elif part.expanding:
            count = next(sizes)
            if count == 0:
                raise ValueError(f"{part.name}: an empty IN list")
            out.append(", ".join(placeholder() for _ in range(count)))
        else:
            out.append(placeholder())
    return "".join(out)


def _joined(parts: list[str | _Slot]) -> list[str | _Slot]:
    """Adjacent text parts merged into one (a literal "%" splits the text it stands in)."""
    out: list[str | _Slot] = []
    for part in parts:
        if isinstance(part, str) and out and isinstance(out[-1], str):
            out[-1] += part
        else:
            out.append(part)
    return out


def _values_group(parts: list[str | _Slot]) -> tuple[int, int]:
    """The parts of an INSERT's "(...)" after VALUES, [start, end), split off so that the group
    can be repeated once per row. Only RETURNING may follow it, with no parameters."""
    for i, part in enumerate(parts):
        if isinstance(part, str) and " VALUES (" in part:
            head, _, tail = part.partition(" VALUES ")
            parts[i : i + 1] = [head + " VALUES ", tail]
            start = i + 1
            break
    else:
        raise ValueError("an INSERT without VALUES (...)")
    depth = 0
    for j in range(start, len(parts)):
        part = parts[j]
        if isinstance(part, _Slot):
            continue
        for k, ch in enumerate(part):
            depth += {"(": 1, ")": -1}.get(ch, 0)
            if depth == 0:
                parts[j : j + 1] = [part[: k + 1], part[k + 1 :]]
                if any(isinstance(p, _Slot) for p in parts[j + 2 :]):
                    raise ValueError("an INSERT with parameters after VALUES (...)")
                return start, j + 1
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


_COMMIT = Fast(text("COMMIT"))
