"""`flask notifications …`: write the due reminders now, send what is due now (the task consumer does both on its
own schedule)."""

import click
from flask.cli import AppGroup

from app.notifications.tasks import remind_due_bills, sweep_deliveries

notifications_cli = AppGroup("notifications", help="Notifications: reminders and their sending.")


@notifications_cli.command("remind")
def remind_command() -> None:
    """Write the due-date reminders due today that were not written yet (safe to run any number of times)."""
    click.echo(remind_due_bills.call_local())


@notifications_cli.command("send")
def send_command() -> None:
    """Send every push and SMS that is due now (outside quiet hours)."""
    click.echo(sweep_deliveries.call_local())
