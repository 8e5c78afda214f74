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
        services.request_password_reset("9811111111", "203.0.113.7")
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
        services.request_password_reset("9811111111", "203.0.113.7")
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
        queue_message("+919811111111", "Subject", "secret body with a token")
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
        queue_message("ravi@example.com", "Subject", "body")
        db.session.commit()
        for _ in range(outbox_service.MAX_ATTEMPTS):
            clock.shift(outbox_service.RETRY_MAX)
            sweep_outbox.call_local()
        queue_message("+919811111111", "Reset", "a link", expires_at=NOW + timedelta(minutes=30))
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
    queue_message("+919811111111", "Subject", "body")
    db.session.commit()  # the commit stands although the enqueue failed
    assert outbox == [] and "could not start send_after_commit after the commit" in caplog.text
    monkeypatch.undo()
    sweep_outbox.call_local()
    assert [m.to for m in outbox] == ["+919811111111"]


def unsent(count: int) -> None:
    """Rows put straight into the table (not through queue_message, so nothing sends them at the commit)."""
    db.session.add_all(OutboundMessage(to=f"+9198000000{n:02d}", subject="S", body=f"body {n}") for n in range(count))
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

    queue_message("+919811100001", "Reset", "a link")
    with db.session.begin_nested():  # as a service does around a write that may collide
        pass
    assert outbox == []  # not sent at the savepoint
    db.session.rollback()
    assert outbox == [] and messages() == []  # and never, once the transaction is rolled back
