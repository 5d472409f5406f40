"""`perpetua counts plan|list|assign`: the supervisor's cycle counts from a terminal (README "A
supervisor's day").

Planning and assigning are ledger transactions through the same service as the supervisor's
screen (`app.services.ledger.submit`): the ledger checks the badge's role (a supervisor's) and
applies the plan once per transaction id. No PIN: nothing of either moves stock. The list is a
read (app/adapters/db/count_planning.count_tasks, as the screen shows it).
"""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from typing import TYPE_CHECKING

import click

from app.adapters.db.count_planning import count_tasks
from app.commands.common import make_command, report, station_of
from app.domain.commands import AssignCount, PlanCounts
from app.services.ledger import submit

if TYPE_CHECKING:
    from app.cli import Context


def _day(text: str | None) -> date:
    if text is None:
        return date.today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not a date YYYY-MM-DD", param_hint="--date"
        ) from None


def _columns(rows: list[list[str]], header: list[str]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    click.echo("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip())
    for row in rows:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


@click.group("counts")
def counts_group() -> None:
    """Cycle counts: plan the day's counts, list the tasks, assign them to counters."""


@counts_group.command("plan")
@click.option("--date", "day", metavar="YYYY-MM-DD", help="The day to plan (default: today).")
@click.option("--zone", default=None, help="Only the bins of this zone (default: every zone).")
@click.option("--badge", required=True, help="Your supervisor's badge.")
@click.option("--station", default=None, help="The station it is done at (default: config).")
@click.option("--json", "as_json", is_flag=True, help="The outcome, with the plan, as JSON.")
@click.pass_obj
def plan_command(
    obj: Context, day: str | None, zone: str | None, badge: str, station: str | None, as_json: bool
) -> None:
    """Plan the day's cycle counts and print what was planned and why: bins where something
    happened (a short pick, a bin emptied, a negative adjustment, a refusal after an outage),
    bins due by their ABC class, and a random sample. Planning a day again plans only what is
    new. Exit status 1 when refused."""
    at = station_of(obj, station)
    command = make_command(PlanCounts, station=at, operator=badge, day=_day(day), zone=zone)
    with obj.runtime() as rt:
        outcome = submit(command, rt.ledger)
    if as_json or not outcome.ok:
        report(outcome, as_json)
        return
    plan = outcome.result
    click.echo(outcome.message)
    sizes = plan.get("bins_by_class") or {}
    if sizes:
        click.echo("bins by class: " + ", ".join(f"{k} {v}" for k, v in sizes.items()))
    planned = plan.get("planned") or []
    if planned:
        click.echo("")
        rows = [
            [p["location"], p["zone"] or "-", p["abc"], p["origin"], p["reason"]] for p in planned
        ]
        _columns(rows, ["location", "zone", "class", "from", "why"])
    already = plan.get("already_open") or []
    if already:
        click.echo("")
        click.echo("already open (not planned again):")
        for p in already:
            click.echo(f"  {p['location']}  {p['reason']}")


@counts_group.command("list")
@click.option("--all", "everything", is_flag=True, help="Finished tasks too.")
@click.option("--zone", default=None, help="Only the bins of this zone.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most N tasks.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per task.")
@click.pass_obj
def list_command(
    obj: Context, everything: bool, zone: str | None, limit: int | None, as_json: bool
) -> None:
    """Count tasks in pick-path order, unfinished ones (with --all, every one): the bin, its
    zone, the task's state, why it exists, where it came from (event, counter, plan, sample),
    the bin's class, who may count it, and the day it was planned for."""
    with obj.runtime() as rt, rt.engine.connect() as c:
        tasks = count_tasks(c, zone=zone, open_only=not everything, limit=limit)
    if as_json:
        for t in tasks:
            click.echo(json.dumps(dataclasses.asdict(t), ensure_ascii=False, default=str))
        return
    if not tasks:
        click.echo("(no count tasks)" if everything else "(no open count tasks)")
        return
    rows = [
        [
            t.location,
            t.location_zone or "-",
            t.state,
            t.origin,
            t.abc or "-",
            t.assignee,
            t.planned_for.isoformat() if t.planned_for else "-",
            t.reason,
        ]
        for t in tasks
    ]
    _columns(rows, ["location", "zone", "state", "from", "class", "assigned", "planned", "why"])


@counts_group.command("assign")
@click.argument("locations", nargs=-1, required=True)
@click.option("--to", "to", default=None, metavar="BADGE", help="Assign to this counter.")
@click.option("--zone", default=None, help="Assign to the counters of this zone.")
@click.option("--anyone", is_flag=True, help="Assign to anyone (undo an assignment).")
@click.option("--badge", required=True, help="Your supervisor's badge.")
@click.option("--station", default=None, help="The station it is done at (default: config).")
@click.option("--json", "as_json", is_flag=True, help="The outcome as one JSON object.")
@click.pass_obj
def assign_command(
    obj: Context,
    locations: tuple[str, ...],
    to: str | None,
    zone: str | None,
    anyone: bool,
    badge: str,
    station: str | None,
    as_json: bool,
) -> None:
    """Assign the unfinished count tasks of LOCATIONS to a counter (--to BADGE), to the
    counters of a zone (--zone Z), or to anyone (--anyone). Exit status 1 when refused."""
    if sum((to is not None, zone is not None, anyone)) != 1:
        raise click.UsageError("say whom to assign to: one of --to BADGE, --zone Z or --anyone")
    at = station_of(obj, station)
    command = make_command(
        AssignCount, station=at, operator=badge, locations=locations, to=to, zone=zone
    )
    with obj.runtime() as rt:
        outcome = submit(command, rt.ledger)
    report(outcome, as_json)
