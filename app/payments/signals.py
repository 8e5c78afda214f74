"""What payments tells the domains above it (blinker signals; they subscribe in their subscribers.py at app creation).

Each is sent inside the transaction that changed the payment; a receiver writes in it too (a notification), so
what it writes stands or falls with the change."""

from blinker import Namespace

_signals = Namespace()

payment_captured = _signals.signal("payment-captured", doc="""The money of a payment is ours (sender: the
Payment, with its receipt number set).""")

payment_failed = _signals.signal("payment-failed", doc="""A payment failed at the bank or was abandoned (sender:
the Payment, with its failure_reason).""")

payment_refunded = _signals.signal("payment-refunded", doc="""Some or all of a captured payment was given back
(sender: the Payment; keyword refund: the Refund).""")

payment_bounced = _signals.signal("payment-bounced", doc="""The bank returned a cheque or draft: its credit is
reversed (sender: the Payment, with its failure_reason; keyword charge: the bounce charge, a Decimal).""")
