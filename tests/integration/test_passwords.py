"""The password-leak test: the real `perpetua` command, in processes of its own, through its
commands and error paths with a marker password that must appear in nothing it prints and in no
file it writes; and each refusal as a user reads it.

The shared PostgreSQL trusts every connection, so there a password is accepted and ignored: good
for the commands that succeed with a password set. A private cluster that asks for passwords
(scram-sha-256) shows that each source of a password really reaches the server: the environment,
PGPASSWORD, a pgpass file and the system keyring (through the real `keyring` library, with a
backend that keeps its entries in a file, as no desktop keyring exists here).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from app.adapters.passwords import HIDDEN
from tests.support.databases import PgServer
from tests.support.pg_cluster import PgCluster, cluster_or_skip

ROOT = Path(__file__).resolve().parents[2]
MARKER = "Xy7-never-print-me-93"
"""The password. Neither it nor its middle may appear anywhere."""
WRONG = "Qz4-wrong-and-secret-58"
"""A wrong password: not to be shown either."""
SECRETS = (MARKER, MARKER[4:-3], WRONG, WRONG[4:-3])
SCANS = "SKU-000001\n"
"""Station ST-1 of the demo warehouse receives one unit, blind."""


@dataclass(frozen=True)
class Ran:
    args: tuple[str, ...]
    code: int
    out: str
    err: str


class Perpetua:
    """`python -m app` with a home of its own: HOME and the XDG directories (where the outbox,
    the replica and anything else it writes go), no PG* or PERPETUA_* variable, no D-Bus (so no
    desktop keyring, as in CI) and a config file that is not there until a test writes it."""

    def __init__(self, tmp: Path) -> None:
        self.home = tmp / "home"
        self.secrets = tmp / "secrets"  # files that hold a password on purpose
        self.home.mkdir()
        self.secrets.mkdir()
        self.config = self.secrets / "config.toml"
        self.placed: set[Path] = set()
        dropped = ("PG", "PERPETUA_", "XDG_", "DBUS_", "PYTHON_KEYRING")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
        self.env.update(
            HOME=str(self.home),
            XDG_CONFIG_HOME=str(self.home / ".config"),
            XDG_DATA_HOME=str(self.home / ".local" / "share"),
            XDG_STATE_HOME=str(self.home / ".local" / "state"),
            XDG_CACHE_HOME=str(self.home / ".cache"),
            PERPETUA_CONFIG=str(self.config),
            PYTHONPATH=str(ROOT),
            QT_QPA_PLATFORM="offscreen",
        )
        self.scans = self.secrets / "scans.txt"
        self.scans.write_text(SCANS, encoding="utf-8")

    @property
    def outbox(self) -> Path:
        return self.home / ".local" / "share" / "perpetua" / "outbox-ST-1.sqlite"

    def __call__(self, *args: str, **env: str) -> Ran:
        done = subprocess.run(
            [sys.executable, "-m", "app", *args],
            cwd=ROOT,
            env={**self.env, **env},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
        )
        ran = Ran(args, done.returncode, done.stdout, done.stderr)
        shown = ran.out + ran.err
        for secret in SECRETS:
            assert secret not in shown, f"`perpetua {' '.join(args)}` showed it:\n{ran}"
        # Masking is the last line, not the way: nothing here should have needed it.
        assert HIDDEN not in shown, f"`perpetua {' '.join(args)}` needed masking:\n{ran}"
        return ran

    def replay(self, **env: str) -> Ran:
        args = ("-v", "replay", "--station", "ST-1", "--operator", "D001", "--mode", "receive")
        return self(*args, str(self.scans), **env)

    def place(self, path: Path, text: str) -> None:
        """A file that holds a password on purpose (a pgpass file in the home)."""
        path.write_text(text, encoding="utf-8")
        path.chmod(0o600)
        self.placed.add(path)

    def assert_no_file_holds_it(self) -> None:
        written = [p for p in self.home.rglob("*") if p.is_file() and p not in self.placed]
        for path in written:
            data = path.read_bytes()
            for secret in SECRETS:
                assert secret.encode() not in data, f"{path} holds a password"
        return None


@pytest.fixture
def perpetua(tmp_path: Path) -> Iterator[Perpetua]:
    command = Perpetua(tmp_path)
    yield command
    command.assert_no_file_holds_it()


@dataclass(frozen=True)
class Database:
    host: str
    port: int
    name: str

    def url(self, user: str = "postgres", password: str | None = None, name: str = "") -> str:
        secret = f":{password}" if password is not None else ""
        return f"postgresql+psycopg://{user}{secret}@{self.host}:{self.port}/{name or self.name}"


@pytest.fixture
def shared(pg_server: PgServer) -> Iterator[Database]:
    """An empty database on the shared server (which trusts every connection)."""
    name = f"perpetua_pw_{pg_server.run_tag}"
    pg_server.drop(name)
    pg_server.create(name)
    yield Database(str(pg_server.url.host), int(pg_server.url.port or 5432), name)
    pg_server.drop(name)


def where_it_goes(user: str, db: Database) -> str:
    return (
        "put the password in the environment (PERPETUA_DATABASE_PASSWORD, or PGPASSWORD), in a "
        "pgpass file (~/.pgpass, mode 0600), or in the system keyring with "
        f"`keyring set perpetua {user}@{db.host}:{db.port}/{db.name}`"
    )


# --- the shared server: a password set everywhere, never shown -----------------------------------


def test_a_password_in_the_environment_url_is_never_shown(
    perpetua: Perpetua, shared: Database
) -> None:
    env = {"PERPETUA_DATABASE_URL": shared.url(password=MARKER)}
    shown = shared.url()

    empty = perpetua("-v", "stock", **env)
    assert empty.code == 1
    assert "the database schema is empty" in empty.err
    assert "run `perpetua db upgrade`" in empty.err

    upgraded = perpetua("-v", "db", "upgrade", **env)
    assert upgraded.code == 0, upgraded
    assert upgraded.out.startswith("database at revision ")
    assert upgraded.out.rstrip().endswith(f": {shown}")  # no password, not even ***
    assert perpetua("-v", "demo", "--bins", "20", "--skus", "10", **env).code == 0
    assert perpetua("-v", "stock", "--limit", "3", **env).code == 0
    assert perpetua("-v", "verify", **env).code == 0

    replayed = perpetua.replay(**env)
    assert replayed.code == 0, replayed
    assert '"state": "confirmed"' in replayed.out
    status = perpetua("outbox", "status", "--outbox", str(perpetua.outbox), **env)
    assert status.code == 0 and shown in status.out
    drained = perpetua("-v", "outbox", "drain", "--outbox", str(perpetua.outbox), **env)
    assert drained.code == 0 and "nothing queued" in drained.out

    missing = perpetua("-v", "station", "--station", "NOPE", **env)
    assert missing.code == 1
    assert "station 'NOPE' is not registered in the database" in missing.err


def test_perpetua_database_password_goes_with_a_url_without_one(
    perpetua: Perpetua, shared: Database
) -> None:
    perpetua.config.write_text(f'database_url = "{shared.url()}"\n', encoding="utf-8")
    password = {"PERPETUA_DATABASE_PASSWORD": MARKER}
    upgraded = perpetua("-v", "db", "upgrade", **password)
    assert upgraded.code == 0, upgraded
    assert upgraded.out.rstrip().endswith(f": {shared.url()}")
    assert perpetua("-v", "--db", shared.url(), "verify", **password).code == 0


# --- refusals ------------------------------------------------------------------------------------


def test_a_password_in_the_config_file_is_refused_with_where_it_goes(
    perpetua: Perpetua, shared: Database
) -> None:
    expected = (
        f"Error: {perpetua.config}: database_url carries a password, and a config file is no "
        "place for one (it is copied, backed up and read by others); nothing was done. Remove it "
        f"from the URL and {where_it_goes('postgres', shared)}.\n"
    )
    for url, args in (
        (shared.url(password=MARKER), ["-v", "db", "upgrade"]),
        (shared.url(password=MARKER), ["station"]),
        (f"{shared.url()}?password={MARKER}", ["-v", "stock"]),
    ):
        perpetua.config.write_text(f'database_url = "{url}"\n', encoding="utf-8")
        refused = perpetua(*args)
        assert (refused.code, refused.out, refused.err) == (1, "", expected)


def test_a_password_on_the_command_line_is_refused_whatever_the_command(
    perpetua: Perpetua, shared: Database
) -> None:
    expected = (
        "Error: --db carries a password, which every user of this computer can read in the list "
        "of processes (`ps`); nothing was done. Give --db without the password and "
        f"{where_it_goes('postgres', shared)}. (PERPETUA_DATABASE_URL may carry one: the "
        "environment is not shown in `ps`.)\n"
    )
    for url, args in (
        (shared.url(password=MARKER), ["-v", "db", "upgrade"]),
        (shared.url(password=MARKER), ["outbox", "status", "--outbox", "x"]),  # needs no database
        (f"{shared.url()}?password={MARKER}", ["stock"]),
    ):
        refused = perpetua("--db", url, *args)
        assert (refused.code, refused.out, refused.err) == (1, "", expected)


# --- error paths -----------------------------------------------------------------------------------


def test_a_url_that_cannot_be_used_is_refused_without_repeating_it(
    perpetua: Perpetua, shared: Database
) -> None:
    use = "use postgresql://user@host:5432/dbname or sqlite:///path/to/file.db"
    cases = (
        (f"mysql://postgres:{MARKER}@{shared.host}/shop", ["-v", "db", "upgrade"],
         f"is for mysql, which this program does not work with: {use}"),
        (f"postgresql://postgres:{MARKER}@{shared.host}:port/shop", ["station"],
         "cannot be read: write it as postgresql://user@host:5432/dbname or "
         "sqlite:///path/to/file.db"),
        (f"{MARKER} is no URL", ["-v", "stock"], "cannot be read: write it as"),
        # An @ in a password that was not written %40 leaves the rest of it as the host name.
        (f"postgresql://postgres:Xy7@{MARKER[4:]}@{shared.host}/shop",
         ["-v", "replay", "--station", "ST-1", "--operator", "D001", "--mode", "receive", "-"],
         "has an @ in its host name: an @ in the user name or password must be written %40"),
    )  # fmt: skip
    for url, args, reason in cases:
        refused = perpetua(*args, PERPETUA_DATABASE_URL=url)
        assert refused.code == 1
        assert refused.err.startswith(f"Error: PERPETUA_DATABASE_URL: the database URL {reason}")


@pytest.fixture
def hangs_up() -> Iterator[int]:
    """A port whose server takes each connection and closes it at once."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            connection, _ = server.accept()
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    socket.create_connection(server.getsockname()).close()
    thread.join()
    server.close()


