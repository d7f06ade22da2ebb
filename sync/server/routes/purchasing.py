"""Suppliers (their records, item links and scorecards) and purchase orders (draft, from advice,
send, confirm, cancel; lines are received and delayed as receipts), and the chase list of
overdue receipts. Supervisors only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from sync import protocol as p
from sync.server.deps import ProtocolChecked, SupervisorRunner
from sync.server.services import purchasing, suppliers

router = APIRouter(tags=["purchasing"], dependencies=[ProtocolChecked])

SupplierId = Annotated[int, Path(ge=1, le=2**31 - 1, description="a supplier")]
PurchaseOrderId = Annotated[int, Path(ge=1, le=2**31 - 1, description="a purchase order")]
_errors = {
    404: {"description": "no such supplier or purchase order"},
    409: {"description": "the order's state does not allow it (e.g. already sent)"},
    422: {"description": "a value that cannot be: the message names the field"},
}


@router.get("/supervisor/suppliers", response_model=list[p.SupplierDetail])
def list_suppliers(run: SupervisorRunner) -> list[p.SupplierDetail]:
    return run.read(suppliers.details)


@router.get(
    "/supervisor/suppliers/{supplier_id}", response_model=p.SupplierDetail, responses=_errors
)
def get_supplier(supplier_id: SupplierId, run: SupervisorRunner) -> p.SupplierDetail:
    return run.read(lambda tx: suppliers.detail(tx, supplier_id))


@router.post(
    "/supervisor/suppliers", response_model=p.SupplierPublic, status_code=201, responses=_errors
)
def create_supplier(body: p.SupplierIn, run: SupervisorRunner) -> p.SupplierPublic:
    return run.write(lambda tx: suppliers.create(tx, body))


@router.put(
    "/supervisor/suppliers/{supplier_id}", response_model=p.SupplierPublic, responses=_errors
)
def update_supplier(
    supplier_id: SupplierId, body: p.SupplierIn, run: SupervisorRunner
) -> p.SupplierPublic:
    return run.write(lambda tx: suppliers.update(tx, supplier_id, body))


@router.get("/supervisor/item-suppliers", response_model=list[p.ItemSupplierPublic])
def list_links(
    run: SupervisorRunner,
    sku: Annotated[str | None, Query(min_length=1, max_length=40)] = None,
    supplier_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> list[p.ItemSupplierPublic]:
    return run.read(lambda tx: suppliers.links(tx, sku, supplier_id))


@router.put("/supervisor/item-suppliers", response_model=p.ItemSupplierPublic, responses=_errors)
def set_link(body: p.ItemSupplierIn, run: SupervisorRunner) -> p.ItemSupplierPublic:
    return run.write(lambda tx: suppliers.link(tx, body))


@router.get("/warehouse/purchase-orders", response_model=p.PurchaseOrderList)
def list_orders(
    run: SupervisorRunner,
    status: p.POStatus | None = None,
    supplier_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> p.PurchaseOrderList:
    return run.read(lambda tx: purchasing.listing(tx, status, supplier_id, offset, limit))


@router.post(
    "/warehouse/purchase-orders",
    response_model=p.PurchaseOrderPublic,
    status_code=201,
    responses=_errors,
)
def create_order(body: p.PurchaseOrderCreate, run: SupervisorRunner) -> p.PurchaseOrderPublic:
    return run.write(lambda tx: purchasing.create(tx, body))


@router.post(
    "/warehouse/purchase-orders/from-advice",
    response_model=p.DraftsFromAdvice,
    status_code=201,
    responses=_errors,
)
def from_advice(body: p.FromAdviceRequest, run: SupervisorRunner) -> p.DraftsFromAdvice:
    return run.write(lambda tx: purchasing.from_advice(tx, body))


@router.get(
    "/warehouse/purchase-orders/{po_id}", response_model=p.PurchaseOrderPublic, responses=_errors
)
def get_order(po_id: PurchaseOrderId, run: SupervisorRunner) -> p.PurchaseOrderPublic:
    return run.read(lambda tx: purchasing.get(tx, po_id))


@router.post(
    "/warehouse/purchase-orders/{po_id}/send",
    response_model=p.PurchaseOrderPublic,
    responses=_errors,
)
def send_order(po_id: PurchaseOrderId, run: SupervisorRunner) -> p.PurchaseOrderPublic:
    return run.write(lambda tx: purchasing.send(tx, po_id))


@router.post(
    "/warehouse/purchase-orders/{po_id}/confirm",
    response_model=p.PurchaseOrderPublic,
    responses=_errors,
)
def confirm_order(
    po_id: PurchaseOrderId, body: p.PurchaseOrderConfirm, run: SupervisorRunner
) -> p.PurchaseOrderPublic:
    return run.write(lambda tx: purchasing.confirm(tx, po_id, body))


@router.post(
    "/warehouse/purchase-orders/{po_id}/cancel",
    response_model=p.PurchaseOrderPublic,
    responses=_errors,
)
def cancel_order(po_id: PurchaseOrderId, run: SupervisorRunner) -> p.PurchaseOrderPublic:
    return run.write(lambda tx: purchasing.cancel(tx, po_id))


@router.get("/warehouse/overdue", response_model=p.ChaseList)
def overdue(run: SupervisorRunner) -> p.ChaseList:
    return run.read(suppliers.chase_list)
