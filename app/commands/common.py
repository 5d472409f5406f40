"""What the commands that send a ledger transaction share: reading a PIN without it ever being
an argument, and printing the ledger's answer with the exit status a script checks."""

from __future__ import annotations

import json
import os
import sys

import click

from app.domain.ledger import Outcome

PIN_ENV = "PERPETUA_PIN"
"""A script's way to give a PIN (never an argument: `ps` shows those to every user)."""


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
