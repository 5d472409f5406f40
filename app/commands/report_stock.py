"""`perpetua report stock | trace | expiring | adjustments`: where the stock is (now or at a past
moment), where a lot went (a recall in one command), what expires, and what was adjusted. Each
is a ReportTable (app/domain/reports_stock.py) printed through report_output.emit, so --csv FILE
and --json work alike for all of them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click
from sqlalchemy import Connection

from app.adapters.db import count_planning
from app.adapters.db import holds as held_stock
from app.adapters.db import reports_stock as db
from app.adapters.db.catalogue_lookup import SqlCatalogue
from app.adapters.db.engine import READONLY
from app.commands.report_output import emit, output_options
from app.commands.report_output import iso_day as _day
from app.domain.barcodes import normalise_gtin
from app.domain.reports_stock import (
    AdjustmentsBy,
    StockFilter,
    adjustments_table,
    expiring_table,
    parse_moment,
    stock_table,
    trace_table,
)

if TYPE_CHECKING:
    from app.cli import Context

DEFAULT_DAYS = 30
"""The default period of `adjustments`, and the default horizon of `expiring`."""


@contextmanager
def _reading(obj: Context) -> Iterator[Connection]:
    """A read-only connection: on SQLite a report never takes the write lock stations wait on."""
    with obj.runtime() as rt, rt.engine.connect().execution_options(**{READONLY: True}) as c:
        yield c


def _today() -> date:
    return datetime.now(UTC).date()


def _moment(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = parse_moment(value)
    except ValueError as error:
        raise click.BadParameter(str(error), ctx, param) from None
    if moment > datetime.now(UTC):
        raise click.BadParameter(
            f"{value} is in the future: give a past moment, or leave --at out for the stock now",
            ctx,
            param,
        )
    return moment


# --- stock ------------------------------------------------------------------------------------


@click.command("stock")
@click.option("--sku", help="Only this SKU.")
@click.option("--gtin", help="Only the SKU of this GTIN (8, 12, 13 or 14 digits).")
@click.option("--lot", help="Only lots of this code.")
@click.option("--location", metavar="BIN", help="Only this location.")
@click.option("--zone", help="Only locations of this zone.")
@click.option(
    "--at",
    metavar="YYYY-MM-DDTHH:MM",
    callback=_moment,
    help="The stock as it was at this past moment, computed from the ledger: local time of "
    "this computer, unless it carries an offset (2026-11-30T18:00+01:00, or Z for UTC).",
)
@output_options
@click.pass_obj
def stock_report_command(
    obj: Context,
    sku: str | None,
    gtin: str | None,
    lot: str | None,
    location: str | None,
    zone: str | None,
    at: datetime | None,
    csv_file: Path | None,
    as_json: bool,
) -> None:
    """Stock on hand, reserved and available per location, SKU and lot (real locations only),
    in pick-path order. With --at, as it was at that moment: the moves of every transaction the
    database recorded up to then (database clock), to minus from."""
    with _reading(obj) as c:
        if gtin is not None:
            sku = _gtin_sku(c, gtin, sku)
        filters = StockFilter(sku=sku, lot=lot, location=location, zone=zone)
        _check_filters(c, filters)
        emit(stock_table(db.stock(c, filters, at), filters, at), csv_file, as_json)


def _gtin_sku(c: Connection, gtin: str, sku: str | None) -> str:
    try:
        code = normalise_gtin(gtin)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--gtin") from None
    found = SqlCatalogue(c).gtin_sku(code)
    if found is None:
        raise click.ClickException(
            f"no SKU has the GTIN {code}: check the digits, or look the item up with "
            "`perpetua interpret CODE`"
        )
    if sku is not None and sku != found:
        raise click.ClickException(
            f"GTIN {code} is {found}, not {sku}: give --sku or --gtin, or both of one item"
        )
    return found


def _check_filters(c: Connection, f: StockFilter) -> None:
    """A filter that names nothing is a typing mistake: say so, rather than list no stock."""
    if f.sku is not None and not db.sku_exists(c, f.sku):
        raise click.ClickException(f"no SKU {f.sku} is known: check the code")
    if f.location is not None and not db.location_exists(c, f.location):
        raise click.ClickException(
            f"no location {f.location} is known (a real location: not VENDOR, CUSTOMER, "
            "ADJUSTMENT or SCRAP): check the code"
        )
    if f.zone is not None:
        known = count_planning.zones(c)
        if f.zone not in known:
            raise click.ClickException(
                f"no location is in zone {f.zone!r}; the zones are: {', '.join(known) or '(none)'}"
            )
    if f.lot is not None:
        _check_lot(c, f.lot, f.sku)


def _check_lot(c: Connection, lot: str, sku: str | None) -> list[str]:
    """The SKUs that have lot `lot` (only `sku`, when given); refused when there are none."""
    owners = held_stock.lot_skus(c, lot) if lot else []
    if not owners:
        raise click.ClickException(f"no lot {lot} is known, of any SKU: check the lot code")
    if sku is None:
        return owners
    if sku not in owners:
        raise click.ClickException(
            f"{sku} has no lot {lot}; that lot code belongs to {', '.join(owners)}"
        )
    return [sku]


# --- trace ------------------------------------------------------------------------------------


@click.command("trace")
@click.argument("lot")
@click.option("--sku", help="Only this SKU's lot (when several SKUs use the same lot code).")
@output_options
@click.pass_obj
def trace_report_command(
    obj: Context, lot: str, sku: str | None, csv_file: Path | None, as_json: bool
) -> None:
    """Every move of lot LOT from receipt to customer, in ledger order: when (station clock),
    what kind of transaction, from, to, how many, who, at which station, and the receipt or
    order. Then where the lot stands now and how much went to which customer order: a recall
    in one command."""
    with _reading(obj) as c:
        if sku is not None and not db.sku_exists(c, sku):
            raise click.ClickException(f"no SKU {sku} is known: check the code")
        skus = _check_lot(c, lot, sku)
        report = trace_table(lot, skus, db.trace(c, lot, sku))
    emit(report, csv_file, as_json)


# --- expiring ---------------------------------------------------------------------------------


@click.command("expiring")
@click.option(
    "--days",
    type=click.IntRange(min=0),
    default=DEFAULT_DAYS,
    show_default=True,
    help="Lots that expire within N days (and those expired already).",
)
@output_options
@click.pass_obj
def expiring_report_command(obj: Context, days: int, csv_file: Path | None, as_json: bool) -> None:
    """Lots in stock (real locations) that are expired today (UTC) or expire within --days, per
    location, soonest first, with the days left and whether they are held. Lots with fewer days
    left than their SKU's min_shelf_days are listed too (state short): the same list as
    `perpetua expired`, for a supervisor, with CSV and JSON."""
    today = _today()
    with _reading(obj) as c:
        lines = db.expiring_lines(c, today, days)
    emit(expiring_table(lines, today, days), csv_file, as_json)


# --- adjustments ------------------------------------------------------------------------------


@click.command("adjustments")
@click.option(
    "--from",
    "start",
    metavar="YYYY-MM-DD",
    callback=_day,
    help="First day, UTC (default: 30 days long).",
)
@click.option(
    "--to", "end", metavar="YYYY-MM-DD", callback=_day, help="Last day, UTC (default: today)."
)
@click.option(
    "--by",
    type=click.Choice([b.value for b in AdjustmentsBy]),
    default=AdjustmentsBy.REASON.value,
    show_default=True,
    help="One row per reason code, or per operator.",
)
@output_options
@click.pass_obj
def adjustments_report_command(
    obj: Context,
    start: date | None,
    end: date | None,
    by: str,
    csv_file: Path | None,
    as_json: bool,
) -> None:
    """Stock adjustments (gains and losses against ADJUSTMENT) per reason code or per operator:
    transactions, units in and out, net, and their value at the SKUs' unit values. The period is
    --from .. --to (UTC days of the station clock, both included): without --to it ends today,
    without --from it is 30 days long."""
    if end is None:
        end = _today()
    if start is None:
        start = end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise click.ClickException(
            f"--from {start} is after --to {end}: give the first day of the period first"
        )
    with _reading(obj) as c:
        moves = db.adjustments(c, start, end)
    emit(adjustments_table(moves, AdjustmentsBy(by), start, end), csv_file, as_json)
