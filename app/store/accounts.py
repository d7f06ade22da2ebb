"""Accounts: the rep's customers, and contact edits sent as outbox entries with a base version."""

from __future__ import annotations

import re

from app.store.db import Store
from app.store.errors import StoreError
from app.store.outbox import UPDATE_ACCOUNT_CONTACT, enqueue, wire_id
from app.store.reads import CONTACT_FIELDS, account, accounts
from app.store.views import AccountView

# The server's limits (sync/server/models/people.py), checked here so the rep hears at once.
MAX_LENGTH = {
    "contact_name": 120,
    "contact_phone": 40,
    "contact_email": 120,
    "contact_address": 300,
}
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE = re.compile(r"\+?[0-9 ()./-]{3,}")


def _clean(field: str, value: object) -> str:
    if not isinstance(value, str):
        raise StoreError(f"{field} is text, got {value!r}")
    text = " ".join(value.split()) if field != "contact_address" else value.strip()
    if len(text) > MAX_LENGTH[field]:
        raise StoreError(f"{field} has at most {MAX_LENGTH[field]} characters, got {len(text)}")
    if text and field == "contact_email" and not _EMAIL.fullmatch(text):
        raise StoreError(f"contact_email {text!r} is not an email address (name@example.com)")
    if text and field == "contact_phone" and not _PHONE.fullmatch(text):
        raise StoreError(
            f"contact_phone {text!r} is not a phone number (digits, spaces, + ( ) - . /)"
        )
    return text


class Accounts:
    def __init__(self, store: Store) -> None:
        self.store = store

    def list_accounts(self, query: str = "") -> list[AccountView]:
        """The rep's accounts by name; `query` matches any part of the name or code."""
        with self.store.read() as session:
            return accounts(session.connection(), query)

    def get(self, account_id: str) -> AccountView:
        """One account, with contact edits not yet confirmed by the server shown."""
        with self.store.read() as session:
            return account(session.connection(), account_id)

    def update_contact(self, account_id: str, **changes: str) -> int:
        """Edit contact fields (contact_name, contact_phone, contact_email, contact_address):
        an outbox entry naming the server version it is based on, so the server can merge
        or record a conflict. Returns the mutation id."""
        unknown = sorted(set(changes) - set(CONTACT_FIELDS))
        if unknown:
            raise StoreError(
                f"not contact fields: {', '.join(unknown)}; use {', '.join(CONTACT_FIELDS)}"
            )
        if not changes:
            raise StoreError(f"nothing to change: name at least one of {', '.join(CONTACT_FIELDS)}")
        cleaned = {field: _clean(field, value) for field, value in changes.items()}
        with self.store.write() as session:
            conn = session.connection()
            current = account(conn, account_id)
            edits = {f: v for f, v in cleaned.items() if getattr(current, f) != v}
            if not edits:
                raise StoreError(f"nothing to change: {current.name}'s contact data is the same")
            args = {
                "account_id": wire_id(current.id),
                "base_version": current.contact_version,
                "changes": edits,
            }
            return enqueue(conn, UPDATE_ACCOUNT_CONTACT, args, now=self.store.now())
