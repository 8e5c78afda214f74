"""What accounts asks of, or tells, the domains above it (blinker signals; they subscribe at app creation)."""

from blinker import Namespace

_signals = Namespace()

latest_bill_amount = _signals.signal("latest-bill-amount", doc="""Asked when a customer links a connection by
its latest bill's amount (sender: the Account). A receiver returns the total due of the latest bill in force,
or None if the connection has no bill.""")


def first_answer(signal, sender, **kwargs):
    """The first receiver's answer that is not None, or None."""
    return next((value for _receiver, value in signal.send(sender, **kwargs) if value is not None), None)

account_linked = _signals.signal("account-linked", doc="""A customer linked a connection to their account
(sender: the new AccountLink; keywords user and account). Sent inside the transaction that wrote the link; the
people already linked and the registered holder are told (notifications).""")
