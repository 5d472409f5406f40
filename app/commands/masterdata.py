"""`perpetua deactivate|activate operator|location|sku CODE` and `perpetua audit`: master data
retired and brought back without SQL, and who changed what and when (issue 12, point 5).

An inactive operator, location or SKU stays in the ledger's history; the ledger refuses new
work with it (INACTIVE_OPERATOR, INACTIVE_LOCATION, INACTIVE_SKU). Each change is one
transaction with its audit row, naming the operator given with --by or the OS user.
"""

from __future__ import annotations

import getpass
import json
import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click

from app.adapters.db import master_data as master_db
from app.adapters.db import queries
from app.domain.import_rules import scan_forms
from app.domain.master_data import KIND_NAMES, MasterDataRefused, MasterKind

if TYPE_CHECKING:
    from app.cli import Context


def os_user() -> str:
    """The operating system's user running this command, for the audit."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a bare container)
        return f"uid {os.getuid()}"


BY_HELP = "Your operator badge, for the audit (default: the OS user)."


def _set_active(
    obj: Context, kind: str, code: str, active: bool, by: str | None, force: bool
) -> None:
    with obj.runtime() as rt:
        try:
            with rt.engine.begin() as c:
                who = master_db.actor(c, by, os_user())
                done = master_db.set_active(c, KIND_NAMES[kind], code, active, who, force)
        except MasterDataRefused as refused:
            raise click.ClickException(refused.message) from None
    click.echo(done)


@click.command("deactivate")
@click.argument("kind", type=click.Choice(sorted(KIND_NAMES)))
@click.argument("code")
@click.option("--by", metavar="BADGE", help=BY_HELP)
@click.option(
    "--force",
    is_flag=True,
    help="SKUs only: deactivate one that has stock, open orders or expected receipts; all of "
    "it is frozen until the SKU is activated again.",
)
@click.pass_obj
def deactivate_command(obj: Context, kind: str, code: str, by: str | None, force: bool) -> None:
    """Retire an operator (badge), location or SKU: kept in history, refused for new work.

    A location must be empty and no station's dock; the last active supervisor stays. An
    operator logged in at a station is logged out there at their next scan."""
    if force and kind != "sku":
        raise click.ClickException(
            f"--force is for SKUs only: a {kind} is never deactivated by force. Nothing was "
            "changed."
        )
    _set_active(obj, kind, code, False, by, force)


@click.command("activate")
@click.argument("kind", type=click.Choice(sorted(KIND_NAMES)))
@click.argument("code")
@click.option("--by", metavar="BADGE", help=BY_HELP)
@click.pass_obj
def activate_command(obj: Context, kind: str, code: str, by: str | None) -> None:
    """Bring back an operator (badge), location or SKU that was deactivated."""
    _set_active(obj, kind, code, True, by, False)


def _since(value: str | None) -> datetime | None:
    """YYYY-MM-DD or YYYY-MM-DDTHH:MM in this computer's time zone, as UTC."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a date YYYY-MM-DD or a time YYYY-MM-DDTHH:MM", param_hint="--since"
        ) from None
    if moment.tzinfo is None:
        moment = moment.astimezone()  # the administrator's local time
    return moment.astimezone(UTC)


def _local(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _changes_text(changes: dict[str, Any]) -> str:
    def shown(value: Any) -> str:
        if value is None or value == []:
            return "-"
        if isinstance(value, list):
            return "|".join(str(v) for v in value)
        return str(value)

    return "; ".join(f"{name} {shown(old)} -> {shown(new)}" for name, (old, new) in changes.items())


@click.command("audit")
@click.option(
    "--since", metavar="YYYY-MM-DD[THH:MM]", help="Only changes from then on (local time)."
)
@click.option("--kind", type=click.Choice([k.value for k in MasterKind]), help="Only this kind.")
@click.option(
    "--code", help="Only changes of this code (a SKU, location, badge, station, barcode)."
)
@click.option("--limit", default=1000, show_default=True, help="The most recent N (0: all).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_obj
def audit_command(
    obj: Context, since: str | None, kind: str | None, code: str | None, limit: int, as_json: bool
) -> None:
    """Master-data changes: who added, changed, deactivated or activated what, and when; every
    PIN set (never the PIN). Times are this computer's local time (UTC in --json)."""
    start = _since(since)
    # A code that reads as a GTIN is stored as its 14 digits (a barcode) or as written (a
    # SKU code): each of its forms is looked for.
    forms = scan_forms(code) if code else (None,)
    with obj.runtime() as rt, rt.engine.connect() as c:
        rows = [r for form in forms for r in queries.audit(c, start, kind, form, limit or None)]
    if len(forms) > 1:
        rows.sort(key=lambda r: datetime.fromisoformat(r["at"]))
        rows = rows[-limit:] if limit else rows
    if as_json:
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False))
        return
    if not rows:
        click.echo("(none)")
        return
    table = [
        {
            "at": _local(r["at"]),
            "by": r["actor"] if r["actor_kind"] == "badge" else f"{r['actor']} (OS user)",
            "kind": r["kind"],
            "code": r["code"],
            "action": r["action"],
            "changes": _changes_text(r["changes"]),
        }
        for r in rows
    ]
    columns = ["at", "by", "kind", "code", "action", "changes"]
    widths = [max(len(col), *(len(str(t[col])) for t in table)) for col in columns[:-1]]
    click.echo("  ".join(c.ljust(w) for c, w in zip(columns, [*widths, 0], strict=True)).rstrip())
    for t in table:
        cells = [str(t[col]) for col in columns]
        click.echo("  ".join(v.ljust(w) for v, w in zip(cells, [*widths, 0], strict=True)).rstrip())
