"""Turns a database outage into `DatabaseUnavailable` for the station's reads.

The station keeps working while the shared database is down (DESIGN.md section 2); its session
must tell "the database cannot be reached" from a bug. The services layer knows no SQLAlchemy,
so this adapter translates: a TransientDatabaseError, or a failure the one classifier
(errors.py) calls worth a retry (lost connection, refused connection, a busy SQLite file past its
timeout), leaves as DatabaseUnavailable; anything else is left as it is.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from sqlalchemy import exc

from app.domain.ports import DatabaseUnavailable, TransientDatabaseError

from .errors import first_line, retryable

__all__ = ["OutageGuard", "first_line", "guarded"]

T = TypeVar("T")


class OutageGuard:
    """Wraps every public method of `target` so an outage raises DatabaseUnavailable."""

    def __init__(self, target: object) -> None:
        self._target = target

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if name.startswith("_") or not callable(value):
            return value
        return _guarded(value)


def _guarded(method: Callable[..., T]) -> Callable[..., T]:
    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> T:
        try:
            return method(*args, **kwargs)
        except TransientDatabaseError as error:
            raise DatabaseUnavailable(str(error).splitlines()[0]) from error
        except exc.DBAPIError as error:
            if retryable(error):
                raise DatabaseUnavailable(first_line(error)) from error
            raise

    return call


def guarded(target: T) -> T:
    """`target` with an outage on any of its methods raised as DatabaseUnavailable."""
    return cast(T, OutageGuard(target))
