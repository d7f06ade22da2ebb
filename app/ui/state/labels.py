"""Availability in words and as a chip: what app.domain decided, said the way a rep reads it.

Nothing is decided here: the label, the dates and the quantities all come from the domain's
Availability. The one figure of our own is LOW_STOCK_UNITS, a display threshold for the word
"Low" (the server's reorder points are not on the device).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from app.domain.model import Availability, EtaKind, Label
from app.ui.state.text import eta as eta_text

LOW_STOCK_UNITS = 10  # "Low stock (6)" below this many units that can ship now


class ChipKind(StrEnum):
    """How a chip looks; the view maps each to colours (confirmed and estimated differ)."""

    IN_STOCK = "in_stock"
    LOW_STOCK = "low_stock"
    PARTIAL = "partial"
    BACKORDER_CONFIRMED = "backorder_confirmed"
    BACKORDER_ESTIMATED = "backorder_estimated"
    OUT_OF_STOCK = "out_of_stock"
    DISCONTINUED = "discontinued"


@dataclass(frozen=True, slots=True)
class Chip:
    kind: ChipKind
    text: str


def catalog_chip(
    av: Availability,
    units_now: int | None,
    *,
    discontinued: bool = False,
    today: date | None = None,
) -> Chip:
    """The chip on a catalog row. `av` is the availability of one unit; `units_now` is how many
    units could ship now (None when unknown). A discontinued product says so even while its
    last units are in stock."""
    if av.label is Label.DISCONTINUED or discontinued:
        left = f" ({units_now:,} left)" if units_now else ""
        return Chip(ChipKind.DISCONTINUED, f"Discontinued{left}")
    if av.label in (Label.IN_STOCK, Label.PARTIAL):
        if units_now is None:
            return Chip(ChipKind.IN_STOCK, "In stock")
        if units_now < LOW_STOCK_UNITS:
            return Chip(ChipKind.LOW_STOCK, f"Low stock ({units_now:,})")
        return Chip(ChipKind.IN_STOCK, f"In stock ({units_now:,})")
    if av.label is Label.BACKORDERED and av.eta is not None:
        kind = (
            ChipKind.BACKORDER_ESTIMATED
            if av.eta.kind is EtaKind.ESTIMATED
            else ChipKind.BACKORDER_CONFIRMED
        )
        return Chip(kind, f"Backorder, ETA {eta_text(av.eta, today=today)}")
    return Chip(ChipKind.OUT_OF_STOCK, "Out of stock, no restock date")


def line_chip(av: Availability, *, today: date | None = None) -> Chip:
    """The chip on a cart line: the label for the whole requested quantity."""
    if av.label is Label.IN_STOCK:
        return Chip(ChipKind.IN_STOCK, "In stock")
    if av.label is Label.PARTIAL:
        return Chip(ChipKind.PARTIAL, "Partly in stock")
    if av.label is Label.BACKORDERED:
        estimated = av.eta is not None and av.eta.kind is EtaKind.ESTIMATED
        kind = ChipKind.BACKORDER_ESTIMATED if estimated else ChipKind.BACKORDER_CONFIRMED
        return Chip(kind, f"Backorder, ETA {eta_text(av.eta, today=today)}")
    if av.label is Label.DISCONTINUED:
        return Chip(ChipKind.DISCONTINUED, "Discontinued")
    return Chip(ChipKind.OUT_OF_STOCK, "Out of stock, no restock date")


def line_words(av: Availability, *, today: date | None = None) -> str:
    """ "10 now, 5 on backorder, ETA 12 Dec": every requested unit accounted for once."""
    parts: list[str] = []
    if av.label is Label.DISCONTINUED:
        parts.append("discontinued")
    if av.now:
        parts.append("all in stock" if av.now == av.requested else f"{av.now:,} now")
    dated = av.dated_quantity
    if dated:
        last = av.dated[-1].eta
        parts.append(f"{dated:,} on backorder, ETA {eta_text(last, today=today)}")
    if av.undated:
        if av.label is Label.DISCONTINUED:
            parts.append(f"{av.undated:,} unavailable")
        elif av.now or dated:
            parts.append(f"{av.undated:,} with no restock date")
        else:
            parts.append("out of stock, no restock date")
    text = ", ".join(parts)
    return text[:1].upper() + text[1:]
