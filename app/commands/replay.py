"""`perpetua replay`: a batch-mode scanner's stored scans, fed through the station's own state
machines (DESIGN.md section 5), exactly as if they had been scanned at the station.

One JSON object per input line on stdout: the line number, what was scanned, the scan's fate, the
prompt the station would show next, the feedback, and the transactions with their state. Every
transaction goes through the station's outbox, like at the station, and reads go to the station's
replica: a replay works while the database is out of reach exactly as the window does (what may
wait is queued, the rest refused in one sentence), and the next replay, the station itself or
`perpetua outbox drain` sends the queue.

A line starting with `@KEY:` is keypad text (a quantity or a PIN), not a scan. Blank lines are
skipped. GS may be written as the byte 0x1D or as `<GS>` / `{GS}`.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from app.bootstrap import SchemaOutOfDate, StationNotRegistered, StationOffline, open_station
from app.commands.common import PIN_ENV
from app.domain.interpret import CommandName, StationMode
from app.domain.scan import Scan, Source
from app.domain.workflow import Entry
from app.services.station import StationSession
from app.services.station_view import StationView

if TYPE_CHECKING:
    from app.cli import Context

KEY_PREFIX = "@KEY:"


@click.command("replay")
@click.option("--station", required=True, help="The station code the scans were made at.")
@click.option("--operator", "badge", required=True, help="The badge of who made them.")
@click.option(
    "--mode",
    type=click.Choice([m.value for m in StationMode]),
    required=True,
    help="The station mode to replay them in.",
)
@click.option(
    "--outbox",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The outbox file (default: the station's own, in the user data directory).",
)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.pass_obj
def replay_command(
    obj: Context,
    station: str,
    badge: str,
    mode: str,
    outbox: Path | None,
    file: str,
) -> None:
    """Feed FILE (one scan per line; - for stdin) through the station's state machines and print
    one JSON object per line. Exit status 1 when any scan or transaction was refused. A
    supervisor's PIN is asked on the terminal (hidden), or taken from the environment variable
    PERPETUA_PIN: never an argument, which `ps` would show to everyone on the machine."""
    lines = _read(file)
    try:
        session = open_station(obj.settings(), station, outbox)
    except (StationNotRegistered, StationOffline, SchemaOutOfDate) as error:
        raise click.ClickException(str(error)) from None
    try:
        _login(session, badge, StationMode(mode))
        refused = 0
        waiting: StationView | None = None
        for at, (number, text) in enumerate(lines):
            view = _feed(session, text)
            refused += _echo(_record(number, text, view))
            keyed = at + 1 < len(lines) and lines[at + 1][1].startswith(KEY_PREFIX)
            if view.entry is Entry.PIN and not keyed:
                # A supervisor's badge in the file, its PIN not: asked as at login.
                pin = _pin(view.prompt)
                if pin is not None:
                    view = session.handle_entry(pin)
                    refused += _echo(_record(number, "(PIN)", view))
            waiting = view if view.entry is Entry.PIN else None
        final = session.drain()
        if final is not None and final.queue_depth:
            click.echo(f"{final.queue_depth} transaction(s) stay queued in the outbox", err=True)
    finally:
        session.close()
    if waiting is not None:
        click.echo(
            f"the file ended while the station still asks for a PIN ({waiting.prompt}): set "
            f"{PIN_ENV}, or run it on a terminal; what waited for it was not done",
            err=True,
        )
    if refused or waiting is not None:
        sys.exit(1)


def _echo(record: dict[str, Any]) -> bool:
    """Print one line's record; True when it was refused (a scan, a transaction, or a keypad
    entry such as a wrong PIN)."""
    click.echo(json.dumps(record, sort_keys=True))
    feedback = record["feedback"]
    entry_refused = record["state"] == "entry" and feedback and feedback["level"] == "error"
    return record["state"] in ("refused", "rejected") or bool(entry_refused)


def _pin(prompt: str) -> str | None:
    """A PIN the station asks for: PERPETUA_PIN, or asked on the terminal (hidden)."""
    pin = os.environ.get(PIN_ENV)
    if pin is None and sys.stdin.isatty():
        pin = str(click.prompt(prompt, hide_input=True, err=True))
    return pin


def _read(file: str) -> list[tuple[int, str]]:
    raw = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
    lines = []
    for number, line in enumerate(raw.split(b"\n"), 1):
        # Bytes that are not UTF-8 stay visible as escapes; the interpreter refuses them.
        text = line.rstrip(b"\r").decode("utf-8", errors="surrogateescape")
        if text.strip():
            lines.append((number, text))
    return lines


def _login(session: StationSession, badge: str, mode: StationMode) -> None:
    view = session.handle_scan(Scan(badge, Source.MANUAL, device="replay"))
    if view.operator is None and view.entry is not None:
        pin = _pin(f"PIN of supervisor {badge}")
        if pin is None:
            raise click.ClickException(
                f"{badge} is a supervisor's badge: set {PIN_ENV}, or run it on a terminal to "
                "be asked the PIN"
            )
        view = session.handle_entry(pin)
    if view.operator is None:
        why = view.feedback.text if view.feedback else view.prompt
        raise click.ClickException(f"cannot log in as {badge}: {why}")
    if view.mode is not mode:
        view = session.handle_command(CommandName.MODE, mode.value)
        if view.mode is not mode:
            why = view.feedback.text if view.feedback else view.prompt
            raise click.ClickException(why)


def _feed(session: StationSession, text: str) -> StationView:
    if text.startswith(KEY_PREFIX):
        return session.handle_entry(text[len(KEY_PREFIX) :])
    return session.handle_scan(Scan(text, Source.WEDGE, device="replay"))


def _record(number: int, text: str, view: StationView) -> dict[str, Any]:
    scan = view.scans[0] if view.scans and view.scans[0].seq == view.input_seq else None
    txs = {tx.tx_id: tx for tx in view.transactions}
    return {
        "line": number,
        "scan": text.encode("utf-8", errors="surrogateescape").decode("utf-8", "replace"),
        "state": scan.state.value if scan else "entry",
        "meaning": scan.meaning if scan else None,
        "prompt": view.prompt,
        "lines": list(view.lines),
        "feedback": (
            {"level": view.feedback.level.value, "text": view.feedback.text}
            if view.feedback
            else None
        ),
        "transactions": [
            {
                "tx_id": str(tx_id),
                "kind": txs[tx_id].kind if tx_id in txs else None,
                "state": txs[tx_id].state.value if tx_id in txs else "queued",
                "message": txs[tx_id].message if tx_id in txs else "",
            }
            for tx_id in (scan.tx_ids if scan else ())
        ],
        "queue_depth": view.queue_depth,
    }
