"""A keyring backend that keeps its passwords in a JSON file, for tests of the keyring lookup.

The `keyring` library is real; only where it stores passwords differs from a desktop's (Secret
Service, macOS Keychain, Windows Credential Locker), which a test machine does not have. A
`perpetua` process uses it with PYTHON_KEYRING_BACKEND=tests.support.keyring_file.JsonKeyring
and PERPETUA_TEST_KEYRING naming the file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

FILE_ENV = "PERPETUA_TEST_KEYRING"


class JsonKeyring(KeyringBackend):
    priority = 1.0

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]

    @property
    def _path(self) -> Path:
        return Path(os.environ[FILE_ENV])

    def _load(self) -> dict[str, dict[str, str]]:
        if not self._path.exists():
            return {}
        loaded: dict[str, dict[str, str]] = json.loads(self._path.read_text(encoding="utf-8"))
        return loaded

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(service, {}).get(username)

    def set_password(self, service: str, username: str, password: str) -> None:
        entries = self._load()
        entries.setdefault(service, {})[username] = password
        self._path.write_text(json.dumps(entries), encoding="utf-8")

    def delete_password(self, service: str, username: str) -> None:
        entries = self._load()
        if username not in entries.get(service, {}):
            raise PasswordDeleteError(username)
        del entries[service][username]
        self._path.write_text(json.dumps(entries), encoding="utf-8")
