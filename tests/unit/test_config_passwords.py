"""Database passwords in the settings: only PERPETUA_DATABASE_URL may carry one (taken out of the
URL at once), the config file and --db are refused with where it goes instead; the lookup order
of the engine (the environment, PGPASSWORD left to libpq, the keyring); masking.

The `perpetua` command itself, with a marker password through every path, is
tests/integration/test_passwords.py."""

from __future__ import annotations

import getpass
import io
import logging
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail

from app.adapters import passwords
from app.adapters.db.engine import make_engine
from app.config import ConfigError, check_command_line_url, load_settings
from tests.support.keyring_file import JsonKeyring

SECRET = "Xy7-never-print-me-93"
PLACES = (
    "put the password in the environment (PERPETUA_DATABASE_PASSWORD, or PGPASSWORD), in a "
    "pgpass file (~/.pgpass, mode 0600), or in the system keyring with "
    "`keyring set perpetua clerk@db.example:5433/shop`"
)


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "config.toml"
    monkeypatch.setenv("PERPETUA_CONFIG", str(path))
    for name in ("PERPETUA_DATABASE_URL", "PERPETUA_DATABASE_PASSWORD", "PGPASSWORD"):
        monkeypatch.delenv(name, raising=False)
    return path


# --- where a password may stand ------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql+psycopg://clerk:{SECRET}@db.example:5433/shop",
        f"postgresql+psycopg://clerk@db.example:5433/shop?password={SECRET}",
    ],
)
def test_the_environment_url_may_carry_one_and_the_settings_keep_it_apart(
    config: Path, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("PERPETUA_DATABASE_URL", url)
    settings = load_settings()
    assert settings.database_url == "postgresql+psycopg://clerk@db.example:5433/shop"
    assert settings.database_password == SECRET
    assert SECRET not in repr(settings)


def test_an_environment_url_without_one_is_kept_as_written(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "PERPETUA_DATABASE_URL", "postgresql://clerk@db.example/shop?sslmode=require"
    )
    settings = load_settings()
    assert settings.database_url == "postgresql://clerk@db.example/shop?sslmode=require"
    assert settings.database_password is None


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql+psycopg://clerk:{SECRET}@db.example:5433/shop",
        f"postgresql+psycopg://clerk@db.example:5433/shop?password={SECRET}",
    ],
)
def test_the_config_file_may_not(config: Path, url: str) -> None:
    config.write_text(f'database_url = "{url}"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_settings()
    assert str(refused.value) == (
        f"{config}: database_url carries a password, and a config file is no place for one (it "
        "is copied, backed up and read by others); nothing was done. Remove it from the URL and "
        f"{PLACES}."
    )


def test_nor_the_command_line(config: Path) -> None:
    url = f"postgresql://clerk:{SECRET}@db.example:5433/shop"
    expected = (
        "--db carries a password, which every user of this computer can read in the list of "
        f"processes (`ps`); nothing was done. Give --db without the password and {PLACES}. "
        "(PERPETUA_DATABASE_URL may carry one: the environment is not shown in `ps`.)"
    )
    for refuse in (check_command_line_url, load_settings):
        with pytest.raises(ConfigError) as refused:
            refuse(url)
        assert str(refused.value) == expected
    assert load_settings("postgresql://clerk@db.example:5433/shop").source == "--db"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        (f"mysql://clerk:{SECRET}@db.example/shop", "is for mysql, which this program"),
        (f"postgresql://clerk:{SECRET}@db.example:port/shop", "cannot be read: write it as"),
        (f"{SECRET}", "cannot be read: write it as"),
        (f"postgresql://clerk:Xy7@{SECRET}@db.example/shop", "has an @ in its host name"),
    ],
)
def test_a_url_that_cannot_be_used_is_refused_without_repeating_it(
    config: Path, monkeypatch: pytest.MonkeyPatch, url: str, reason: str
) -> None:
    monkeypatch.setenv("PERPETUA_DATABASE_URL", url)
    with pytest.raises(ConfigError) as refused:
        load_settings()
    assert str(refused.value).startswith(f"PERPETUA_DATABASE_URL: the database URL {reason}")
    assert SECRET[4:] not in str(refused.value)
    with pytest.raises(passwords.BadDatabaseUrl) as at_the_engine:
        make_engine(url)
    assert SECRET[4:] not in str(at_the_engine.value)


# --- the engine's lookup ---------------------------------------------------------------------------


