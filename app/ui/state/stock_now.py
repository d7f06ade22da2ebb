"""How many units of each product could ship now, for the catalog's "In stock (124)".

The store's catalog search answers for one unit; the count is the same availability rule asked
for as many units as an order may hold: its `now` part is what ships today after the demand
queue and the rep's own unsynced orders. (A store-side `units_now` on CatalogHit would save
this second pass; see the UI's notes to the store.)
"""

from __future__ import annotations

from collections.abc import Sequence

from app.store import Store
from app.store.cart import MAX_QUANTITY
from app.store.catalog import availability_of
from app.store.reads import account


def units_now(store: Store, skus: Sequence[str], account_id: str | None) -> dict[str, int]:
    if not skus:
        return {}
    with store.read() as session:
        conn = session.connection()
        buyer = account(conn, account_id) if account_id else None
        found = availability_of(store, conn, list(skus), MAX_QUANTITY, buyer)
    return {sku: av.now for sku, av in found.items()}
