"""`perpetua hold`, `perpetua release`, `perpetua holds` and `perpetua expired`: held and
expiring stock from a supervisor's terminal (README "Expiry, quarantine and holds").

A hold and a release are ledger transactions through the same service as the station's
(`app.services.ledger.submit`): the rules are the ledger's, whoever sends them. A release needs
the supervisor's PIN, verified by the database in the same transaction: asked on the terminal
(hidden), or taken from PERPETUA_PIN, never an argument (`ps` shows arguments to everyone).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click
from sqlalchemy import Connection

from app.adapters.db import holds as held_stock
from app.adapters.db.schema import LocationRow, table
from app.commands.common import make_command, report, station_of, supervisor_pin
from app.domain.commands import Hold, ReleaseHold, ReleaseReason
from app.services.holds import when
from app.services.ledger import submit

if TYPE_CHECKING:
    from app.cli import Context


def _is_location(c: Connection, code: str) -> bool:
    loc = table(LocationRow)
    return c.execute(loc.select().where(loc.c.code == code)).first() is not None


def _lot_target(c: Connection, lot: str, sku: str | None) -> str:
    """The SKU of lot code `lot` (given, or the only one that has such a lot)."""
    skus = held_stock.lot_skus(c, lot)
    if sku is not None:
        if sku not in skus:
            raise click.ClickException(
                f"{lot!r} is not a location, and {sku} has no lot {lot!r}"
                + (f" (lot {lot} is of {', '.join(skus)})" if skus else "")
                + ". Nothing was done."
            )
        return sku
    if not skus:
        raise click.ClickException(
            f"{lot!r} is neither a location nor a lot: check the code. Nothing was done."
        )
    if len(skus) > 1:
        raise click.ClickException(
            f"lot {lot} is a lot of {', '.join(skus)}: say which with --sku. Nothing was done."
        )
    return skus[0]


@click.command("hold")
@click.argument("target")
@click.option("--reason", required=True, help="What is wrong (kept with the hold).")
@click.option("--badge", required=True, help="Your badge: who puts it on hold.")
@click.option("--station", default=None, help="The station it is done at (default: config).")
@click.option("--sku", default=None, help="The item of lot TARGET (when several have it).")
@click.option("--json", "as_json", is_flag=True, help="The outcome as one JSON object.")
@click.pass_obj
def hold_command(
    obj: Context,
    target: str,
    reason: str,
    badge: str,
    station: str | None,
    sku: str | None,
    as_json: bool,
) -> None:
    """Put TARGET on hold: a location code, else a lot code (with --sku when several items have
    such a lot; --sku always means TARGET is a lot). Nothing of it is picked, moved or shipped
    until a supervisor releases it. Exit status 1 when refused."""
    at = station_of(obj, station)
    with obj.runtime() as rt:
        with rt.engine.connect() as c:
            if sku is None and _is_location(c, target):
                fields: dict[str, Any] = {"location": target}
            else:
                fields = {"lot": target, "sku": _lot_target(c, target, sku)}
        command = make_command(Hold, station=at, operator=badge, reason=reason, **fields)
        outcome = submit(command, rt.ledger)
    report(outcome, as_json)


@click.command("release")
@click.argument("target")
@click.option(
    "--reason",
    required=True,
    type=click.Choice([r.value for r in ReleaseReason]),
    help="inspected_ok lifts a hold or moves goods --to a location; returned_to_vendor and "
    "scrapped take --qty out of stock.",
)
@click.option("--badge", required=True, help="Your supervisor's badge; the PIN is asked.")
@click.option("--station", default=None, help="The station it is done at (default: config).")
@click.option("--sku", default=None, help="The item: of the goods to release, or of lot TARGET.")
@click.option("--qty", type=click.IntRange(min=1), default=None, help="Units to move out.")
@click.option("--to", "to_location", default=None, help="Where goods inspected ok go.")
@click.option("--lot", default=None, help="The lot of the goods to move out.")
@click.option("--json", "as_json", is_flag=True, help="The outcome as one JSON object.")
@click.pass_obj
def release_command(
    obj: Context,
    target: str,
    reason: str,
    badge: str,
    station: str | None,
    sku: str | None,
    qty: int | None,
    to_location: str | None,
    lot: str | None,
    as_json: bool,
) -> None:
    """Release held stock, as supervisor --badge with their PIN (asked hidden, or from
    PERPETUA_PIN). Without --qty: lift the hold on TARGET, a location or a lot (reason
    inspected_ok). With --sku and --qty: move that stock out of location TARGET (a quarantine
    or held location): inspected_ok --to a location, returned_to_vendor or scrapped out of
    stock. Exit status 1 when refused."""
    at = station_of(obj, station)
    with obj.runtime() as rt:
        fields: dict[str, Any] = {"reason": ReleaseReason(reason), "to_location": to_location}
        if qty is not None:
            if sku is None:
                raise click.ClickException("a release by --qty names the item: give --sku")
            fields |= {"location": target, "sku": sku, "qty": qty, "lot": lot}
        else:
            if to_location is not None or lot is not None:
                raise click.ClickException(
                    "--to and --lot go with --sku and --qty (moving goods out); without --qty "
                    "the hold on TARGET is lifted"
                )
            with rt.engine.connect() as c:
                if sku is None and _is_location(c, target):
                    fields["location"] = target
                else:
                    fields |= {"lot": target, "sku": _lot_target(c, target, sku)}
        # Asked after every check that needs no PIN: a typo costs no attempt.
        pin = supervisor_pin(badge)
        command = make_command(
            ReleaseHold,
            station=at,
            operator=badge,
            approved_by=badge,
            approver_pin=pin,
            **fields,
        )
        outcome = submit(command, rt.ledger)
    report(outcome, as_json)


@click.command("holds")
@click.option("--all", "everything", is_flag=True, help="Released holds too, with who and why.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per hold.")
@click.pass_obj
def holds_command(obj: Context, everything: bool, as_json: bool) -> None:
    """Held stock: quarantine locations holding goods, then the holds on locations and lots,
    each with the stock it holds now."""
    with obj.runtime() as rt, rt.engine.connect() as c:
        rows = held_stock.holds_report(c, include_released=everything)
    if as_json:
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False, default=str))
        return
    if not rows:
        click.echo("(no holds)")
        return
    for row in rows:
        click.echo(_hold_line(row))
        for s in row["stock"]:
            lot = f" lot {s['lot']}" if s["lot"] else ""
            where = f" in {s['location']}" if row["kind"] == "lot" else ""
            click.echo(f"    {s['on_hand']} x {s['sku']}{lot}{where}")


def _hold_line(row: dict[str, Any]) -> str:
    if row["kind"] == "quarantine":
        return f"{row['target']}  quarantine location: its goods are held"
    what = row["target"] if row["kind"] == "location" else f"lot {row['target']} of {row['sku']}"
    placed = when(datetime.fromisoformat(row["placed_at"]))
    text = f"{what}  on hold since {placed} by {row['placed_by']}: {row['reason']}"
    if not row["active"]:
        released = when(datetime.fromisoformat(row["released_at"]))
        text += (
            f"  [released {released} by {row['released_by']}, "
            f"{row['release_reason'].replace('_', ' ')}]"
        )
    elif not row["stock"]:
        text += "  (holds no stock now)"
    return text


@click.command("expired")
@click.option(
    "--days",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Also lots that expire within N days.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per lot and location.")
@click.pass_obj
def expired_command(obj: Context, days: int, as_json: bool) -> None:
    """Lots in stock that are expired, have less shelf life left than their item's minimum
    (min_shelf_days), or expire within --days: where, how many, days left, and whether they
    are held. Soonest first. Allocation never reserves the first two kinds."""
    today = datetime.now(UTC).date()
    with obj.runtime() as rt, rt.engine.connect() as c:
        rows = held_stock.expiring_stock(c, today, days)
    if as_json:
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False, default=str))
        return
    if not rows:
        within = f" or expiring within {days} days" if days else ""
        click.echo(f"(no expired or short-dated lots{within} in stock on {today.isoformat()})")
        return
    columns = ["location", "sku", "lot", "expiry", "on_hand", "days_left", "state", "held"]
    cells = [["" if r[k] is None else str(r[k]) for k in columns] for r in rows]
    widths = [max(len(k), *(len(line[i]) for line in cells)) for i, k in enumerate(columns)]
    click.echo("  ".join(k.ljust(w) for k, w in zip(columns, widths, strict=True)).rstrip())
    for line in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip())
