"""What is sent about payments: captured (with the receipt), failed, refunded. Each once per payment (or refund)
and person. The person who paid is told; a payment made for them (at the counter, by staff) tells everyone linked
to the connection. A payment received is also sent by SMS to the connection's registered mobile number, as every
utility's receipt is, whether or not anyone has linked the connection in the app."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.accounts.models import Account
from app.auth.models import User
from app.db import utcnow
from app.extensions import db
from app.messaging.kinds import MessageKind, sms_amount
from app.messaging.outbox import queue_message
from app.messaging.quiet import release_time
from app.notifications.models import NotificationKind
from app.notifications.reminders import last_digits, linked_users
from app.notifications.services import Sms, money, notify


def _recipients(payment) -> tuple[Account, list[User]]:
    account = db.session.get(Account, payment.account_id)
    if payment.user_id is not None:
        payer = db.session.scalar(select(User).where(User.id == payment.user_id, User.erased_at.is_(None)))
        return account, [payer] if payer is not None else []
    return account, linked_users([account.id]).get(account.id, [])


def payment_captured(payment, **_kwargs) -> None:
    account, users = _recipients(payment)
    sms = Sms(MessageKind.PAYMENT, {"number": account.consumer_number, "amount": sms_amount(payment.received_amount),
                                    "receipt": payment.receipt_number})
    if account.registered_mobile:  # never in quiet hours: held until 07:00, as every SMS is
        queue_message(account.registered_mobile, "Payment received",
                      f"Received Rs {sms.params['amount']} for consumer no. {sms.params['number']}. "
                      f"Receipt {sms.params['receipt']}.",
                      kind=sms.kind, params=sms.params, not_before=release_time(None, utcnow()))
    for user in users:
        notify(user, NotificationKind.PAYMENT, _l("Payment received"),
               _l("We received %(amount)s for connection ending %(digits)s. Receipt %(receipt)s.",
                  amount=money(payment.received_amount), digits=last_digits(account),
                  receipt=payment.receipt_number),
               f"/payments/{payment.id}", account=account, dedupe_key=f"payment:{payment.id}:captured:{user.id}",
               sms=None if user.mobile == account.registered_mobile else sms)  # that mobile has its receipt


def payment_failed(payment, **_kwargs) -> None:
    account, users = _recipients(payment)
    sms = Sms(MessageKind.PAYMENT_FAILED, {"number": account.consumer_number, "amount": sms_amount(payment.amount)})
    for user in users:
        notify(user, NotificationKind.PAYMENT, _l("Payment not completed"),
               _l("Your payment of %(amount)s for connection ending %(digits)s did not go through. If money left "
                  "your bank account, we confirm it here when the bank does, or the bank returns it. You can try "
                  "again in the app.", amount=money(payment.amount), digits=last_digits(account)),
               f"/payments/{payment.id}", account=account, dedupe_key=f"payment:{payment.id}:failed:{user.id}",
               sms=sms)


def payment_refunded(payment, refund, **_kwargs) -> None:
    account, users = _recipients(payment)
    sms = Sms(MessageKind.REFUND, {"amount": sms_amount(refund.amount), "receipt": payment.receipt_number})
    for user in users:
        notify(user, NotificationKind.PAYMENT, _l("Refund made"),
               _l("We refunded %(amount)s of payment %(receipt)s. Your bank may take a few days to show it.",
                  amount=money(refund.amount), receipt=payment.receipt_number),
               f"/payments/{payment.id}", account=account, dedupe_key=f"refund:{refund.id}:{user.id}", sms=sms)


def payment_bounced(payment, charge, **_kwargs) -> None:
    """A cheque or draft the bank returned: whoever was told it was received is told it was not, and that the
    bill is due again."""
    account, users = _recipients(payment)
    for user in users:
        body = _l("The bank returned your %(instrument)s of %(amount)s (receipt %(receipt)s) for connection ending "
                  "%(digits)s, so it is not paid: please pay the bill again in the app.",
                  instrument=_l("cheque") if payment.method.value == "cheque" else _l("demand draft"),
                  amount=money(payment.received_amount), receipt=payment.receipt_number,
                  digits=last_digits(account))
        if charge > 0:
            body = _l("%(told)s A charge of %(charge)s for the returned payment is added.", told=body,
                      charge=money(charge))
        notify(user, NotificationKind.PAYMENT, _l("Payment returned by the bank"), body, f"/payments/{payment.id}",
               account=account, dedupe_key=f"payment:{payment.id}:bounced:{user.id}", urgency="high")
