"""Cycle-count planning and assignment on a real ledger, on both databases: the planner's choices
from real picks, short picks and adjustments; a second planning of the same day; assigning tasks
to a counter, a zone or anyone; the `perpetua counts` commands; and half a year of daily plans
whose tasks are all counted, after which no bin has gone uncounted longer than its class allows
and none was planned twice in a day."""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, func, select, text, update

from app.adapters.db import authority, catalogue
from app.adapters.db.count_planning import count_tasks
from app.adapters.db.schema import CountTaskRow, LocationRow, SkuClassRow, SkuRow, table
from app.cli import main
from app.domain.catalogue import LocationSpec, SkuSpec
from app.domain.commands import (
    Adjust,
    AdjustReason,
    AssignCount,
    Opening,
    OpeningLine,
    PlanCounts,
    PostPick,
    Reserve,
    SaveCount,
)
from app.domain.ledger import Outcome
from app.domain.model import LocationKind
from tests.support.warehouse import Warehouse

TODAY = datetime.now(UTC).date()
AT = ["--station", "ST-1"]


def perpetua(db_url: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["--db", db_url, *args], catch_exceptions=False)


def set_values(engine: Engine, cents: dict[str, int]) -> None:
    s = table(SkuRow)
    with engine.begin() as c:
        for code, value in cents.items():
            c.execute(update(s).where(s.c.code == code).values(unit_value_cents=value))


def pick(wh: Warehouse, order: str, sku: str, bin_: str, reserve: int, picked: int) -> None:
    reserved = wh.run(Reserve, order=order, line=1, sku=sku, qty=reserve, location=bin_)
    assert reserved.ok, reserved.message
    rid = reserved.result["lines"][0]["reservation"]
    short = "not there" if picked < reserve else None
    posted = wh.run(PostPick, reservation=rid, qty=picked, to_location="OUT-1", short_reason=short)
    assert posted.ok, posted.message


def plan(wh: Warehouse, day: date = TODAY, zone: str | None = None) -> Outcome:
    """The plan of `day`, made on that day (at 06:00 UTC), as a supervisor plans each morning."""
    made = datetime.combine(day, time(6), UTC)
    return wh.run(PlanCounts, operator="S1", day=day, zone=zone, station_time=made)


@pytest.fixture
def wh(warehouse: Warehouse) -> Warehouse:
    """WIDGET (10.00) emptied from A-01-01 by a pick; BOLT (0.10) short-picked in A-01-02;
    SCREW-4 adjusted down (lost) in A-01-03; SCREW-5 untouched in B-01-01; A-02-01 and B-01-02
    empty and quiet; BLOCKED is inactive."""
    set_values(warehouse.engine, {"WIDGET": 1_000, "BOLT": 10, "SCREW-4": 5})
    opened = warehouse.run(
        Opening,
        lines=(
            OpeningLine("WIDGET", "A-01-01", 5),
            OpeningLine("BOLT", "A-01-02", 10),
            OpeningLine("SCREW-4", "A-01-03", 30),
            OpeningLine("SCREW-5", "B-01-01", 30),
        ),
    )
    assert opened.ok, opened.message
    pick(warehouse, "SO-1", "WIDGET", "A-01-01", 5, 5)
    pick(warehouse, "SO-2", "BOLT", "A-01-02", 4, 1)
    lost = warehouse.run(
        Adjust, sku="SCREW-4", location="A-01-03", delta=-1, reason=AdjustReason.LOST
    )
    assert lost.ok, lost.message
    return warehouse


def reasons(outcome: Outcome, key: str = "planned") -> dict[str, str]:
    return {p["location"]: p["reason"] for p in outcome.result[key]}


