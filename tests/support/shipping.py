"""Orders brought to the ship station's door: picked through the ledger as a picker's station
would (TakeList, PostPick per reservation, ReleaseList FINISHED), and read back as
`perpetua orders` and `perpetua stock` show them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.adapters.db import queries
from app.adapters.db.schema import OrderRow, table
from app.domain.commands import PostPick, ReleaseHow, ReleaseList, TakeList
from tests.support.warehouse import Warehouse

PICKER = {"station": "ST-2", "operator": "P1"}


def pick_order(
    wh: Warehouse, order: str, into: str = "OUT-1", short: dict[int, int] | None = None
) -> None:
    """Pick `order` whole into `into` as P1 at ST-2; `short`: line -> units left unpicked."""
    short = dict(short or {})
    taken = wh.run(TakeList, order=order, **PICKER)
    assert taken.ok, taken.message
    for line in taken.result["lines"]:
        for reservation in line["reservations"]:
            missing = min(short.get(line["line"], 0), reservation["qty"])
            short[line["line"]] = short.get(line["line"], 0) - missing
            posted = wh.run(
                PostPick,
                reservation=reservation["reservation"],
                qty=reservation["qty"] - missing,
                to_location=into,
                short_reason="lost" if missing else None,
                **PICKER,
            )
            assert posted.ok, posted.message
    released = wh.run(ReleaseList, order=order, how=ReleaseHow.FINISHED, **PICKER)
    assert released.ok, released.message
    assert order_status(wh, order) == "picked", released.message


def order_status(wh: Warehouse, order: str) -> str:
    o = table(OrderRow)
    with wh.engine.connect() as c:
        return str(c.execute(select(o.c.status).where(o.c.code == order)).scalar_one())


def stock_at(wh: Warehouse, location: str) -> list[dict[str, Any]]:
    """What `perpetua stock --location` lists for a location (nothing: it is empty)."""
    with wh.engine.connect() as c:
        return queries.stock(c, location=location)
