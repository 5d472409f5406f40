"""The database side of who may do what: the warehouse policy, PIN checks with lockout kept in
the database, and setting PINs (migration 0007).

On PostgreSQL a PIN is checked by `perpetua_check_pin`, a SECURITY DEFINER function: the
stations' role never reads a hash, and wrong attempts are counted in the same statement. SQLite
has no server side and no roles: the same rule (app/domain/rules.next_failure) runs here, on the
same rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, text, update

from app.adapters import pins
from app.domain.policy import WarehousePolicy
from app.domain.rules import PinCheck, PinStatus, next_failure

from .schema import OperatorPinRow, OperatorRow, WarehousePolicyRow, table

_P = table(WarehousePolicyRow)
_PIN = table(OperatorPinRow)
_O = table(OperatorRow)


def _pg(c: Connection) -> bool:
    return c.dialect.name == "postgresql"


def policy(c: Connection) -> WarehousePolicy:
    rows = c.execute(select(_P.c.key, _P.c.value)).all()
    return WarehousePolicy.from_values({r.key: r.value for r in rows})


def set_policy(
    c: Connection, key: str, value: int, operator_id: int | None, tx_id: uuid.UUID | None
) -> None:
    values: dict[str, Any] = {
        "value": value,
        "updated_at": datetime.now(UTC),
        "updated_by_id": operator_id,
        "tx_id": tx_id,
    }
    if c.execute(update(_P).where(_P.c.key == key).values(**values)).rowcount == 0:
        c.execute(insert(_P).values(key=key, **values))


def check_pin(c: Connection, badge: str, pin: str) -> PinCheck:
    """Check a supervisor's PIN and count a wrong one, in the caller's transaction (commit it:
    the count must stay even when what the PIN was for is refused)."""
    if _pg(c):
        answer = c.execute(
            text("SELECT perpetua_check_pin(:badge, :pin)"), {"badge": badge, "pin": pin}
        ).scalar_one()
        status, left, locked = str(answer).split(":") if ":" in answer else (answer, "0", "0")
        return PinCheck(PinStatus(status), int(left), int(locked))
    return _sqlite_check(c, badge, pin)


def _sqlite_check(c: Connection, badge: str, pin: str) -> PinCheck:
    row = c.execute(
        select(_PIN.c.operator_id, _PIN.c.online_hash, _PIN.c.failures, _PIN.c.locked_until)
        .join(_O, _O.c.id == _PIN.c.operator_id)
        .where(_O.c.badge == badge, _O.c.role == "supervisor", _O.c.active.is_(True))
    ).first()
    if row is None or not row.online_hash:
        return PinCheck(PinStatus.NO_PIN)
    now = datetime.now(UTC)
    locked_until = _aware(row.locked_until)
    if locked_until is not None and locked_until > now:
        return PinCheck(PinStatus.LOCKED, locked_s=_seconds(locked_until - now))
    if pins.matches(row.online_hash, pin):
        if row.failures or row.locked_until is not None:
            _set_attempts(c, row.operator_id, 0, None)
        return PinCheck(PinStatus.OK)
    rules = policy(c)
    failures, lock_s = next_failure(row.failures, rules.pin_attempts, rules.lockout_seconds)
    until = now + timedelta(seconds=lock_s) if lock_s else None
    _set_attempts(c, row.operator_id, failures, until)
    return PinCheck(PinStatus.WRONG, rules.pin_attempts - failures if not lock_s else 0, lock_s)


def _set_attempts(c: Connection, operator_id: int, failures: int, until: datetime | None) -> None:
    c.execute(
        update(_PIN)
        .where(_PIN.c.operator_id == operator_id)
        .values(failures=failures, locked_until=until)
    )


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _seconds(span: timedelta) -> int:
    return max(1, int(span.total_seconds() + 0.999))


def set_pins(c: Connection, by_operator: Mapping[int, pins.PreparedPin]) -> None:
    """Store new PINs (operator id -> its verifiers, made before the transaction)."""
    now = datetime.now(UTC)
    for operator_id, prepared in by_operator.items():
        online = prepared.sqlite_online
        if _pg(c):
            online = c.execute(
                text("SELECT crypt(:pin, gen_salt('bf', :cost))"),
                {"pin": prepared.pin, "cost": pins.ONLINE_BCRYPT_COST},
            ).scalar_one()
        values: dict[str, Any] = {
            "online_hash": online,
            "offline_verifier": prepared.offline,
            "failures": 0,
            "locked_until": None,
            "changed_at": now,
        }
        done = c.execute(
            update(_PIN).where(_PIN.c.operator_id == operator_id).values(**values)
        ).rowcount
        if not done:
            c.execute(insert(_PIN).values(operator_id=operator_id, **values))


Verifier = tuple[str, str | None, datetime | None, int]


def offline_verifiers(c: Connection, since: int) -> list[Verifier]:
    """(badge, offline verifier, locked until, rev) of PINs changed since `since`, for a
    station's replica."""
    if _pg(c):
        rows = c.execute(
            text(
                "SELECT badge, offline_verifier, locked_until, rev "
                "FROM perpetua_offline_verifiers(:since)"
            ),
            {"since": since},
        ).all()
    else:
        rows = c.execute(
            select(_O.c.badge, _PIN.c.offline_verifier, _PIN.c.locked_until, _PIN.c.rev)
            .join(_O, _O.c.id == _PIN.c.operator_id)
            .where(_PIN.c.rev >= since)
        ).all()
    return [(r[0], r[1], _aware(r[2]), int(r[3])) for r in rows]