def test_the_engine_url_never_holds_the_password() -> None:
    engine = make_engine(f"postgresql://clerk:{SECRET}@db.example/shop?password=other")
    try:
        assert engine.url.password is None
        assert engine.url.render_as_string(hide_password=False) == (
            "postgresql+psycopg://clerk@db.example/shop"
        )
    finally:
        engine.dispose()


def test_a_connection_gets_the_password_at_connect_time(monkeypatch: pytest.MonkeyPatch) -> None:
    url = passwords.parse("postgresql://clerk@db.example/shop")
    params: dict[str, object] = {"host": "db.example"}
    passwords.connect_with_password(url, SECRET)(None, None, [], params)
    assert params == {"host": "db.example", "password": SECRET}
    # With PGPASSWORD set, libpq finds it: no password is handed over (nor the keyring asked).
    monkeypatch.setenv("PGPASSWORD", "left-to-libpq")
    monkeypatch.delenv("PERPETUA_DATABASE_PASSWORD", raising=False)
    untouched: dict[str, object] = {"host": "db.example"}
    passwords.connect_with_password(url, None)(None, None, [], untouched)
    assert untouched == {"host": "db.example"}


@pytest.fixture
def json_keyring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[JsonKeyring]:
    monkeypatch.setenv("PERPETUA_TEST_KEYRING", str(tmp_path / "keyring.json"))
    before = keyring.get_keyring()
    backend = JsonKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(before)


def test_the_order_of_the_sources(json_keyring: JsonKeyring) -> None:
    url = passwords.parse("postgresql://clerk@db.example:5433/shop")
    json_keyring.set_password("perpetua", "clerk@db.example:5433/shop", "from-the-keyring")
    env = {"PERPETUA_DATABASE_PASSWORD": "from-the-env", "PGPASSWORD": "for-libpq"}
    assert passwords.password_for(url, "given", env) == "given"
    with_one = passwords.parse("postgresql://clerk:in-the-url@db.example:5433/shop")
    assert passwords.password_for(with_one, None, env) == "in-the-url"
    assert passwords.password_for(url, None, env) == "from-the-env"
    assert passwords.password_for(url, None, {"PGPASSWORD": "for-libpq"}) is None
    assert passwords.password_for(url, None, {}) == "from-the-keyring"
    other = passwords.parse("postgresql://clerk@db.example:5433/other")
    assert passwords.password_for(other, None, {}) is None  # then libpq reads a pgpass file


def test_without_a_keyring_the_lookup_is_skipped_without_a_word(
    caplog: pytest.LogCaptureFixture,
) -> None:
    before = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())  # type: ignore[no-untyped-call]
    try:
        with caplog.at_level(logging.INFO):
            url = passwords.parse("postgresql://clerk@db.example/shop")
            assert passwords.password_for(url, None, {}) is None
    finally:
        keyring.set_keyring(before)
    assert caplog.records == []


def test_the_keyring_user_name_has_libpq_defaults_filled_in() -> None:
    def name(url: str) -> str:
        return passwords.keyring_username(passwords.parse(url))

    assert name("postgresql://clerk@db.example:5433/shop") == "clerk@db.example:5433/shop"
    me = getpass.getuser()
    assert name("postgresql:///shop") == f"{me}@localhost:5432/shop"
    assert name("postgresql://clerk@/?host=/run/postgresql") == ("clerk@/run/postgresql:5432/clerk")


# --- masking ---------------------------------------------------------------------------------------


def test_masking_hides_every_form_of_a_known_password() -> None:
    secret = "Mk/9 masked@pw"
    passwords.remember(secret)
    passwords.remember("abc")  # too short to mask without garbling the output
    text = f"a {secret} b Mk%2F9%20masked%40pw c Mk%2F9+masked%40pw d abc"
    assert passwords.mask(text) == "a *** b *** c *** d abc"


def test_a_malformed_url_still_has_its_password_masked() -> None:
    passwords.remember_in_url("postgresql://clerk:Unparsed@pw-42@db.example:xx/shop")
    assert passwords.mask("host 'pw-42@db.example'") == "host 'pw-42@db.example'"
    assert passwords.mask("Unparsed@pw-42 or Unparsed") == "*** or Unparsed"


def test_a_masked_stream_masks_what_is_written_to_it() -> None:
    passwords.remember("Stream-secret-7")
    out = io.StringIO()
    stream = passwords.MaskedStream(out)
    assert stream.write("lost Stream-secret-7\n") == len("lost Stream-secret-7\n")
    stream.writelines(["Stream-secret-7", "\n"])
    assert out.getvalue() == "lost ***\n***\n"
    assert stream.getvalue() == out.getvalue()  # everything else is the stream's own
