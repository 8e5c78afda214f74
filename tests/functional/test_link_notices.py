"""A connection linked to another person's account: those already linked are told in the app, the registered
holder by SMS (never in the night), unless the holder linked it with their own mobile."""

from datetime import UTC, datetime

from sqlalchemy import select

from app.extensions import db
from app.messaging.models import MessageStatus, OutboundMessage
from app.messaging.tasks import sweep_outbox
from app.notifications.models import Notification, NotificationKind
from tests import factories
from tests.functional.test_linking import link


def billed(**fields):
    account = factories.make_account(tariff=factories.make_tariff(), registered_mobile="+919812345678", **fields)
    factories.make_bill(account, "1234.50")
    return account


def test_a_link_by_bill_amount_tells_the_others_linked_and_the_holder(client, login_as, outbox):
    account = billed()
    family = factories.make_user()
    factories.link(family, account)
    db.session.commit()
    stranger = login_as()
    assert link(client, account.consumer_number, "1234.50", "bill_amount").status_code == 302
    (notice,) = db.session.scalars(select(Notification))
    assert notice.user_id == family.id and notice.kind is NotificationKind.SECURITY
    assert notice.title == "Your connection was linked by someone else"
    assert stranger.id not in {n.user_id for n in db.session.scalars(select(Notification))}
    (sms,) = outbox
    assert sms.to == "+919812345678" and "was just linked to an account in our app" in sms.body
    assert "http" not in sms.body  # never a link in a message


def test_the_holder_linking_with_their_own_mobile_gets_no_sms(client, login_as, outbox):
    account = billed()
    db.session.commit()
    login_as(mobile="+919812345678")
    assert link(client, account.consumer_number, "98123 45678").status_code == 302
    assert outbox == [] and db.session.scalars(select(Notification)).all() == []


def test_the_holders_sms_waits_for_the_morning(client, login_as, outbox, clock):
    clock.move_to(datetime(2026, 11, 20, 18, 0, tzinfo=UTC), tick=False)  # 23:30 in India
    account = billed()
    db.session.commit()
    login_as()
    link(client, account.consumer_number, "1234.50", "bill_amount")
    assert outbox == []
    clock.move_to(datetime(2026, 11, 21, 1, 30, tzinfo=UTC), tick=False)  # 07:00
    sweep_outbox.call_local()
    assert [m.to for m in outbox] == ["+919812345678"]
    assert db.session.scalar(select(OutboundMessage.status)) is MessageStatus.SENT
