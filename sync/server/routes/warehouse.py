"""Supply side (supervisors): schedule, preview, receive, delay and cancel receipts; stock counts;
shipping ready shipments."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from sync import protocol as p
from sync.server.deps import ProtocolChecked, SupervisorRunner
from sync.server.services import daily, receipts

router = APIRouter(prefix="/warehouse", tags=["warehouse"], dependencies=[ProtocolChecked])

ReceiptId = Annotated[int, Path(ge=1, le=2**31 - 1, description="a scheduled receipt")]
ShipmentId = Annotated[int, Path(ge=1, le=2**31 - 1, description="a shipment")]
_errors = {
    404: {"description": "no such receipt, product, warehouse or shipment"},
    409: {"description": "the state does not allow it (e.g. already received)"},
}


@router.post("/receipts", response_model=p.SupplyEventResult, status_code=201, responses=_errors)
def schedule(
    body: p.ReceiptCreateRequest,
    run: SupervisorRunner,
) -> p.SupplyEventResult:
    return run.write(lambda tx: receipts.schedule_receipt(tx, body))


@router.post("/receipts/preview", response_model=p.ReceiptPreview, responses=_errors)
def preview(
    body: p.ReceiptPreviewRequest,
    run: SupervisorRunner,
) -> p.ReceiptPreview:
    return run.read(lambda tx: receipts.preview(tx, body.receipt_id, body.quantity))


@router.post(
    "/receipts/{receipt_id}/receive", response_model=p.SupplyEventResult, responses=_errors
)
def receive(
    receipt_id: ReceiptId,
    body: p.ReceiveRequest,
    run: SupervisorRunner,
) -> p.SupplyEventResult:
    return run.write(
        lambda tx: receipts.receive(
            tx,
            receipt_id,
            body.quantity,
            rest_expected=body.rest_expected,
            close_rest=body.close_rest,
        )
    )


@router.post("/receipts/{receipt_id}/delay", response_model=p.SupplyEventResult, responses=_errors)
def delay(
    receipt_id: ReceiptId,
    body: p.DelayRequest,
    run: SupervisorRunner,
) -> p.SupplyEventResult:
    return run.write(lambda tx: receipts.delay(tx, receipt_id, body))


@router.post("/receipts/{receipt_id}/cancel", response_model=p.SupplyEventResult, responses=_errors)
def cancel(
    receipt_id: ReceiptId,
    run: SupervisorRunner,
) -> p.SupplyEventResult:
    return run.write(lambda tx: receipts.cancel_receipt(tx, receipt_id))


@router.post("/stock/count", response_model=p.SupplyEventResult, responses=_errors)
def count(
    body: p.StockCountRequest,
    run: SupervisorRunner,
) -> p.SupplyEventResult:
    return run.write(lambda tx: receipts.count(tx, body))


@router.post("/new-day", response_model=p.NewDayResult)
def new_day(run: SupervisorRunner) -> p.NewDayResult:
    """Re-date every waiting line and re-plan every order whose plan lies in the past, as the
    server does by itself once each business day (dates at a confidence move with time)."""
    return run.write(daily.new_day)


@router.post("/shipments/{shipment_id}/ship", response_model=p.ShipResult, responses=_errors)
def ship(
    shipment_id: ShipmentId,
    run: SupervisorRunner,
) -> p.ShipResult:
    return run.write(lambda tx: receipts.ship(tx, shipment_id))
