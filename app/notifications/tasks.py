"""Tasks that send notifications and find the ones that are due.

A transaction that wrote deliveries enqueues `send_deliveries` for them once it has committed;
`sweep_deliveries` runs every minute for retries, deliveries held through quiet hours and lost enqueues.
"""

from huey import crontab

from app.notifications import announcements, delivery, reminders, services
from app.notifications.models import DeliveryStatus
from app.taskqueue import periodic_task, task


def _summary(outcomes) -> str:
    return (f"{outcomes[DeliveryStatus.SENT]} notifications sent, {outcomes[DeliveryStatus.FAILED]} to retry, "
            f"{outcomes[delivery.HELD]} held for quiet hours, {outcomes[DeliveryStatus.DEAD]} given up")


@task(retries=5, retry_delay=30)
def send_deliveries(ids: list[int]) -> str:
    """Send these just-committed deliveries now."""
    return _summary(delivery.deliver_due(ids))


@periodic_task(crontab(minute="*"), retries=2, retry_delay=20)
def sweep_deliveries() -> str:
    """Send every delivery that is due (a retry, one held through quiet hours, a lost enqueue, an expired claim)."""
    return _summary(delivery.deliver_all_due())


@periodic_task(crontab(minute="*/15"), retries=2, retry_delay=60)
def remind_due_bills() -> str:
    """Write the due-date reminders that are due (each once: a run beside this one, or after it, adds none)."""
    return f"{reminders.send_due_reminders()} due-date reminders written"


@periodic_task(crontab(minute="*/5"), retries=2, retry_delay=60)
def send_current_announcements() -> str:
    """Send each announcement that has started and was not sent yet (once: see announcements.send_announcements)."""
    return f"{announcements.send_announcements()} announcement notifications written"


@periodic_task(crontab(minute="23", hour="2"), retries=2, retry_delay=300)
def prune_old_notifications() -> str:
    """The inbox is kept KEEP["notifications"] days (configured; docs/deployment.md)."""
    return f"{services.prune_old_notifications()} old notifications removed"
