"""`perpetua exceptions`: the supervisors' list of everything waiting on a person, and
`perpetua exceptions approve|reject ID`: a decision on one, with badge, PIN and a reason code
(README "A supervisor's day").

A decision is a ledger transaction (`Decide`) through the same service as a station's
(`app.services.ledger.submit`), so what it does, and who may do it, is the ledger's rule whoever
sends it. The PIN is asked hidden on the terminal, or taken from PERPETUA_PIN, never an argument
(`ps` shows arguments to everyone).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from app.adapters.db import exceptions as exception_book
from app.commands.common import make_command, report, station_of, supervisor_pin
from app.domain.commands import Decide
from app.domain.exceptions import (
    ADJUST_REASONS,
    DECISION_REASONS,
    RULES,
    Decision,
    ExceptionItem,
    ExceptionState,
    label,
    parse_label,
)
from app.services.holds import when
from app.services.ledger import submit

if TYPE_CHECKING:
    from app.cli import Context

REASON_CODES = sorted({*ADJUST_REASONS, *DECISION_REASONS, "inspected_ok"})
"""Every reason code some decision takes; which ones fit an exception is the ledger's rule
(app/domain/exceptions.RULES), checked there."""

COLUMNS = ("id", "kind", "what", "where", "who", "when", "action or decision")


@click.group("exceptions", invoke_without_command=True)
@click.option("--open", "open_only", is_flag=True, help="Only those still waiting on a person.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per exception.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="The newest N only.")
@click.pass_context
def exceptions_group(
    context: click.Context, open_only: bool, as_json: bool, limit: int | None
) -> None:
    """The exceptions list, newest first: count variances and recount disagreements, short
    picks, damaged receipts, receipts outside tolerance, overrides into a look-alike's bin,
    holds, and transactions refused after an outage. Each with what happened, where, who, when,
    and the action it needs (or how it was decided). Decide one with `perpetua exceptions
    approve ID` or `reject ID`."""
    if context.invoked_subcommand is not None:
        return
    obj: Context = context.obj
    with obj.runtime() as rt, rt.engine.connect() as c:
        items = exception_book.list_exceptions(c, open_only=open_only, limit=limit)
    if as_json:
        for item in items:
            click.echo(json.dumps(_as_json(item), ensure_ascii=False, default=str))
        return
    if not items:
        click.echo("(no open exceptions)" if open_only else "(no exceptions)")
        return
    cells = [_row(item) for item in items]
    widths = [max(len(k), *(len(row[i]) for row in cells)) for i, k in enumerate(COLUMNS)]
    click.echo("  ".join(k.ljust(w) for k, w in zip(COLUMNS, widths, strict=True)).rstrip())
    for row in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def _row(item: ExceptionItem) -> list[str]:
    where = item.where
    if item.sku:
        where = " ".join(p for p in (where, item.sku, f"lot {item.lot}" if item.lot else "") if p)
    who = f"{item.raised_by or '?'} at {item.station}" if item.station else item.raised_by or ""
    return [
        item.label,
        item.kind.value,
        item.what,
        where,
        who,
        when(item.raised_at),
        item.action if item.state is ExceptionState.OPEN else item.outcome,
    ]


def _as_json(item: ExceptionItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "label": item.label,
        "kind": item.kind.value,
        "state": item.state.value,
        "what": item.what,
        "location": item.location,
        "sku": item.sku,
        "lot": item.lot,
        "qty": item.qty,
        "raised_by": item.raised_by,
        "station": item.station,
        "raised_at": item.raised_at.isoformat(),
        "action": item.action,
        "decided_by": item.decided_by,
        "decided_at": item.decided_at.isoformat() if item.decided_at else None,
        "decision_reason": item.decision_reason,
    }


def _exception_id(_: click.Context, __: click.Parameter, value: str) -> int:
    try:
        return parse_label(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


def _decide(
    obj: Context,
    decision: Decision,
    exception_id: int,
    reason: str,
    badge: str,
    station: str | None,
    as_json: bool,
) -> None:
    at = station_of(obj, station)
    name = label(exception_id)
    with obj.runtime() as rt:
        # Checked before the PIN is asked: a typo in the number costs no attempt.
        with rt.engine.connect() as c:
            found = exception_book.exception(c, exception_id)
        if found is None:
            raise click.ClickException(
                f"{name} does not exist: see `perpetua exceptions --open` for the open ones. "
                "Nothing was done."
            )
        if found.state is not ExceptionState.OPEN:
            by = f" by {found.decided_by}" if found.decided_by else ""
            then = f" at {when(found.decided_at)}" if found.decided_at else ""
            raise click.ClickException(
                f"{name} was already {found.state.value}{by}{then}. Nothing was done."
            )
        rule = RULES[found.kind]
        if reason.lower() not in rule.reasons(decision):
            raise click.ClickException(
                f"{name} is a {found.kind.value.replace('_', ' ')}: to {decision.value} it, "
                f"give --reason {' or '.join(rule.reasons(decision))}. Nothing was done."
            )
        pin = supervisor_pin(badge)
        command = make_command(
            Decide,
            station=at,
            operator=badge,
            exception=exception_id,
            decision=decision.value,
            reason=reason.lower(),
            approved_by=badge,
            approver_pin=pin,
        )
        outcome = submit(command, rt.ledger)
    report(outcome, as_json)


def _decision_command(decision: Decision, does: str) -> click.Command:
    @click.command(decision.value, help=does)
    @click.argument("exception_id", metavar="ID", callback=_exception_id)
    @click.option(
        "--reason",
        required=True,
        type=click.Choice(REASON_CODES, case_sensitive=False),
        help="The reason code; which ones fit depends on the exception's kind.",
    )
    @click.option("--badge", required=True, help="Your supervisor's badge; the PIN is asked.")
    @click.option("--station", default=None, help="The station it is done at (default: config).")
    @click.option("--json", "as_json", is_flag=True, help="The outcome as one JSON object.")
    @click.pass_obj
    def decide(
        obj: Context,
        exception_id: int,
        reason: str,
        badge: str,
        station: str | None,
        as_json: bool,
    ) -> None:
        _decide(obj, decision, exception_id, reason, badge, station, as_json)

    return decide


exceptions_group.add_command(
    _decision_command(
        Decision.APPROVE,
        "Approve exception ID (12 or E-12) as supervisor --badge with their PIN (asked hidden, "
        "or from PERPETUA_PIN). A count: its variance is posted (--reason count, damaged, found, "
        "lost, expired or correction). A hold: it is lifted (--reason inspected_ok). Anything "
        "else: accepted as it is. Exit status 1 when refused.",
    )
)
exceptions_group.add_command(
    _decision_command(
        Decision.REJECT,
        "Reject exception ID (12 or E-12) as supervisor --badge with their PIN. A count: it is "
        "discarded and the bin counted again. A hold: it stays. Anything else: not accepted, and "
        "its bin is counted. --reason recount, checked_ok, vendor_error, operator_error, "
        "data_error or other. Exit status 1 when refused.",
    )
)
