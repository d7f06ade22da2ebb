"""How values the server sends are checked and put in storage form: each converter returns the
stored value or raises Bad with what is wrong (changes.py adds the entity, id and field)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from app.domain.model import DomainError, EtaKind, Label, PolicyKind
from app.domain.slip import FillCurve, SlipBasis
from app.store.columns import db_datetime

Convert = Callable[[Any], Any]


class Bad(Exception):
    """A value that does not fit; turned into a StoreError naming entity, id and field."""


def text(v: Any) -> str:
    if isinstance(v, str):
        return str(v)
    raise Bad("must be text")


def text_or_empty(v: Any) -> str:
    return "" if v is None else text(v)


def ref(v: Any) -> str:
    """An id: text, a whole number or a UUID, stored as text."""
    if isinstance(v, str) and v:
        return str(v)
    if (isinstance(v, int) and not isinstance(v, bool)) or isinstance(v, uuid.UUID):
        return str(v)
    raise Bad("must be an id (non-empty text or a whole number)")


def warehouse(v: Any) -> str:
    """A warehouse id; "" when the server names none (a single-warehouse device)."""
    return "" if v is None or v == "" else ref(v)


def count(v: Any) -> int:
    if isinstance(v, int) and not isinstance(v, bool) and v >= 0:
        return v
    raise Bad("must be a whole number, zero or more")


def positive(v: Any) -> int:
    if isinstance(v, int) and not isinstance(v, bool) and v >= 1:
        return v
    raise Bad("must be a whole number, at least 1")


def flag(v: Any) -> int:
    if isinstance(v, bool):
        return int(v)
    raise Bad("must be true or false")


def day(v: Any) -> str:
    if isinstance(v, date) and not isinstance(v, datetime):
        return v.isoformat()
    if isinstance(v, str):
        try:
            return date.fromisoformat(v).isoformat()
        except ValueError:
            pass
    raise Bad("must be a date (YYYY-MM-DD)")


def moment(v: Any) -> str:
    if isinstance(v, str):
        try:
            v = datetime.fromisoformat(v)
        except ValueError:
            raise Bad("must be an ISO 8601 moment with a time zone") from None
    if isinstance(v, datetime) and v.tzinfo is not None and v.utcoffset() is not None:
        return db_datetime(v)
    raise Bad("must be an ISO 8601 moment with a time zone")


def texts(v: Any) -> str:
    if not v and isinstance(v, list | tuple):
        return "[]"
    if isinstance(v, list | tuple) and all(isinstance(x, str) for x in v):
        return json.dumps([str(x) for x in v])
    raise Bad("must be a list of text")


def weekdays(v: Any) -> str:
    if isinstance(v, list | tuple) and all(
        isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= 6 for d in v
    ):
        return json.dumps(sorted(set(v)))
    raise Bad("must be a list of weekdays 0 (Monday) to 6 (Sunday)")


def tier(v: Any) -> int:
    if isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 9:
        return v
    raise Bad("must be an account tier 1 to 9 (1 is the most important)")


def one_of(allowed: frozenset[str]) -> Convert:
    def check(v: Any) -> str:
        if isinstance(v, str) and v in allowed:
            return str(v)
        raise Bad(f"must be one of {', '.join(sorted(allowed))}")

    check.allowed = allowed  # type: ignore[attr-defined]  # for checks of a whole column
    return check


def optional(convert: Convert) -> Convert:
    def check(v: Any) -> Any:
        return None if v is None else convert(v)

    return check


maybe_flag = optional(flag)
eta_kind = one_of(frozenset(k.value for k in EtaKind))
label = one_of(frozenset(k.value for k in Label))
policy = one_of(frozenset(k.value for k in PolicyKind))


_BASES = frozenset(b.value for b in SlipBasis)


def curves(v: Any) -> str:
    """A supplier's fill curves: [[sku, basis, [[slip days, fraction], ...]], ...] (checked by
    the domain's own FillCurve, so a curve the slip book could not use is refused here)."""
    if not isinstance(v, list | tuple):
        raise Bad("must be a list of fill curves")
    for curve in v:
        if not (
            isinstance(curve, list | tuple)
            and len(curve) == 3
            and isinstance(curve[0], str)
            and curve[1] in _BASES
            and isinstance(curve[2], list | tuple)
            and all(
                isinstance(step, list | tuple)
                and len(step) == 2
                and isinstance(step[0], int)
                and not isinstance(step[0], bool)
                and isinstance(step[1], int | float)
                and not isinstance(step[1], bool)
                for step in curve[2]
            )
        ):
            raise Bad("must be fill curves [sku, basis, [[slip days, fraction], ...]]")
        try:
            FillCurve(tuple((s, f) for s, f in curve[2]))
        except DomainError as error:
            raise Bad(str(error)) from None
    return json.dumps([list(c) for c in v])
