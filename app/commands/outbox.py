"""`perpetua outbox status|drain|export --outbox FILE`: a station's queue from a terminal.

The outbox is the station's own SQLite file (DESIGN.md section 2). `status` says what waits in it
and for which database, without touching that database; `drain` sends it now through the same
drain loop the station runs (in order, with the same ids: what the ledger already has is answered
with its stored outcome), and never to a database the queue does not belong to; `export` writes
the queue as JSON lines for a supervisor to hand over when the station's database is gone for
good. Nothing ever leaves the queue except by the ledger's answer.
"""

from __future__ import annotations

import functools
import json
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import click

from app.adapters.db import migrate
from app.adapters.db.engine import make_engine
from app.adapters.db.link import Link
from app.adapters.db.uow import SqlLedger
from app.adapters.outbox import QUEUED, Outbox, WrongDatabase
from app.bootstrap import shown_url
from app.domain.ledger import Outcome
from app.services import ledger as ledger_service

if TYPE_CHECKING:
    from app.cli import Context


def _open(path: Path) -> Outbox:
    if not path.exists():
        raise click.ClickException(f"no outbox at {path}")
    return Outbox(path)


_OUTBOX = click.option(
    "--outbox",
    "path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The station's outbox file.",
)


@click.group("outbox")
def outbox_group() -> None:
    """A station's queue of transactions: what waits, send it now, hand it over."""


@outbox_group.command("status")
@_OUTBOX
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
def outbox_status(path: Path, as_json: bool) -> None:
    """What is queued: how many, since when, of which kinds, for which database."""
    with _open(path) as outbox:
        queued = outbox.entries(QUEUED)
        kinds = dict(Counter(e.kind for e in queued))
        report = {
            "outbox": str(path),
            "queued": len(queued),
            "oldest": outbox.oldest(),
            "kinds": kinds,
            "database_id": outbox.database_id,
            "database": outbox.database_url,
            "exceptions": len(outbox.exceptions()),
        }
    if as_json:
        click.echo(json.dumps(report, sort_keys=True))
        return
    click.echo(f"outbox:     {path}")
    click.echo(f"queued:     {report['queued']}")
    if queued:
        listed = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
        click.echo(f"oldest:     {report['oldest']} UTC")
        click.echo(f"kinds:      {listed}")
    owner = report["database_id"] or "not yet bound (never reached a database)"
    click.echo(f"database:   {owner} {report['database']}".rstrip())
    click.echo(f"exceptions: {report['exceptions']} refused after an outage, not acknowledged")


@outbox_group.command("drain")
@_OUTBOX
@click.pass_obj
def outbox_drain(obj: Context, path: Path) -> None:
    """Send the queue now, in order, to the configured database (only if it is the queue's)."""
    settings = obj.settings()
    with _open(path) as outbox:
        depth = outbox.depth()
        if depth == 0:
            click.echo("nothing queued")
            return
        engine = make_engine(settings.database_url, password=settings.database_password)
        link = Link(engine)
        try:
            if not link.check(timeout_s=5.0):
                raise click.ClickException(
                    f"the database is out of reach; {depth} transaction(s) stay queued"
                )
            seen = link.seen
            head = migrate.head_revision(engine)
            if seen.revision != head or seen.database_id is None:
                raise click.ClickException(
                    f"the database schema is {seen.revision}, this program needs {head}: "
                    "run `perpetua db upgrade`"
                )
            try:
                outbox.bind(seen.database_id, shown_url(settings.database_url))
            except WrongDatabase as error:
                raise click.ClickException(str(error)) from None
            submit = functools.partial(ledger_service.submit, stow=settings.stow)

            def show(_command: object, outcome: Outcome) -> None:
                state = "confirmed" if outcome.ok else "REFUSED"
                click.echo(f"{outcome.tx_id}  {outcome.kind:<13} {state}  {outcome.message}")

            report = outbox.drain(SqlLedger(engine), submit, show)
        finally:
            link.stop()
            engine.dispose()
        click.echo(f"sent {report.sent}, {report.remaining} still queued")
        if report.stopped:
            sys.exit(1)


@outbox_group.command("export")
@_OUTBOX
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def outbox_export(path: Path, file: Path) -> None:
    """Write the queued transactions to FILE as JSON lines (they stay queued)."""
    with _open(path) as outbox:
        written = outbox.export(file)
        owner = outbox.database_id or "no database yet"
    click.echo(f"{written} queued transaction(s) for database {owner} written to {file}")
