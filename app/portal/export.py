"""Everything we hold about a user, as one JSON document (the "download my data" button)."""

from flask import url_for
from sqlalchemy import select

from app.accounts.models import Account, AccountLink
from app.audit.models import AuditLog
from app.auth.models import User
from app.extensions import db
from app.metering.models import Reading
from app.notifications.models import Notification
from app.payments.models import Payment
from app.support.models import Ticket


def _iso(value):
    return value.isoformat() if value is not None else None


def export_user_data(user: User) -> dict:
    links = db.session.execute(select(AccountLink, Account).join(Account, Account.id == AccountLink.account_id)
                               .where(AccountLink.user_id == user.id)).all()
    return {
        "user": {"name": user.name, "mobile": user.mobile, "email": user.email, "role": user.role.value,
                 "language": user.locale, "created_at": _iso(user.created_at),
                 "last_login_at": _iso(user.last_login_at)},
        "connections": [{"consumer_number": a.consumer_number, "holder_name": a.holder_name, "address": a.address,
                         "paperless": a.paperless, "linked_at": _iso(link.created_at),
                         "linked_by": link.linked_by.value}
                        for link, a in links],
        "activity": [{"action": entry.action, "at": _iso(entry.created_at), "details": entry.details}
                     for entry in db.session.scalars(select(AuditLog).where(AuditLog.actor_id == user.id)
                                                     .order_by(AuditLog.created_at))],
        "readings_submitted": [{"date": _iso(r.read_on), "value": str(r.value), "status": r.status.value,
                                "photo": url_for("metering.reading_photo", reading_id=r.id, _external=True)
                                if r.photo_path else None}
                               for r in db.session.scalars(select(Reading).where(Reading.submitted_by_id == user.id))],
        "payments_made": [{"reference": p.reference, "amount": str(p.amount), "method": p.method.value,
                           "state": p.state.value, "receipt": p.receipt_number, "created_at": _iso(p.created_at)}
                          for p in db.session.scalars(select(Payment).where(Payment.user_id == user.id))],
        "notifications": [{"title": n.title, "body": n.body, "created_at": _iso(n.created_at),
                           "read_at": _iso(n.read_at)}
                          for n in db.session.scalars(select(Notification).where(Notification.user_id == user.id))],
        "complaints": [{"number": t.number, "subject": t.subject, "status": t.status.value,
                        "messages": [{"body": m.body, "at": _iso(m.created_at)} for m in t.messages if not m.internal]}
                       for t in db.session.scalars(select(Ticket).where(Ticket.user_id == user.id))],
    }


