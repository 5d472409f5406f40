"""What the supervisor's Reports tab asks for and gets back (README "Reports on the supervisor's
screen"): a report by name with its few filters, stock on hand a page at a time by keyset, and
how a CSV export ended. Plain frozen values: they cross from the query runner's thread to the
screen's (STYLE.md rule 7)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from app.domain.report_table import Column, Value


class ReportName(StrEnum):
    """The reports the screen offers, named as `perpetua report NAME` names them."""

    STOCK = "stock"
    EXPIRING = "expiring"
    ADJUSTMENTS = "adjustments"
    AGE = "age"
    TURNOVER = "turnover"
    RECEIVING = "receiving"
    PICKS = "picks"
    HEALTH = "health"
    REPLENISHMENT = "replenishment"


class Filter(StrEnum):
    SKU = "sku"
    LOCATION = "location"
    ZONE = "zone"
    DAYS = "days"


FILTERS: dict[ReportName, tuple[Filter, ...]] = {
    ReportName.STOCK: (Filter.SKU, Filter.LOCATION, Filter.ZONE),
    ReportName.EXPIRING: (Filter.DAYS,),
    ReportName.ADJUSTMENTS: (Filter.DAYS,),
    ReportName.AGE: (),
    ReportName.TURNOVER: (Filter.DAYS,),
    ReportName.RECEIVING: (Filter.DAYS,),
    ReportName.PICKS: (Filter.DAYS,),
    ReportName.HEALTH: (),
    ReportName.REPLENISHMENT: (),
}
"""The filters each report takes on the screen: few on purpose (the command line has them all).
Days is the horizon of `expiring` and, for the others, the period ending today."""

DEFAULT_DAYS: dict[ReportName, int] = {
    ReportName.EXPIRING: 30,
    ReportName.ADJUSTMENTS: 30,
    ReportName.TURNOVER: 90,
    ReportName.RECEIVING: 90,
    ReportName.PICKS: 90,
}
"""The days a report starts with, as its command's default."""


@dataclass(frozen=True, slots=True)
class ReportAsk:
    """One report with its filters (None: any; only the report's FILTERS are read)."""

    name: ReportName
    sku: str | None = None
    location: str | None = None
    zone: str | None = None
    days: int | None = None

    def days_or_default(self) -> int:
        return self.days if self.days is not None else DEFAULT_DAYS.get(self.name, 0)


@dataclass(frozen=True, slots=True, order=True)
class StockKey:
    """Where a page of stock on hand ended, in the report's own order: pick-path position, then
    location, SKU and lot code ("" for stock without a lot). The next page starts after it, so
    reading page n costs what reading page 1 does (no OFFSET to count past)."""

    pick_sequence: int
    location: str
    sku: str
    lot: str


@dataclass(frozen=True, slots=True)
class StockPage:
    """A page of stock on hand as report rows; `after` is the key to read on from (None: this
    was the last page). `refused` says why nothing was read (a filter that names nothing)."""

    columns: tuple[Column, ...]
    rows: tuple[tuple[Value, ...], ...]
    after: StockKey | None
    title: str = ""
    notes: tuple[str, ...] = ()
    refused: str | None = None


@dataclass(frozen=True, slots=True)
class ExportDone:
    """How a CSV export ended: `rows` written to `path`, or cancelled (the partial file removed)."""

    path: Path
    rows: int
    cancelled: bool


@dataclass(frozen=True, slots=True)
class ReportShown:
    """A whole report for the screen (all but stock, which comes in pages), or why not."""

    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Value, ...], ...]
    notes: tuple[str, ...] = ()
    refused: str | None = None
    cancelled: bool = False
    """The supervisor cancelled it before its rows were all read: `rows` is not the report."""
