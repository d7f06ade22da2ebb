"""Supply side (supervisors): schedule, preview, receive, delay and cancel receipts; stock counts;
shipping ready shipments."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from sync import protocol as p
from sync.server.deps import ClockDep, CurrentSupervisor, DbDep, ProtocolChecked, SettingsDep
from sync.server.services import receipts
from sync.server.services.runner import run_read, run_write

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
    who: CurrentSupervisor,
    db: DbDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> p.SupplyEventResult:
    return run_write(
        db, clock, settings, who.username, lambda tx: receipts.schedule_receipt(tx, body)
    )


@router.post("/receipts/preview", response_model=p.ReceiptPreview, responses=_errors)
def preview(
    body: p.ReceiptPreviewRequest,
    who: CurrentSupervisor,
    db: DbDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> p.ReceiptPreview:
    return run_read(
        db,
        clock,
        settings,
        who.username,
        lambda tx: receipts.preview(tx, body.receipt_id, body.quantity),
    )


@router.post(
    "/receipts/{receipt_id}/receive", response_model=p.SupplyEventResult, responses=_errors
)
def receive(
    receipt_id: ReceiptId,
    body: p.ReceiveRequest,
    who: CurrentSupervisor,
    db: DbDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> p.SupplyEventResult:
    return run_write(
        db,
        clock,
        settings,
        who.username,
        lambda tx: receipts.receive(tx, receipt_id, body.quantity),
    )


@router.post("/receipts/{receipt_id}/delay", response_model=p.SupplyEventResult, responses=_errors)
def delay(
    receipt_id: ReceiptId,
    body: p.DelayRequest,
    who: CurrentSupervisor,
    db: DbDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> p.SupplyEventResult:
    return run_write(
        db, clock, settings, who.username, lambda tx: receipts.delay(tx, receipt_id, body)
    )


@router.post("/receipts/{receipt_id}/cancel", response_model=p.SupplyEventResult, responses=_errors)
def cancel(
    receipt_id: ReceiptId,
    who: CurrentSupervisor,
    db: DbDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> p.SupplyEventResult:
    return run_write(
        db, clock, settings, who.username, lambda tx: receipts.cancel_receipt(tx, receipt_id)
    )


@router.post("/stock/count", response_model=p.SupplyEventResult, responses=_errors)
def count(
    body: p.StockCountRequest,
    who: CurrentSupervisor,
    db: DbDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> p.SupplyEventResult:
    return run_write(db, clock, settings, who.username, lambda tx: receipts.count(tx, body))


@router.post("/shipments/{shipment_id}/ship", response_model=p.ShipResult, responses=_errors)
def ship(
    shipment_id: ShipmentId,
    who: CurrentSupervisor,
    db: DbDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> p.ShipResult:
    return run_write(db, clock, settings, who.username, lambda tx: receipts.ship(tx, shipment_id))
