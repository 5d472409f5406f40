"""A private PostgreSQL cluster a test starts itself, so it may crash, restart and stop it.

The shared server at PERPETUA_TEST_DATABASE_URL must never be restarted; a fault drill that
needs a server process to die gets its own cluster here, made with the installed binaries
(`pg_config --bindir`), listening on 127.0.0.1 only, with its socket inside its own directory.
PostgreSQL refuses to run as root, so under root every binary runs as the `postgres` OS user.
"""

from __future__ import annotations

import atexit
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Literal

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

StopMode = Literal["smart", "fast", "immediate"]

SERVER_USER = "postgres"
"""The OS user the binaries run as when the tests run as root."""

_WAIT_S = 60


class PgClusterUnavailable(RuntimeError):
    """This machine cannot run a private cluster (no binaries, or root without a server user)."""


class PgClusterError(RuntimeError):
    """A cluster command failed; the message carries its output and the server log's tail."""


def pg_bindir() -> Path:
    """The directory of initdb, pg_ctl and postgres, as `pg_config --bindir` names it."""
    pg_config = shutil.which("pg_config")
    if pg_config is None:
        raise PgClusterUnavailable("pg_config is not on PATH: install the PostgreSQL server")
    found = subprocess.run(
        [pg_config, "--bindir"], capture_output=True, text=True, check=True
    ).stdout.strip()
    bindir = Path(found)
    if not (bindir / "initdb").exists() or not (bindir / "pg_ctl").exists():
        raise PgClusterUnavailable(f"no initdb and pg_ctl in {bindir}: install the server package")
    return bindir


