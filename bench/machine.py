"""The machine a benchmark ran on, for the header every benchmark prints (STYLE.md rule 19)."""

from __future__ import annotations

import os
import platform
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        models = re.findall(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.MULTILINE)
        if models:
            return str(models[0])
    return platform.processor() or platform.machine()


def machine(**versions: Any) -> dict[str, Any]:
    """Time, platform, CPU, Python and load now, plus the library versions a bench names."""
    return {
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        **versions,
        "load_start": os.getloadavg()[0],
    }
