"""The inventory-record accuracy of a period, read from the count tasks (app/domain/accuracy.py
says what it is): `perpetua report accuracy` and the supervisor's screen both call `accuracy`.

The period's counted locations are the count tasks whose first count (`first_counted_at`) falls
on one of its UTC days; each is read with its location's zone, and the SKUs named in its counts
with their ABC class (`sku_classes`) and unit value (`skus.unit_value_cents`). Reads only: on
SQLite give it a connection with the READONLY execution option (engine.READONLY), so that a report
does not take the write lock that stations wait on.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, select

from app.domain.accuracy import (
    NO_ZONE,
    AccuracyReport,
    CountedLocation,
    accuracy_report,
    location_class,
    variance_lines,
)
from app.domain.policy import WarehousePolicy
from app.domain.workflow import Holding

from . import authority
from .schema import CountTaskRow, LocationRow, SkuClassRow, SkuRow, table

_CT, _L, _S, _K = table(CountTaskRow), table(LocationRow), table(SkuRow), table(SkuClassRow)

SKU_CHUNK = 500
"""SKU codes per `IN (...)` question: well under SQLite's limit of bound parameters."""


def accuracy(
    c: Connection,
    start: date,
    end: date,
    zone: str | None = None,
    policy: WarehousePolicy | None = None,
) -> AccuracyReport:
    """The accuracy of the locations first counted from `start` to `end` (inclusive UTC dates),
    of zone `zone` only when given ("-": the locations without a zone), under the count
    tolerance of `policy` (read from the database when not given)."""
    if policy is None:
        policy = authority.policy(c)
    since = datetime.combine(start, time(), UTC)
    # The end of the last day (the last day there is: 9999-12-31 has no day after it).
    until = datetime.combine(
        min(end, date.max - timedelta(days=1)) + timedelta(days=1), time(), UTC
    )
    stmt = (
        select(
            _CT.c.first_counts,
            _CT.c.first_snapshot,
            _CT.c.first_counted_at,
            _CT.c.counts,
            _CT.c.snapshot,
            _CT.c.done_at,
            _L.c.zone,
        )
        .select_from(_CT.join(_L, _L.c.id == _CT.c.location_id))
        .where(_CT.c.first_counted_at >= since, _CT.c.first_counted_at < until)
        .order_by(_CT.c.first_counted_at, _CT.c.id)
    )
    if zone == NO_ZONE:
        stmt = stmt.where(_L.c.zone.is_(None))
    elif zone is not None:
        stmt = stmt.where(_L.c.zone == zone)
    rows = c.execute(stmt).all()
    skus = {line["sku"] for r in rows for lines in _lines_of(r) for line in lines}
    classes, values = _sku_facts(c, sorted(skus))
    counted = []
    for r in rows:
        first_counts, first_snapshot = _holdings(r.first_counts), _holdings(r.first_snapshot)
        done = r.done_at is not None
        counted.append(
            CountedLocation(
                day=r.first_counted_at.astimezone(UTC).date(),
                zone=r.zone,
                abc=location_class((h.sku for h in (*first_counts, *first_snapshot)), classes),
                first_counts=first_counts,
                first_snapshot=first_snapshot,
                variance=(
                    variance_lines(_holdings(r.snapshot), _holdings(r.counts), values)
                    if done
                    else None
                ),
            )
        )
    return accuracy_report(counted, policy.count, start, end, zone)


def _lines_of(r: Any) -> Iterable[list[dict[str, Any]]]:
    """The stored line lists of a task that the report reads."""
    lists = [r.first_counts, r.first_snapshot]
    if r.done_at is not None:
        lists += [r.counts, r.snapshot]
    return (lines or [] for lines in lists)


def _holdings(lines: list[dict[str, Any]] | None) -> tuple[Holding, ...]:
    return tuple(Holding(line["sku"], line.get("lot"), int(line["qty"])) for line in lines or ())


def _sku_facts(c: Connection, codes: Sequence[str]) -> tuple[dict[str, str], dict[str, int | None]]:
    """The ABC class (SKUs with a class only) and the unit value in cents (None: not known)
    of each SKU code in `codes`."""
    classes: dict[str, str] = {}
    values: dict[str, int | None] = {}
    for at in range(0, len(codes), SKU_CHUNK):
        stmt = (
            select(_S.c.code, _S.c.unit_value_cents, _K.c.abc)
            .select_from(_S.outerjoin(_K, _K.c.sku_id == _S.c.id))
            .where(_S.c.code.in_(codes[at : at + SKU_CHUNK]))
        )
        for code, value, abc in c.execute(stmt):
            values[code] = value
            if abc is not None:
                classes[code] = abc
    return classes, values