def test_the_plan_counts_where_something_happened_and_samples_the_rest(wh: Warehouse) -> None:
    day = TODAY.isoformat()
    planned = plan(wh)
    assert planned.ok, planned.message
    assert reasons(planned) == {
        "A-01-01": f"zero-balance check: emptied {day} by P1",
        "A-01-02": f"short pick {day} by P1",
        "A-01-03": f"negative adjustment {day} by C1 (lost)",
        # Three events took the day's share of class C (6 bins over 180 days: 1): the rest of
        # the active bins are the day's random sample; BLOCKED (inactive) never is.
        "A-02-01": "random sample",
        "B-01-01": "random sample",
        "B-01-02": "random sample",
    }
    assert planned.message == (
        f"planned 6 counts for {day}: 3 for events, 0 due by class, 3 at random"
    )
    assert planned.result["bins_by_class"] == {"A": 0, "B": 0, "C": 6}
    with wh.engine.connect() as c:
        classes = dict(
            c.execute(
                select(table(SkuRow).c.code, table(SkuClassRow).c.abc).join(
                    table(SkuClassRow), table(SkuClassRow).c.sku_id == table(SkuRow).c.id
                )
            ).all()
        )
        tasks = count_tasks(c)
    # WIDGET makes 5 000 of 5 010 cents picked: A; BOLT the rest: C (it held no A stock left).
    assert classes == {"WIDGET": "A", "BOLT": "C"}
    assert [t.location for t in tasks] == [
        "A-01-01", "A-01-02", "A-01-03", "A-02-01", "B-01-01", "B-01-02",
    ]  # fmt: skip
    first = tasks[0]
    assert (first.state, first.origin, first.abc, first.planned_for) == ("open", "plan", "C", TODAY)
    assert (first.assigned_to, first.zone, first.assignee) == (None, "A", "zone A")
    assert {t.origin for t in tasks[3:]} == {"sample"}


def test_planning_the_same_day_again_plans_only_what_is_new(wh: Warehouse) -> None:
    assert plan(wh).ok
    again = plan(wh)
    assert again.ok and again.result["planned"] == []
    assert again.message == f"nothing new to count on {TODAY.isoformat()}; 3 already open"
    assert set(reasons(again, "already_open")) == {"A-01-01", "A-01-02", "A-01-03"}
    with wh.engine.connect() as c:
        assert len(count_tasks(c)) == 6


def test_a_zone_plan_takes_only_its_bins_and_an_unknown_zone_is_refused(wh: Warehouse) -> None:
    planned = plan(wh, zone="B")
    assert planned.ok and set(reasons(planned)) == {"B-01-01", "B-01-02"}
    refused = plan(wh, zone="Q")
    assert not refused.ok and "no location is in zone 'Q'" in refused.message


def test_only_a_supervisor_plans_and_assigns(wh: Warehouse) -> None:
    refused = wh.run(PlanCounts, operator="C1", day=TODAY)
    assert not refused.ok and "plan cycle counts" in refused.message
    refused = wh.run(AssignCount, operator="P1", locations=("A-01-01",), to="C1")
    assert not refused.ok and "assign count tasks" in refused.message


def test_assign_to_a_counter_a_zone_or_anyone(wh: Warehouse) -> None:
    assert plan(wh).ok

    def assigned() -> dict[str, str]:
        with wh.engine.connect() as c:
            return {t.location: t.assignee for t in count_tasks(c)}

    to_c1 = wh.run(AssignCount, operator="S1", locations=("A-01-01", "A-01-02"), to="C1")
    assert to_c1.ok and to_c1.message == (
        "2 count tasks (A-01-01, A-01-02) assigned to C1 (Cam Counter)"
    )
    assert assigned()["A-01-01"] == "C1" and assigned()["A-01-03"] == "zone A"
    to_zone = wh.run(AssignCount, operator="S1", locations=("A-01-01",), zone="B")
    assert to_zone.ok and to_zone.message.endswith("assigned to the counters of zone B")
    assert assigned()["A-01-01"] == "zone B"
    anyone = wh.run(AssignCount, operator="S1", locations=("A-01-01", "A-01-03"))
    assert anyone.ok and anyone.message.endswith("assigned to anyone")
    assert assigned()["A-01-01"] == "anyone" and assigned()["A-01-03"] == "anyone"
    assert assigned()["A-01-02"] == "C1"


def test_assign_refusals_name_what_is_wrong_and_change_nothing(wh: Warehouse) -> None:
    assert plan(wh, zone="B").ok
    cases = {
        "P1": "P1 (Pat Picker) is a picker, who does not count",
        "NOBODY": "badge 'NOBODY' is not known",
        "GONE": "badge GONE is deactivated",
    }
    for badge, said in cases.items():
        refused = wh.run(AssignCount, operator="S1", locations=("B-01-01",), to=badge)
        assert not refused.ok and said in refused.message, refused.message
    refused = wh.run(AssignCount, operator="S1", locations=("B-01-01", "A-01-01"), to="C1")
    assert not refused.ok
    assert refused.message.startswith("A-01-01 has no unfinished count task")
    refused = wh.run(AssignCount, operator="S1", locations=("NOPE",), to="C1")
    assert not refused.ok and "no location NOPE" in refused.message
    refused = wh.run(AssignCount, operator="S1", locations=("B-01-01",), zone="Q")
    assert not refused.ok and "zone 'Q'" in refused.message
    with wh.engine.connect() as c:
        assert {t.assignee for t in count_tasks(c)} == {"zone B"}


