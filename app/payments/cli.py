"""`flask payments …`: reconcile pending attempts with the gateway; deliver the sandbox gateway's webhooks."""

import click
from flask import current_app
from flask.cli import AppGroup

from app.payments.gateways import GatewayUnavailable
from app.payments.services import reconcile
from app.payments.tasks import deliver_sandbox_webhooks

payments_cli = AppGroup("payments", help="Payments: reconciliation with the gateway.")


@payments_cli.command("reconcile")
@click.option("--older-than-minutes", type=click.IntRange(min=0), default=None,
              help="Ask about attempts pending for longer than this (default: PAYMENT_RECONCILE_AFTER_MINUTES).")
def reconcile_command(older_than_minutes: int | None) -> None:
    """Ask the gateway about attempts still pending, and match stored webhooks that were waiting."""
    minutes = older_than_minutes
    if minutes is None:
        minutes = current_app.config["PAYMENT_RECONCILE_AFTER_MINUTES"]
    try:
        click.echo(reconcile(minutes))
    except GatewayUnavailable:
        raise click.ClickException("no payment gateway is configured (DTECH_PAYMENT_GATEWAY)") from None


@payments_cli.command("deliver-sandbox-webhooks")
def deliver_command() -> None:
    """Send the sandbox gateway's waiting webhooks to our endpoint (the task consumer does this every minute)."""
    click.echo(deliver_sandbox_webhooks.call_local())

