"""Where a database password comes from, and how one is kept out of everything the program shows.

A password never travels inside a database URL past the config: the URL is parsed, the password
taken out, and the engine gets it at connect time. The first of these that has one is used:

1. the password in PERPETUA_DATABASE_URL (an environment variable, not seen in `ps`);
2. PERPETUA_DATABASE_PASSWORD;
3. PGPASSWORD, which libpq reads by itself;
4. the system keyring (the `keyring` library): service "perpetua", user name
   "user@host:port/dbname" (see `keyring_username`); skipped without a word when the computer
   has no keyring, as on a server or in CI;
5. a pgpass file (~/.pgpass, or the file PGPASSFILE names), which libpq reads by itself when no
   password is given.

Masking is the second line: `mask` replaces every password this process knows of (the ones in
its environment, the keyring's, any found in a URL) with ***, and `MaskedStream` applies it to
everything the program prints, tracebacks and log lines included. It is process-wide on
purpose, like the streams it guards: a password may be known only where it was looked up.
"""

from __future__ import annotations

import contextlib
import getpass
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TextIO, cast
from urllib.parse import quote, quote_plus

from sqlalchemy.engine import URL, make_url

log = logging.getLogger(__name__)

SERVICE = "perpetua"
"""The keyring's service name for database passwords."""
PASSWORD_ENV = "PERPETUA_DATABASE_PASSWORD"
URL_ENV = "PERPETUA_DATABASE_URL"
LIBPQ_PASSWORD_ENV = "PGPASSWORD"
SECRET_ENVS = (PASSWORD_ENV, LIBPQ_PASSWORD_ENV, "PERPETUA_APP_ROLE_PASSWORD")
"""Variables that hold nothing but a password (the last: `perpetua db create-app-role`)."""
DEFAULT_PORT = 5432
SHORTEST_MASKED = 4
"""Shorter values are not masked: replacing every "abc" in the output would garble it (and
such a password is no protection anyway)."""
HIDDEN = "***"

_known: set[str] = set()
_known_lock = threading.Lock()


SUPPORTED = ("sqlite", "postgresql")


