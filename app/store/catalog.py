"""The catalog service: search with each product's availability for an account, product pages."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection

from app.domain.availability import CartLine, NewOrder, check_cart
from app.domain.model import Availability, Label, require_quantity
from app.store.db import Store
from app.store.errors import StoreError
from app.store.reads import account, products, terms, warehouse_of
from app.store.search import search_products
from app.store.supply import load_inputs
from app.store.views import AccountView, CatalogHit, ProductView


def availability_of(
    store: Store,
    conn: Connection,
    skus: Sequence[str],
    quantity: int,
    buyer: AccountView | None,
) -> dict[str, Availability]:
    """Availability of `quantity` units of each product, each on its own, for this account:
    the last synced snapshot minus the rep's own unsynced orders (via app.domain)."""
    inputs = load_inputs(conn, skus, warehouse_of(conn, buyer))
    order = NewOrder(
        order_id="~preview",
        committed_at=store.now(),
        tier=buyer.tier if buyer else 3,
    )
    lines = [CartLine(sku, sku, quantity) for sku in skus]
    found = check_cart(
        lines,
        inputs.supplies,
        inputs.queues,
        order,
        today=store.today(),
        terms=terms(conn, buyer),
        policy=inputs.policy,
        pending=inputs.pending,
        confidence=inputs.confidence,
    )
    return dict(zip(skus, found, strict=True))


class Catalog:
    def __init__(self, store: Store) -> None:
        self.store = store

    def search(
        self,
        query: str,
        *,
        account_id: str | None = None,
        category: str | None = None,
        available_now: bool = False,
        quantity: int = 1,
        limit: int = 30,
    ) -> list[CatalogHit]:
        """Products for `query` best first, each with its availability for `quantity` units
        for the account (its warehouse, delivery days and tier; without one, the rep's home
        warehouse); `available_now` keeps only those that can ship that many now."""
        require_quantity(quantity, "quantity to check")
        with self.store.read() as session:
            conn = session.connection()
            buyer = account(conn, account_id) if account_id is not None else None
            found = search_products(
                conn,
                query,
                category=category,
                in_stock_at=warehouse_of(conn, buyer) if available_now else None,
                limit=min(limit * 2, 500) if available_now else limit,
            )
            avail = availability_of(
                self.store, conn, [f.product.sku for f in found], quantity, buyer
            )
        hits = [CatalogHit(f.product, f.match, avail[f.product.sku]) for f in found]
        if available_now:
            hits = [h for h in hits if h.availability.label is Label.IN_STOCK]
        return hits[:limit]

    def product(self, sku: str) -> ProductView:
        with self.store.read() as session:
            found = products(session.connection(), [sku])
        if sku not in found:
            raise StoreError(f"no product with SKU {sku!r} in the catalog")
        return found[sku]

    def availability(
        self, sku: str, quantity: int = 1, *, account_id: str | None = None
    ) -> Availability:
        """One product's availability for `quantity` units for the account."""
        require_quantity(quantity, f"quantity of {sku}")
        with self.store.read() as session:
            conn = session.connection()
            buyer = account(conn, account_id) if account_id is not None else None
            if sku not in products(conn, [sku]):
                raise StoreError(f"no product with SKU {sku!r} in the catalog")
            return availability_of(self.store, conn, [sku], quantity, buyer)[sku]

    def categories(self) -> list[str]:
        with self.store.read() as session:
            rows = session.connection().exec_driver_sql(
                "SELECT DISTINCT category FROM product WHERE category != '' ORDER BY category"
            )
            return [row[0] for row in rows]
