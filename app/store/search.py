"""Catalog search: SKU and barcode exactly or by prefix; name and brand by prefix or any
substring; in a useful order.

The order: exact SKU or barcode, SKU or barcode prefix, name starting with the query, every
word starting a name word, brand, then any substring; ties by name. Work is bounded so that a
common word costs what a rare one does: candidates come from a few lookups, strongest first,
each cut at CANDIDATES rows by LIMIT (never bm25 over every match), and the lookups stop once
`limit` candidates are known to outrank anything a weaker lookup could add:
1. exact SKU/barcode, then SKU/barcode prefix: B-tree ranges;
2. trigram FTS5 over names and brands: name starting with the whole query (`^`), the whole
   query anywhere, then every word of 3+ characters anywhere;
3. for 1-2 characters (no trigrams): a name/brand prefix scan cut by the same LIMIT.
The candidates (at most a few hundred) are ranked in Python.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from app.store.errors import StoreError
from app.store.reads import PRODUCT_COLUMNS, product_view, rows
from app.store.views import ProductView

CANDIDATES = 100  # rows per lookup; more buys little order for a lot of time
MAX_LIMIT = 500
_WORDS = re.compile(r"[^\W_]+")


@dataclass(frozen=True, slots=True)
class Found:
    product: ProductView
    match: str  # sku | barcode | name | brand | text | category


def _filters(category: str | None, in_stock_at: str | None) -> tuple[str, list[Any]]:
    sql, params = "", []
    if category is not None:
        sql += " AND p.category = ?"
        params.append(category)
    if in_stock_at is not None:  # a cheap first cut; the caller checks the label
        sql += (
            " AND EXISTS (SELECT 1 FROM stock s WHERE s.sku = p.sku AND s.warehouse_id = ? "
            "AND s.on_hand > s.reserved)"
        )
        params.append(in_stock_at)
    return sql, params


def _phrase(token: str) -> str:
    return '"' + token.replace('"', '""') + '"'


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _rank(row: Any, q: str, tokens: list[str]) -> tuple[int, str] | None:
    """(rank, why) of one candidate; None if a short token is not in it at all."""
    sku, name, brand, barcode = (str(v).casefold() for v in (row[0], row[1], row[2], row[7]))
    if not all(t in sku or t in name or t in brand or t in barcode for t in tokens):
        return None
    if sku == q:
        return 0, "sku"
    if barcode == q:
        return 0, "barcode"
    if sku.startswith(q):
        return 1, "sku"
    if barcode.startswith(q):
        return 1, "barcode"
    if name.startswith(q):
        return 2, "name"
    name_words = _WORDS.findall(name)
    if all(any(w.startswith(t) for w in name_words) for t in tokens):
        return 3, "name"
    brand_words = _WORDS.findall(brand)
    if brand.startswith(q) or all(any(w.startswith(t) for w in brand_words) for t in tokens):
        return 4, "brand"
    words = name_words + brand_words
    if all(any(w.startswith(t) for w in words) for t in tokens):
        return 5, "name"
    return 6, "text"


def search_products(
    conn: Connection,
    query: str,
    *,
    category: str | None = None,
    in_stock_at: str | None = None,
    limit: int = 30,
) -> list[Found]:
    """Products matching `query`, best first, at most `limit`; only those of `category` and,
    with `in_stock_at`, only those with free stock in that warehouse."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise StoreError(f"a search limit is a whole number from 1 to {MAX_LIMIT}, got {limit!r}")
    if not isinstance(query, str):
        raise StoreError(f"a search query is text, got {query!r}")
    text = " ".join(query.split())
    where, params = _filters(category, in_stock_at)
    select = f"SELECT {PRODUCT_COLUMNS} FROM product p"
    if not text:
        if category is None:
            return []  # nothing asked: the UI shows categories instead of 100,000 products
        sql = f"{select} WHERE 1 {where} ORDER BY p.name COLLATE NOCASE, p.sku LIMIT ?"
        return [Found(product_view(row), "category") for row in rows(conn, sql, (*params, limit))]

    q = text.casefold()
    tokens = q.split()
    ranked: dict[str, tuple[tuple[int, str, str], Any, str]] = {}
    cut = max(CANDIDATES, limit)

    def take(sql: str, *args: Any) -> None:
        for row in rows(conn, sql, (*args, *params, cut)):
            if row[0] not in ranked and (rank := _rank(row, q, tokens)) is not None:
                ranked[row[0]] = ((rank[0], row[1].casefold(), row[0]), row, rank[1])

    def enough(best: int) -> bool:
        # `limit` hits ranked `best` or better: no later (weaker) lookup can displace them.
        return sum(1 for key, _, _ in ranked.values() if key[0] <= best) >= limit

    fts = f"{select} JOIN product_fts ON product_fts.rowid = p.id WHERE product_fts MATCH ?"
    # 1. Exact SKU or barcode, then SKU and barcode prefixes: B-tree lookups.
    upper = text.upper()
    take(f"{select} WHERE (p.sku = ? OR p.sku = ? OR p.barcode = ?) {where} LIMIT ?",
         text, upper, text)  # fmt: skip
    exact = bool(ranked)
    for column, prefix in (("sku", upper), ("barcode", text)):
        take(f"{select} WHERE p.{column} >= ? AND p.{column} < ? {where} LIMIT ?",
             prefix, _after(prefix))  # fmt: skip
    if exact or enough(1):
        return _best(ranked, limit)  # a code was typed: its prefixes are what can follow it
    if len(text) >= 3:
        # 2. Names that start with the whole query, then the whole query anywhere, then every
        # word (3+ characters) anywhere: each an unranked trigram lookup cut by LIMIT.
        whole = _phrase(text)
        take(f"{fts} {where} LIMIT ?", f"name : ^{whole}")
        if enough(2):
            return _best(ranked, limit)
        take(f"{fts} {where} LIMIT ?", whole)
        long = [t for t in text.split() if len(t) >= 3]
        if len(tokens) > 1 and long and not enough(3):
            take(f"{fts} {where} LIMIT ?", " AND ".join(_phrase(t) for t in long))
    else:
        # 1-2 characters: no trigrams; a prefix scan of names and brands, cut by LIMIT.
        prefix, word = f"{_like(text)}%", f"% {_like(text)}%"
        likes = " OR ".join(
            f"p.{column} LIKE ? ESCAPE '\\'" for column in ("name", "brand", "name")
        )
        take(f"{select} WHERE ({likes}) {where} LIMIT ?", prefix, prefix, word)
    return _best(ranked, limit)


def _after(prefix: str) -> str:
    """The smallest text greater than every text starting with `prefix` (a range's end)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _best(ranked: dict[str, tuple[tuple[int, str, str], Any, str]], limit: int) -> list[Found]:
    best = sorted(ranked.values(), key=lambda item: item[0])[:limit]
    return [Found(product_view(row), why) for _, row, why in best]
