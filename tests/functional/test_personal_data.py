"""Every table that holds a user's data is in the export and is handled by the erasure (DPDP Act 2023). The
register of user columns (app/portal/export.py, USER_COLUMNS) is held to the models here, so a new table with a
user column fails until someone decides what the export and the erasure do with it."""

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from app import audit
from app.accounts.models import LinkRequest
from app.auth import sign_ins
from app.auth.models import OneTimeCode, PasswordResetToken, PendingSignUp, User
from app.db import utcnow
from app.extensions import db
from app.notifications.models import (
    Channel,
    Notification,
    NotificationKind,
    NotificationPreference,
    PushSubscription,
    UsageBudget,
)
from app.payments.models import Payment, PaymentMethod
from app.portal.export import DELETED, KEPT, STAFF, USER_COLUMNS
from app.support.models import Ticket, TicketCategory, TicketMessage
from tests import factories


def user_columns() -> set[tuple[str, str]]:
    """(table, column) for every column with a foreign key to users.id, from the models' metadata."""
    return {(table.name, column.name) for table in db.metadata.sorted_tables for column in table.columns
            for key in column.foreign_keys if key.column.table.name == "users"}


def test_every_column_that_points_at_a_user_is_in_the_register():
    found = user_columns()
    assert found - USER_COLUMNS.keys() == set(), "decide what export and erasure do with these (export.py)"
    assert USER_COLUMNS.keys() - found == set(), "these are no longer in the models: remove them from export.py"
    for handling in USER_COLUMNS.values():
        assert handling.erasure in (DELETED, KEPT, STAFF)
        assert (handling.export is None) == (handling.erasure == STAFF) or handling.erasure == DELETED


def a_customer_with_everything():
    """A customer with a row in every table the register names as theirs."""
    user = factories.make_user(mobile="+919811111111")
    account = factories.make_account()
    factories.link(user, account)
    meter = factories.make_meter(account)
    now = utcnow()
    factories.make_reading(meter, date(2026, 11, 1), "1000", submitted_by_id=user.id, photo_path="meter.jpg")
    ticket = Ticket(number="CMP-2611-000001", user_id=user.id, account_id=account.id,
                    category=TicketCategory.NO_SUPPLY, subject="No power on my street", due_at=now)
    db.session.add(ticket)
    db.session.flush()
    db.session.add_all([
        TicketMessage(ticket_id=ticket.id, author_id=user.id, body="Since 8 am", attachment_path="pole.jpg"),
        LinkRequest(user_id=user.id, account_id=factories.make_account().id, bill_amount=Decimal("100")),
        Notification(user_id=user.id, kind=NotificationKind.PAYMENT, title="Paid", body="Thank you"),
        NotificationPreference(user_id=user.id, kind=NotificationKind.PAYMENT, channel=Channel.SMS, enabled=False),
        PushSubscription(user_id=user.id, endpoint="https://fcm.googleapis.com/x", p256dh="k", auth="a",
                         user_agent="Chrome on Android"),
        UsageBudget(user_id=user.id, account_id=account.id, amount=Decimal("900")),
        Payment(account_id=account.id, user_id=user.id, amount=Decimal("500"), method=PaymentMethod.UPI,
                reference="DT-TEST-1"),
        OneTimeCode(user_id=user.id, purpose="verify", subject="mobile", code_hash="0" * 64,
                    expires_at=now + timedelta(minutes=10)),
        PasswordResetToken(user_id=user.id, token_hash="1" * 64, expires_at=now + timedelta(minutes=30)),
        PendingSignUp(mobile=user.mobile, name="Someone", password_hash="x", privacy_version="v",
                      expires_at=now + timedelta(hours=1)),
    ])
    sign_ins.record(user, "203.0.113.9", "Mozilla/5.0 (Linux; Android 14) Chrome/120.0")
    audit.record("user.test", user, actor=user)
    db.session.commit()
    return user


def rows_of(table: str, column: str, user_id: int) -> int:
    table_ = db.metadata.tables[table]
    return db.session.scalar(select(func.count()).select_from(table_).where(table_.c[column] == user_id))


def test_the_export_has_every_table_the_register_names(client):
    user = a_customer_with_everything()
    client.post("/login", data={"login": user.mobile, "password": factories.PASSWORD})
    export = client.get("/profile/data.json").json
    for (table, column), handling in USER_COLUMNS.items():
        if handling.export is None:
            continue
        assert rows_of(table, column, user.id) > 0, f"the test gave the customer no {table} row"
        assert export[handling.export], f"{table}.{column}: the export's {handling.export!r} is empty"
    complaint = export["complaints"][0]
    assert complaint["subject"] == "No power on my street" and complaint["messages"][0]["photo"].endswith(
        f"/complaints/{db.session.scalar(select(Ticket.id))}/photos/{db.session.scalar(select(TicketMessage.id))}")
    assert "Chrome on Android" in [entry["device"] for entry in export["sign_ins"]]
    assert export["privacy_consents"][0]["version"] == client.application.config["PRIVACY_NOTICE_VERSION"]
    assert export["push_subscriptions"][0]["browser"] == "Chrome on Android"


def test_the_erasure_does_what_the_register_says(client):
    user = a_customer_with_everything()
    before = {key: rows_of(*key, user.id) for key in USER_COLUMNS}
    client.post("/login", data={"login": user.mobile, "password": factories.PASSWORD})
    assert client.post("/profile/erase", data={"password": factories.PASSWORD, "understood": "y"}).status_code == 302
    db.session.expire_all()
    for key, handling in USER_COLUMNS.items():
        if handling.erasure == DELETED:
            assert rows_of(*key, user.id) == 0, f"{key} not deleted"
        elif handling.erasure == KEPT:
            assert rows_of(*key, user.id) >= before[key] > 0, f"{key} not kept"  # (the erasure is audited)
    erased = db.session.get(User, user.id)
    assert (erased.name, erased.mobile, erased.active) == ("Erased user", None, False)
    message = db.session.scalar(select(TicketMessage))
    assert "Since 8 am" not in message.body and message.attachment_path is None
    assert db.session.scalar(select(Ticket.subject)) != "No power on my street"
    assert db.session.scalar(select(Payment.amount)) == Decimal("500")  # the accounts stay
    assert db.session.scalar(select(func.count()).select_from(PendingSignUp)) == 0
