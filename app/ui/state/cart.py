"""The cart screen's state: lines re-labelled as quantities change, the policy, the plan, submit.

Every label, date and plan comes from CartService.check() (app.domain under the hood); this
class only turns them into rows and words, and turns taps and typing into service calls.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.domain.model import Label, PolicyKind
from app.domain.plans import ShipmentPlan
from app.store import CartService, Catalog, Store
from app.store.views import CartCheck, CheckedLine
from app.ui.state.labels import Chip, ChipKind, line_chip, line_words
from app.ui.state.text import age, day, money, plural

GONE = Chip(ChipKind.OUT_OF_STOCK, "Not in the catalog")
POLICY_NAMES = {
    PolicyKind.ALL_OR_NOTHING: "All at once",
    PolicyKind.SHIP_AS_AVAILABLE: "As available",
    PolicyKind.CAPPED_SPLIT: "At most n",
}
POLICY_HELP = {
    PolicyKind.ALL_OR_NOTHING: "one shipment when every line is there",
    PolicyKind.SHIP_AS_AVAILABLE: "a shipment whenever something is ready",
    PolicyKind.CAPPED_SPLIT: "lines grouped into at most n shipments, least waiting",
}


@dataclass(frozen=True, slots=True)
class CartRow:
    line_id: str
    sku: str
    name: str
    quantity: int
    price: str
    total: str
    chip: Chip
    words: str  # "10 now, 5 on backorder, ETA 12 Dec"
    undated: bool  # some units have no restock date: offer alternatives
    alternatives: tuple[str, ...]
    category: str


@dataclass(frozen=True, slots=True)
class PlanStep:
    when: str  # "12 Dec" or "No date"
    lines: tuple[str, ...]  # "Widget 12 x 5"
    units: int
    dated: bool


@dataclass(frozen=True, slots=True)
class CartScreen:
    account: str | None
    credit_hold: bool
    rows: tuple[CartRow, ...]
    policy: PolicyKind
    cap: int | None
    note: str
    plan: tuple[PlanStep, ...]
    plan_summary: str
    total: str
    stock_age: str
    problems: tuple[str, ...]
    warnings: tuple[str, ...]
    can_place: bool
    # All at once with units no supply dates: the order would never ship. The rep is asked
    # before placing it (ship as available, or drop the undated units).
    never_ships: str = ""


@dataclass(frozen=True, slots=True)
class Confirmation:
    order_id: str
    title: str
    promised: tuple[str, ...]  # one sentence per line
    plan: tuple[PlanStep, ...]


def plan_steps(plan: ShipmentPlan | None, names: dict[str, str]) -> tuple[PlanStep, ...]:
    if plan is None:
        return ()
    steps = [
        PlanStep(
            when=day(s.date),
            lines=tuple(f"{names.get(x.line_id, x.line_id)} × {x.quantity:,}" for x in s.lines),
            units=s.units,
            dated=True,
        )
        for s in plan.shipments
    ]
    if plan.unscheduled:
        steps.append(
            PlanStep(
                when="No date yet",
                lines=tuple(
                    f"{names.get(x.line_id, x.line_id)} × {x.quantity:,}" for x in plan.unscheduled
                ),
                units=sum(x.quantity for x in plan.unscheduled),
                dated=False,
            )
        )
    return tuple(steps)


def _summary(plan: ShipmentPlan | None) -> str:
    if plan is None:
        return "Add products to see the shipments"
    n = len(plan.shipments)
    text = plural(n, "shipment")
    if plan.unscheduled:
        units = sum(x.quantity for x in plan.unscheduled)
        text += f"; {plural(units, 'unit')} with no date yet"
    if plan.total_wait_days:
        text += f"; lines wait {plural(plan.total_wait_days, 'day')} in all for their shipment"
    return text


class CartState:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.cart = CartService(store)
        self.catalog = Catalog(store)
        self.message = ""  # what the last action did, or why it was refused
        self.error = False
        self.check: CartCheck | None = None

    # -- reading ------------------------------------------------------------------------

    def screen(self) -> CartScreen:
        check = self.cart.check()
        self.check = check
        products = {line.sku: line for line in check.lines}
        rows = tuple(self._row(line) for line in check.lines)
        # Lines the catalog no longer has are still shown, so the rep can remove them.
        known = set(products)
        rows += tuple(
            CartRow(
                line.line_id, line.sku, line.sku, line.quantity, money(line.price_cents),
                money(line.quantity * line.price_cents),
                GONE, "No longer in the catalog: remove it", True, (), "",
            )
            for line in check.cart.lines
            if line.sku not in known
        )  # fmt: skip
        names = {line.line_id: line.name for line in check.lines}
        account = check.cart.account
        stock_age = (
            "Stock figures never synced"
            if check.snapshot_age is None
            else f"Stock figures from {age(check.snapshot_age)} ago"
            if age(check.snapshot_age) != "just now"
            else "Stock figures just synced"
        )
        undated = sum(line.availability.undated for line in check.lines)
        never_ships = (
            f"All at once: nothing ships until every line has a date, and "
            f"{plural(undated, 'unit')} {'has' if undated == 1 else 'have'} no restock date yet"
            if undated and check.cart.policy.kind is PolicyKind.ALL_OR_NOTHING
            else ""
        )
        return CartScreen(
            account=account.name if account else None,
            credit_hold=bool(account and account.credit_hold),
            rows=rows,
            policy=check.cart.policy.kind,
            cap=check.cart.policy.cap,
            note=check.cart.note,
            plan=plan_steps(check.plan, names),
            plan_summary=_summary(check.plan),
            total=money(check.cart.total_cents),
            stock_age=stock_age,
            problems=check.problems,
            warnings=check.warnings + ((never_ships + ".",) if never_ships else ()),
            can_place=check.can_place,
            never_ships=never_ships,
        )

    def _row(self, line: CheckedLine) -> CartRow:
        av = line.availability
        today = self.store.today()
        product = self.catalog.product(line.sku)
        return CartRow(
            line_id=line.line_id,
            sku=line.sku,
            name=line.name,
            quantity=line.quantity,
            price=money(line.price_cents),
            total=money(line.quantity * line.price_cents),
            chip=line_chip(av, today=today),
            words=line_words(av, today=today),
            undated=av.undated > 0 or line.label in (Label.OUT_OF_STOCK, Label.DISCONTINUED),
            alternatives=av.alternatives or product.alternatives,
            category=product.category,
        )

    # -- changing -----------------------------------------------------------------------

    def _do(self, action: Callable[[], object], done: str = "") -> bool:
        try:
            action()
        except ValueError as problem:  # StoreError and DomainError: words for the rep
            self.message, self.error = str(problem), True
            return False
        self.message, self.error = done, False
        return True

    def step(self, sku: str, delta: int) -> bool:
        """The +/- buttons: one unit more or less; at zero the line goes."""
        current = next((x.quantity for x in self.cart.view().lines if x.sku == sku), 0)
        return self.set_quantity(sku, str(max(current + delta, 0)))

    def set_quantity(self, sku: str, text: str) -> bool:
        """Typed quantities: whole numbers only; 0 removes the line."""
        cleaned = text.strip().replace(",", "").replace(" ", "")
        if not cleaned.isdigit():
            self.message = f"the quantity of {sku} is a whole number of units, not {text!r}"
            self.error = True
            return False
        return self._do(lambda: self.cart.set_quantity(sku, int(cleaned)))

    def remove(self, sku: str) -> bool:
        return self._do(lambda: self.cart.remove(sku), f"{sku} removed")

    def set_account(self, account_id: str | None) -> bool:
        return self._do(lambda: self.cart.set_account(account_id))

    def set_policy(self, kind: PolicyKind | str, cap: int | str | None = None) -> bool:
        kind = PolicyKind(kind)
        if kind is not PolicyKind.CAPPED_SPLIT:
            return self._do(lambda: self.cart.set_policy(kind.value, None))
        if cap is None or cap == "":
            current = self.cart.view().policy
            cap = current.cap if current.cap else 2
        if isinstance(cap, str):
            if not cap.strip().isdigit():
                self.message = f"at most n shipments needs a whole number n, not {cap!r}"
                self.error = True
                return False
            cap = int(cap.strip())
        return self._do(lambda: self.cart.set_policy(kind.value, cap))

    def set_note(self, note: str) -> bool:
        return self._do(lambda: self.cart.set_note(note))

    def clear(self) -> bool:
        return self._do(self.cart.clear, "Cart emptied")

    def drop_undated(self) -> bool:
        """Keep only what is in stock or dated: each line's undated units go (a line with
        nothing else goes whole)."""
        check = self.cart.check()
        keep = {
            line.sku: line.quantity - line.availability.undated
            for line in check.lines
            if line.availability.undated
        }
        try:
            for sku, quantity in keep.items():
                if quantity > 0:
                    self.cart.set_quantity(sku, quantity)
                else:
                    self.cart.remove(sku)
        except ValueError as problem:
            self.message, self.error = str(problem), True
            return False
        self.message = f"{plural(len(keep), 'line')} without a date trimmed"
        self.error = False
        return True

    def place(self) -> Confirmation | None:
        """Submit: the order goes to the outbox; the confirmation says what was promised."""
        try:
            placed = self.cart.place()
        except ValueError as problem:
            self.message, self.error = str(problem), True
            return None
        check = placed.check
        today = self.store.today()
        promised = tuple(
            f"{line.name} × {line.quantity:,}: {line_words(line.availability, today=today)}"
            for line in check.lines
        )
        names = {line.line_id: line.name for line in check.lines}
        account = check.cart.account.name if check.cart.account else "?"
        self.message, self.error = "", False
        return Confirmation(
            order_id=placed.order_id,
            title=f"Order for {account} is in the outbox; it goes to the server at the next sync",
            promised=promised,
            plan=plan_steps(check.plan, names),
        )
