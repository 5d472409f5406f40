"""What the commands that send a ledger transaction share: the station it is done at, making the
command, reading a PIN without it ever being an argument, and printing the ledger's answer with
the exit status a script checks."""

from __future__ import annotations

import json
import os
import sys
import uuid
from typing import TYPE_CHECKING, Any, TypeVar

import click

from app.domain.commands import Command
from app.domain.errors import Rejection
from app.domain.ledger import Outcome

if TYPE_CHECKING:
    from app.cli import Context

C = TypeVar("C", bound=Command)

PIN_ENV = "PERPETUA_PIN"
"""A script's way to give a PIN (never an argument: `ps` shows those to every user)."""


def station_of(obj: Context, station: str | None) -> str:
    """The station a command is done at: --station, else the config file's."""
    found = station or obj.settings().station
    if found is None:
        raise click.ClickException(
            "no station to do it at: pass --station CODE (or set `station` in the config file)"
        )
    return found


def make_command(cls: type[C], **fields: Any) -> C:
    """A new transaction of `cls`; a field the command refuses is a plain error, nothing done."""
    try:
        return cls(tx_id=uuid.uuid4(), **fields)
    except Rejection as refused:
        raise click.ClickException(f"{refused.message}. Nothing was done.") from None


def read_secret(prompt: str, confirm: bool = False) -> str:
    """A PIN from the terminal, hidden, or one line of standard input when it is not one."""
    if sys.stdin.isatty():
        return str(click.prompt(prompt, hide_input=True, confirmation_prompt=confirm))
    return sys.stdin.readline().strip()


def supervisor_pin(badge: str) -> str:
    """The PIN of the supervisor `badge` approves with: PERPETUA_PIN, else asked (hidden)."""
    pin = os.environ.get(PIN_ENV)
    if pin is not None:
        return pin
    return read_secret(f"PIN of supervisor {badge}")


def report(outcome: Outcome, as_json: bool) -> None:
    """Print the ledger's answer (the message, or the whole outcome as JSON); exit status 1
    when it refused."""
    if as_json:
        click.echo(json.dumps(outcome.as_dict(), ensure_ascii=False, default=str))
    elif outcome.ok:
        click.echo(outcome.message)
    else:
        click.echo(f"refused: {outcome.message}", err=True)
    if outcome.replayed and not as_json:
        click.echo(
            f"(transaction {outcome.tx_id} was already done: this is its stored outcome; "
            "nothing was done again)",
            err=True,
        )
    if not outcome.ok:
        sys.exit(1)
