"""Payments: UPI links and QR, gateway adapters, webhooks, receipts, reconciliation and counter payments."""

# Where the gateway POSTs its webhooks (the sandbox delivers to the same path through the WSGI app).
WEBHOOK_PATH = "/payments/webhook"
