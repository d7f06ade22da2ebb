"""What every message shares: the version, the limits, the request/response bases, the types."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError, ValidationError

# 2: snapshot pages carry rows under named columns
# 3: the snapshot carries the rep's ETA changes and conflicts (a resync or a new device keeps
#    the history the change log delivered before)
# 4: a line's promise carries the quoted price, a cancel the order version the rep saw (a
#    server of 3 would refuse both fields)
# 5: dates at a confidence: suppliers' slip history (supplier_history), receipts' promises,
#    a line's customer date and likely day, and a promise as the cart showed it (schedule,
#    policy date)
PROTOCOL_VERSION = 5
PROTOCOL_HEADER = "X-Protocol-Version"

MAX_BATCH = 100  # mutations per push
MAX_LINES = 200  # lines per order
MAX_QUANTITY = 100_000  # units per line
MAX_PAGE = 5000  # changes or records per pull/snapshot page
MAX_SHIPMENT_CAP = 50
MAX_PRICE_CENTS = 100_000_000  # a unit price, as the catalog allows


NUL = "\x00"
_NUL_ERROR = PydanticCustomError(
    "nul_byte", "must not contain a NUL byte (\\u0000): remove it and send again"
)


def nul_places(data: dict[str, Any]) -> list[tuple[str | int, ...]]:
    """Where a model's raw input holds a NUL byte in its own text (a field, or an item of a list
    of texts); nested models check their own."""
    found: list[tuple[str | int, ...]] = []
    for key, value in data.items():
        if isinstance(value, str):
            if NUL in value:
                found.append((key,))
        elif isinstance(value, list):
            found += [(key, i) for i, v in enumerate(value) if isinstance(v, str) and NUL in v]
    return found


class Request(BaseModel):
    """What a client sends: unknown fields are an error that names them, and no text may hold
    a NUL byte (PostgreSQL cannot store one; refused here so both backends answer the same
    422 naming the field, instead of a 500 or a dead letter)."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        # One check per model, not per field: a push of 100 orders of 200 lines has ~40,000
        # models and ~200,000 fields.
        if isinstance(data, dict):
            places = nul_places(data)
            if places:
                raise ValidationError.from_exception_data(
                    cls.__name__,
                    [InitErrorDetails(type=_NUL_ERROR, loc=where, input="") for where in places],
                )
        return data


class Response(BaseModel):
    """What the server sends: unknown fields are ignored, so older devices tolerate additions."""

    model_config = ConfigDict(extra="ignore")


Sku = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
Quantity = Annotated[int, Field(strict=True, ge=1, le=MAX_QUANTITY)]
Units = Annotated[int, Field(strict=True, ge=0, le=MAX_QUANTITY)]
Id = Annotated[int, Field(strict=True, ge=1, le=2**31 - 1)]
ShortText = Annotated[str, StringConstraints(max_length=500)]
Outcome = Literal["accepted", "accepted_with_changes", "backordered", "rejected"]
OrderStatus = Literal["open", "on_hold", "approved", "rejected", "cancelled", "fulfilled"]
Role = Literal["rep", "supervisor"]
