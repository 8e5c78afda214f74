"""`flask notifications …`: write the due reminders now, send what is due now (the task consumer does both on its
own schedule). `flask announcements add`: an announcement by a named staff member."""

from datetime import UTC, datetime

import click
from flask.cli import AppGroup

from app.auth.cli import as_staff
from app.db import INDIA, utcnow
from app.extensions import db
from app.notifications.announcements import AnnouncementError, add_announcement
from app.notifications.tasks import remind_due_bills, send_current_announcements, sweep_deliveries

notifications_cli = AppGroup("notifications", help="Notifications: reminders and their sending.")


@notifications_cli.command("remind")
def remind_command() -> None:
    """Write the due-date reminders due today that were not written yet (safe to run any number of times)."""
    click.echo(remind_due_bills.call_local())


@notifications_cli.command("send")
def send_command() -> None:
    """Send every push and SMS that is due now (outside quiet hours)."""
    click.echo(sweep_deliveries.call_local())


announcements_cli = AppGroup("announcements", help="Announcements to customers (planned outages, service news).")


def _india_time(text: str | None, default: datetime | None = None) -> datetime | None:
    """'2026-12-01 09:00' or '2026-12-01' (00:00), in India time, as a UTC moment."""
    if not text:
        return default
    for layout in ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(text.strip(), layout).replace(tzinfo=INDIA).astimezone(UTC)
        except ValueError:
            continue
    raise click.BadParameter(f"{text!r}: write it as YYYY-MM-DD HH:MM (India time)")


@announcements_cli.command("add")
@click.option("--title", required=True, help="At most 120 characters; shown as the notification's title.")
@click.option("--body", required=True, help="The text.")
@click.option("--region", default=None, help="Only connections in this region (default: everyone).")
@click.option("--starts", default=None, help="When it is shown and sent, India time: YYYY-MM-DD HH:MM (default: now).")
@click.option("--ends", default=None, help="When it stops being shown, India time: YYYY-MM-DD HH:MM (default: never).")
@as_staff
def add_command(title: str, body: str, region: str | None, starts: str | None, ends: str | None, actor) -> None:
    """Add an announcement: shown on the dashboards it concerns while current, and sent once when it starts."""
    starts_at, ends_at = _india_time(starts, utcnow()), _india_time(ends)
    try:
        announcement = add_announcement(title, body, region, starts_at, ends_at, actor)
    except AnnouncementError as refusal:
        raise click.ClickException(str(refusal)) from None
    announcement_id = announcement.id  # read before the commit: nothing reads after it (the send writes)
    db.session.commit()
    click.echo(f"announcement {announcement_id} added for {region or 'everyone'}, from "
               f"{starts_at.astimezone(INDIA):%Y-%m-%d %H:%M} India time")
    if starts_at <= utcnow():
        click.echo(send_current_announcements.call_local())
