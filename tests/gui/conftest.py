"""Qt needs no display for these tests: the offscreen platform, unless one was chosen (`make test`
sets it too). Set before pytest-qt creates the QApplication."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
