"""The accounts list and one account's page: open orders, backordered lines, attention banner."""

from __future__ import annotations

from dataclasses import dataclass

from app.domain.model import PolicyKind
from app.store import Accounts, CartService, Orders, OrderState, Store
from app.store.views import AccountView
from app.ui.state.orders import STATE_NAMES
from app.ui.state.text import day, eta, money, plural

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
OPEN_STATES = frozenset(
    {
        OrderState.PENDING,
        OrderState.NEEDS_ATTENTION,
        OrderState.ON_HOLD,
        OrderState.ACCEPTED,
        OrderState.BACKORDERED,
    }
)


def delivery_days(weekdays: tuple[int, ...]) -> str:
    if not weekdays or len(weekdays) == 7:
        return "Delivery any day"
    return "Delivery " + ", ".join(WEEKDAYS[d] for d in sorted(weekdays))


def policy_words(view: AccountView) -> str:
    policy = view.default_policy
    if policy.kind is PolicyKind.CAPPED_SPLIT:
        return f"at most {plural(policy.cap or 0, 'shipment')}"
    return {"all_or_nothing": "all at once", "ship_as_available": "ship as available"}[
        policy.kind.value
    ]


@dataclass(frozen=True, slots=True)
class AccountRow:
    id: str
    code: str
    name: str
    tier: str
    credit_hold: bool
    delivery: str
    chosen: bool  # the cart is for this account


@dataclass(frozen=True, slots=True)
class OpenOrderRow:
    id: str
    placed: str
    state: OrderState
    state_text: str
    total: str
    lines: int


@dataclass(frozen=True, slots=True)
class BackorderRow:
    order_id: str
    text: str  # "Widget 12 × 5 waiting, ETA 12 Dec"


@dataclass(frozen=True, slots=True)
class AccountPage:
    id: str
    name: str
    code: str
    tier: str
    credit_hold: bool
    delivery: str
    policy: str
    contact: tuple[str, ...]
    pending_contact: tuple[str, ...]
    orders: tuple[OpenOrderRow, ...]
    backorders: tuple[BackorderRow, ...]
    attention: tuple[str, ...]  # ids of orders that need the rep's attention
    banner: str | None


class AccountsState:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.accounts = Accounts(store)
        self.orders = Orders(store)
        self.cart = CartService(store)
        self.query = ""
        self.message = ""

    def rows(self) -> list[AccountRow]:
        chosen = self.cart.view().account
        return [
            AccountRow(
                id=a.id,
                code=a.code,
                name=a.name,
                tier=f"Tier {a.tier}",
                credit_hold=a.credit_hold,
                delivery=delivery_days(a.delivery_weekdays),
                chosen=chosen is not None and chosen.id == a.id,
            )
            for a in self.accounts.list_accounts(self.query)
        ]

    def choose(self, account_id: str) -> bool:
        """Take orders for this account: the cart (and the catalog's labels) follow it."""
        try:
            view = self.cart.set_account(account_id)
        except ValueError as problem:
            self.message = str(problem)
            return False
        self.message = f"Taking orders for {view.account.name if view.account else account_id}"
        return True

    def page(self, account_id: str) -> AccountPage:
        a = self.accounts.get(account_id)
        today = self.store.today()
        mine = [o for o in self.orders.list_orders() if o.account_id == account_id]
        open_orders = [o for o in mine if o.state in OPEN_STATES]
        backorders: list[BackorderRow] = []
        for o in open_orders:
            if o.state not in (OrderState.BACKORDERED, OrderState.NEEDS_ATTENTION):
                continue
            for line in self.orders.get(o.id).lines:
                if line.waiting > 0:
                    when = eta(line.server.eta if line.server else None, today=today)
                    backorders.append(
                        BackorderRow(
                            o.id, f"{line.name or line.sku} × {line.waiting:,} waiting, ETA {when}"
                        )
                    )
        attention = tuple(o.id for o in mine if o.state is OrderState.NEEDS_ATTENTION)
        banner = None
        if attention:
            banner = (
                "1 order needs your attention: the server's verdict differs from your promise"
                if len(attention) == 1
                else f"{len(attention)} orders need your attention: verdicts differ from promises"
            )
        contact = tuple(
            x for x in (a.contact_name, a.contact_phone, a.contact_email, a.contact_address) if x
        )
        return AccountPage(
            id=a.id,
            name=a.name,
            code=a.code,
            tier=f"Tier {a.tier}",
            credit_hold=a.credit_hold,
            delivery=delivery_days(a.delivery_weekdays),
            policy=policy_words(a),
            contact=contact,
            pending_contact=a.pending_contact_fields,
            orders=tuple(
                OpenOrderRow(
                    id=o.id,
                    placed=day(o.placed_at.astimezone().date(), today=today),
                    state=o.state,
                    state_text=STATE_NAMES[o.state],
                    total=money(o.total_cents),
                    lines=o.lines,
                )
                for o in open_orders
            ),
            backorders=tuple(backorders),
            attention=attention,
            banner=banner,
        )

    def update_contact(self, account_id: str, **changes: str) -> bool:
        try:
            self.accounts.update_contact(account_id, **changes)
        except ValueError as problem:
            self.message = str(problem)
            return False
        self.message = "Contact change saved; it goes to the server at the next sync"
        return True
