"""Months as reports use them: a month is its first day; a range is inclusive at both ends (pure: no Flask)."""

import re
from dataclasses import dataclass
from datetime import date

MAX_MONTHS = 36  # a longer range is refused: three years is what a utility compares
DEFAULT_MONTHS = 12
_MONTH = re.compile(r"(\d{4})-(\d{2})")


def first_of(day: date) -> date:
    return day.replace(day=1)


def shifted(month: date, months: int) -> date:
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def months_between(first: date, last: date) -> list[date]:
    count = (last.year - first.year) * 12 + last.month - first.month + 1
    return [shifted(first, n) for n in range(max(count, 0))]


def cycle_of(month: date) -> str:
    """The bills' cycle string of a month: '2026-11'."""
    return f"{month:%Y-%m}"


def parse_month(text: str) -> date | None:
    match = _MONTH.fullmatch(text.strip())
    if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 2000:
        return None
    return date(int(match.group(1)), int(match.group(2)), 1)


@dataclass(frozen=True)
class MonthRange:
    first: date
    last: date

    @property
    def months(self) -> list[date]:
        return months_between(self.first, self.last)

    @property
    def end(self) -> date:
        """The day after the range (exclusive bound for date columns)."""
        return shifted(self.last, 1)


def default_range(today: date) -> MonthRange:
    """The last twelve months, this one included."""
    this_month = first_of(today)
    return MonthRange(shifted(this_month, 1 - DEFAULT_MONTHS), this_month)


class BadRange(ValueError):
    """The code of what is wrong: 'from', 'to', 'order', 'future' or 'long'."""


def month_range(first_text: str | None, last_text: str | None, today: date) -> MonthRange:
    """The range a filter asks for (blank ends take the default's); BadRange if it is not a sensible one."""
    default = default_range(today)
    first = parse_month(first_text) if first_text else default.first
    last = parse_month(last_text) if last_text else default.last
    if first is None:
        raise BadRange("from")
    if last is None:
        raise BadRange("to")
    if first > last:
        raise BadRange("order")
    if last > first_of(today):
        raise BadRange("future")
    if len(months_between(first, last)) > MAX_MONTHS:
        raise BadRange("long")
    return MonthRange(first, last)
