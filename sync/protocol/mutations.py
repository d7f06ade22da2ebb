"""Mutations: what the device's outbox holds, one intent each, and the server's verdict on each."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Literal, Union

from pydantic import AwareDatetime, Field, StringConstraints, field_validator, model_validator

from app.domain.model import EtaKind, Label, PolicyKind
from sync.protocol.common import (
    MAX_LINES,
    MAX_PRICE_CENTS,
    MAX_SHIPMENT_CAP,
    Id,
    OrderStatus,
    Outcome,
    Quantity,
    Request,
    Response,
    ShortText,
    Sku,
    Units,
)
from sync.protocol.records import AccountPublic, ConflictPublic, ShipmentLinePublic


class MutationBase(Request):
    mutation_id: Annotated[int, Field(strict=True, ge=1, le=2**62)]
    client_time: AwareDatetime

    @field_validator("client_time")
    @classmethod
    def _in_utc(cls, moment: datetime) -> datetime:
        # Kept in UTC: a time that has no UTC equivalent (year 9999 at -23:59) is bad input
        # here, not a fault that dead-letters the order later.
        try:
            return moment.astimezone(UTC)
        except OverflowError:
            raise ValueError(f"{moment.isoformat()} has no time in UTC") from None


class PromisedLine(Request):
    """What the rep saw (and told the customer) for a line before submitting."""

    label: Label
    now: Units
    eta: date | None = None
    eta_kind: EtaKind | None = None
    # The unit price the rep quoted (None from an app that did not send it: not compared).
    price_cents: Annotated[int, Field(strict=True, ge=0, le=MAX_PRICE_CENTS)] | None = None
    # What the cart showed, as it showed it: units by the day they can ship (null: no date),
    # and the day the line reaches the customer under the order's policy (null: no date).
    schedule: Annotated[list[tuple[date | None, Quantity]], Field(max_length=60)] | None = None
    ship: date | None = None
    ship_kind: EtaKind | None = None


class OrderLineIn(Request):
    sku: Sku
    quantity: Quantity
    promise: PromisedLine | None = None


class PlaceOrder(MutationBase):
    name: Literal["place_order"]
    order_id: uuid.UUID
    account_id: Id
    lines: Annotated[list[OrderLineIn], Field(min_length=1, max_length=MAX_LINES)]
    policy: PolicyKind | None = None  # None: the account's default policy
    cap: Annotated[int, Field(strict=True, ge=1, le=MAX_SHIPMENT_CAP)] | None = None
    note: ShortText = ""

    @field_validator("lines")
    @classmethod
    def _one_line_per_item(cls, lines: list[OrderLineIn]) -> list[OrderLineIn]:
        seen: dict[str, int] = {}
        for index, line in enumerate(lines):
            if line.sku in seen:
                raise ValueError(
                    f"SKU {line.sku} is on lines {seen[line.sku]} and {index}: "
                    "put its whole quantity on one line"
                )
            seen[line.sku] = index
        return lines

    @model_validator(mode="after")
    def _cap_goes_with_capped_split(self) -> PlaceOrder:
        if self.policy is PolicyKind.CAPPED_SPLIT and self.cap is None:
            raise ValueError("cap: capped_split needs a cap (the most shipments allowed)")
        if self.policy is not PolicyKind.CAPPED_SPLIT and self.cap is not None:
            raise ValueError("cap: only the capped_split policy takes a cap")
        return self


# The order version the rep saw when cancelling: a supervisor's decision made after it wins
# (the cancel is refused and logged as a conflict). None: not compared (an older app).
BaseVersion = Annotated[int, Field(strict=True, ge=0, le=2**31 - 1)] | None


class CancelOrder(MutationBase):
    name: Literal["cancel_order"]
    order_id: uuid.UUID
    reason: ShortText = ""
    base_version: BaseVersion = None


class CancelLine(MutationBase):
    name: Literal["cancel_line"]
    order_id: uuid.UUID
    line_no: Annotated[int, Field(strict=True, ge=1, le=MAX_LINES)]
    reason: ShortText = ""
    base_version: BaseVersion = None


class ContactChanges(Request):
    """Only the fields the rep changed; at least one."""

    contact_name: Annotated[str, StringConstraints(max_length=120)] | None = None
    contact_phone: Annotated[str, StringConstraints(max_length=40)] | None = None
    contact_email: Annotated[str, StringConstraints(max_length=120)] | None = None
    contact_address: Annotated[str, StringConstraints(max_length=300)] | None = None

    @model_validator(mode="after")
    def _something(self) -> ContactChanges:
        if not self.changed():
            raise ValueError("changes: name at least one contact field to change")
        return self

    def changed(self) -> dict[str, str]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


class UpdateAccountContact(MutationBase):
    name: Literal["update_account_contact"]
    account_id: Id
    base_version: Annotated[int, Field(strict=True, ge=0, le=2**31 - 1)]
    changes: ContactChanges


class Acknowledge(MutationBase):
    """The rep has seen a verdict that differed from their promise."""

    name: Literal["acknowledge"]
    order_id: uuid.UUID


MUTATION_CLASSES = (PlaceOrder, CancelOrder, CancelLine, UpdateAccountContact, Acknowledge)
Mutation = Annotated[Union[MUTATION_CLASSES], Field(discriminator="name")]  # noqa: UP007
# Every kind's name, from its model: the one list the server's handlers, the device's outbox and
# its words are checked against (tests/unit/test_mutation_kinds.py).
MUTATION_NAMES: frozenset[str] = frozenset(
    name for cls in MUTATION_CLASSES for name in cls.model_fields["name"].annotation.__args__
)


# ------------------------------------------------------------------------------------------
# Verdicts and results
# ------------------------------------------------------------------------------------------


class LineResult(Response):
    """The server's answer for one line, beside what the rep promised."""

    line_no: int
    sku: str
    quantity: int
    label: Label
    reserved: int  # units taken from stock now
    backordered: int  # units queued (dated or not)
    unavailable: int = 0  # units that will not come (a discontinued item without stock)
    eta: date | None
    eta_kind: EtaKind | None
    alternatives: list[str] = []
    # The day the line reaches the customer under the order's policy, and the likely day.
    ship: date | None = None
    ship_kind: EtaKind | None = None
    likely: date | None = None
    promised: PromisedLine | None = None
    difference: str | None = None  # in words, when the result is worse than the promise


class PlannedShipment(Response):
    date: date
    lines: list[ShipmentLinePublic]


class ShipmentPlanPublic(Response):
    policy: PolicyKind
    cap: int | None
    shipments: list[PlannedShipment]
    unscheduled: list[ShipmentLinePublic]
    total_wait_days: int


class OrderVerdict(Response):
    order_id: uuid.UUID
    outcome: Outcome
    reason: str | None = None
    status: OrderStatus | None = None
    version: int | None = None
    lines: list[LineResult] = []
    plan: ShipmentPlanPublic | None = None
    differences: list[str] = []


class ContactResult(Response):
    account: AccountPublic
    conflicts: list[ConflictPublic] = []


class MutationResult(Response):
    mutation_id: int
    name: str
    # applied: this push applied it; duplicate: applied before, this is the stored answer;
    # dead_lettered: it failed on the server and was set aside (it will not block the queue);
    # reused: the id was applied before for another change (a device restored from an older
    # copy): nothing from it on was applied; renumber after last_applied and send again.
    status: Literal["applied", "duplicate", "dead_lettered", "reused"]
    outcome: Outcome | None = None
    reason: str | None = None
    order: OrderVerdict | None = None
    contact: ContactResult | None = None
    error: str | None = None
