"""Everything we hold about a user, as one JSON document (the "download my data" button, DPDP Act 2023 section 11),
and the register of every column that points at a user with what export and erasure do with its rows.

USER_COLUMNS is checked against the models by tests/functional/test_personal_data.py: a new table with a user
column fails that test until it is listed here, so no table is forgotten by the export or the erasure.
"""

from dataclasses import dataclass

from flask import url_for
from sqlalchemy import select

from app.accounts.models import Account, AccountLink, LinkRequest
from app.audit.models import AuditLog
from app.auth import privacy, sign_ins
from app.auth.models import User
from app.extensions import db
from app.metering.models import Reading
from app.notifications.models import Notification, NotificationPreference, PushSubscription, UsageBudget
from app.payments.models import Payment
from app.support.models import Ticket


@dataclass(frozen=True)
class Handling:
    """What happens to the rows a user column points from. `export`: the key of the export that holds them (None:
    not the customer's own data, with the reason in `erasure`). `erasure`: "deleted" (the rows go), "kept" (they
    stay, for the utility's accounts or records, pointing at the pseudonymised user; what they held that was
    personal is blanked), or "staff" (a staff member's action on the column: customers never fill it)."""

    export: str | None
    erasure: str


DELETED, KEPT, STAFF = "deleted", "kept", "staff"

USER_COLUMNS: dict[tuple[str, str], Handling] = {
    # The customer's own data.
    ("account_links", "user_id"): Handling("connections", DELETED),
    ("link_requests", "user_id"): Handling("link_requests", DELETED),
    ("notifications", "user_id"): Handling("notifications", DELETED),
    ("notification_preferences", "user_id"): Handling("notification_preferences", DELETED),
    ("push_subscriptions", "user_id"): Handling("push_subscriptions", DELETED),
    ("usage_budgets", "user_id"): Handling("usage_budgets", DELETED),
    ("sign_ins", "user_id"): Handling("sign_ins", DELETED),
    # Kept as the proof of consent (section 6(10)); it holds nothing personal beyond whose it was.
    ("privacy_consents", "user_id"): Handling("privacy_consents", KEPT),
    # The complaint stays for the utility's records (its regulator's standards of performance); the customer's
    # words and photos are blanked.
    ("tickets", "user_id"): Handling("complaints", KEPT),
    ("ticket_messages", "author_id"): Handling("complaints", KEPT),
    # Readings made bills: the reading stays, its photo is deleted.
    ("readings", "submitted_by_id"): Handling("readings_submitted", KEPT),
    # Payments are the connection's accounts (the ledger): kept, pointing at the pseudonymised user.
    ("payments", "user_id"): Handling("payments_made", KEPT),
    # The audit log is the security record of who did what; kept.
    ("audit_log", "actor_id"): Handling("activity", KEPT),
    # Security secrets, stored only as hashes: nothing to give back; deleted with the account.
    ("one_time_codes", "user_id"): Handling(None, DELETED),
    ("password_reset_tokens", "user_id"): Handling(None, DELETED),
    # Staff members' actions: a customer's id is never in these columns.
    ("announcements", "created_by_id"): Handling(None, STAFF),
    ("bill_runs", "started_by_id"): Handling(None, STAFF),
    ("bill_runs", "released_by_id"): Handling(None, STAFF),
    ("cash_books", "cashier_id"): Handling(None, STAFF),
    ("cash_books", "accepted_by_id"): Handling(None, STAFF),
    ("reading_imports", "uploaded_by_id"): Handling(None, STAFF),
    ("settlement_files", "uploaded_by_id"): Handling(None, STAFF),
    ("tariff_versions", "imported_by_id"): Handling(None, STAFF),
    ("tariff_versions", "decided_by_id"): Handling(None, STAFF),
    ("connection_changes", "changed_by_id"): Handling(None, STAFF),
    ("link_requests", "decided_by"): Handling(None, STAFF),
    ("payments", "recorded_by_id"): Handling(None, STAFF),
    ("tickets", "assigned_to_id"): Handling(None, STAFF),
    ("tickets", "escalated_to_id"): Handling(None, STAFF),
    ("payment_events", "resolved_by_id"): Handling(None, STAFF),
    ("readings", "reviewed_by_id"): Handling(None, STAFF),
    ("settlement_lines", "investigated_by_id"): Handling(None, STAFF),
    ("ledger_entries", "created_by_id"): Handling(None, STAFF),
    ("bill_corrections", "proposed_by_id"): Handling(None, STAFF),
    ("bill_corrections", "decided_by_id"): Handling(None, STAFF),
    ("refunds", "created_by_id"): Handling(None, STAFF),
    ("money_approvals", "proposed_by_id"): Handling(None, STAFF),
    ("money_approvals", "decided_by_id"): Handling(None, STAFF),
}


