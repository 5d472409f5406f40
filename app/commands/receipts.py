"""`perpetua receipts` and `perpetua receipt CODE`: expected receipts, what arrived against them,
and for a closed one who closed it, when, the supervisor who accepted a short close and the
discrepancy lines stored with it (the close is a ledger transaction: services/work_ledger.py).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from app.adapters.db import queries

if TYPE_CHECKING:
    from app.cli import Context

STATES = ("open", "closed")


def _local(iso: str | None) -> str | None:
    if iso is None:
        return None
    return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")


def _table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    if not rows:
        click.echo("(none)")
        return
    cells = [["" if r[c] is None else str(r[c]) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    click.echo("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for row in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


@click.command("receipts")
@click.option("--state", type=click.Choice(STATES), help="Only open or only closed receipts.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_obj
def receipts_command(obj: Context, state: str | None, as_json: bool) -> None:
    """Expected receipts: lines, units expected and received, and how each was closed."""
    with obj.runtime() as rt, rt.engine.connect() as c:
        rows = queries.receipts(c, state)
    if as_json:
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False))
        return
    shown = [{**r, "closed_at": _local(r["closed_at"])} for r in rows]
    _table(
        shown,
        [
            "receipt",
            "state",
            "lines",
            "expected",
            "received",
            "closed_at",
            "closed_by",
            "approved_by",
            "discrepancies",
        ],
    )


@click.command("receipt")
@click.argument("code")
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@click.pass_obj
def receipt_command(obj: Context, code: str, as_json: bool) -> None:
    """One receipt: its lines (with the lot and expiry expected), units received per SKU, and
    when closed: by whom, when, the approver and the discrepancy lines."""
    with obj.runtime() as rt, rt.engine.connect() as c:
        found = queries.receipt(c, code)
    if found is None:
        raise click.ClickException(
            f"no receipt has the code {code}; `perpetua receipts` lists them (codes are exact)"
        )
    if as_json:
        click.echo(json.dumps(found, ensure_ascii=False))
        return
    click.echo(
        f"receipt {found['receipt']}: {found['state']}, {found['lines']} lines, "
        f"{found['received']} of {found['expected']} units received"
    )
    click.echo("")
    _table(found["lines_detail"], ["line", "sku", "expected", "lot", "expiry"])
    click.echo("")
    _table(found["received_per_sku"], ["sku", "expected", "received"])
    if found["state"] != "closed":
        return
    click.echo("")
    approved = f", approved by {found['approved_by']}" if found["approved_by"] else ""
    click.echo(f"closed at {_local(found['closed_at'])} by {found['closed_by']}{approved}")
    if found["discrepancy_lines"]:
        click.echo("discrepancies:")
        _table(found["discrepancy_lines"], ["sku", "expected", "received"])
    else:
        click.echo("no discrepancies: everything arrived as expected")
