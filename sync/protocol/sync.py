"""Push, pull, snapshot and the server's info: how the device and the server exchange them."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any, Literal, Union

from pydantic import Field, create_model, field_validator

from app.domain.model import AllocationPolicy
from sync.protocol.common import MAX_BATCH, Request, Response
from sync.protocol.mutations import Mutation, MutationResult
from sync.protocol.records import (
    AccountPublic,
    ConflictPublic,
    EtaChangePublic,
    OrderPublic,
    ProductPublic,
    QueueEntryPublic,
    ReceiptPublic,
    StockPublic,
    SupplierHistoryPublic,
    SupplierPublic,
    WarehousePublic,
)


class PushRequest(Request):
    device_id: uuid.UUID
    mutations: Annotated[list[Mutation], Field(min_length=1, max_length=MAX_BATCH)]

    @field_validator("mutations")
    @classmethod
    def _increasing(cls, mutations: list[Any]) -> list[Any]:
        for index in range(1, len(mutations)):
            if mutations[index].mutation_id <= mutations[index - 1].mutation_id:
                raise ValueError(
                    f"mutation ids must increase: mutations[{index}].mutation_id "
                    f"{mutations[index].mutation_id} follows {mutations[index - 1].mutation_id}"
                )
        return mutations


class PushResponse(Response):
    device_id: uuid.UUID
    last_applied: int  # the device may drop every outbox entry up to this id
    results: list[MutationResult]


class GapDetail(Response):
    """409 body when a push skips mutation ids: send from `expected` on."""

    detail: str
    last_applied: int
    expected: int


class ChangeBase(Response):
    seq: int  # 0 in snapshot pages
    key: str
    op: Literal["upsert", "delete"]


# The records a device mirrors, one row each: the snapshot section that lists them (in the order
# a device applies a snapshot's sections), the entity a change names, and its *Public record.
# The entity names, the sections, the change classes and the Change union derive from it.
SNAPSHOT_RECORDS: dict[str, tuple[str, type[Response]]] = {
    "warehouses": ("warehouse", WarehousePublic),
    "suppliers": ("supplier", SupplierPublic),
    "supplier_history": ("supplier_history", SupplierHistoryPublic),
    "products": ("product", ProductPublic),
    "stock": ("stock", StockPublic),
    "receipts": ("receipt", ReceiptPublic),
    "accounts": ("account", AccountPublic),
    "orders": ("order", OrderPublic),
    "queue": ("queue_entry", QueueEntryPublic),
    "eta_changes": ("eta_change", EtaChangePublic),
    "conflicts": ("conflict", ConflictPublic),
}
SNAPSHOT_SECTIONS: tuple[str, ...] = tuple(SNAPSHOT_RECORDS)
SnapshotSection = Literal[SNAPSHOT_SECTIONS]  # type: ignore[valid-type]
ENTITIES: tuple[str, ...] = tuple(entity for entity, _ in SNAPSHOT_RECORDS.values())


def _change_class(entity: str, record: type[Response]) -> type[ChangeBase]:
    """`ProductChange` for "product": `data` is the record (None when `op` is "delete")."""
    return create_model(
        entity.title().replace("_", "") + "Change",
        __base__=ChangeBase,
        __module__=__name__,
        entity=(Literal[entity], ...),
        data=(record | None, None),
    )


# Each entity's change class, by entity name (also importable as ProductChange, ...).
CHANGES: dict[str, type[ChangeBase]] = {
    entity: _change_class(entity, record) for entity, record in SNAPSHOT_RECORDS.values()
}
globals().update({change.__name__: change for change in CHANGES.values()})
Change = Annotated[Union[tuple(CHANGES.values())], Field(discriminator="entity")]  # noqa: UP007


class PullPage(Response):
    """Changes after the cursor the device sent, oldest first. Apply the page atomically, then
    store `cursor`; ask again while `has_more`."""

    changes: list[Change]
    cursor: int
    has_more: bool


def snapshot_columns(section: str) -> tuple[str, ...]:
    """A section's columns: the record's key (as a change would name it), then its fields."""
    return ("key", *SNAPSHOT_RECORDS[section][1].model_fields)


class SnapshotPage(Response):
    """One page of a full snapshot: every record of the section that exists, as a row of values
    under `columns` (`snapshot_columns(section)`: "key", then the fields of the section's
    *Public record, in order). Rows instead of change objects: a 100,000-product catalog is a
    third of the bytes, and a device can check and store it a column at a time.

    Fetch every section page by page (pass `after` back), then pull from the `cursor` of the
    FIRST page fetched: changes that happened while the snapshot was read are replayed and,
    being upserts in order, end in the right state."""

    section: SnapshotSection
    entity: str
    columns: list[str]
    rows: list[list[Any]]
    after: str | None  # pass back to get the next page
    has_more: bool
    cursor: int

    def records(self) -> list[dict[str, Any]]:
        """The rows as record dicts (the section's *Public fields, without the key)."""
        names = self.columns[1:]
        return [dict(zip(names, row[1:], strict=True)) for row in self.rows]


class SnapshotCounts(Response):
    """How many records a full snapshot holds for the caller, per section: a device draws its
    first download's progress against their sum (records may come or go meanwhile)."""

    sections: dict[SnapshotSection, int]


class ServerInfo(Response):
    protocol_version: int
    allocation_policy: AllocationPolicy
    timezone: str
    today: date
    max_batch: int
    max_page: int
    # Dates are promised at this confidence from suppliers' slip history (None: the receipts'
    # own dates are trusted).
    promise_confidence: float | None = None
