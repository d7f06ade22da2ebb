"""What every message shares: the version, the limits, the request/response bases, the types."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

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


class Request(BaseModel):
    """What a client sends: unknown fields are an error that names them."""

    model_config = ConfigDict(extra="forbid")


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
