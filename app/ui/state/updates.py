"""The updates screen: ETA moves of the rep's order lines and conflicts on account data."""

from __future__ import annotations

from dataclasses import dataclass

from app.store import Accounts, Notices, Store
from app.ui.state.text import ago, eta

FIELD_NAMES = {
    "contact_name": "contact name",
    "contact_phone": "phone",
    "contact_email": "email",
    "contact_address": "address",
}


@dataclass(frozen=True, slots=True)
class EtaRow:
    id: str
    order_id: str
    text: str  # "Widget 12 for Cafe Roma: 12 Dec -> 19 Dec"
    detail: str  # the server's or the domain's words, e.g. "ETA moved from 12 Dec to 19 Dec"
    when: str
    later: bool  # the customer waits longer: shown as a warning
    seen: bool


@dataclass(frozen=True, slots=True)
class ConflictRow:
    id: str
    title: str  # "Phone of Cafe Roma"
    kept: str
    lost: str
    when: str


class UpdatesState:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.notices = Notices(store)
        self.accounts = Accounts(store)

    def unseen(self) -> int:
        return self.notices.unseen_eta_changes() + len(self.notices.conflicts())

    def eta_rows(self) -> list[EtaRow]:
        now = self.store.now()
        today = self.store.today()
        rows = []
        for c in self.notices.eta_changes():
            what = c.product_name or c.sku
            whom = f" for {c.account_name}" if c.account_name else ""
            old = eta(c.old, today=today) if c.old else "no date"
            new = eta(c.new, today=today) if c.new else "no date"
            rows.append(
                EtaRow(
                    id=c.id,
                    order_id=c.order_id,
                    text=f"{what}{whom}: {old} -> {new}",
                    detail=c.text,
                    when=ago(now - c.at),
                    later=c.later,
                    seen=c.seen,
                )
            )
        return rows

    def mark_all_seen(self) -> int:
        return self.notices.mark_eta_changes_seen()

    def conflict_rows(self) -> list[ConflictRow]:
        now = self.store.now()
        names = {a.id: a.name for a in self.accounts.list_accounts()}
        return [
            ConflictRow(
                id=c.id,
                title=(
                    f"{FIELD_NAMES.get(c.field, c.field).capitalize()} of "
                    f"{names.get(c.entity_key, c.entity_key)}"
                ),
                kept=c.winner_value or "(empty)",
                lost=c.loser_value or "(empty)",
                when=ago(now - c.at),
            )
            for c in self.notices.conflicts()
        ]

    def resolve(self, conflict_id: str) -> None:
        self.notices.resolve_conflict(conflict_id)
