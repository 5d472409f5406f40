"""`perpetua rfid listen`: the tags an RFID reader on a serial line sees, once per dedupe window."""

from __future__ import annotations

import json
import queue
import time
from dataclasses import dataclass

import click

from app.adapters.rfid import ReaderProtocol, ReaderSettings, RfidRead, check_url, reader_loop
from app.adapters.worker import DeviceWorker
from app.domain.epc import EpcInfo

WAKE_S = 0.2
"""How often the command looks up from the reader's queue (Ctrl-C, --idle-exit)."""


@dataclass(frozen=True, slots=True)
class _Status:
    text: str


@click.group("rfid")
def rfid_group() -> None:
    """RFID readers on a serial line."""


@rfid_group.command("listen")
@click.option(
    "--url",
    required=True,
    metavar="URL",
    help="The reader's port: /dev/ttyUSB0, socket://HOST:PORT, rfc2217://HOST:PORT or loop://.",
)
@click.option(
    "--protocol",
    required=True,
    type=click.Choice([p.value for p in ReaderProtocol]),
    help="ascii: one EPC in hex per line; ru5102: the CF-RU5102 / UHFReader18 binary protocol.",
)
@click.option(
    "--window",
    default=2.0,
    show_default=True,
    type=click.FloatRange(min=0),
    metavar="S",
    help="Report a tag again only after S seconds in which it was not read (0: every read).",
)
@click.option(
    "--idle-exit",
    type=click.FloatRange(min=0, min_open=True),
    metavar="S",
    help="Exit after S seconds without a new tag (counted from the start or the last connection).",
)
@click.option("--baud", default=57_600, show_default=True, type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per tag.")
def listen(
    url: str, protocol: str, window: float, idle_exit: float | None, baud: int, as_json: bool
) -> None:
    """Print each tag the reader at URL sees, once per dedupe window, until Ctrl-C."""
    try:
        check_url(url)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--url") from None
    settings = ReaderSettings(url, ReaderProtocol(protocol), window_s=window, baudrate=baud)
    inbox: queue.Queue[RfidRead | _Status] = queue.Queue()
    worker: DeviceWorker[RfidRead] = DeviceWorker(
        f"rfid {url}", reader_loop(settings), inbox.put, lambda text: inbox.put(_Status(text))
    )
    connected, last_status = False, "no answer yet"
    worker.start()
    try:
        last_new = time.monotonic()
        while idle_exit is None or time.monotonic() - last_new < idle_exit:
            left = WAKE_S if idle_exit is None else idle_exit - (time.monotonic() - last_new)
            try:
                item = inbox.get(timeout=max(0.0, min(WAKE_S, left)))
            except queue.Empty:
                continue
            if isinstance(item, _Status):
                last_status = item.text
                if item.text == "connected":  # the idle time counts from here
                    connected, last_new = True, time.monotonic()
                click.echo(f"reader {url}: {item.text}", err=True)
                continue
            last_new = time.monotonic()
            click.echo(json.dumps(item.tag.as_dict()) if as_json else readable(item.tag))
    finally:
        worker.stop()
    if not connected:
        raise click.ClickException(
            f"the reader at {url} never connected ({last_status}); check the cable and the URL"
        )


def readable(tag: EpcInfo) -> str:
    """One line for a person: the EPC, its scheme and what it identifies."""
    if tag.gtin is not None:
        return f"{tag.epc}  {tag.scheme}  GTIN {tag.gtin}  serial {tag.serial}"
    if tag.sscc is not None:
        return f"{tag.epc}  {tag.scheme}  SSCC {tag.sscc}"
    return f"{tag.epc}  {tag.scheme}"
