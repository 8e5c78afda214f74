"""Periodic payment work: deliver the sandbox gateway's webhooks, reconcile attempts still open.

Both commit step by step themselves (one payment or webhook at a time, see services.reconcile and
gateways.sandbox.deliver_webhooks); a lock keeps two runs from overlapping.
"""

from flask import current_app
from huey import crontab

from app.payments.gateways import GatewayUnavailable, get_gateway
from app.payments.gateways.sandbox import SandboxGateway, deliver_webhooks
from app.payments.services import reconcile
from app.taskqueue import periodic_task


@periodic_task(crontab(minute="*"), retries=3, retry_delay=15, lock="deliver-sandbox-webhooks")
def deliver_sandbox_webhooks() -> str:
    """The sandbox gateway's outbox (nothing to do with a real gateway)."""
    try:
        gateway = get_gateway()
    except GatewayUnavailable:
        return "no payment gateway configured"
    if not isinstance(gateway, SandboxGateway):
        return "not the sandbox gateway"
    delivered, waiting = deliver_webhooks(gateway)
    return f"{delivered} sandbox webhooks delivered, {waiting} to retry"


@periodic_task(crontab(minute="*/5"), retries=3, retry_delay=30, lock="reconcile-payments")
def reconcile_payments() -> str:
    """Reconcile attempts pending longer than PAYMENT_RECONCILE_AFTER_MINUTES."""
    try:
        return str(reconcile(current_app.config["PAYMENT_RECONCILE_AFTER_MINUTES"]))
    except GatewayUnavailable:
        return "no payment gateway configured"
