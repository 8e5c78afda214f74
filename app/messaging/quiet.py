"""Quiet hours: no SMS or push between 22:00 and 07:00 in India (a person may choose other hours); a message that
falls inside them waits for their end. One-time codes are never held: the person is waiting for them."""

from datetime import UTC, datetime, time, timedelta

from app.db import INDIA

QUIET_START, QUIET_END = time(22, 0), time(7, 0)


def release_time(user, when: datetime) -> datetime:
    """`when`, or the end of the user's quiet hours (without a user, the usual ones) if `when` falls inside them."""
    start = getattr(user, "quiet_hours_start", None) or QUIET_START
    end = getattr(user, "quiet_hours_end", None) or QUIET_END
    if start == end:
        return when
    local = when.astimezone(INDIA)
    now = local.time()
    quiet = (start <= now or now < end) if start > end else (start <= now < end)
    if not quiet:
        return when
    release = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if release <= local:
        release += timedelta(days=1)
    return release.astimezone(UTC)
