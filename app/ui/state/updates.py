"""The updates screen: changes the server refused, ETA moves of the rep's order lines, and
conflicts (account data; a cancel a supervisor's decision overruled)."""

from __future__ import annotations

from dataclasses import dataclass

from app.store import Accounts, Notices, Orders, Store, StoreError
from app.store.outbox import (
    ACKNOWLEDGE,
    CANCEL_LINE,
    CANCEL_ORDER,
    DEAD,
    PLACE_ORDER,
    UPDATE_ACCOUNT_CONTACT,
    dismiss,
    set_aside,
)
from app.store.views import OutboxEntry
from app.ui.state.orders import short
from app.ui.state.text import FIELD_NAMES, ago, eta


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
    why_kept: str = "later edit"  # or "supervisor's decision": what won, in words


@dataclass(frozen=True, slots=True)
class RefusedRow:
    id: int  # the outbox entry's mutation id
    text: str  # "Cancel of order 1a2b3c4d for Cafe Roma"
    reason: str  # the server's words
    when: str  # when the rep made the change: "made 2 h ago"
    dead: bool  # the server failed on it (rather than said no)
    order_id: str | None  # the order it concerns, to open


def change_text(entry: OutboxEntry, account: str) -> str:
    """What a change was, in a short line: "Cancel of line 2 of order 1a2b3c4d for Cafe Roma"."""
    args = entry.args
    order = f"order {short(str(args.get('order_id', '')))}"
    if entry.name == PLACE_ORDER:
        return f"Order {short(str(args['order_id']))} for {account}"
    if entry.name == CANCEL_ORDER:
        return f"Cancel of {order} for {account}"
    if entry.name == CANCEL_LINE:
        return f"Cancel of line {args['line_no']} of {order} for {account}"
    if entry.name == UPDATE_ACCOUNT_CONTACT:
        changes = args.get("changes")
        fields = (
            ", ".join(FIELD_NAMES.get(f, f) for f in changes) if isinstance(changes, dict) else ""
        )
        return f"Contact edit ({fields}) for {account}" if fields else f"Contact edit for {account}"
    if entry.name == ACKNOWLEDGE:
        return f"Acknowledgement of {order} for {account}"
    return f"{entry.name} for {account}"


class UpdatesState:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.notices = Notices(store)
        self.accounts = Accounts(store)
        self.orders = Orders(store)

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

    def refused_rows(self) -> list[RefusedRow]:
        """The changes the server will never apply, newest first, with its reasons: kept
        here so that a refused cancel or contact edit does not vanish without a word."""
        with self.store.read() as session:
            found = set_aside(session)
        if not found:
            return []
        now = self.store.now()
        names = {a.id: a.name for a in self.accounts.list_accounts()}
        return [
            RefusedRow(
                id=e.mutation_id,
                text=change_text(e, self._account_of(e, names)),
                reason=e.last_error or "refused by the server",
                when=f"made {ago(now - e.created_at)}",
                dead=e.state == DEAD,
                order_id=str(e.args["order_id"]) if "order_id" in e.args else None,
            )
            for e in found
        ]

    def _account_of(self, entry: OutboxEntry, names: dict[str, str]) -> str:
        """The account's name; its number when the device no longer has it (out of scope)."""
        account_id = entry.args.get("account_id")
        if account_id is None and "order_id" in entry.args:
            try:
                account_id = self.orders.get(str(entry.args["order_id"])).summary.account_id
            except StoreError:  # an order the device no longer has
                return "an account no longer on this device"
        return names.get(str(account_id), f"account {account_id}")

    def mark_all_seen(self) -> int:
        return self.notices.mark_eta_changes_seen()

    def conflict_rows(self) -> list[ConflictRow]:
        now = self.store.now()
        names = {a.id: a.name for a in self.accounts.list_accounts()}
        return [
            ConflictRow(
                id=c.id,
                title=self._conflict_title(c.entity, c.entity_key, c.field, names),
                why_kept="supervisor's decision" if c.entity == "order" else "later edit",
                kept=c.winner_value or "(empty)",
                lost=c.loser_value or "(empty)",
                when=ago(now - c.at),
            )
            for c in self.notices.conflicts()
        ]

    def _conflict_title(self, entity: str, key: str, field: str, names: dict[str, str]) -> str:
        """ "Phone of Cafe Roma"; for a cancel a supervisor's decision overruled (the field is
        "status", or "line 2"): "Cancel of order 1a2b3c4d for Cafe Roma"."""
        if entity != "order":
            return f"{FIELD_NAMES.get(field, field).capitalize()} of {names.get(key, key)}"
        try:
            account = names.get(self.orders.get(key).summary.account_id, "an account")
        except StoreError:  # an order the device no longer has
            account = "an account no longer on this device"
        what = f"{field} of " if field.startswith("line ") else ""
        return f"Cancel of {what}order {short(key)} for {account}"

    def dismiss_refused(self, mutation_id: int) -> None:
        """The rep has read why the change did not go through: off the list and the count."""
        with self.store.write() as session:
            dismiss(session, mutation_id)

    def resolve(self, conflict_id: str) -> None:
        self.notices.resolve_conflict(conflict_id)