def test_connection_failures_never_show_the_password(
    perpetua: Perpetua, shared: Database, hangs_up: int
) -> None:
    closed = socket.create_server(("127.0.0.1", 0))
    refused_port = closed.getsockname()[1]
    closed.close()
    cases = {
        Database("127.0.0.1", refused_port, shared.name): "Connection refused",
        Database(shared.host, shared.port, f"{shared.name}_nosuch"): (
            f'database "{shared.name}_nosuch" does not exist'
        ),
        Database("127.0.0.1", hangs_up, shared.name): "server closed the connection unexpectedly",
    }
    for n, (db, why) in enumerate(cases.items()):
        password = (
            {"PERPETUA_DATABASE_URL": db.url(password=MARKER)}
            if n % 2
            else {"PERPETUA_DATABASE_URL": db.url(), "PERPETUA_DATABASE_PASSWORD": MARKER}
        )
        failed = perpetua("-v", "db", "upgrade", **password)
        assert failed.code == 1
        assert failed.err.startswith("Error: cannot open the database: ")
        assert why in failed.err
    offline = perpetua.replay(
        PERPETUA_DATABASE_URL=Database("127.0.0.1", refused_port, shared.name).url(password=MARKER)
    )
    assert offline.code == 1
    assert "The database is out of reach and station ST-1 has no copy of the warehouse yet" in (
        offline.err
    )


