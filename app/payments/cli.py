"""`flask payments …`: reconcile pending attempts with the gateway; deliver the sandbox gateway's webhooks."""

import click
from flask import current_app
from flask.cli import AppGroup

from app.payments.gateways import GatewayUnavailable, get_gateway
from app.payments.gateways.sandbox import SandboxGateway, deliver_webhooks
from app.payments.services import reconcile

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
    """Send the sandbox gateway's waiting webhooks to our endpoint (the job worker does this every round)."""
    click.echo(deliver_sandbox_webhooks())


def reconcile_payments() -> str:
    """Job: reconcile attempts pending longer than PAYMENT_RECONCILE_AFTER_MINUTES."""
    try:
        return str(reconcile(current_app.config["PAYMENT_RECONCILE_AFTER_MINUTES"]))
    except GatewayUnavailable:
        return "no payment gateway configured"


def deliver_sandbox_webhooks() -> str:
    """Job: the sandbox gateway's outbox (nothing to do with a real gateway)."""
    try:
        gateway = get_gateway()
    except GatewayUnavailable:
        return "no payment gateway configured"
    if not isinstance(gateway, SandboxGateway):
        return "not the sandbox gateway"
    delivered, waiting = deliver_webhooks(gateway)
    return f"{delivered} sandbox webhooks delivered, {waiting} to retry"