class BadDatabaseUrl(ValueError):
    """A database URL that cannot be used. Its message never quotes the URL (it may hold a
    password): `reason` completes "the database URL ..."."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"the database URL {reason}")


# --- URLs -----------------------------------------------------------------------------------


def parse(text: str) -> URL:
    """The URL in `text`, for a database this program supports, or BadDatabaseUrl. A host with
    an @ in it is refused: it is what is left of a password with an @ that was not written %40,
    and a connection error would print it as the host name."""
    remember_in_url(text)
    try:
        url = make_url(text)
    except Exception:  # ArgumentError, or ValueError for a port that is not a number
        raise BadDatabaseUrl(
            "cannot be read: write it as postgresql://user@host:5432/dbname or "
            "sqlite:///path/to/file.db"
        ) from None
    remember(password_in(url))
    backend = url.get_backend_name()
    if backend not in SUPPORTED:
        raise BadDatabaseUrl(
            f"is for {backend}, which this program does not work with: use "
            "postgresql://user@host:5432/dbname or sqlite:///path/to/file.db"
        )
    if url.host and "@" in url.host:
        raise BadDatabaseUrl(
            "has an @ in its host name: an @ in the user name or password must be written %40"
        )
    return url


def password_in(url: URL) -> str | None:
    """The password the URL carries, in its user part or as ?password=."""
    if url.password is not None:
        return str(url.password)
    value = url.query.get("password")
    if isinstance(value, tuple):
        value = value[-1] if value else None
    return value


def without_password(url: URL) -> URL:
    # Not url.set(password=None): set() leaves a field alone when given None.
    return URL.create(
        url.drivername, url.username, None, url.host, url.port, url.database, url.query
    ).difference_update_query(["password"])


def shown(url: URL) -> str:
    """The URL fit to show: without its password."""
    return without_password(url).render_as_string(hide_password=True)


def keyring_username(url: URL) -> str:
    """The keyring's user name for a PostgreSQL URL: user@host:port/dbname, with libpq's
    defaults filled in (the login name, localhost, 5432, a database named like its user)."""
    user = url.username or getpass.getuser()
    host = url.host or _query_value(url, "host") or "localhost"
    port = url.port or DEFAULT_PORT
    return f"{user}@{host}:{port}/{url.database or user}"


def where_to_put_it(url: URL) -> str:
    """The words that tell a user where a password goes."""
    return (
        f"put the password in the environment ({PASSWORD_ENV}, or PGPASSWORD), in a pgpass file "
        "(~/.pgpass, mode 0600), or in the system keyring with "
        f"`keyring set {SERVICE} {keyring_username(url)}`"
    )


def password_hint(message: str, url_text: str) -> str:
    """What to add to a connection error that is about the password ("no password supplied",
    "password authentication failed"): where a password goes. Empty for any other error."""
    if "password" not in message.lower():
        return ""
    try:
        url = parse(url_text)
    except BadDatabaseUrl:
        return ""
    return f"; {where_to_put_it(url)}"


def _query_value(url: URL, key: str) -> str | None:
    value = url.query.get(key)
    if isinstance(value, tuple):
        return value[-1] if value else None
    return value


# --- looking a password up ------------------------------------------------------------------


def password_for(
    url: URL, given: str | None = None, environ: Mapping[str, str] | None = None
) -> str | None:
    """The password to connect to `url` with (see the module's docstring for the order), or
    None when libpq should find it itself (PGPASSWORD, a pgpass file) or none is needed."""
    env = os.environ if environ is None else environ
    for found in (given, password_in(url), env.get(PASSWORD_ENV)):
        if found:
            remember(found)
            return found
    if env.get(LIBPQ_PASSWORD_ENV):
        return None  # libpq takes it from there; the keyring must not override it
    found = keyring_password(url)
    remember(found)
    return found


def keyring_password(url: URL) -> str | None:
    """The system keyring's password for this URL, or None: no entry, no keyring on this
    computer (keyring's NoKeyringError, as on a server or in CI) or one that fails."""
    try:
        import keyring
        from keyring.errors import KeyringError
    except ImportError:  # an install without the library: the keyring is simply not asked
        return None
    try:
        return keyring.get_password(SERVICE, keyring_username(url))
    except KeyringError as error:
        log.debug("no password from the system keyring: %s", type(error).__name__)
    except Exception as error:  # a backend of the desktop's that fails (D-Bus, a locked store)
        log.info("the system keyring could not be read: %s", type(error).__name__)
    return None


def connect_with_password(url: URL, given: str | None) -> Callable[..., None]:
    """A `do_connect` listener that hands the connection its password. The lookup runs once, at
    the first connection, so a command that never connects never asks the keyring."""
    cache: list[str | None] = []
    lock = threading.Lock()

    def on_connect(_dialect: Any, _record: Any, _args: Any, params: dict[str, Any]) -> None:
        with lock:
            if not cache:
                cache.append(password_for(url, given))
        if cache[0] is not None:
            params["password"] = cache[0]

    return on_connect


# --- masking --------------------------------------------------------------------------------


def remember(secret: str | None) -> None:
    """Mask `secret` in all output from now on."""
    if not secret or len(secret) < SHORTEST_MASKED:
        return
    with _known_lock:
        _known.update({secret, quote(secret, safe=""), quote_plus(secret, safe="")})


def remember_in_url(text: str) -> None:
    """Mask what stands as a password in a URL's text, even one too malformed to parse: all
    between the first : and the last @ of the part after ://."""
    _, separator, rest = text.partition("://")
    if not separator or "@" not in rest:
        return
    userinfo = rest[: rest.rfind("@")]
    if ":" in userinfo:
        remember(userinfo.split(":", 1)[1])


def remember_environment(environ: Mapping[str, str]) -> None:
    """Mask the passwords this process was started with: those of SECRET_ENVS and the one in
    PERPETUA_DATABASE_URL."""
    for name in SECRET_ENVS:
        remember(environ.get(name))
    url = environ.get(URL_ENV, "")
    if url:
        remember_in_url(url)
        # Not a URL at all: remember_in_url has taken what can be taken.
        with contextlib.suppress(Exception):
            remember(password_in(make_url(url)))


def mask(text: str) -> str:
    """`text` with every known password replaced by ***."""
    with _known_lock:
        secrets = sorted(_known, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, HIDDEN)
    return text


class MaskedStream:
    """A text stream that masks every password in what is written to it (`sys.stdout` and
    `sys.stderr` of the `perpetua` command: click's messages, tracebacks, log lines)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        if isinstance(text, str):
            self._stream.write(mask(text))
            return len(text)
        return self._stream.write(text)  # click probes with b"" for a binary stream

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def mask_output() -> None:
    """Mask passwords in everything this process prints from now on."""
    remember_environment(os.environ)
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, MaskedStream):
            setattr(sys, name, cast(TextIO, MaskedStream(stream)))
