"""Account contact edits: versioned, merged per field.

An edit names the contact_version it was based on. Fields nobody else changed since then are
simply applied (non-overlapping edits merge). A field someone else changed since then is an
overlapping edit: the later arrival (this one) wins, and the value it replaces is kept in the
conflict log, which both parties see.
"""

from __future__ import annotations

from sqlmodel import select

from sync import protocol as p
from sync.server.context import Principal, Tx
from sync.server.models import CONTACT_FIELDS, Account, ConflictRecord
from sync.server.services import publish as pub
from sync.server.services.refusals import Refusal


def update_contact(
    tx: Tx, who: Principal, account_id: int, base_version: int, changes: p.ContactChanges
) -> p.ContactResult:
    query = select(Account).where(Account.id == account_id)
    if tx.is_postgres:
        query = query.with_for_update()
    account = tx.session.exec(query).first()
    if account is None or (not who.is_supervisor and account.rep_id != who.user_id):
        raise Refusal(f"account_id {account_id}: no such account among yours")
    if base_version > account.contact_version:
        raise Refusal(
            f"base_version {base_version} is newer than the account's version "
            f"{account.contact_version}: pull first"
        )
    versions = dict(account.contact_field_versions or {})
    new_version = account.contact_version + 1
    conflicts = []
    for field, value in changes.changed().items():
        assert field in CONTACT_FIELDS
        current = getattr(account, field)
        if value == current:
            continue
        if versions.get(field, 0) > base_version:
            conflicts.append(
                ConflictRecord(
                    entity="account",
                    key=str(account.id),
                    field=field,
                    rep_id=account.rep_id,
                    winner_value=value,
                    loser_value=current,
                    winner_user_id=who.user_id,
                    loser_user_id=versions.get(f"{field}:by"),
                    base_version=base_version,
                    created_at=tx.now,
                )
            )
        setattr(account, field, value)
        versions[field] = new_version
        versions[f"{field}:by"] = who.user_id
    if any(versions.get(f) == new_version for f in CONTACT_FIELDS):
        account.contact_version = new_version
        account.contact_field_versions = versions
        tx.touch("account", account.id)
    if conflicts:
        tx.session.add_all(conflicts)
        tx.session.flush()
        for c in conflicts:
            tx.touch("conflict", c.id)
    return p.ContactResult(
        account=pub.account(account), conflicts=[pub.conflict(c) for c in conflicts]
    )


def update_contact_mutation(tx: Tx, who: Principal, m: p.UpdateAccountContact) -> p.MutationResult:
    result = update_contact(tx, who, m.account_id, m.base_version, m.changes)
    return p.MutationResult(
        mutation_id=m.mutation_id,
        name=m.name,
        status="applied",
        outcome="accepted",
        contact=result,
    )
