"""Supervisor API: review synced orders, decide on them, read metrics, the accounts most affected
by backorders and low-stock items, and edit an account's contact data (the same versioned merge
as the rep's mutation)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, status

from sync import protocol as p
from sync.server.clock import Clock
from sync.server.deps import (
    ClockDep,
    CurrentSupervisor,
    ProtocolChecked,
    SessionDep,
    SettingsDep,
    SupervisorRunner,
)
from sync.server.services import reports, review
from sync.server.services.contacts import update_contact

router = APIRouter(prefix="/supervisor", tags=["supervisor"], dependencies=[ProtocolChecked])

IdQuery = Annotated[int | None, Query(ge=1, le=2**31 - 1)]
MAX_PERIOD_DAYS = 3 * 366


@router.get("/orders", response_model=p.OrderList)
def list_orders(
    _: CurrentSupervisor,
    session: SessionDep,
    clock: ClockDep,
    status_: Annotated[p.OrderStatus | None, Query(alias="status")] = None,
    rep_id: IdQuery = None,
    account_id: IdQuery = None,
    date_from: date | None = None,
    date_to: Annotated[date | None, Query(description="inclusive")] = None,
    has_backorders: bool | None = None,
    needs_attention: bool | None = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> p.OrderList:
    if date_from and date_to and date_to < date_from:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, detail="date_to: must not be before date_from"
        )
    f = review.OrderFilter(
        status_, rep_id, account_id, date_from, date_to, has_backorders, needs_attention
    )
    return review.list_orders(session, f, clock.tz, offset, limit)


@router.get(
    "/orders/{order_id}",
    response_model=p.OrderDetail,
    responses={404: {"description": "no such order"}},
)
def order_detail(order_id: uuid.UUID, _: CurrentSupervisor, session: SessionDep) -> p.OrderDetail:
    return review.detail(session, order_id)


@router.post(
    "/orders/{order_id}/decision",
    response_model=p.OrderDetail,
    responses={
        404: {"description": "no such order"},
        409: {"model": p.ConflictDetail, "description": "stale version or a closed order"},
    },
)
def decide(order_id: uuid.UUID, body: p.DecisionRequest, run: SupervisorRunner) -> p.OrderDetail:
    return run.write(lambda tx: review.decide(tx, run.who, order_id, body))


StartQuery = Annotated[date | None, Query(description="first day (default: 28 days ago)")]
EndQuery = Annotated[date | None, Query(description="day after the last (default: tomorrow)")]


def _period(clock: Clock, start: date | None, end: date | None) -> tuple[date, date]:
    """A report's period [start, end), defaults filled in; 422 naming the field when wrong."""
    for field, day in (("start", start), ("end", end)):  # before any date arithmetic
        if day is not None and not 2000 <= day.year <= 2200:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                detail=f"{field}: use dates between 2000 and 2200",
            )
    end = end or clock.today() + timedelta(days=1)
    start = start or end - timedelta(days=28)
    if not start < end:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, detail="end: must be after start"
        )
    if (end - start).days > MAX_PERIOD_DAYS:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=f"end: a period spans at most {MAX_PERIOD_DAYS} days",
        )
    if start.year < 2000 or end.year > 2200:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, detail="start: use dates between 2000 and 2200"
        )
    return start, end


@router.get("/metrics", response_model=p.MetricsReport)
def metrics(
    _: CurrentSupervisor,
    session: SessionDep,
    clock: ClockDep,
    start: StartQuery = None,
    end: EndQuery = None,
) -> p.MetricsReport:
    start, end = _period(clock, start, end)
    return reports.metrics(session, start, end, clock.tz)


@router.get("/accounts-affected", response_model=p.AccountsAffected)
def accounts_affected(
    _: CurrentSupervisor,
    session: SessionDep,
    clock: ClockDep,
    start: StartQuery = None,
    end: EndQuery = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 10,
) -> p.AccountsAffected:
    """The accounts with the most backordered orders committed in the period."""
    start, end = _period(clock, start, end)
    return reports.accounts_affected(session, start, end, clock.tz, limit=limit)


@router.get("/low-stock", response_model=p.LowStockList)
def low_stock(
    _: CurrentSupervisor,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    warehouse_id: IdQuery = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> p.LowStockList:
    return reports.low_stock(
        session,
        settings,
        clock.today(),
        clock.tz,
        warehouse_id=warehouse_id,
        offset=offset,
        limit=limit,
    )


@router.post(
    "/accounts/{account_id}/contact",
    response_model=p.ContactResult,
    responses={409: {"description": "no such account, or a base version from the future"}},
)
def edit_contact(
    account_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    body: p.ContactEdit,
    run: SupervisorRunner,
) -> p.ContactResult:
    return run.write(
        lambda tx: update_contact(tx, run.who, account_id, body.base_version, body.changes)
    )
