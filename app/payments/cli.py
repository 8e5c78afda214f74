"""`flask payments …`: reconcile pending attempts with the gateway; deliver the sandbox gateway's webhooks;
refunds and UPI confirmations by staff, and the approvals they may need."""

from decimal import Decimal

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from app.auth.cli import as_staff
from app.extensions import db
from app.i18n import parse_rupees
from app.payments.gateways import GatewayUnavailable
from app.payments.models import MoneyApproval
from app.payments.queries import approvals
from app.payments.services import (
    PaymentError,
    approve,
    confirm_or_propose,
    new_idempotency_key,
    reconcile,
    refund_or_propose,
    reject,
    rupees,
)
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



# --- money moved by staff: the same maker-checker rules as the staff pages (see approvals.py) ---


def _amount(value: str) -> Decimal:
    amount = parse_rupees(value)
    if amount is None:
        raise click.BadParameter("an amount in rupees, like 1234.50", param_hint="AMOUNT")
    return amount


def _moved(run, describe) -> None:
    """Run a money action, commit once, and say what happened (or refuse with the service's own words)."""
    try:
        done = run()
    except PaymentError as refusal:
        db.session.rollback()
        raise click.ClickException(str(refusal)) from None
    db.session.commit()
    click.echo(describe(done))


def _or_proposed(describe):
    """Describe what was done, or the proposal made instead."""
    return lambda done: _proposal(done) if isinstance(done, MoneyApproval) else describe(done)


def _proposal(approval: MoneyApproval) -> str:
    return (f"Proposed as approval {approval.id} ({rupees(approval.amount)}); a second administrator approves it "
            f"with `flask payments approve {approval.id}`.")


@payments_cli.command("refund")
@click.argument("payment_id", type=int)
@click.argument("amount")
@click.option("--reason", required=True, help="Why the money goes back (kept on the ledger and in the audit).")
@click.option("--idempotency-key", default=None, help="Give the same key to run it again safely (default: new).")
@as_staff
def refund_command(payment_id: int, amount: str, reason: str, idempotency_key: str | None, actor) -> None:
    """Refund AMOUNT of payment PAYMENT_ID: at once by an administrator within the limit, else proposed."""
    key = idempotency_key or new_idempotency_key()
    _moved(lambda: refund_or_propose(payment_id, _amount(amount), reason, actor, key),
           _or_proposed(lambda refund: f"Refunded {rupees(refund.amount)} ({refund.state.value})."))


@payments_cli.command("confirm-upi")
@click.argument("payment_id", type=int)
@click.argument("utr")
@click.argument("amount")
@click.option("--idempotency-key", default=None, help="Give the same key to run it again safely (default: new).")
@as_staff
def confirm_upi_command(payment_id: int, utr: str, amount: str, idempotency_key: str | None, actor) -> None:
    """Confirm UPI payment PAYMENT_ID found on the bank statement (its UTR and the AMOUNT credited)."""
    key = idempotency_key or new_idempotency_key()
    _moved(lambda: confirm_or_propose(payment_id, utr, _amount(amount), actor, key),
           _or_proposed(lambda payment: f"Payment {payment.reference} is {payment.state.value}."))


@payments_cli.command("approvals")
@with_appcontext
def approvals_command() -> None:
    """List the proposals waiting for a second administrator."""
    rows = approvals()
    for row in rows:
        a = row.approval
        click.echo(f"{a.id}\t{a.action.value}\t{rupees(a.amount)}\tpayment {row.payment.reference} "
                   f"({row.consumer_number})\tproposed by {row.proposer}\t{a.reason}")
    if not rows:
        click.echo("Nothing is waiting for approval.")


@payments_cli.command("approve")
@click.argument("approval_id", type=int)
@as_staff
def approve_command(approval_id: int, actor) -> None:
    """Approve proposal APPROVAL_ID (not your own): the money moves now."""
    _moved(lambda: approve(approval_id, actor),
           lambda a: f"Approved {a.id}: {rupees(a.amount)} moved.")


@payments_cli.command("reject")
@click.argument("approval_id", type=int)
@click.option("--note", required=True, help="Why it is rejected (audited).")
@as_staff
def reject_command(approval_id: int, note: str, actor) -> None:
    """Reject proposal APPROVAL_ID (not your own): nothing moves."""
    _moved(lambda: reject(approval_id, note, actor),
           lambda a: f"Rejected {a.id}: nothing moved.")
