"""The device's SQLite store: cached server state, the outbox, the cart, and the services the
UI calls (plain Python, no Flet). Each module's docstring says more; these are the public names.

    store = Store.open()                          # path from paths.py, migrated in place
    Catalog(store).search("coffee", account_id="12")
    cart = CartService(store); cart.set_account("12"); cart.add("SKU-1", 3); cart.place()
    Orders(store).list_orders(OrderState.NEEDS_ATTENTION)
    sync_status(store, online=False)

The sync engine writes in its own transactions:

    with store.write() as session:                # one pulled page, then its cursor
        apply_changes(session, [c.model_dump(mode="json") for c in page.changes],
                      cursor=page.cursor)
    with store.write() as session:                # a fresh device's snapshot
        loader = SnapshotLoader(session); ...; loader.add_rows(entity, columns, rows); ...
        loader.finish(cursor)
    with store.write() as session:                # a push answer
        apply_verdicts(session, [r.order.model_dump(mode="json") for r in results])
        mark_applied(session, ids)
"""

from app.store.accounts import Accounts
from app.store.cart import CartService
from app.store.catalog import Catalog
from app.store.changes import ENTITIES, Change
from app.store.db import Store
from app.store.errors import StoreError
from app.store.migrations import LATEST as SCHEMA_VERSION
from app.store.notices import Notices
from app.store.orders import Orders
from app.store.outbox import entries, mark_applied, mark_dead, mark_failed, pending
from app.store.snapshot import (
    Applied,
    SnapshotLoader,
    apply_changes,
    apply_verdict,
    apply_verdicts,
    replace_snapshot,
)
from app.store.status import sync_status
from app.store.syncstate import (
    adopt_device,
    record_sync,
    save_sign_in,
    set_promise_confidence,
    set_server_settings,
    sign_out,
    sync_state,
)
from app.store.views import OrderState

__all__ = [
    "ENTITIES",
    "SCHEMA_VERSION",
    "Accounts",
    "Applied",
    "CartService",
    "Catalog",
    "Change",
    "Notices",
    "OrderState",
    "Orders",
    "SnapshotLoader",
    "Store",
    "StoreError",
    "adopt_device",
    "apply_changes",
    "apply_verdict",
    "apply_verdicts",
    "entries",
    "mark_applied",
    "mark_dead",
    "mark_failed",
    "pending",
    "record_sync",
    "replace_snapshot",
    "save_sign_in",
    "set_promise_confidence",
    "set_server_settings",
    "sign_out",
    "sync_state",
    "sync_status",
]
