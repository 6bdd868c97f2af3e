"""Query ranges: whole local days or RFC 3339 instants, resolved to UTC."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from meterr.domain import TimeRange, local_midnight
from meterr.errors import InvalidInput
from meterr.resolvers.inputs import EARLIEST, LATEST, parse_rfc3339, zone_named

__all__ = [
    "TimeRange",
    "check_bound",
    "local_days",
    "local_midnight",
    "parse_day",
    "parse_time_range",
    "parse_zone",
    "share_of_day_left",
    "stored_instant",
]

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MAX_RANGE = timedelta(days=3 * 366)


def local_days(first: date, end: date, zone: ZoneInfo) -> TimeRange:
    """The whole local days from `first` up to, not including, `end`."""
    return TimeRange(local_midnight(first, zone), local_midnight(end, zone), zone)


def share_of_day_left(now: datetime, zone: ZoneInfo) -> float:
    """The share of the local day holding `now` still to come, 0 to 1, on days of 23 or 25
    hours as on any other."""
    today = now.astimezone(zone).date()
    start, end = local_midnight(today, zone), local_midnight(today + timedelta(days=1), zone)
    return min(1.0, max(0.0, (end - now) / (end - start)))


def stored_instant(moment: datetime) -> datetime:
    """The instant as the store keeps it (BSON dates hold milliseconds), so that the answer
    to the request that stores something equals what later reads return."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def parse_zone(name: str | None) -> ZoneInfo:
    if not name:
        return ZoneInfo("UTC")
    try:
        return zone_named(name)
    except ValueError:
        raise InvalidInput(
            f"Unknown time zone '{name}': use an IANA name such as Europe/Paris.",
            {"fields": {"tz": "unknown IANA time zone"}},
        ) from None


def parse_day(value: str, field: str) -> date:
    """A calendar day, YYYY-MM-DD."""
    value = value.strip()
    try:
        if not _DATE_RE.match(value):
            raise ValueError(value)
        day = date.fromisoformat(value)
        if not EARLIEST.date() <= day < LATEST.date():
            raise InvalidInput(
                f"{field} must lie between {EARLIEST.year} and {LATEST.year - 1}, not {value}.",
                {"fields": {field: f"from {EARLIEST.year} to {LATEST.year - 1}"}},
            )
        return day
    except ValueError:
        raise InvalidInput(
            f"{field} '{value}' is not a valid date (YYYY-MM-DD).",
            {"fields": {field: "invalid date"}},
        ) from None


def _parse_bound(value: str, field: str, zone: ZoneInfo, *, is_end: bool) -> datetime:
    value = value.strip()
    if _DATE_RE.match(value):
        day = parse_day(value, field)
        if is_end:
            day += timedelta(days=1)  # whole days: the end date is included
        return local_midnight(day, zone)
    try:
        return parse_rfc3339(value, field=field)
    except ValueError as exc:
        raise InvalidInput(
            f"{field} must be YYYY-MM-DD or an RFC 3339 time: {exc}",
            {"fields": {field: "expected YYYY-MM-DD or an RFC 3339 time"}},
        ) from None


def check_bound(value: str) -> None:
    """Raises ValueError, saying why, unless `value` can bound a range: a day YYYY-MM-DD or
    an RFC 3339 time, from 1970 to 2199."""
    try:
        _parse_bound(value, "bound", ZoneInfo("UTC"), is_end=False)
    except InvalidInput:
        shown = value if len(value) <= 40 else f"{value[:40]}..."
        raise ValueError(
            f"'{shown}' is not a day (YYYY-MM-DD) or an RFC 3339 time from {EARLIEST.year} "
            f"to {LATEST.year - 1}"
        ) from None


def parse_time_range(
    start_date: str | None, end_date: str | None, tz: str | None, *, now: datetime
) -> TimeRange:
    """Defaults: from the first day of the current month to the end of today, local time."""
    zone = parse_zone(tz)
    local_today = now.astimezone(zone).date()
    start = (
        _parse_bound(start_date, "start_date", zone, is_end=False)
        if start_date
        else local_midnight(local_today.replace(day=1), zone)
    )
    end = (
        _parse_bound(end_date, "end_date", zone, is_end=True)
        if end_date
        else local_midnight(local_today + timedelta(days=1), zone)
    )
    if end <= start:
        raise InvalidInput(
            "end_date must not be before start_date.",
            {"fields": {"end_date": "before start_date"}},
        )
    if end - start > MAX_RANGE:
        raise InvalidInput(
            "The range may span at most three years.", {"fields": {"end_date": "range too long"}}
        )
    return TimeRange(start, end, zone)
