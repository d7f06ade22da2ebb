"""The supervisor's client for the central server: review queue, decisions, receipts, reports.

Online only: a supervisor decides against the server's truth, not a cached copy. Answers are the
protocol's models (sync.protocol); every failure is a `SupervisorError` whose str() says what
happened and what to do, so the console shows it as it is. The httpx client comes from outside
(tests hand one on httpx.ASGITransport, the real server in process).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date
from typing import Any, Literal, TypeVar

import httpx
from pydantic import BaseModel, RootModel, ValidationError

from app.domain.model import EtaKind
from app.store import Store, sync_state
from sync import protocol as p

M = TypeVar("M", bound=BaseModel)
Action = Literal["approve", "hold", "reject"]
PAGE_MAX = 500  # the server's largest page of orders


class _Suppliers(RootModel[list[p.SupplierDetail]]):
    pass


class SupervisorError(Exception):
    """A problem in words a supervisor can act on."""


class Unreachable(SupervisorError):
    """No answer. `maybe_applied`: a write was sent but its answer lost, so it may have
    happened: reload before trying again."""

    def __init__(self, message: str, *, maybe_applied: bool = False) -> None:
        super().__init__(message)
        self.maybe_applied = maybe_applied


class NotAllowed(SupervisorError):
    """401/403: signed out, token revoked, or not a supervisor."""


class NotFound(SupervisorError):
    pass


class Refused(SupervisorError):
    """The server said no (409, 422): the message names what was wrong."""


class StaleOrder(Refused):
    """A decision based on an old version: `current` is the order as it stands now."""

    def __init__(self, message: str, current: p.OrderDetail) -> None:
        super().__init__(message)
        self.current = current


class ServerFault(SupervisorError):
    """5xx or an answer that is not the protocol's: worth a retry later."""


@dataclass(frozen=True, slots=True)
class OrderQuery:
    """The review queue's filters, as the server's /supervisor/orders takes them."""

    status: p.OrderStatus | None = None
    rep_id: int | None = None
    account_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None  # inclusive
    has_backorders: bool | None = None
    needs_attention: bool | None = None

    def params(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for f in fields(self):
            name, value = f.name, getattr(self, f.name)
            if value is None:
                continue
            if isinstance(value, bool):
                out[name] = "true" if value else "false"
            elif isinstance(value, date):
                out[name] = value.isoformat()
            else:
                out[name] = str(value)
        return out


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300] or f"HTTP {response.status_code}"
    if isinstance(body, dict):
        if isinstance(body.get("message"), str):  # the server's one-line validation summary
            return body["message"]
        detail = body.get("detail", body)
        return detail if isinstance(detail, str) else str(detail)[:300]
    return str(body)[:300]


