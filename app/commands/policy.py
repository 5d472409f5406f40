"""`perpetua policy show|set` and `perpetua operator(s) set-pin`: the warehouse's rules and PINs,
kept in the database (README "Securing a warehouse").

A policy change is a ledger transaction (`SetPolicy`) made by a supervisor with their own PIN,
verified by the database; it is recorded with who made it and when. Setting a PIN is an
administrator's task on the database (the stations' role cannot read or write PINs).
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from typing import TYPE_CHECKING

import click
from sqlalchemy import select

from app.adapters import pins
from app.adapters.db import authority
from app.adapters.db.schema import OperatorRow, WarehousePolicyRow, table
from app.commands.common import PIN_ENV, read_secret, supervisor_pin
from app.domain.commands import SetPolicy
from app.domain.errors import Rejection
from app.domain.policy import KEYS, PolicyError, parse
from app.domain.rules import pin_problem
from app.services.ledger import submit

if TYPE_CHECKING:
    from app.cli import Context


@click.group("policy")
def policy_group() -> None:
    """The warehouse policy: tolerances, approval thresholds, PIN rules, claim time."""


@policy_group.command("show")
@click.option("--json", "as_json", is_flag=True, help="One JSON object of key: value.")
@click.pass_obj
def policy_show(obj: Context, as_json: bool) -> None:
    """Print every policy key, its value, and who set it last."""
    p, o = table(WarehousePolicyRow), table(OperatorRow)
    with obj.runtime() as rt, rt.engine.connect() as c:
        rules = authority.policy(c)
        who = {
            r.key: (r.badge, r.updated_at)
            for r in c.execute(
                select(p.c.key, o.c.badge, p.c.updated_at).join(
                    o, o.c.id == p.c.updated_by_id, isouter=True
                )
            )
        }
    values = rules.values()
    if as_json:
        click.echo(json.dumps(values))
        return
    for key in KEYS:
        badge, when = who.get(key.name, (None, None))
        by = f"  (set by {badge} at {when:%Y-%m-%d %H:%M})" if badge and when else ""
        click.echo(f"{key.name:<22} {values[key.name]:>8}  {key.meaning}{by}")


@policy_group.command("set")
@click.argument("key")
@click.argument("value")
@click.option("--badge", required=True, help="Your supervisor's badge; the PIN is asked.")
@click.option("--station", default=None, help="The station it is done at (default: config).")
@click.pass_obj
def policy_set(obj: Context, key: str, value: str, badge: str, station: str | None) -> None:
    """Set policy KEY to VALUE (a whole number), as supervisor --badge with their PIN.
    Stations apply it at the next login or mode change. Exit status 1 when refused."""
    try:
        number = parse(key, value)
    except PolicyError as error:
        raise click.ClickException(f"{error}. Nothing was changed.") from None
    settings = obj.settings()
    station = station or settings.station
    if station is None:
        raise click.ClickException("no station to do it at: pass --station CODE")
    pin = supervisor_pin(badge)
    try:
        command = SetPolicy(
            tx_id=uuid.uuid4(),
            station=station,
            operator=badge,
            key=key,
            value=number,
            approver_pin=pin,
        )
    except Rejection as refused:
        raise click.ClickException(refused.message) from None
    with obj.runtime() as rt:
        outcome = submit(command, rt.ledger)
    if not outcome.ok:
        click.echo(f"refused: {outcome.message}", err=True)
        sys.exit(1)
    click.echo(outcome.message)


@click.group("operators")
def operators_group() -> None:
    """Operators' PINs (an administrator's task on the database)."""


@click.group("operator")
def operator_group() -> None:
    """An operator's PIN (the same as `perpetua operators`)."""


@click.command("set-pin")
@click.argument("badge")
@click.option(
    "--by", metavar="BADGE", help="Your operator badge, for the audit (default: the OS user)."
)
@click.pass_obj
def operators_set_pin(obj: Context, badge: str, by: str | None) -> None:
    """Set the PIN of BADGE: asked twice at a hidden prompt, or read from PERPETUA_PIN or one
    line of standard input (never an argument). Digits 0-9 only, at least the policy's
    pin_min_digits. Clears the badge's wrong attempts and lockout; recorded in the audit."""
    from app.adapters.db import master_data as master_db
    from app.commands.masterdata import os_user
    from app.domain.master_data import MasterDataRefused

    o = table(OperatorRow)
    with obj.runtime() as rt:
        with rt.engine.connect() as c:
            found = c.execute(select(o.c.id).where(o.c.badge == badge)).first()
            least = authority.policy(c).pin_min_digits
            try:
                master_db.actor(c, by, os_user())
            except MasterDataRefused as refused:
                raise click.ClickException(refused.message) from None
        if found is None:
            raise click.ClickException(
                f"no operator has the badge {badge}; check the badge (codes are exact). "
                "Nothing was changed."
            )
        # Asked and made into verifiers before the write: on SQLite a write transaction holds
        # every station, and neither a person typing nor the slow verifier should.
        pin = os.environ.get(PIN_ENV) or read_secret(f"new PIN for {badge}", confirm=True)
        problem = pin_problem(pin, least)
        if problem:
            raise click.ClickException(f"{problem}; nothing was changed")
        prepared = pins.prepare(pin, least)
        try:
            with rt.engine.begin() as c:
                who = master_db.actor(c, by, os_user())
                authority.set_pins(c, {found.id: prepared})
                master_db.pin_set(c, badge, who)
        except MasterDataRefused as refused:
            raise click.ClickException(refused.message) from None
    click.echo(f"PIN of {badge} set; stations learn it at their next refresh.")


operators_group.add_command(operators_set_pin)
operator_group.add_command(operators_set_pin)
