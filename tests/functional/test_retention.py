"""Personal data is kept only as long as configured (config KEEP, docs/deployment.md), then removed by the
periodic tasks; bills, payments and the ledger are the connection's accounts and are never removed."""

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from app.auth import sign_ins
from app.auth.models import OneTimeCode, PendingSignUp, SignIn
from app.auth.tasks import prune_security_records
from app.billing.models import Bill, LedgerEntry
from app.db import utcnow
from app.extensions import db
from app.notifications.models import Channel, Notification, NotificationDelivery, NotificationKind
from app.notifications.tasks import prune_old_notifications
from app.payments.models import Payment, PaymentMethod, PaymentState
from app.support.models import Ticket, TicketCategory, TicketMessage, TicketStatus
from app.support.services import photos
from app.support.tasks import delete_old_complaint_photos
from tests import factories


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def some_personal_data(user, account, tag: str, status=TicketStatus.CLOSED):
    """A row of each kind that expires, written now (the test moves the clock to make it old)."""
    now = utcnow()
    sign_ins.record(user, "203.0.113.9", "Firefox/120.0")
    notification = Notification(user_id=user.id, kind=NotificationKind.PAYMENT, title=tag, body=tag)
    db.session.add(notification)
    db.session.flush()
    db.session.add(NotificationDelivery(notification_id=notification.id, channel=Channel.PUSH))
    ticket = Ticket(number=f"CMP-{tag}", user_id=user.id, account_id=account.id, category=TicketCategory.OTHER,
                    subject=tag, due_at=now, status=status,
                    resolved_at=now if status is not TicketStatus.OPEN else None)
    db.session.add(ticket)
    db.session.flush()
    photos().mkdir(parents=True, exist_ok=True)
    (photos() / f"{tag}.jpg").write_bytes(b"jpeg")
    db.session.add(TicketMessage(ticket_id=ticket.id, author_id=user.id, body=tag, attachment_path=f"{tag}.jpg"))
    db.session.add(OneTimeCode(user_id=user.id, purpose="verify", subject="mobile", code_hash="0" * 64,
                               expires_at=now + timedelta(minutes=10)))
    db.session.add(PendingSignUp(mobile="+919800000001", name=tag, password_hash="x", privacy_version="v",
                                 expires_at=now + timedelta(hours=1)))
    db.session.add(Payment(account_id=account.id, user_id=user.id, amount=Decimal("100"),
                           method=PaymentMethod.CASH, state=PaymentState.CAPTURED, reference=f"DT-{tag}"))
    db.session.commit()


def test_old_personal_data_goes_and_recent_data_and_the_accounts_stay(app, clock):
    keep = app.config["KEEP"]
    user = factories.make_user()
    account = factories.make_account(tariff=factories.make_tariff())
    factories.make_bill(account, "900.00", period_start=date(2024, 1, 1))
    db.session.commit()
    start = utcnow()
    clock.move_to(start - timedelta(days=800), tick=False)
    some_personal_data(user, account, "old")
    some_personal_data(user, account, "open", status=TicketStatus.OPEN)  # an open complaint keeps its photos
    clock.move_to(start - timedelta(hours=12), tick=False)  # within every period, even a day past expiry
    some_personal_data(user, account, "recent")
    clock.move_to(start, tick=False)
    payments, bills, ledger = count(Payment), count(Bill), count(LedgerEntry)
    assert all(period < timedelta(days=800) for period in keep.values())
    db.session.rollback()  # the tasks run in sessions of their own: this one must not hold an older snapshot

    prune_security_records.call_local()
    prune_old_notifications.call_local()
    delete_old_complaint_photos.call_local()

    assert db.session.scalars(select(SignIn.created_at)).all() == [start - timedelta(hours=12)]
    assert db.session.scalars(select(Notification.title)).all() == ["recent"]
    assert count(NotificationDelivery) == 1
    assert count(OneTimeCode) == 1 and db.session.scalars(select(PendingSignUp.name)).all() == ["recent"]
    kept = dict(db.session.execute(select(TicketMessage.body, TicketMessage.attachment_path)).all())
    assert kept == {"old": None, "open": "open.jpg", "recent": "recent.jpg"}
    assert not (photos() / "old.jpg").exists() and (photos() / "recent.jpg").exists()
    assert count(Ticket) == 3  # the complaints themselves stay
    assert (count(Payment), count(Bill), count(LedgerEntry)) == (payments, bills, ledger) == (3, 1, 1)


def test_the_periods_come_from_the_configuration(app, clock):
    user = factories.make_user()
    db.session.commit()
    start = utcnow()
    clock.move_to(start - timedelta(days=10), tick=False)
    sign_ins.record(user, None, None)
    db.session.commit()
    clock.move_to(start, tick=False)
    prune_security_records.call_local()
    assert count(SignIn) == 1  # 10 days is within the default 90
    db.session.rollback()
    app.config["KEEP"] = {**app.config["KEEP"], "sign_ins": timedelta(days=7)}
    try:
        prune_security_records.call_local()
    finally:
        app.config["KEEP"] = {**app.config["KEEP"], "sign_ins": timedelta(days=90)}
    assert count(SignIn) == 0


def test_audit_rows_keep_what_was_done_but_not_where_from_past_the_period(app, clock):
    """An audit row's network address is personal data: blanked after KEEP["audit_addresses"] (the row stays),
    and at once for everything an erased customer did."""
    from app import audit
    from app.audit.models import AuditLog
    from app.auth.services import erase_user

    staff, customer = factories.make_user(role="support"), factories.make_user()
    with app.test_request_context("/", environ_base={"REMOTE_ADDR": "203.0.113.7"}):
        old = audit.record("user.locked", customer, {}, actor=staff)
    db.session.commit()
    clock.move_to(utcnow() + app.config["KEEP"]["audit_addresses"] + timedelta(days=1))
    with app.test_request_context("/", environ_base={"REMOTE_ADDR": "203.0.113.8"}):
        recent = audit.record("user.unlocked", customer, {}, actor=staff)
        mine = audit.record("profile.changed", customer, {}, actor=customer)
    db.session.commit()
    prune_security_records.call_local()
    assert [db.session.get(AuditLog, row.id).ip for row in (old, recent, mine)] == [None, "203.0.113.8", "203.0.113.8"]
    with app.test_request_context("/", environ_base={"REMOTE_ADDR": "203.0.113.9"}):
        erase_user(customer, factories.PASSWORD)
    db.session.commit()
    assert db.session.get(AuditLog, mine.id).ip is None and db.session.get(AuditLog, recent.id).ip == "203.0.113.8"
    assert db.session.scalar(select(func.count(AuditLog.id)).where(AuditLog.actor_id == customer.id,
                                                                   AuditLog.ip.is_not(None))) == 0
    assert db.session.get(AuditLog, old.id).action == "user.locked"  # what was done stays
