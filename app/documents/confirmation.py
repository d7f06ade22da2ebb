"""The customer's order confirmation, made on the device with no signal.

`confirmation()` says, from the order as the device holds it, what the customer is told for each
line: what ships now, what is backordered and until when (the customer's date: the one last
shown or told, marked when estimated), what has no date yet, and what was cancelled; then the
deliveries the lines make (grouped by day, as the order's shipment policy dates them) and the
totals. Before the server has answered, the words are those of the cart the rep showed; after,
the server's figures. `render_pdf()` lays it out as a PDF (fpdf2: pure Python, builds into the
phone bundle; DejaVu Sans for any script a customer's name is written in).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from app.domain.model import Eta, EtaKind, Label, money
from app.store.views import AccountView, OrderDetail, OrderLineView

FONTS = Path(__file__).parent / "fonts"


@dataclass(frozen=True, slots=True)
class ConfirmedLine:
    sku: str
    name: str
    quantity: int
    price_cents: int
    amount_cents: int  # the units not cancelled, at the line's price
    words: str  # "4 ship now; 6 backordered, expected 12 Dec (estimated)"


@dataclass(frozen=True, slots=True)
class Delivery:
    when: str  # "Now", "Expected 12 Dec (estimated)", "No date yet"
    items: tuple[str, ...]  # "Golden Crust Pita x 4"


@dataclass(frozen=True, slots=True)
class Confirmation:
    business: str
    reference: str
    placed: str
    account: str
    address: str
    status: str
    lines: tuple[ConfirmedLine, ...]
    deliveries: tuple[Delivery, ...]
    total_cents: int
    note: str


def _day(eta: Eta) -> str:
    words = f"{eta.date.day} {eta.date:%b %Y}"
    return words + (" (estimated)" if eta.kind is EtaKind.ESTIMATED else "")


Part = tuple[int, Eta | None]  # units backordered and the customer's date for them


def _split(line: OrderLineView) -> tuple[int, list[Part]]:
    """(units shipped or to ship now, the backordered units in parts with their dates)."""
    if line.server is not None:  # the server's figures (allocated counts what shipped)
        waiting = [(line.waiting, line.told or line.server.eta)] if line.waiting else []
        return line.allocated, waiting
    promise = line.promise
    live = line.quantity - line.cancelled
    if promise is None:
        return 0, [(live, None)]
    now = min(live, promise.now)
    if promise.label in (Label.OUT_OF_STOCK, Label.DISCONTINUED):
        return now, [(live - now, None)] if live > now else []
    # What the cart showed: the schedule's parts after the units available now, each at its
    # day, but not before the day the order's policy ships the line.
    parts: list[Part] = []
    skip = now
    ship = line.promised_ship or promise.eta
    for day, units in line.promised_schedule:
        taken = min(skip, units)
        skip -= taken
        if units - taken <= 0:
            continue
        if day is None:
            parts.append((units - taken, None))
        else:
            later = ship if ship and ship.date >= day else Eta(day, EtaKind.CONFIRMED)
            parts.append((units - taken, later))
    if not line.promised_schedule and live > now:
        parts.append((live - now, ship))
    return now, parts


def _words(line: OrderLineView, now: int, parts: list[Part]) -> str:
    words = []
    if line.shipped:
        words.append(f"{line.shipped:,} shipped")
    if now > line.shipped:
        words.append(f"{now - line.shipped:,} ship now")
    for units, day in parts:
        when = f"expected {_day(day)}" if day else "no date yet"
        words.append(f"{units:,} backordered, {when}")
    if line.cancelled:
        words.append(f"{line.cancelled:,} cancelled")
    return "; ".join(words) or "nothing to ship"


def confirmation(
    order: OrderDetail, account: AccountView, *, business: str, today: date
) -> Confirmation:
    lines: list[ConfirmedLine] = []
    by_day: dict[tuple[int, date | None], list[str]] = {}
    for line in order.lines:
        now, parts = _split(line)
        live = line.quantity - line.cancelled
        lines.append(
            ConfirmedLine(
                line.sku,
                line.name or line.sku,
                line.quantity,
                line.price_cents,
                live * line.price_cents,
                _words(line, now, parts),
            )
        )
        if now > line.shipped:
            by_day.setdefault((0, None), []).append(
                f"{line.name or line.sku} x {now - line.shipped:,}"
            )
        for units, day in parts:
            key = (1, day.date) if day else (2, None)
            by_day.setdefault(key, []).append(f"{line.name or line.sku} x {units:,}")
    deliveries = []
    kinds = {li.told.date: li.told for li in order.lines if li.told}
    kinds |= {li.promised_ship.date: li.promised_ship for li in order.lines if li.promised_ship}
    for (rank, day), items in sorted(by_day.items(), key=lambda kv: (kv[0][0], kv[0][1] or today)):
        if rank == 0:
            when = "Now"
        elif rank == 1 and day is not None:
            eta = kinds.get(day, Eta(day, EtaKind.CONFIRMED))
            when = f"Expected {_day(eta)}"
        else:
            when = "No date yet (we will tell you as soon as there is one)"
        deliveries.append(Delivery(when, tuple(items)))
    placed: datetime = order.summary.placed_at
    return Confirmation(
        business=business,
        reference=order.summary.id[:8].upper(),
        placed=f"{placed.day} {placed:%b %Y}",
        account=account.name,
        address=account.contact_address,
        status=_status(order),
        lines=tuple(lines),
        deliveries=tuple(deliveries),
        total_cents=sum(li.amount_cents for li in lines),
        note=order.note,
    )


def _status(order: OrderDetail) -> str:
    if order.summary.status in ("rejected", "cancelled"):
        return f"This order was {order.summary.status}."
    if order.summary.status == "pending":
        return "Taken by your representative; the warehouse confirms it when it is sent."
    return "Confirmed by the warehouse."


def render_pdf(c: Confirmation) -> bytes:
    from fpdf import FPDF  # here: only the confirmation needs it

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.add_page()
    pdf.set_title(f"Order confirmation {c.reference}")
    pdf.set_font("DejaVu", "B", 16)
    pdf.cell(0, 9, c.business, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 11)
    pdf.cell(0, 7, f"Order confirmation {c.reference} · {c.placed}", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 7, f"For {c.account}", new_x="LMARGIN", new_y="NEXT")
    if c.address:
        pdf.multi_cell(0, 6, c.address, new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(0, 6, c.status, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    with pdf.table(col_widths=(70, 15, 25, 80), text_align=("LEFT", "RIGHT", "RIGHT", "LEFT")) as t:
        t.row(("Item", "Qty", "Amount", "When"))
        for li in c.lines:
            t.row((li.name, f"{li.quantity:,}", money(li.amount_cents), li.words))
    pdf.ln(2)
    pdf.set_font("DejaVu", "B", 11)
    pdf.cell(0, 7, f"Total {money(c.total_cents)}", align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.cell(0, 7, "Deliveries", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 10)
    for d in c.deliveries:
        pdf.multi_cell(0, 6, f"{d.when}: {', '.join(d.items)}", new_x="LMARGIN", new_y="NEXT")
    if c.note:
        pdf.ln(2)
        pdf.multi_cell(0, 6, f"Note: {c.note}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("DejaVu", "", 9)
    pdf.multi_cell(
        0,
        5,
        "Dates are when we expect to deliver; if one moves, we tell you.",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    return bytes(pdf.output())