def _iso(value):
    return value.isoformat() if value is not None else None


def _rows(model, column, user: User, order=None):
    query = select(model).where(column == user.id)
    return db.session.scalars(query.order_by(order) if order is not None else query)


def _complaint(ticket: Ticket) -> dict:
    return {"number": ticket.number, "category": ticket.category.value, "subject": ticket.subject,
            "status": ticket.status.value, "created_at": _iso(ticket.created_at),
            "messages": [{"body": m.body, "at": _iso(m.created_at),
                          "photo": url_for("support.photo", ticket_id=ticket.id, message_id=m.id, _external=True)
                          if m.attachment_path else None}
                         for m in ticket.messages if not m.internal]}


def export_user_data(user: User) -> dict:
    links = db.session.execute(select(AccountLink, Account).join(Account, Account.id == AccountLink.account_id)
                               .where(AccountLink.user_id == user.id)).all()
    return {
        "user": {"name": user.name, "mobile": user.mobile, "email": user.email, "role": user.role.value,
                 "language": user.locale, "created_at": _iso(user.created_at),
                 "last_login_at": _iso(user.last_login_at), "verified_at": _iso(user.verified_at),
                 "quiet_hours": [str(user.quiet_hours_start), str(user.quiet_hours_end)]
                 if user.quiet_hours_start else None},
        "connections": [{"consumer_number": a.consumer_number, "holder_name": a.holder_name, "address": a.address,
                         "paperless": a.paperless, "nickname": link.nickname, "linked_at": _iso(link.created_at),
                         "linked_by": link.linked_by.value}
                        for link, a in links],
        "link_requests": [{"connection_id": r.account_id, "bill_amount": str(r.bill_amount), "status": r.status.value,
                           "created_at": _iso(r.created_at), "decided_at": _iso(r.decided_at)}
                          for r in _rows(LinkRequest, LinkRequest.user_id, user, LinkRequest.created_at)],
        "activity": [{"action": entry.action, "at": _iso(entry.created_at), "details": entry.details}
                     for entry in _rows(AuditLog, AuditLog.actor_id, user, AuditLog.created_at)],
        "readings_submitted": [{"date": _iso(r.read_on), "value": str(r.value), "status": r.status.value,
                                "photo": url_for("metering.reading_photo", reading_id=r.id, _external=True)
                                if r.photo_path else None}
                               for r in _rows(Reading, Reading.submitted_by_id, user)],
        "payments_made": [{"reference": p.reference, "amount": str(p.amount), "method": p.method.value,
                           "state": p.state.value, "receipt": p.receipt_number, "created_at": _iso(p.created_at)}
                          for p in _rows(Payment, Payment.user_id, user)],
        "notifications": [{"title": n.title, "body": n.body, "created_at": _iso(n.created_at),
                           "read_at": _iso(n.read_at)}
                          for n in _rows(Notification, Notification.user_id, user, Notification.created_at)],
        "notification_preferences": [{"kind": p.kind.value, "channel": p.channel.value, "enabled": p.enabled}
                                     for p in _rows(NotificationPreference, NotificationPreference.user_id, user)],
        "push_subscriptions": [{"browser": s.user_agent, "created_at": _iso(s.created_at),
                                "last_success_at": _iso(s.last_success_at)}
                               for s in _rows(PushSubscription, PushSubscription.user_id, user)],
        "usage_budgets": [{"connection_id": b.account_id, "amount": str(b.amount) if b.amount is not None else None,
                           "units": str(b.units) if b.units is not None else None}
                          for b in _rows(UsageBudget, UsageBudget.user_id, user)],
        "complaints": [_complaint(t) for t in _rows(Ticket, Ticket.user_id, user, Ticket.created_at)],
        "sign_ins": [{"at": _iso(s.created_at), "network": s.network, "device": s.device}
                     for s in sign_ins.recent(user.id, limit=10_000)],
        "privacy_consents": [{"version": c.version, "accepted_at": _iso(c.accepted_at)}
                             for c in privacy.consents_of(user.id)],
    }
