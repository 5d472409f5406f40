"""A private X server for tests and scripts that need a real display: Xvfb on the first free
display number, ready for clients when `xvfb_display` yields, stopped afterwards."""

from __future__ import annotations

import os
import select
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

HANG_GUARD_S = 60
"""How long to wait for Xvfb (or a client) before calling it a hang (not a speed test)."""
FIRST_IN_LINE = ("nice", "-n", "-10")
"""For programs whose timing matters (the X server stamping a simulated scanner's keys): they run
ahead of other programs where allowed (as root; elsewhere nice only warns)."""
INSTALL_HINT = "sudo apt-get install xvfb xdotool libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1"


class XvfbError(RuntimeError):
    """Xvfb (or a program beside it) is missing, did not start, or did not answer in time."""


def need(program: str) -> str:
    """The path of `program`: Xvfb and xdotool are system packages the Makefile installs."""
    path = shutil.which(program)
    if path is None:
        raise XvfbError(f"{program} is not installed: run `make test` as root, or `{INSTALL_HINT}`")
    return path


def read_line(stream: Any, what: str, timeout_s: float = HANG_GUARD_S) -> str:
    """One line from a pipe, or XvfbError when none comes within `timeout_s`."""
    ready, _, _ = select.select([stream], [], [], timeout_s)
    if not ready:
        raise XvfbError(f"no {what} within {timeout_s:g} s")
    return str(stream.readline())


@contextmanager
def xvfb_display(size: str = "1024x768x24", *, first_in_line: bool = True) -> Iterator[str]:
    """A fresh Xvfb with one screen of `size` (WIDTHxHEIGHTxDEPTH); yields its DISPLAY (":N").

    Xvfb picks the display number itself and writes it to a pipe (-displayfd) once it accepts
    clients, so there is no race for a number and no polling for a lock file."""
    xvfb = need("Xvfb")
    read_end, write_end = os.pipe()
    server = subprocess.Popen(
        [
            *(FIRST_IN_LINE if first_in_line else ()),
            xvfb,
            "-displayfd",
            str(write_end),
            "-screen",
            "0",
            size,
            "-nolisten",
            "tcp",
        ],
        pass_fds=(write_end,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    os.close(write_end)
    try:
        with os.fdopen(read_end) as numbers:
            number = read_line(numbers, "display number from Xvfb").strip()
        if not number.isdigit():
            server.kill()
            _, errors = server.communicate()
            raise XvfbError(f"Xvfb did not start: {errors.decode(errors='replace')}")
        yield f":{number}"
    finally:
        server.terminate()
        try:
            server.communicate(timeout=HANG_GUARD_S)
        except subprocess.TimeoutExpired:
            server.kill()
            server.communicate()
