"""The reports the supervisor's Reports tab runs (app/ui/supervisor.py `ReportsTab`), by name
with its few filters, on a read-only connection: the same readers and tables as `perpetua report
NAME`, so the screen and the command line show the same figures. Called by the supervisor desk
(app/bootstrap.py) on the query runner's thread.

A CSV export streams through the command line's own writer (report_output.write_csv); its
progress callback reports how far it got and raises when the supervisor cancelled, and a
cancelled or failed export leaves no partial file behind.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import Connection

from app.adapters.db import authority, count_planning, reports_flow
from app.adapters.db import reports_stock as db
from app.adapters.db.reports_replenishment import sku_demand
from app.commands.report_output import write_csv
from app.commands.report_replenishment import DEFAULT_HISTORY, replenishment_table
from app.domain.forecast import Method
from app.domain.replenishment import Forecasting, replenishment
from app.domain.report_pages import (
    ExportDone,
    ReportAsk,
    ReportName,
    ReportShown,
    StockKey,
    StockPage,
)
from app.domain.report_table import ReportTable
from app.domain.reports_stock import (
    STOCK_COLUMNS,
    AdjustmentsBy,
    StockFilter,
    adjustments_table,
    expiring_table,
    stock_table,
)

Progress = Callable[[int, int], None]
"""`progress(rows written, rows in all)`."""


class ExportCancelled(Exception):
    """Raised from the writer's progress callback: the supervisor pressed Cancel."""


def today() -> date:
    return datetime.now(UTC).date()


def stock_filter(ask: ReportAsk) -> StockFilter:
    return StockFilter(sku=ask.sku, location=ask.location, zone=ask.zone)


def refusal(c: Connection, ask: ReportAsk) -> str | None:
    """Why a stock filter names nothing (a typing mistake), in words; None when all are known."""
    if ask.sku is not None and not db.sku_exists(c, ask.sku):
        return f"No SKU {ask.sku} is known: check the code, or empty the SKU field."
    if ask.location is not None and not db.location_exists(c, ask.location):
        return (
            f"No location {ask.location} is known (a real location: not VENDOR, CUSTOMER, "
            "ADJUSTMENT or SCRAP): check the code, or empty the location field."
        )
    if ask.zone is not None:
        known = count_planning.zones(c)
        if ask.zone not in known:
            return (
                f"No location is in zone {ask.zone!r}; the zones are: "
                f"{', '.join(known) or '(none)'}. Type one of them, or empty the zone field."
            )
    if ask.days is not None and ask.days < 1 and ask.name is not ReportName.EXPIRING:
        return "Give at least 1 day."
    return None


def stock_page(c: Connection, ask: ReportAsk, after: StockKey | None, limit: int) -> StockPage:
    """A page of stock on hand now; the first page also carries the title and notes."""
    refused = refusal(c, ask) if after is None else None
    if refused is not None:
        return StockPage(STOCK_COLUMNS, (), None, refused=refused)
    f = stock_filter(ask)
    lines, next_key = db.stock_page(c, f, after, limit)
    table = stock_table(lines, f, None)
    return StockPage(table.columns, tuple(table.rows), next_key, table.title, table.notes)


def report(c: Connection, ask: ReportAsk) -> ReportTable:
    """The report `ask` names, as `perpetua report NAME` makes it (stock: its rows streamed, for
    an export; the screen reads stock in pages, see `stock_page`)."""
    now = today()
    days = ask.days_or_default()
    first = now - timedelta(days=max(days, 1) - 1)
    match ask.name:
        case ReportName.STOCK:
            f = stock_filter(ask)
            return stock_table(db.stock(c, f), f, None)
        case ReportName.EXPIRING:
            return expiring_table(db.expiring_lines(c, now, days), now, days)
        case ReportName.ADJUSTMENTS:
            moves = db.adjustments(c, first, now)
            return adjustments_table(moves, AdjustmentsBy.REASON, first, now)
        case ReportName.AGE:
            return reports_flow.age(c, now)
        case ReportName.TURNOVER:
            return reports_flow.turnover_report(c, first, now, False)
        case ReportName.RECEIVING:
            return reports_flow.receiving(c, first, now)
        case ReportName.PICKS:
            return reports_flow.picks(c, first, now)
        case ReportName.HEALTH:
            return reports_flow.health_report(c, now)
        case ReportName.REPLENISHMENT:
            since = now - timedelta(days=DEFAULT_HISTORY)
            skus = sku_demand(c, since, DEFAULT_HISTORY)
            how = Forecasting(Method.SBA, authority.policy(c).service_level_percent)
            lines = replenishment(skus, how, False)
            return replenishment_table(lines, len(skus), how, since, now, False)


def shown(c: Connection, ask: ReportAsk, cancel: threading.Event) -> ReportShown:
    """A whole report for the screen (every report but stock is per SKU, receipt or operator:
    small), or why its filters were refused; `cancel` is checked before and between rows."""
    refused = refusal(c, ask)
    if refused is not None:
        return ReportShown(ask.name.value, (), (), refused=refused)
    if cancel.is_set():  # cancelled while it waited its turn on the runner
        return ReportShown(ask.name.value, (), (), cancelled=True)
    table = report(c, ask)
    rows = []
    for row in table.rows:
        if cancel.is_set():
            return ReportShown(table.title, table.columns, (), cancelled=True)
        rows.append(row)
    return ReportShown(table.title, table.columns, tuple(rows), table.notes)


def export(
    c: Connection, ask: ReportAsk, path: Path, progress: Progress, cancel: threading.Event
) -> ExportDone:
    """Write the report to `path` as CSV, row by row as the rows come; `progress` every 1000
    rows. Cancelled (the event set), or failed: the partial file is removed, so that no file
    half written is ever taken for the report."""
    refused = refusal(c, ask)
    if refused is not None:
        raise ValueError(refused)
    table = report(c, ask)
    if ask.name is ReportName.STOCK:
        total = db.stock_count(c, stock_filter(ask))
    else:
        rows = list(table.rows)
        table, total = ReportTable(table.title, table.columns, rows, table.notes), len(rows)
    if cancel.is_set():  # cancelled while it waited its turn on the runner
        return ExportDone(path, 0, cancelled=True)
    progress(0, total)

    def step(written: int) -> None:
        progress(written, total)
        if cancel.is_set():
            raise ExportCancelled

    try:
        written = write_csv(table, path, step)
    except ExportCancelled:
        closing = getattr(table.rows, "close", None)
        if callable(closing):
            closing()  # the rows' cursor, now rather than whenever it is collected
        path.unlink(missing_ok=True)
        return ExportDone(path, 0, cancelled=True)
    except BaseException:
        with suppress(OSError):
            path.unlink(missing_ok=True)
        raise
    progress(written, max(total, written))
    return ExportDone(path, written, cancelled=False)