class PgCluster:
    """One cluster in a fresh directory under `parent` (the system temp directory by default).

    start() makes the directory and runs initdb the first time, then starts the server on a port
    the OS had free; later starts and restarts keep that port. close() stops the server at once
    and removes the directory. Use it as a context manager so both happen when a test fails.
    """

    def __init__(self, parent: Path | None = None) -> None:
        self.bindir = pg_bindir()
        self.parent = parent
        self._directory: Path | None = None
        self._port = 0
        self._running = False
        self._ever_started = False
        self._prefix: list[str] = []
        if os.geteuid() == 0:
            try:
                self._user = pwd.getpwnam(SERVER_USER)
            except KeyError:
                raise PgClusterUnavailable(
                    f"running as root and there is no {SERVER_USER!r} user to run PostgreSQL as"
                ) from None
            self._prefix = ["runuser", "-u", SERVER_USER, "--"]

    # -- where it lives -------------------------------------------------------------------------

    @property
    def directory(self) -> Path:
        if self._directory is None:
            raise RuntimeError("the cluster has no directory until start()")
        return self._directory

    @property
    def data(self) -> Path:
        return self.directory / "data"

    @property
    def socket_dir(self) -> Path:
        return self.directory / "sock"

    @property
    def log_path(self) -> Path:
        return self.directory / "server.log"

    @property
    def port(self) -> int:
        if not self._port:
            raise RuntimeError("the cluster has no port until start()")
        return self._port

    @property
    def running(self) -> bool:
        return self._running

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{dbname}"

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> PgCluster:
        """Creates the cluster if need be, then starts the server and waits until it accepts."""
        if self._running:
            return self
        if self._directory is None:
            self._create()
            # A safety net for a run that ends without teardown (an error in a fixture, Ctrl-C).
            atexit.register(self.close)
        for _ in range(3):
            try:
                self._pg_ctl("start", "-l", str(self.log_path))
            except PgClusterError:
                # Another process may have taken the free port between the check and the bind.
                if "could not bind" not in self.log_tail() or self._ever_started:
                    raise
                self._choose_port()
                continue
            self._running = True
            self._ever_started = True
            return self
        raise PgClusterError(f"no free port for the cluster\n{self.log_tail()}")

    def stop(self, mode: StopMode = "fast") -> None:
        """pg_ctl stop: "immediate" ends every process at once, as a crash does (recovery follows
        at the next start), "fast" rolls back open transactions and shuts down cleanly."""
        if not self._running:
            return
        self._pg_ctl("stop", "-m", mode)
        self._running = False

    def restart(self, mode: StopMode = "immediate") -> None:
        """Stops in `mode` and starts again on the same port; returns once it accepts connections."""
        if not self._running:
            raise RuntimeError("restart() needs a running cluster")
        self._running = False
        self._pg_ctl("restart", "-m", mode, "-l", str(self.log_path))
        self._running = True

    def close(self) -> None:
        """Stops the server at once, even if pg_ctl fails, and removes the directory."""
        if self._directory is None:
            return
        try:
            if self._running or (self.data / "postmaster.pid").exists():
                try:
                    self._pg_ctl("stop", "-m", "immediate")
                except PgClusterError:
                    self._kill_postmaster()
                self._running = False
        finally:
            shutil.rmtree(self._directory, ignore_errors=True)
            self._directory = None
            atexit.unregister(self.close)

    def __enter__(self) -> PgCluster:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- databases ------------------------------------------------------------------------------

    def create_database(self, name: str) -> str:
        """Creates database `name` and returns its URL."""
        engine = create_engine(self.url(), isolation_level="AUTOCOMMIT", poolclass=NullPool)
        try:
            with engine.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            engine.dispose()
        return self.url(name)

    # -- inside ---------------------------------------------------------------------------------

    def _create(self) -> None:
        if self.parent is not None:
            self.parent.mkdir(parents=True, exist_ok=True)
        self._directory = Path(tempfile.mkdtemp(prefix="perpetua-pg-", dir=self.parent))
        try:
            self._own(self._directory)
            if self._prefix:
                reach = subprocess.run([*self._prefix, "test", "-w", str(self._directory)])
                if reach.returncode != 0:
                    raise PgClusterUnavailable(
                        f"user {SERVER_USER!r} cannot reach {self._directory}: give a parent "
                        "directory every user may enter (the system temp directory is one)"
                    )
            self.socket_dir.mkdir()
            self._own(self.socket_dir)
            self._run(
                "initdb",
                "-D", str(self.data),
                "-A", "trust",
                "-U", "postgres",
                "-E", "UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
            )  # fmt: skip
            with (self.data / "postgresql.conf").open("a") as conf:
                conf.write("\ninclude 'perpetua_test.conf'\n")
            self._choose_port()
        except BaseException:
            shutil.rmtree(self._directory, ignore_errors=True)
            self._directory = None
            raise

    def _choose_port(self) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", 0))
            self._port = probe.getsockname()[1]
        settings = self.data / "perpetua_test.conf"
        settings.write_text(
            f"port = {self._port}\n"
            "listen_addresses = '127.0.0.1'\n"
            f"unix_socket_directories = '{self.socket_dir}'\n"
            "logging_collector = off\n"
        )
        self._own(settings)

    def _pg_ctl(self, action: str, *options: str) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-w", "-t", str(_WAIT_S), *options, action)

    def _run(self, program: str, *args: str) -> None:
        command = [*self._prefix, str(self.bindir / program), *args]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        done = subprocess.run(
            command,
            cwd=self.directory,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=_WAIT_S * 2,
        )
        if done.returncode != 0:
            raise PgClusterError(
                f"{program} {' '.join(args)} failed ({done.returncode}):\n"
                f"{done.stdout}{done.stderr}\n--- server log ---\n{self.log_tail()}"
            )

    def _own(self, path: Path) -> None:
        if self._prefix:
            os.chown(path, self._user.pw_uid, self._user.pw_gid)

    def _kill_postmaster(self) -> None:
        """The last resort when pg_ctl cannot stop it: SIGKILL the postmaster by its pid file."""
        try:
            pid = int((self.data / "postmaster.pid").read_text().splitlines()[0])
            os.kill(pid, signal.SIGKILL)
        except (OSError, ValueError, IndexError):
            pass  # no pid file or no such process: nothing is left running


def cluster_or_skip() -> PgCluster:
    """A private cluster (not started), the way a test asks for one: with no PostgreSQL binaries
    (or no `postgres` user when running as root) the test is skipped locally and fails in CI,
    like the shared server's tests (tests/support/databases.py)."""
    import pytest

    from tests.support.databases import in_ci

    try:
        return PgCluster()
    except PgClusterUnavailable as error:
        if in_ci():
            pytest.fail(f"CI must be able to run a private PostgreSQL cluster: {error}")
        pytest.skip(str(error))