def test_a_bin_counted_since_its_event_is_not_planned_for_it(wh: Warehouse) -> None:
    later = datetime.now(UTC) + timedelta(minutes=1)
    saved = wh.run(
        SaveCount,
        location="A-01-02",
        state="done",
        counter="C1",
        station_time=later,
    )
    assert saved.ok, saved.message
    planned = plan(wh)
    assert reasons(planned).get("A-01-02") in (None, "random sample")


# --- the CLI ----------------------------------------------------------------------------------


def test_counts_plan_list_and_assign_commands(db_url: str, wh: Warehouse) -> None:
    day = TODAY.isoformat()
    planned = perpetua(db_url, "counts", "plan", "--badge", "S1", *AT)
    assert planned.exit_code == 0, planned.output
    out = planned.output.splitlines()
    assert out[0] == f"planned 6 counts for {day}: 3 for events, 0 due by class, 3 at random"
    assert "bins by class: A 0, B 0, C 6" in out
    assert any(
        line.split() == ["A-01-02", "A", "C", "plan", "short", "pick", day, "by", "P1"]
        for line in out
    )
    again = perpetua(db_url, "counts", "plan", "--date", day, "--badge", "S1", *AT)
    assert "already open (not planned again):" in again.output
    assert f"  A-01-02  short pick {day} by P1" in again.output

    listed = perpetua(db_url, "counts", "list")
    rows = listed.output.splitlines()
    assert rows[0].split() == [
        "location", "zone", "state", "from", "class", "assigned", "planned", "why",
    ]  # fmt: skip
    assert [r.split()[0] for r in rows[1:]] == [
        "A-01-01", "A-01-02", "A-01-03", "A-02-01", "B-01-01", "B-01-02",
    ]  # fmt: skip
    assigned = perpetua(
        db_url, "counts", "assign", "A-01-02", "B-01-01", "--to", "C1", "--badge", "S1", *AT
    )
    assert assigned.exit_code == 0, assigned.output
    assert (
        assigned.output.strip() == "2 count tasks (A-01-02, B-01-01) assigned to C1 (Cam Counter)"
    )
    as_json = perpetua(db_url, "counts", "list", "--zone", "B", "--json")
    tasks = [json.loads(line) for line in as_json.output.splitlines()]
    assert [(t["location"], t["assigned_to"], t["origin"]) for t in tasks] == [
        ("B-01-01", "C1", "sample"),
        ("B-01-02", None, "sample"),
    ]


def test_counts_commands_refuse_clearly(db_url: str, wh: Warehouse) -> None:
    refused = perpetua(db_url, "counts", "assign", "A-01-01", "--to", "C1", "--badge", "S1", *AT)
    assert refused.exit_code == 1
    assert "A-01-01 has no unfinished count task" in refused.output
    both = perpetua(
        db_url, "counts", "assign", "A-01-01", "--to", "C1", "--anyone", "--badge", "S1", *AT
    )
    assert both.exit_code == 2 and "one of --to BADGE, --zone Z or --anyone" in both.output
    counter = perpetua(db_url, "counts", "plan", "--badge", "C1", *AT)
    assert counter.exit_code == 1 and "plan cycle counts" in counter.output
    bad_day = perpetua(db_url, "counts", "plan", "--date", "7.12.2026", "--badge", "S1", *AT)
    assert bad_day.exit_code == 2 and "is not a date YYYY-MM-DD" in bad_day.output
    assert perpetua(db_url, "counts", "list").output.strip() == "(no open count tasks)"


# --- half a year ------------------------------------------------------------------------------

ZONES = "XY"
BINS_PER_ZONE = 100
DAYS = 182