class SupervisorClient:
    def __init__(self, client: httpx.AsyncClient, server_url: str, token: str) -> None:
        self.client = client
        self.server_url = server_url.rstrip("/")
        self.token = token

    @classmethod
    def from_store(cls, store: Store, client: httpx.AsyncClient) -> SupervisorClient:
        """The server and token the device signed in with (sync_state)."""
        with store.read() as session:
            state = sync_state(session)
        if not state.server_url or not state.token:
            raise NotAllowed("not signed in: sign in as a supervisor first")
        return cls(client, state.server_url, state.token)

    # -- plumbing -------------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        model: type[M],
        *,
        params: Mapping[str, str] | None = None,
        body: BaseModel | None = None,
    ) -> M:
        headers = {
            p.PROTOCOL_HEADER: str(p.PROTOCOL_VERSION),
            "Authorization": f"Bearer {self.token}",
        }
        content = body.model_dump_json(exclude_none=True) if body is not None else None
        if content is not None:
            headers["Content-Type"] = "application/json"
        try:
            response = await self.client.request(
                method, self.server_url + path, params=params, content=content, headers=headers
            )
        except httpx.ConnectError as fault:
            raise Unreachable(
                f"cannot reach the server at {self.server_url} ({fault or 'refused'}): "
                "nothing was sent; check the connection and try again"
            ) from None
        except httpx.TransportError as fault:
            write = method != "GET"
            raise Unreachable(
                f"no answer from the server at {self.server_url} "
                f"({type(fault).__name__}): "
                + (
                    "it may or may not have done it; reload to check before trying again"
                    if write
                    else "try again"
                ),
                maybe_applied=write,
            ) from None
        return self._answer(response, model)

    def _answer(self, response: httpx.Response, model: type[M]) -> M:
        status = response.status_code
        if status < 300:
            try:
                return model.model_validate_json(response.content)
            except ValidationError as bad:
                problem = f"the server's answer is not what this app expects: {bad}"
                raise ServerFault(problem) from None
        detail = _detail(response)
        if status == 401:
            raise NotAllowed(f"{detail} (sign in again)")
        if status == 403:
            raise NotAllowed(f"{detail}: sign in with a supervisor's account")
        if status == 404:
            raise NotFound(detail)
        if status == 426:
            raise SupervisorError(detail)
        if status == 409:
            body = response.json()
            current = body.get("current") if isinstance(body, dict) else None
            if current is not None:
                raise StaleOrder(detail, p.OrderDetail.model_validate(current))
            raise Refused(detail)
        if status < 500:
            raise Refused(detail)
        raise ServerFault(f"the server failed ({status}): {detail}; try again in a moment")

    # -- review ---------------------------------------------------------------------------

    async def orders(
        self, query: OrderQuery = OrderQuery(), *, offset: int = 0, limit: int = 50
    ) -> p.OrderList:
        params = query.params() | {"offset": str(offset), "limit": str(limit)}
        return await self._call("GET", "/supervisor/orders", p.OrderList, params=params)

    async def all_orders(self, query: OrderQuery, *, cap: int = 100_000) -> list[p.OrderSummary]:
        """Every order matching `query` (newest first), page by page, at most `cap`."""
        out: list[p.OrderSummary] = []
        while len(out) < cap:
            page = await self.orders(query, offset=len(out), limit=min(PAGE_MAX, cap - len(out)))
            out.extend(page.items)
            if not page.items or len(out) >= page.total:
                break
        return out

    async def order(self, order_id: uuid.UUID | str) -> p.OrderDetail:
        return await self._call("GET", f"/supervisor/orders/{order_id}", p.OrderDetail)

    async def decide(
        self, order_id: uuid.UUID | str, action: Action, *, version: int, note: str = ""
    ) -> p.OrderDetail:
        body = p.DecisionRequest(action=action, note=note, version=version)
        return await self._call(
            "POST", f"/supervisor/orders/{order_id}/decision", p.OrderDetail, body=body
        )

    # -- reports --------------------------------------------------------------------------

    async def metrics(self, start: date, end: date) -> p.MetricsReport:
        """`end` is exclusive (the day after the period's last day)."""
        params = {"start": start.isoformat(), "end": end.isoformat()}
        return await self._call("GET", "/supervisor/metrics", p.MetricsReport, params=params)

    async def accounts_affected(
        self, start: date, end: date, limit: int = 10
    ) -> p.AccountsAffected:
        """The accounts with the most backordered orders in the period (`end` exclusive)."""
        params = {"start": start.isoformat(), "end": end.isoformat(), "limit": str(limit)}
        return await self._call(
            "GET", "/supervisor/accounts-affected", p.AccountsAffected, params=params
        )

    async def conflicts(self) -> list[p.ConflictPublic]:
        """The conflict log: every concurrent edit where one side lost (all reps')."""
        return await self._section("conflicts")

    async def low_stock(
        self, *, warehouse_id: int | None = None, offset: int = 0, limit: int = 100
    ) -> p.LowStockList:
        params = {"offset": str(offset), "limit": str(limit)}
        if warehouse_id is not None:
            params["warehouse_id"] = str(warehouse_id)
        return await self._call("GET", "/supervisor/low-stock", p.LowStockList, params=params)

    async def info(self) -> p.ServerInfo:
        return await self._call("GET", "/sync/info", p.ServerInfo)

    # -- reference data (the snapshot sections a supervisor may read) ----------------------

    async def _section(self, section: str) -> list[Any]:
        records: list[Any] = []
        after: str | None = None
        while True:
            params = {"section": section, "limit": str(p.MAX_PAGE)}
            if after is not None:
                params["after"] = after
            page = await self._call("GET", "/sync/snapshot", p.SnapshotPage, params=params)
            model = p.SNAPSHOT_RECORDS[section][1]
            records.extend(model.model_validate(r) for r in page.records())
            if not page.has_more:
                return records
            after = page.after

    async def receipts(self) -> list[p.ReceiptPublic]:
        """Every receipt the server knows (scheduled, received and cancelled)."""
        return await self._section("receipts")

    async def accounts(self) -> list[p.AccountPublic]:
        return await self._section("accounts")

    async def warehouses(self) -> list[p.WarehousePublic]:
        return await self._section("warehouses")

    async def waiting(self) -> list[p.QueueEntryPublic]:
        """The open backordered lines (anonymised): what each item's demand queue holds."""
        return await self._section("queue")

    # -- incoming stock -------------------------------------------------------------------

    async def schedule_receipt(
        self,
        sku: str,
        warehouse_id: int,
        quantity: int,
        expected: date,
        kind: EtaKind = EtaKind.CONFIRMED,
    ) -> p.SupplyEventResult:
        body = p.ReceiptCreateRequest(
            sku=sku, warehouse_id=warehouse_id, quantity=quantity, expected=expected, kind=kind
        )
        return await self._call("POST", "/warehouse/receipts", p.SupplyEventResult, body=body)

    async def preview(self, receipt_id: int, quantity: int | None = None) -> p.ReceiptPreview:
        body = p.ReceiptPreviewRequest(receipt_id=receipt_id, quantity=quantity)
        return await self._call("POST", "/warehouse/receipts/preview", p.ReceiptPreview, body=body)

    async def receive(
        self,
        receipt_id: int,
        quantity: int | None = None,
        *,
        rest_expected: date | None = None,
        close_rest: bool = False,
    ) -> p.SupplyEventResult:
        """Units arrived; the rest stays at its date, moves to `rest_expected`, or is closed."""
        body = p.ReceiveRequest(
            quantity=quantity, rest_expected=rest_expected, close_rest=close_rest
        )
        return await self._call(
            "POST", f"/warehouse/receipts/{receipt_id}/receive", p.SupplyEventResult, body=body
        )

    async def delay(
        self, receipt_id: int, expected: date, kind: EtaKind = EtaKind.CONFIRMED
    ) -> p.SupplyEventResult:
        body = p.DelayRequest(expected=expected, kind=kind)
        return await self._call(
            "POST", f"/warehouse/receipts/{receipt_id}/delay", p.SupplyEventResult, body=body
        )

    async def cancel_receipt(self, receipt_id: int) -> p.SupplyEventResult:
        return await self._call(
            "POST", f"/warehouse/receipts/{receipt_id}/cancel", p.SupplyEventResult
        )

    # -- suppliers and purchase orders ----------------------------------------------------

    async def suppliers(self) -> list[p.SupplierDetail]:
        """Every supplier with its scorecard, item links and open and overdue lines."""
        return (await self._call("GET", "/supervisor/suppliers", _Suppliers)).root

    async def purchase_orders(
        self, status: str | None = None, *, offset: int = 0, limit: int = 100
    ) -> p.PurchaseOrderList:
        params = {"offset": str(offset), "limit": str(limit)}
        if status is not None:
            params["status"] = status
        return await self._call(
            "GET", "/warehouse/purchase-orders", p.PurchaseOrderList, params=params
        )

    async def purchase_order(self, po_id: int) -> p.PurchaseOrderPublic:
        return await self._call("GET", f"/warehouse/purchase-orders/{po_id}", p.PurchaseOrderPublic)

    async def drafts_from_advice(
        self, warehouse_id: int | None = None, skus: list[str] | None = None
    ) -> p.DraftsFromAdvice:
        body = p.FromAdviceRequest(warehouse_id=warehouse_id, skus=skus)
        return await self._call(
            "POST", "/warehouse/purchase-orders/from-advice", p.DraftsFromAdvice, body=body
        )

    async def send_po(self, po_id: int) -> p.PurchaseOrderPublic:
        return await self._call(
            "POST", f"/warehouse/purchase-orders/{po_id}/send", p.PurchaseOrderPublic
        )

    async def confirm_po(self, po_id: int, expected: date) -> p.PurchaseOrderPublic:
        """The supplier's date for every open line of the order."""
        body = p.PurchaseOrderConfirm(expected=expected)
        return await self._call(
            "POST", f"/warehouse/purchase-orders/{po_id}/confirm", p.PurchaseOrderPublic, body=body
        )

    async def cancel_po(self, po_id: int) -> p.PurchaseOrderPublic:
        return await self._call(
            "POST", f"/warehouse/purchase-orders/{po_id}/cancel", p.PurchaseOrderPublic
        )

    async def overdue(self) -> p.ChaseList:
        """The chase list: receipts past their date with the lines that wait on them."""
        return await self._call("GET", "/warehouse/overdue", p.ChaseList)
