"""The message outbox: a message leaves after its transaction commits (never before, never after a rollback), a
failed send is retried with growing waits and recorded, and two consumers never send one message twice.

The suite runs Huey in immediate mode: a task runs in the test's process when it is enqueued."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from app.auth import services
from app.extensions import db
from app.messaging import outbox as outbox_service
from app.messaging.models import MessageStatus, OutboundMessage
from app.messaging.outbox import claim_due_messages, queue_message
from app.messaging.senders import message_sender
from app.messaging.tasks import sweep_outbox
from tests import factories

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def messages() -> list[OutboundMessage]:
    db.session.commit()  # end the test's read: the tasks write in sessions of their own
    return list(db.session.scalars(select(OutboundMessage).order_by(OutboundMessage.id)))


def test_the_reset_message_leaves_after_the_commit_and_its_body_is_wiped(app, outbox):
    user = factories.make_user(mobile="+919811111111")
    db.session.commit()
    with app.test_request_context("/forgot", method="POST"):
        services.request_password_reset("9811111111", "203.0.113.7", "http://localhost/")
        db.session.flush()
        assert outbox == []  # queued in the transaction, not sent
        db.session.commit()
    (sent,) = outbox
    assert sent.to == user.mobile and "/reset?token=" in sent.body
    (row,) = messages()
    assert row.status is MessageStatus.SENT and row.attempts == 1 and row.sent_at is not None
    assert row.body is None and row.to == "+91…1111"  # the token and the number are not kept


def test_the_reset_message_is_not_sent_when_the_transaction_rolls_back(app, outbox):
    factories.make_user(mobile="+919811111111")
    db.session.commit()
    with app.test_request_context("/forgot", method="POST"):
        services.request_password_reset("9811111111", "203.0.113.7", "http://localhost/")
        db.session.flush()
        db.session.rollback()
    db.session.commit()  # a later commit in the same session sends nothing either
    assert outbox == []
    assert messages() == []
    sweep_outbox.call_local()
    assert outbox == []


def test_a_failed_send_is_retried_with_growing_waits_and_recorded(outbox, monkeypatch, caplog):
    sender = message_sender()
    failures = []

    def refuse(message):
        failures.append(message)
        raise ConnectionError(f"provider refused {message.to}")

    with time_machine.travel(NOW, tick=False) as clock:
        monkeypatch.setattr(sender, "send", refuse)
        queue_message("+919811111111", "Subject", "secret body with a token", kind="otp", params={"code": "123456"})
        db.session.commit()  # sent at once: it fails
        (row,) = messages()
        assert row.status is MessageStatus.PENDING and row.attempts == 1
        assert row.next_attempt_at == NOW + timedelta(seconds=30)
        assert row.last_error == "ConnectionError: provider refused +91…1111"  # no full number
        assert "9811111111" not in caplog.text and "secret body" not in caplog.text

        sweep_outbox.call_local()  # not due yet
        assert len(failures) == 1
        clock.shift(timedelta(seconds=30))
        sweep_outbox.call_local()
        (row,) = messages()
        assert len(failures) == 2 and row.attempts == 2
        assert row.next_attempt_at == NOW + timedelta(seconds=30 + 60)

        monkeypatch.undo()
        clock.shift(timedelta(seconds=60))
        sweep_outbox.call_local()
    (row,) = messages()
    assert row.status is MessageStatus.SENT and row.attempts == 3 and row.body is None
    assert [m.body for m in outbox] == ["secret body with a token"]


def test_a_message_is_given_up_after_the_last_attempt_and_an_expired_one_is_not_sent(outbox, monkeypatch):
    monkeypatch.setattr(message_sender(), "send", lambda message: 1 / 0)
    with time_machine.travel(NOW, tick=False) as clock:
        queue_message("ravi@example.com", "Subject", "body", kind="otp", params={"code": "123456"})
        db.session.commit()
        for _ in range(outbox_service.MAX_ATTEMPTS):
            clock.shift(outbox_service.RETRY_MAX)
            sweep_outbox.call_local()
        queue_message("+919811111111", "Code", "a code", expires_at=NOW + timedelta(minutes=30), kind="otp",
                      params={"code": "123456"})
        monkeypatch.undo()
        clock.shift(timedelta(hours=1))
        db.session.commit()
    given_up, expired = messages()
    assert given_up.status is MessageStatus.DEAD and given_up.attempts == outbox_service.MAX_ATTEMPTS
    assert given_up.body is None and given_up.to == "r…@example.com" and "ZeroDivisionError" in given_up.last_error
    assert expired.status is MessageStatus.DEAD and expired.body is None and "expired" in expired.last_error
    assert outbox == []


def test_a_lost_enqueue_is_sent_by_the_sweep(outbox, monkeypatch, caplog):
    from app.extensions import huey

    def queue_down(task):
        raise ConnectionError("queue unreachable")

    monkeypatch.setattr(huey, "enqueue", queue_down)
    queue_message("+919811111111", "Subject", "body", kind="otp", params={"code": "123456"})
    db.session.commit()  # the commit stands although the enqueue failed
    assert outbox == [] and "could not start send_after_commit after the commit" in caplog.text
    monkeypatch.undo()
    sweep_outbox.call_local()
    assert [m.to for m in outbox] == ["+919811111111"]


def unsent(count: int) -> None:
    """Rows put straight into the table (not through queue_message, so nothing sends them at the commit)."""
    db.session.add_all(OutboundMessage(to=f"+9198000000{n:02d}", subject="S", body=f"body {n}", kind="otp",
                                       params={"code": "123456"})
                       for n in range(count))
    db.session.commit()


def test_a_claimed_message_cannot_be_claimed_again(app):
    unsent(1)
    with app.app_context():
        first = claim_due_messages()
        if db.engine.dialect.name == "postgresql":
            # While the first claim is still open, another consumer skips the locked row instead of waiting.
            with app.app_context():
                assert claim_due_messages() == []
                db.session.rollback()
        db.session.commit()
    with app.app_context():
        second = claim_due_messages()
        db.session.commit()
    assert [m.body for m in first] == ["body 0"] and second == []
    (row,) = messages()
    assert row.status is MessageStatus.SENDING and row.attempts == 1


def test_a_claim_whose_consumer_died_is_taken_again_after_its_lease(app):
    with time_machine.travel(NOW, tick=False) as clock:
        unsent(1)
        with app.app_context():
            assert len(claim_due_messages()) == 1
            db.session.commit()
            clock.shift(outbox_service.CLAIM_LEASE - timedelta(seconds=1))
            assert claim_due_messages() == []
            clock.shift(timedelta(seconds=1))
            (again,) = claim_due_messages()
            db.session.commit()
    assert again.attempts == 2


def test_a_consumer_whose_lease_ran_out_does_not_send_what_another_took_again(app, outbox):
    from app.messaging.tasks import TAKEN, _claim, _deliver, deliver_due_messages
    from app.taskqueue import in_own_transaction

    with time_machine.travel(NOW, tick=False) as clock:
        unsent(1)
        (stale,) = in_own_transaction(_claim, None)
        clock.shift(outbox_service.CLAIM_LEASE)
        assert deliver_due_messages().startswith("1 messages sent")  # another consumer
        assert in_own_transaction(_deliver, message_sender(), stale) == TAKEN  # the first, late
    assert [m.body for m in outbox] == ["body 0"]
    (row,) = messages()
    assert row.status is MessageStatus.SENT and row.attempts == 2


def test_two_consumers_sweeping_at_once_send_each_message_once(app, outbox):
    unsent(30)
    start = threading.Barrier(2)
    errors = []

    def consumer():
        try:
            with app.app_context():
                start.wait(timeout=10)
                for _ in range(3):
                    sweep_outbox.call_local()
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=consumer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(m.body for m in outbox) == sorted(f"body {n}" for n in range(30))
    assert {row.status for row in messages()} == {MessageStatus.SENT}


@pytest.mark.parametrize("to, masked", [("+919811111111", "+91…1111"), ("ravi@example.com", "r…@example.com"),
                                        ("12345", "…")])
def test_addresses_are_masked(to, masked):
    assert outbox_service.mask_address(to) == masked


def test_a_savepoint_inside_the_transaction_does_not_send_its_messages_early(app, outbox):
    """SQLAlchemy reports a released SAVEPOINT as a commit: the messages must still wait for the real one."""
    from app.messaging.outbox import queue_message

    queue_message("+919811100001", "Code", "a code", kind="otp", params={"code": "123456"})
    with db.session.begin_nested():  # as a service does around a write that may collide
        pass
    assert outbox == []  # not sent at the savepoint
    db.session.rollback()
    assert outbox == [] and messages() == []  # and never, once the transaction is rolled back


# --- kinds, template variables, and how a sender's failure is told


def test_the_reset_message_carries_its_kind_and_template_variables_which_are_wiped_once_sent(app, outbox):
    factories.make_user(mobile="+919811111111")
    db.session.commit()
    with app.test_request_context("/forgot", method="POST"):
        services.request_password_reset("9811111111", "203.0.113.7", "http://localhost/")
        db.session.commit()
    (sent,) = outbox
    assert sent.kind == "password_reset"
    assert sent.params == {"link": sent.body.split(": ")[1].split()[0], "minutes": "30"}
    assert sent.params["link"].startswith("http://localhost/reset?token=")
    (row,) = messages()
    assert row.kind == "password_reset" and row.params is None and row.body is None


def test_a_message_of_an_unknown_kind_or_with_odd_variables_is_refused_when_queued(outbox):
    with pytest.raises(ValueError, match="unknown message kind 'pasword_reset'"):
        queue_message("+919811111111", "S", "b", kind="pasword_reset")
    with pytest.raises(TypeError, match="template variable 'amount'"):
        queue_message("+919811111111", "S", "b", kind="payment", params={"amount": 500})
    with pytest.raises(TypeError, match="template variable 'due date'"):
        queue_message("+919811111111", "S", "b", kind="payment", params={"due date": "1 Dec"})
    with pytest.raises(ValueError, match="a password_reset message's template variables are link, minutes, not link"):
        queue_message("+919811111111", "S", "b", kind="password_reset", params={"link": "https://x"})
    db.session.commit()
    assert messages() == [] and outbox == []


def test_a_permanent_failure_is_given_up_at_once_and_never_tried_again(outbox, monkeypatch, caplog):
    from app.messaging.senders import PermanentSendError

    attempts = []

    def refuse_for_good(message):
        attempts.append(message)
        raise PermanentSendError(f"provider refused {message.to.lstrip('+')} with code {message.params['code']}")

    monkeypatch.setattr(message_sender(), "send", refuse_for_good)
    with time_machine.travel(NOW, tick=False) as clock:
        queue_message("+919811111111", "Your code", "Your code is 654321", kind="otp", params={"code": "654321"})
        db.session.commit()
        clock.shift(outbox_service.RETRY_MAX)
        sweep_outbox.call_local()
    (row,) = messages()
    assert len(attempts) == 1 and row.status is MessageStatus.DEAD and row.attempts == 1
    assert row.last_error == "PermanentSendError: provider refused +91…1111 with code …"  # no number, no code
    assert row.body is None and row.params is None and row.to == "+91…1111"
    assert "654321" not in caplog.text and "9811111111" not in caplog.text


def test_a_temporary_failure_is_tried_again(outbox, monkeypatch):
    from app.messaging.senders import TemporarySendError

    def busy(message):
        raise TemporarySendError("MSG91 answered 503; trying again later")

    monkeypatch.setattr(message_sender(), "send", busy)
    with time_machine.travel(NOW, tick=False):
        queue_message("+919811111111", "Your code", "Your code is 654321", kind="otp", params={"code": "654321"})
        db.session.commit()
    (row,) = messages()
    assert row.status is MessageStatus.PENDING and row.params == {"code": "654321"}
    assert row.next_attempt_at == NOW + outbox_service.RETRY_FIRST


@pytest.fixture
def msg91(app, monkeypatch):
    """The app's sender made MSG91 (with a template for otp only), answering from MSG91's documented samples."""
    from app.messaging.sms.msg91 import Msg91Sender
    from tests.unit.test_sms_msg91 import Replay, recorded

    transport = Replay((200, recorded("flow_sent.json")), (503, b"busy"))
    sender = Msg91Sender({"MSG91_AUTH_KEY": "key", "SMS_TEMPLATES": {"otp": "6571a1b2c3d4e5f6a7b8c9d1"}},
                         transport=transport)
    monkeypatch.setitem(app.extensions.setdefault("dtech_sender", {}), "sender", sender)
    return transport


def test_through_msg91_a_kind_without_a_template_dies_with_its_reason_and_the_rest_are_sent(app, msg91):
    with time_machine.travel(NOW, tick=False):
        queue_message("+919811111111", "Reset", "a link", kind="password_reset",
                      params={"link": "https://x", "minutes": "30"})
        queue_message("+919811111112", "Your code", "Your code is 654321", kind="otp", params={"code": "654321"})
        queue_message("+919811111113", "Your code", "Your code is 111111", kind="otp", params={"code": "111111"})
        db.session.commit()
    no_template, sent, busy = messages()
    assert no_template.status is MessageStatus.DEAD and no_template.attempts == 1
    assert no_template.last_error == ("PermanentSendError: no DLT template configured for message kind "
                                      "'password_reset' (DTECH_SMS_TEMPLATES)")
    assert sent.status is MessageStatus.SENT and sent.provider_ref == "5762846b4f8d285d378b4567"
    assert busy.status is MessageStatus.PENDING and busy.last_error == (
        "TemporarySendError: MSG91 answered 503; trying again later")
    assert [request["json"]["recipients"] for request in msg91.requests] == [
        [{"code": "654321", "mobiles": "919811111112"}], [{"code": "111111", "mobiles": "919811111113"}]]


def test_with_an_sms_sender_mobile_numbers_go_to_it_and_email_addresses_to_the_other():
    from app.messaging.senders import MemorySender, Message, RoutingSender, build_sender

    router = build_sender({"MESSAGE_SENDER": "memory", "SMS_SENDER": "memory"})
    assert isinstance(router, RoutingSender)
    to_phone = Message(to="+919811111111", subject="S", body="b", kind="bill_issued")
    to_email = Message(to="ravi@example.com", subject="S", body="b", kind="password_reset")
    router.send(to_phone)
    router.send(to_email)
    assert router.sms.outbox == [to_phone] and router.default.outbox == [to_email]
    assert isinstance(build_sender({"MESSAGE_SENDER": "memory", "SMS_SENDER": ""}), MemorySender)


def test_the_console_sender_shows_the_kind_and_the_template_variables(capsys):
    from app.messaging.senders import ConsoleSender, Message

    ConsoleSender({}).send(Message(to="+919811111111", subject="Your code", body="Your code is 654321",
                                   kind="otp", params={"code": "654321"}))
    printed = capsys.readouterr().err
    assert "otp message to +919811111111: Your code" in printed and "template variable code = 654321" in printed