# --- a server that asks for the password -------------------------------------------------------------


@pytest.fixture
def asking() -> Iterator[Database]:
    """A private cluster where role `clerk` must give its password (scram-sha-256), MARKER, to
    reach database `shop`, which it owns."""
    cluster: PgCluster = cluster_or_skip()
    with cluster:
        admin = create_engine(cluster.url(), isolation_level="AUTOCOMMIT", poolclass=NullPool)
        with admin.connect() as connection:
            connection.execute(text(f"CREATE ROLE clerk LOGIN PASSWORD '{MARKER}'"))
            connection.execute(text("CREATE DATABASE shop OWNER clerk"))
        admin.dispose()
        hba = cluster.data / "pg_hba.conf"
        owner = hba.stat()
        hba.write_text(
            "local all all trust\n"
            "host all postgres 127.0.0.1/32 trust\n"
            "host all all 127.0.0.1/32 scram-sha-256\n"
        )
        os.chown(hba, owner.st_uid, owner.st_gid)
        cluster.restart("fast")
        yield Database("127.0.0.1", cluster.port, "shop")


def test_each_source_of_a_password_reaches_a_server_that_asks(
    perpetua: Perpetua, asking: Database
) -> None:
    url = asking.url("clerk")
    perpetua.config.write_text(f'database_url = "{url}"\n', encoding="utf-8")

    nothing = perpetua("-v", "db", "upgrade")
    assert nothing.code == 1
    assert "no password supplied" in nothing.err
    assert nothing.err.rstrip().endswith(f"; {where_it_goes('clerk', asking)}")
    assert len(nothing.err.splitlines()) == 1  # no keyring here, and not a word about it

    wrong = perpetua("-v", "db", "upgrade", PERPETUA_DATABASE_PASSWORD=WRONG)
    assert wrong.code == 1
    assert 'password authentication failed for user "clerk"' in wrong.err

    upgraded = perpetua("-v", "db", "upgrade", PERPETUA_DATABASE_PASSWORD=MARKER)
    assert upgraded.code == 0, upgraded
    assert upgraded.out.rstrip().endswith(f": {url}")
    demo = perpetua("-v", "demo", "--bins", "20", "--skus", "10", PERPETUA_DATABASE_PASSWORD=MARKER)
    assert demo.code == 0, demo

    # The URL in the environment: the station's engines get it too (a replay opens a station).
    replayed = perpetua.replay(PERPETUA_DATABASE_URL=asking.url("clerk", MARKER))
    assert replayed.code == 0, replayed
    assert '"state": "confirmed"' in replayed.out

    assert perpetua("-v", "verify", PGPASSWORD=MARKER).code == 0

    pgpass = perpetua.secrets / "pgpass"
    perpetua.place(pgpass, f"127.0.0.1:{asking.port}:shop:clerk:{MARKER}\n")
    assert perpetua("-v", "stock", PGPASSFILE=str(pgpass)).code == 0
    home_pgpass = perpetua.home / ".pgpass"
    perpetua.place(home_pgpass, f"*:*:*:clerk:{MARKER}\n")
    assert perpetua("-v", "stock").code == 0
    home_pgpass.unlink()
    perpetua.placed.discard(home_pgpass)
    assert perpetua("stock").code == 1  # the pgpass file was what let it in

    keyring = {
        "PYTHON_KEYRING_BACKEND": "tests.support.keyring_file.JsonKeyring",
        "PERPETUA_TEST_KEYRING": str(perpetua.secrets / "keyring.json"),
    }
    stored = subprocess.run(
        [sys.executable, "-m", "keyring", "set", "perpetua", f"clerk@127.0.0.1:{asking.port}/shop"],
        cwd=ROOT,
        env={**perpetua.env, **keyring},
        input=f"{MARKER}\n",
        capture_output=True,
        text=True,
    )
    assert stored.returncode == 0, stored
    from_keyring = perpetua("stock", **keyring)
    assert from_keyring.code == 0, from_keyring
    assert from_keyring.err == ""
    assert perpetua("-v", "stock", **keyring).code == 0
    # PGPASSWORD comes before the keyring: a wrong one is not overridden by it.
    assert perpetua("stock", PGPASSWORD=WRONG, **keyring).code == 1


