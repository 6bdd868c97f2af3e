"""One clock for the service, and calendar periods and days drawn in their own zone."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from meterr.clock import SettableClock, SystemClock
from meterr.domain import Budget, BudgetAction, BudgetPeriod, BudgetScope, BudgetStatus, BudgetUnit
from meterr.resolvers.spend import last_day_of
from meterr.resolvers.timerange import local_midnight, share_of_day_left

PACKAGE = Path(__file__).resolve().parent.parent / "meterr"
# What reads the machine's clock. The SDK is a client program of its own: it has no
# service clock, and it only measures durations.
_READS_THE_TIME = re.compile(r"\b(datetime\.(now|utcnow|today)|date\.today|time\.time(_ns)?)\(")


def test_only_the_clock_module_reads_the_time() -> None:
    readers = [
        f"{path.relative_to(PACKAGE.parent)}:{number}"
        for path in PACKAGE.rglob("*.py")
        if path.name != "clock.py" and "sdk" not in path.relative_to(PACKAGE).parts
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if _READS_THE_TIME.search(line)
    ]
    assert readers == [], "read the time through the service's clock"


def test_a_settable_clock_runs_on_from_its_instant_unless_frozen() -> None:
    at = datetime(2028, 2, 29, 23, 59, 59, tzinfo=UTC)
    frozen = SettableClock(at, frozen=True)
    assert frozen.now() == at
    frozen.advance(timedelta(seconds=2))
    assert frozen.now() == datetime(2028, 3, 1, 0, 0, 1, tzinfo=UTC)
    running = SettableClock(at)
    first = running.now()
    assert at <= first <= running.now() < at + timedelta(minutes=1)
    running.set(at, frozen=True)
    assert running.now() == at
    with pytest.raises(ValueError, match="timezone-aware"):
        SettableClock(datetime(2028, 2, 29))


def test_the_system_clock_shows_aware_utc_instants() -> None:
    now = SystemClock().now()
    assert now.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("zone", "day", "hours"),
    [
        ("America/New_York", date(2027, 3, 14), 23),
        ("America/New_York", date(2026, 11, 1), 25),
        ("Europe/Berlin", date(2027, 3, 28), 23),
        ("Europe/Berlin", date(2026, 10, 25), 25),
        ("Asia/Kolkata", date(2026, 11, 30), 24),
        ("UTC", date(2028, 2, 29), 24),
    ],
)
def test_a_days_share_left_counts_its_real_hours(zone: str, day: date, hours: int) -> None:
    tz = ZoneInfo(zone)
    start = local_midnight(day, tz)
    end = local_midnight(day + timedelta(days=1), tz)
    assert end - start == timedelta(hours=hours)
    assert share_of_day_left(start, tz) == 1.0
    assert share_of_day_left(start + timedelta(hours=hours / 4), tz) == pytest.approx(0.75)
    assert share_of_day_left(end - timedelta(hours=1), tz) == pytest.approx(1 / hours)


def budget(period: BudgetPeriod, zone: str) -> Budget:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    return Budget(
        id="bud_1",
        org_id="org_1",
        name="b",
        scope=BudgetScope(),
        limit=10,
        unit=BudgetUnit.USD,
        period=period,
        timezone=zone,
        thresholds=(),
        action=BudgetAction.ALERT,
        created_at=at,
        updated_at=at,
    )


@pytest.mark.parametrize(
    ("now", "zone", "period", "first", "last"),
    [
        # 21:00 UTC on the last day of November is already December 1st in Kolkata.
        ("2026-11-30T21:00:00Z", "UTC", BudgetPeriod.MONTH, "2026-11-01", "2026-11-30"),
        ("2026-11-30T21:00:00Z", "Asia/Kolkata", BudgetPeriod.MONTH, "2026-12-01", "2026-12-31"),
        ("2026-11-30T21:00:00Z", "Asia/Kolkata", BudgetPeriod.DAY, "2026-12-01", "2026-12-01"),
        ("2026-11-30T09:00:00Z", "America/New_York", BudgetPeriod.DAY, "2026-11-30", "2026-11-30"),
        ("2026-12-31T23:30:00Z", "Europe/Berlin", BudgetPeriod.MONTH, "2027-01-01", "2027-01-31"),
        ("2026-12-31T23:30:00Z", "UTC", BudgetPeriod.WEEK, "2026-12-28", "2027-01-03"),
        ("2028-02-29T12:00:00Z", "UTC", BudgetPeriod.MONTH, "2028-02-01", "2028-02-29"),
        ("2027-03-14T12:00:00Z", "America/New_York", BudgetPeriod.WEEK, "2027-03-08", "2027-03-14"),
        ("2026-10-25T12:00:00Z", "Europe/Berlin", BudgetPeriod.DAY, "2026-10-25", "2026-10-25"),
    ],
)
def test_a_budget_period_has_its_first_and_last_day_in_its_zone(
    now: str, zone: str, period: BudgetPeriod, first: str, last: str
) -> None:
    tz = ZoneInfo(zone)
    chosen = budget(period, zone)
    start, end = chosen.period_at(datetime.fromisoformat(now))
    assert start == local_midnight(date.fromisoformat(first), tz)
    assert end == local_midnight(date.fromisoformat(last) + timedelta(days=1), tz)
    assert last_day_of(BudgetStatus(chosen, start, end, 0)) == date.fromisoformat(last)
