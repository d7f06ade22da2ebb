"""ETA changes after commit (unseen first) and the conflict log the server shares."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from app.domain.allocation import EtaChange
from app.domain.model import Eta, EtaKind
from app.store.bulk import chunks, placeholders
from app.store.columns import py_datetime
from app.store.db import Store
from app.store.errors import StoreError
from app.store.views import ConflictView, EtaChangeView


def _eta(day: str | None, kind: str | None) -> Eta | None:
    return Eta(date.fromisoformat(day), EtaKind(kind or "confirmed")) if day else None


class Notices:
    def __init__(self, store: Store) -> None:
        self.store = store

    def eta_changes(self, *, include_seen: bool = True, limit: int = 200) -> list[EtaChangeView]:
        """ETA moves of the rep's order lines: unseen first, newest first within each."""
        where = "" if include_seen else "WHERE e.seen = 0"
        with self.store.read() as session:
            rows = (
                session.connection()
                .exec_driver_sql(
                    "SELECT e.id, e.order_id, e.line_id, e.sku, coalesce(p.name, ''), "
                    "coalesce(a.name, ''), e.old_eta, e.old_eta_kind, e.new_eta, e.new_eta_kind, "
                    "e.at, e.seen, e.message FROM eta_event e "
                    "LEFT JOIN product p ON p.sku = e.sku "
                    "LEFT JOIN sales_order o ON o.id = e.order_id "
                    f"LEFT JOIN account a ON a.id = o.account_id {where} "
                    "ORDER BY e.seen, e.at DESC, e.id LIMIT ?",
                    (limit,),
                )
                .all()
            )
        out = []
        for row in rows:
            old, new = _eta(row[6], row[7]), _eta(row[8], row[9])
            change = EtaChange(row[2], old, new)  # the domain's words for the move
            out.append(
                EtaChangeView(
                    id=row[0],
                    order_id=row[1],
                    line_id=row[2],
                    sku=row[3],
                    product_name=row[4],
                    account_name=row[5],
                    old=old,
                    new=new,
                    at=py_datetime(row[10]),
                    seen=bool(row[11]),
                    later=change.later,
                    text=row[12] or change.describe(),
                )
            )
        return out

    def mark_eta_changes_seen(self, ids: Iterable[str] | None = None) -> int:
        """Mark these ETA changes (default: all) as seen; returns how many changed."""
        with self.store.write() as session:
            conn = session.connection()
            if ids is None:
                return conn.exec_driver_sql("UPDATE eta_event SET seen = 1 WHERE seen = 0").rowcount
            done = 0
            for chunk in chunks(sorted(set(ids))):
                done += conn.exec_driver_sql(
                    f"UPDATE eta_event SET seen = 1 WHERE seen = 0 "
                    f"AND id IN ({placeholders(len(chunk))})",
                    tuple(chunk),
                ).rowcount
            return done

    def unseen_eta_changes(self) -> int:
        with self.store.read() as session:
            return (
                session.connection()
                .exec_driver_sql("SELECT count(*) FROM eta_event WHERE seen = 0")
                .scalar_one()
            )

    def conflicts(self, *, include_resolved: bool = False) -> list[ConflictView]:
        """Concurrent edits where one side lost, newest first."""
        where = "" if include_resolved else "WHERE resolved = 0"
        with self.store.read() as session:
            rows = session.connection().exec_driver_sql(
                "SELECT id, entity, entity_key, field, winner_value, loser_value, base_version, "
                f"at, resolved FROM conflict {where} ORDER BY resolved, at DESC, id"
            )
            return [ConflictView(*r[:7], at=py_datetime(r[7]), resolved=bool(r[8])) for r in rows]

    def resolve_conflict(self, conflict_id: str) -> None:
        """The rep has seen this conflict (kept on the device; the server's copy is its own)."""
        with self.store.write() as session:
            done = (
                session.connection()
                .exec_driver_sql("UPDATE conflict SET resolved = 1 WHERE id = ?", (conflict_id,))
                .rowcount
            )
            if not done:
                raise StoreError(f"no conflict {conflict_id!r} on this device")
