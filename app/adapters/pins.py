"""PIN verifiers (README "Securing a warehouse").

Two per PIN, each for its own reader:
- the online hash, which only the database side checks (PostgreSQL: bcrypt by pgcrypto, inside
  `perpetua_check_pin`; SQLite, which has no server side: argon2id, checked by the ledger). The
  station's database role cannot read it, and wrong attempts lock the badge, so it may be quick.
- the offline verifier, which every station keeps in its replica to check a supervisor while the
  database is out of reach. Anyone who takes a station's disk has it, so it is slow on purpose:
  argon2id with OFFLINE_TIME_COST passes over OFFLINE_MEMORY_KIB, about 1.4 s a guess on this
  project's 2-core machine, so that trying the 1,000,000 six-digit PINs takes more than a week
  of one core on average (`python bench/pin_cost.py` measures it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.domain.rules import PIN_MIN_DIGITS, pin_problem

ONLINE_BCRYPT_COST = 12
"""pgcrypto's bcrypt cost for the PostgreSQL online hash (about 0.3 s a check here)."""

OFFLINE_TIME_COST = 4
OFFLINE_MEMORY_KIB = 256 * 1024

_online = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_offline = PasswordHasher(
    time_cost=OFFLINE_TIME_COST, memory_cost=OFFLINE_MEMORY_KIB, parallelism=1
)


def checked(pin: str, min_digits: int = PIN_MIN_DIGITS) -> str:
    problem = pin_problem(pin, min_digits)
    if problem:
        raise ValueError(problem)
    return pin


def online_hash(pin: str) -> str:
    """SQLite's online hash (PostgreSQL makes its own with pgcrypto)."""
    return _online.hash(checked(pin))


def offline_verifier(pin: str) -> str:
    return _offline.hash(checked(pin))


@dataclass(frozen=True)
class PreparedPin:
    """A new PIN with the verifiers made from it in Python: made before a write transaction
    opens, since the offline verifier takes a second and a half (SQLite's write lock would hold
    every station that long). PostgreSQL makes its online hash itself, from `pin`."""

    pin: str = field(repr=False)
    offline: str = field(repr=False)
    sqlite_online: str = field(repr=False)


def prepare(pin: str, min_digits: int = PIN_MIN_DIGITS) -> PreparedPin:
    checked(pin, min_digits)
    return PreparedPin(pin, offline_verifier(pin), online_hash(pin))


def matches(pin_hash: str | None, pin: str) -> bool:
    """Whether `pin` is the PIN of an argon2 hash (either kind: the parameters are in it)."""
    if not pin_hash or pin_problem(pin, 1):
        return False
    try:
        return _offline.verify(pin_hash, pin)
    except (VerificationError, InvalidHashError):
        return False