def half_year_warehouse(wh: Warehouse) -> set[str]:
    """Two zones of 100 bins; 30 SKUs, the first five worth 50.00 and picked (they are A and B),
    the rest 1.00; two thirds of the bins stocked. Picks count towards the classes all year."""
    specs = [
        LocationSpec(f"{z}-{n:03d}", LocationKind.BIN, zone=z, pick_sequence=100 + i * 1000 + n)
        for i, z in enumerate(ZONES)
        for n in range(1, BINS_PER_ZONE + 1)
    ]
    skus = [SkuSpec(f"HY-{n:02d}", f"Half-year item {n}", 1, 1) for n in range(30)]
    with wh.engine.begin() as c:
        catalogue.add_locations(c, specs)
        catalogue.add_skus(c, skus)
        authority.set_policy(c, "abc_days", 365, None, None)
        authority.set_policy(c, "count_sample", 2, None, None)
    set_values(wh.engine, {s.code: (5_000 if n < 5 else 100) for n, s in enumerate(skus)})
    full = [spec for n, spec in enumerate(specs) if n % 3 != 2]
    lines = [OpeningLine(skus[n % 30].code, spec.code, 50) for n, spec in enumerate(full)]
    assert wh.run(Opening, lines=tuple(lines)).ok
    for n in range(5):
        where = next(line.location for line in lines if line.sku == skus[n].code)
        pick(wh, f"HY-SO-{n}", skus[n].code, where, 10 - n, 10 - n)
    return {line.location for line in lines}


def test_half_a_year_of_plans_counts_every_bin_within_its_class_period(wh: Warehouse) -> None:
    stocked = half_year_warehouse(wh)
    start = TODAY + timedelta(days=1)
    ct, loc = table(CountTaskRow), table(LocationRow)
    for d in range(DAYS):
        day = start + timedelta(days=d)
        planned = plan(wh, day)
        assert planned.ok, planned.message
        codes = [p["location"] for p in planned.result["planned"]]
        assert len(codes) == len(set(codes)), f"a bin planned twice on {day}"
        # Every task the day planned is counted that day (the count's station time).
        with wh.engine.begin() as c:
            c.execute(
                update(ct)
                .where(text("count_tasks.state <> 'done'"))
                .values(state="done", done_at=datetime.combine(day, time(15), UTC))
            )
    with wh.engine.connect() as c:
        rows = c.execute(
            select(loc.c.code, ct.c.planned_for, ct.c.abc)
            .join(loc, loc.c.id == ct.c.location_id)
            .where(loc.c.zone.in_(tuple(ZONES)))
        ).all()
        twice = c.execute(
            select(ct.c.location_id, ct.c.planned_for)
            .group_by(ct.c.location_id, ct.c.planned_for)
            .having(func.count() > 1)
        ).all()
    assert twice == []
    counted: dict[str, list[date]] = defaultdict(list)
    for code, planned_for, _ in rows:
        counted[code].append(planned_for)
    stocked_a = {code for code, _, abc in rows if abc == "A"} & stocked
    stocked_c = {code for code, _, abc in rows if abc == "C"} & stocked
    assert stocked_a and len(stocked_c) > 100
    end = start + timedelta(days=DAYS - 1)
    limits = {"A": 30, "C": 180}
    for abc, of_class in (("A", stocked_a), ("C", stocked_c)):
        for code in of_class:
            days = sorted(counted[code])
            gaps = [
                (days[0] - start).days + 1,
                *((b - a).days for a, b in itertools.pairwise(days)),
                (end - days[-1]).days,
            ]
            assert max(gaps) <= limits[abc], (abc, code, gaps)
    assert len(counted) == len(ZONES) * BINS_PER_ZONE  # every bin, the empty ones too


def test_the_demo_has_a_b_and_c_classes_from_its_past_picks(db_url: str) -> None:
    assert perpetua(db_url, "demo", "--bins", "120", "--skus", "60").exit_code == 0
    planned = perpetua(db_url, "counts", "plan", "--badge", "S001", "--station", "DEMO", "--json")
    assert planned.exit_code == 0, planned.output
    sizes = json.loads(planned.output)["result"]["bins_by_class"]
    assert all(sizes[abc] > 0 for abc in "ABC"), sizes
    assert perpetua(db_url, "verify").output.strip().endswith("ledger OK")


def test_a_plan_is_for_today_or_the_week_ahead(wh: Warehouse) -> None:
    """A plan for a day long past or far ahead is refused, and writes nothing (its classes
    would be computed from picks that do not exist)."""
    made = datetime.combine(TODAY, time(6), UTC)
    for day in (TODAY - timedelta(days=30), TODAY + timedelta(days=8)):
        refused = wh.run(PlanCounts, operator="S1", day=day, station_time=made)
        assert not refused.ok
        assert refused.message.startswith("counts are planned for today or up to 7 days ahead")
    assert plan(wh, TODAY + timedelta(days=7)).ok
