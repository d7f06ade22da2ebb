"""The catalog screen's state: query, filters, pages of results with their availability chips."""

from __future__ import annotations

from dataclasses import dataclass, replace

from app.store import CartService, Catalog, Store
from app.store.search import MAX_LIMIT
from app.ui.state.labels import Chip, catalog_chip
from app.ui.state.stock_now import units_now
from app.ui.state.text import money

PAGE = 30  # rows per page: a phone screen and a half; more load on demand


@dataclass(frozen=True, slots=True)
class CatalogRow:
    sku: str
    name: str
    brand: str
    category: str
    pack: str  # "pack of 12 each"
    price: str
    chip: Chip
    discontinued: bool
    alternatives: tuple[str, ...]
    in_cart: int


class CatalogState:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.catalog = Catalog(store)
        self.cart = CartService(store)
        self.query = ""
        self.category: str | None = None
        self.available_now = False
        self.limit = PAGE
        self.rows: list[CatalogRow] = []
        self.more = False  # another page may follow
        self.message = ""  # what the last action did, or why it did not
        self._categories: list[str] | None = None

    @property
    def account_id(self) -> str | None:
        view = self.cart.view()
        return view.account.id if view.account else None

    @property
    def account_name(self) -> str | None:
        view = self.cart.view()
        return view.account.name if view.account else None

    def categories(self) -> list[str]:
        if self._categories is None:
            self._categories = self.catalog.categories()
        return self._categories

    def forget_categories(self) -> None:
        """After a sync the catalog may have new categories."""
        self._categories = None

    def set_query(self, text: str) -> None:
        self.query, self.limit = text, PAGE

    def set_category(self, category: str | None) -> None:
        self.category, self.limit = (category or None), PAGE

    def set_available_now(self, on: bool) -> None:
        self.available_now, self.limit = on, PAGE

    def load_more(self) -> None:
        self.limit = min(self.limit + PAGE, MAX_LIMIT)
        self.search()

    def search(self) -> list[CatalogRow]:
        account_id = self.account_id
        hits = self.catalog.search(
            self.query,
            account_id=account_id,
            category=self.category,
            available_now=self.available_now,
            limit=self.limit + 1,  # one extra tells whether a next page exists
        )
        self.more = len(hits) > self.limit and self.limit < MAX_LIMIT
        hits = hits[: self.limit]
        counts = units_now(self.store, [h.product.sku for h in hits], account_id)
        in_cart = {line.sku: line.quantity for line in self.cart.view().lines}
        today = self.store.today()
        self.rows = [
            CatalogRow(
                sku=h.product.sku,
                name=h.product.name,
                brand=h.product.brand,
                category=h.product.category,
                pack=f"pack of {h.product.pack_size} {h.product.unit}".rstrip(),
                price=money(h.product.price_cents),
                chip=catalog_chip(
                    h.availability,
                    counts.get(h.product.sku),
                    discontinued=h.product.discontinued,
                    today=today,
                ),
                discontinued=h.product.discontinued,
                alternatives=h.availability.alternatives or h.product.alternatives,
                in_cart=in_cart.get(h.product.sku, 0),
            )
            for h in hits
        ]
        return self.rows

    def alternatives(self, sku: str) -> list[CatalogRow]:
        """Rows for the alternatives the catalog names for a product, with their chips."""
        product = self.catalog.product(sku)
        account_id = self.account_id
        wanted = list(product.alternatives)
        counts = units_now(self.store, wanted, account_id)
        in_cart = {line.sku: line.quantity for line in self.cart.view().lines}
        rows = []
        for alt in wanted:
            try:
                p = self.catalog.product(alt)
            except ValueError:
                continue  # named but not on this device (yet)
            av = self.catalog.availability(alt, 1, account_id=account_id)
            rows.append(
                CatalogRow(
                    sku=p.sku,
                    name=p.name,
                    brand=p.brand,
                    category=p.category,
                    pack=f"pack of {p.pack_size} {p.unit}".rstrip(),
                    price=money(p.price_cents),
                    chip=catalog_chip(
                        av, counts.get(alt), discontinued=p.discontinued, today=self.store.today()
                    ),
                    discontinued=p.discontinued,
                    alternatives=p.alternatives,
                    in_cart=in_cart.get(alt, 0),
                )
            )
        return rows

    def add(self, sku: str, quantity: int = 1) -> bool:
        """Put units in the cart; False (with `message` saying why) when the store refuses."""
        try:
            view = self.cart.add(sku, quantity)
        except ValueError as problem:
            self.message = str(problem)
            return False
        line = next(line for line in view.lines if line.sku == sku)
        self.message = f"{line.name}: {line.quantity:,} in the cart"
        self.rows = [
            replace(row, in_cart=line.quantity) if row.sku == sku else row for row in self.rows
        ]
        return True
