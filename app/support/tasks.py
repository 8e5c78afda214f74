"""Complaints past their category's time limit are escalated (each once); closed ones' photos are deleted in time."""

from huey import crontab

from app.support import services
from app.taskqueue import periodic_task


@periodic_task(crontab(minute="*/5"), retries=2, retry_delay=60)
def escalate_overdue_complaints() -> str:
    """Mark complaints past their time limit escalated and tell their customers (once: a conditional UPDATE)."""
    return f"{services.escalate_overdue()} complaints escalated"


@periodic_task(crontab(minute="29", hour="2"), retries=2, retry_delay=300)
def delete_old_complaint_photos() -> str:
    """Closed complaints' photos are kept KEEP["complaint_photos"] days after closing (configured)."""
    return f"{services.delete_old_photos()} complaint photos deleted"
