"""A connection linked to another person's account: those already linked are told in the app, the registered
holder by SMS (held through the night), unless the holder linked it with their own mobile."""

from datetime import UTC, datetime

from sqlalchemy import select

from app.extensions import db
from app.messaging.models import MessageStatus, OutboundMessage
from app.messaging.tasks import sweep_outbox
from app.notifications.models import Notification, NotificationKind
from tests import factories
from tests.functional.test_linking import HOLDER, codes_to, enter, holder_account, start

NOTICE = "was linked to a D-Tech account on"


def link_by_code(client, outbox, account):
    start(client, account.consumer_number)
    return enter(client, codes_to(outbox, HOLDER)[-1])


def test_a_new_link_tells_the_others_linked_in_the_app_and_the_holder_by_sms(client, login_as, outbox):
    account = holder_account()
    family = factories.make_user()
    factories.link(family, account)
    db.session.commit()
    newcomer = login_as()
    assert link_by_code(client, outbox, account).status_code == 302
    (notice,) = db.session.scalars(select(Notification))
    assert notice.user_id == family.id and notice.kind is NotificationKind.SECURITY
    assert notice.title == "Your connection was linked by someone else"
    assert newcomer.id not in {n.user_id for n in db.session.scalars(select(Notification))}
    sms = outbox[-1]
    assert sms.to == HOLDER and NOTICE in sms.body and sms.kind == "link_notice"
    assert "http" not in sms.body  # never a link in a message


def test_the_holder_linking_with_their_own_mobile_gets_no_notice(client, login_as, outbox):
    account = holder_account()
    login_as(mobile=HOLDER)
    assert link_by_code(client, outbox, account).status_code == 302
    assert not any(NOTICE in m.body for m in outbox) and db.session.scalars(select(Notification)).all() == []


def test_the_holders_sms_waits_for_the_morning(client, login_as, outbox, clock):
    clock.move_to(datetime(2026, 11, 20, 18, 0, tzinfo=UTC), tick=False)  # 23:30 in India
    account = holder_account()
    login_as()
    link_by_code(client, outbox, account)  # the code itself is sent at once: the person is waiting for it
    assert not any(NOTICE in m.body for m in outbox)
    clock.move_to(datetime(2026, 11, 21, 1, 30, tzinfo=UTC), tick=False)  # 07:00
    sweep_outbox.call_local()
    assert [m.to for m in outbox if NOTICE in m.body] == [HOLDER]
    assert db.session.scalar(select(OutboundMessage.status).where(OutboundMessage.kind == "link_notice")) \
        is MessageStatus.SENT