# --- the last line: whatever escapes is masked ----------------------------------------------------

CRASH = """
import logging, os, threading

import click

from app import cli

@cli.main.command("crash")
@click.option("--clean", is_flag=True)
def crash(clean: bool) -> None:
    url = os.environ["PERPETUA_DATABASE_URL"]
    if clean:
        raise click.ClickException(f"cannot use {url}")
    logging.getLogger("app.crash").warning("connecting to %s", url)
    click.echo(f"the password is {os.environ['PERPETUA_DATABASE_PASSWORD']}")
    def fail() -> None:
        raise RuntimeError(f"thread lost {url}")
    thread = threading.Thread(target=fail)
    thread.start()
    thread.join()
    raise RuntimeError(f"lost {url}")

cli.run()
"""


def test_a_bug_that_prints_the_password_shows_it_masked(perpetua: Perpetua) -> None:
    """The `perpetua` command (`app.cli.run`) masks what it prints: a planted command that logs,
    echoes and raises with the password in hand."""
    env = {
        **perpetua.env,
        "PERPETUA_DATABASE_URL": f"postgresql://clerk:{MARKER}@127.0.0.1:9/shop",
        "PERPETUA_DATABASE_PASSWORD": WRONG,
    }
    for args, shown in (
        ([], ["connecting to", "the password is", "thread lost", "RuntimeError: lost"]),
        (["--clean"], ["Error: cannot use"]),
    ):
        done = subprocess.run(
            [sys.executable, "-c", CRASH, "-v", "crash", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 1
        for secret in SECRETS:
            assert secret not in done.stdout + done.stderr
        lines = (done.stdout + done.stderr).splitlines()
        for start in shown:
            line = next(line for line in lines if start in line)
            assert HIDDEN in line, line
