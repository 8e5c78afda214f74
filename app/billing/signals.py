"""What billing asks of, or tells, the domains above it (blinker signals; they subscribe at app creation)."""

from blinker import Namespace

_signals = Namespace()

payment_link = _signals.signal("payment-link", doc="""Asked for a bill's pay link (its QR code and button):
sender is None, keywords amount, reference and note. A receiver returns a link (payments: a UPI link).""")

uncleared_money = _signals.signal("uncleared-money", doc="""Asked how much of what the ledger credits to a
connection a bank may still return (cheques and drafts clearing): sender is None, keyword account_id. A receiver
returns a Decimal (payments: the clearing cheques' amounts).""")

bills_issued = _signals.signal("bills-issued", doc="""Bills were issued (a bill run's chunk, a revision): sender
is None, keyword bill_ids. Sent inside the transaction that wrote them; receivers write in it too (the
notifications that the bills are ready).""")
