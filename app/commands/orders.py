"""`perpetua orders`, `perpetua ship` and `perpetua order cancel`: customer orders from the
command line, for a supervisor's terminal, an ERP or a carrier system.

`ship` and `order cancel` are ledger transactions through the same service as the station's
(`app.services.ledger.submit`), exactly once per transaction id: a call retried with the same
`--tx-id` gets the stored outcome back and changes nothing a second time.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from app.adapters.db import queries
from app.commands.common import report, supervisor_pin
from app.domain.commands import CancelOrder, OrderCommand, ShipOrder, utc_now
from app.domain.errors import Rejection
from app.domain.ledger import Outcome
from app.domain.orders import OrderState, clock
from app.services.ledger import submit

if TYPE_CHECKING:
    from app.bootstrap import Runtime
    from app.cli import Context

FIGURES = ("ordered", "reserved", "picked", "shipped", "short")


# --- orders -----------------------------------------------------------------------------------


@click.command("orders")
@click.option(
    "--state",
    type=click.Choice([s.value for s in OrderState]),
    help="Only orders in this state.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per order line.")
@click.pass_obj
def orders_command(obj: Context, state: str | None, as_json: bool) -> None:
    """Orders with their state, priority, due date and claim, and per line what was ordered,
    is still reserved, was picked, shipped and closed short. Highest priority first."""
    with obj.runtime() as rt, rt.engine.connect() as c:
        rows = queries.order_lines(c, state)
    if as_json:
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False))
        return
    if not rows:
        click.echo("(no orders)" if state is None else f"(no {state} orders)")
        return
    widths = {"line": 4, "sku": 3} | {f: len(f) for f in FIGURES}
    for row in rows:
        for key in widths:
            widths[key] = max(widths[key], len(str(row[key])))
    current = None
    for row in rows:
        if row["order"] != current:
            current = row["order"]
            if current != rows[0]["order"]:
                click.echo()
            click.echo(_order_head(row))
            click.echo("  " + "  ".join(k.ljust(w) for k, w in widths.items()).rstrip())
        click.echo("  " + "  ".join(str(row[k]).ljust(w) for k, w in widths.items()).rstrip())


def _order_head(row: dict[str, Any]) -> str:
    parts = [row["order"], row["state"]]
    if row["priority"]:
        parts.append(f"priority {row['priority']}")
    if row["due_date"]:
        parts.append(f"due {row['due_date']}")
    claim = row["claim"]
    if claim is not None:
        since = f" since {clock(datetime.fromisoformat(claim['since']))}" if claim["since"] else ""
        parts.append(
            f"being picked by {claim['name']} ({claim['badge']}) at {claim['station']}{since}"
        )
    return "  ".join(parts)


# --- ship and cancel --------------------------------------------------------------------------


def _envelope(command: Any) -> Any:
    """The options every order transaction from the command line takes."""
    options = [
        click.option(
            "--tx-id",
            type=click.UUID,
            default=None,
            help="This call's transaction id (default: a new one). Retry with the same id: "
            "the stored outcome comes back and nothing is done twice.",
        ),
        click.option(
            "--station",
            default=None,
            help="The station code it is done at (default: `station` in the config file).",
        ),
        click.option("--operator", required=True, help="The badge of who does it."),
        click.option(
            "--approved-by",
            default=None,
            metavar="BADGE",
            help="A supervisor's badge approving it; the PIN is read from the terminal "
            "(or one line of stdin).",
        ),
        click.option("--json", "as_json", is_flag=True, help="The outcome as one JSON object."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@click.command("ship")
@click.argument("order")
@click.option(
    "--reference", "carrier_reference", metavar="CARRIER-REF", help="The carrier's reference."
)
@_envelope
@click.pass_obj
def ship_command(
    obj: Context,
    order: str,
    carrier_reference: str | None,
    tx_id: uuid.UUID | None,
    station: str | None,
    operator: str,
    approved_by: str | None,
    as_json: bool,
) -> None:
    """Ship what is staged in the outbound lanes for a picked ORDER (outbound -> CUSTOMER) and
    mark it shipped. Lines short beyond the tolerance need --approved-by a supervisor.
    Exit status 1 when refused."""
    outcome = _submit(
        obj,
        ShipOrder,
        {"order": order, "carrier_reference": carrier_reference},
        tx_id,
        station,
        operator,
        approved_by,
    )
    report(outcome, as_json)


@click.group("order")
def order_group() -> None:
    """Act on one customer order."""


@order_group.command("cancel")
@click.argument("order")
@click.option("--reason", required=True, help="Why the order is cancelled.")
@_envelope
@click.pass_obj
def order_cancel(
    obj: Context,
    order: str,
    reason: str,
    tx_id: uuid.UUID | None,
    station: str | None,
    operator: str,
    approved_by: str | None,
    as_json: bool,
) -> None:
    """Cancel ORDER (not shipped): its open reservations go back to stock, and what was already
    picked is listed to be put back from the outbound lane. A supervisor cancels, or approves
    with --approved-by. Exit status 1 when refused."""
    outcome = _submit(
        obj, CancelOrder, {"order": order, "reason": reason}, tx_id, station, operator, approved_by
    )
    report(outcome, as_json)
    putaway = outcome.result.get("putaway") or []
    if outcome.ok and putaway and not as_json:
        click.echo("to put back to stock (the station's putaway screen offers them):")
        for item in putaway:
            lot = f" lot {item['lot']}" if item["lot"] else ""
            click.echo(f"  {item['qty']} x {item['sku']}{lot} from {item['location']}")


def _submit(
    obj: Context,
    cls: Callable[..., OrderCommand],
    fields: dict[str, Any],
    tx_id: uuid.UUID | None,
    station: str | None,
    operator: str,
    approved_by: str | None,
) -> Outcome:
    settings = obj.settings()
    station = station or settings.station
    if station is None:
        raise click.ClickException(
            "no station to do it at: pass --station CODE (or set `station` in the config file)"
        )
    tx = tx_id or uuid.uuid4()
    with obj.runtime() as rt:
        # The PIN goes with the command: the database verifies it in the same transaction.
        pin = supervisor_pin(approved_by) if approved_by is not None else None
        try:
            command = cls(
                tx_id=tx,
                station=station,
                operator=operator,
                station_time=_first_used_at(rt, tx) or utc_now(),
                approved_by=approved_by,
                approver_pin=pin,
                **fields,
            )
        except Rejection as refused:
            raise click.ClickException(refused.message) from None
        # The ship tolerance and claim idle time of the config file, as at the stations.
        return submit(command, rt.ledger)


def _first_used_at(rt: Runtime, tx_id: uuid.UUID) -> datetime | None:
    """The station time a retried transaction id was first sent with: a retry sends the same
    command again, so that the ledger recognises it and answers with the stored outcome."""
    with rt.engine.connect() as c:
        payload = queries.stored_payload(c, tx_id)
    if payload is None or not isinstance(payload.get("station_time"), str):
        return None
    return datetime.fromisoformat(payload["station_time"])
