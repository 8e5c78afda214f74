"""push_to_user against push services mocked at the HTTP level (`responses`): what is sent (encrypted, signed,
TTL, urgency), and what each answer does to the subscription."""

import logging
from datetime import timedelta

import pytest
import requests
import responses
from sqlalchemy import select

from app.db import utcnow
from app.extensions import db
from app.notifications.models import PushSubscription
from app.notifications.push import PushRetry, PushUndelivered, push_to_user, remove_subscription
from tests import factories
from tests.webpush import Browser, a_vapid_key, audience, vapid_claims

FCM = "https://fcm.googleapis.com/fcm/send/secret-token-one"
MOZILLA = "https://updates.push.services.mozilla.com/wpush/v2/secret-token-two"
APPLE = "https://web.push.apple.com/secret-token-three"
PAYLOAD = {"title": "बिल जारी", "body": "₹1,234.00 due on 2 December", "url": "/bills/7", "tag": "bill-7"}


@pytest.fixture
def vapid(app, monkeypatch):
    key = a_vapid_key()
    monkeypatch.setitem(app.config, "VAPID_PRIVATE_KEY", key)
    monkeypatch.setitem(app.config, "VAPID_SUBJECT", "mailto:push@utility.example")
    return key


@pytest.fixture
def push_service():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def subscribed(*endpoints):
    user = factories.make_user()
    browsers = [Browser(endpoint) for endpoint in endpoints]
    for browser in browsers:
        browser.subscribe(user)
    db.session.commit()
    return user, browsers


def remaining():
    return set(db.session.scalars(select(PushSubscription.endpoint)))


def test_every_browser_gets_the_message_encrypted_signed_and_kept_while_offline(vapid, push_service):
    push_service.post(FCM, status=201)
    push_service.post(MOZILLA, status=201)
    user, browsers = subscribed(FCM, MOZILLA)

    push_to_user(user.id, PAYLOAD, ttl=86400, urgency="high")

    assert len(push_service.calls) == 2
    for call, browser in zip(push_service.calls, browsers, strict=True):
        request = call.request
        assert request.url == browser.endpoint
        assert browser.read(request.body) == PAYLOAD  # only the browser's keys open it
        assert request.headers["Content-Encoding"] == "aes128gcm"
        assert request.headers["Content-Type"] == "application/octet-stream"  # web-push-testing needs it
        assert request.headers["TTL"] == "86400"
        assert request.headers["Urgency"] == "high"
        assert request.headers["Topic"] == "bill-7"
        claims = vapid_claims(request.headers["Authorization"], vapid)
        assert claims["aud"] == audience(browser.endpoint)
        assert claims["sub"] == "mailto:push@utility.example"
        assert utcnow().timestamp() < claims["exp"] <= (utcnow() + timedelta(hours=24)).timestamp()
    for subscription in db.session.scalars(select(PushSubscription)):
        assert subscription.last_success_at is not None


def test_the_vapid_token_is_signed_once_per_push_service_and_again_near_its_expiry(vapid, push_service, clock):
    push_service.post(FCM, status=201)
    user, _ = subscribed(FCM)
    push_to_user(user.id, PAYLOAD, ttl=60, urgency="normal")
    push_to_user(user.id, PAYLOAD, ttl=60, urgency="normal")
    first, second = (call.request.headers["Authorization"] for call in push_service.calls)
    assert first == second
    clock.move_to(utcnow() + timedelta(hours=11, minutes=30))
    push_to_user(user.id, PAYLOAD, ttl=60, urgency="normal")
    renewed = push_service.calls[-1].request.headers["Authorization"]
    assert renewed != first
    assert vapid_claims(renewed, vapid)["exp"] > utcnow().timestamp() + 3600


@pytest.mark.parametrize(("endpoint", "status"), [(FCM, 404), (MOZILLA, 410), (APPLE, 410), (APPLE, 403)])
def test_a_subscription_the_push_service_calls_gone_is_deleted(vapid, push_service, endpoint, status):
    push_service.post(endpoint, status=status)
    push_service.post(MOZILLA if endpoint != MOZILLA else FCM, status=201)
    user, _ = subscribed(endpoint, MOZILLA if endpoint != MOZILLA else FCM)

    push_to_user(user.id, PAYLOAD, ttl=3600, urgency="normal")
    db.session.commit()

    assert endpoint not in remaining()
    assert len(remaining()) == 1  # the other browser keeps its subscription


@pytest.mark.parametrize("status", [429, 500, 502, 503])
def test_throttling_and_server_errors_raise_push_retry_after_trying_every_browser(vapid, push_service, status):
    push_service.post(FCM, status=status, headers={"Retry-After": "120"})
    push_service.post(MOZILLA, status=201)
    user, _ = subscribed(FCM, MOZILLA)

    with pytest.raises(PushRetry) as retry:
        push_to_user(user.id, PAYLOAD, ttl=3600, urgency="normal")

    assert retry.value.retry_after == 120
    assert [call.request.url for call in push_service.calls] == [FCM, MOZILLA]
    assert remaining() == {FCM, MOZILLA}
    assert "secret-token" not in str(retry.value)


def test_retry_after_may_be_an_http_date(vapid, push_service):
    later = (utcnow() + timedelta(minutes=5)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    push_service.post(FCM, status=503, headers={"Retry-After": later})
    user, _ = subscribed(FCM)
    with pytest.raises(PushRetry) as retry:
        push_to_user(user.id, PAYLOAD, ttl=3600, urgency="normal")
    assert 250 <= retry.value.retry_after <= 300


def test_no_connection_is_retried(vapid, push_service):
    push_service.post(FCM, body=requests.ConnectionError("connection refused"))
    user, _ = subscribed(FCM)
    with pytest.raises(PushRetry) as retry:
        push_to_user(user.id, PAYLOAD, ttl=3600, urgency="normal")
    assert retry.value.retry_after is None


@pytest.mark.parametrize("status", [400, 401, 403, 413])
def test_other_refusals_are_logged_without_the_endpoints_secret_and_not_retried(vapid, push_service, caplog,
                                                                                 status):
    push_service.post(FCM, status=status, body=f"bad request for {FCM}")
    user, _ = subscribed(FCM)
    # Given up on: retrying would not help.
    with caplog.at_level(logging.INFO, logger="app.notifications.push"), pytest.raises(PushUndelivered):
        push_to_user(user.id, PAYLOAD, ttl=3600, urgency="normal")
    assert remaining() == {FCM}  # 403 from a service other than Apple's: our key, not the browser
    assert str(status) in caplog.text and "fcm.googleapis.com" in caplog.text
    assert "secret-token" not in caplog.text


def test_a_user_with_no_subscription_is_nothing_to_do(vapid, push_service):
    user = factories.make_user()
    with pytest.raises(PushUndelivered):  # the delivery records why nothing went, and gives up
        push_to_user(user.id, PAYLOAD, ttl=3600, urgency="normal")
    assert len(push_service.calls) == 0


def test_without_a_vapid_key_nothing_is_sent(app, push_service, monkeypatch):
    monkeypatch.setitem(app.config, "VAPID_PRIVATE_KEY", None)
    user, _ = subscribed(FCM)
    with pytest.raises(PushUndelivered):  # the delivery records why nothing went, and gives up
        push_to_user(user.id, PAYLOAD, ttl=3600, urgency="normal")
    assert len(push_service.calls) == 0


@pytest.mark.parametrize(("ttl", "urgency"), [(0, "normal"), (60, "urgent")])
def test_a_zero_ttl_or_an_unknown_urgency_is_a_programming_error(vapid, ttl, urgency):
    user, _ = subscribed(FCM)
    with pytest.raises(ValueError):
        push_to_user(user.id, PAYLOAD, ttl=ttl, urgency=urgency)


def test_a_payload_too_big_for_a_push_service_is_refused(vapid, push_service):
    user, _ = subscribed(FCM)
    with pytest.raises(ValueError, match="payload"):
        push_to_user(user.id, {**PAYLOAD, "body": "x" * 4000}, ttl=60, urgency="normal")
    assert len(push_service.calls) == 0


def test_an_endpoint_subscribed_again_by_someone_else_moves_to_them():
    first, _ = subscribed(FCM)
    second = factories.make_user()
    Browser(FCM).subscribe(second)
    db.session.commit()
    subscription = db.session.scalar(select(PushSubscription))
    assert subscription.user_id == second.id
    assert not remove_subscription(first.id, FCM)  # nobody removes another person's browser
    assert remove_subscription(second.id, FCM)


def test_push_keys_keeps_a_new_key_in_instance_for_development(app, monkeypatch, tmp_path):
    import config

    monkeypatch.setattr(config, "INSTANCE_DIR", tmp_path)
    monkeypatch.setitem(app.config, "VAPID_KEYS_IN_INSTANCE", True)
    result = app.test_cli_runner().invoke(args=["push", "keys"])
    assert result.exit_code == 0, result.output
    key = (tmp_path / "vapid_private_key").read_text()
    assert (tmp_path / "vapid_private_key").stat().st_mode & 0o077 == 0
    assert key not in result.output  # the secret stays in its file
    monkeypatch.delenv("DTECH_VAPID_PRIVATE_KEY", raising=False)
    assert key == config.DevelopmentConfig().VAPID_PRIVATE_KEY
    again = app.test_cli_runner().invoke(args=["push", "keys"])
    assert (tmp_path / "vapid_private_key").read_text() == key  # never replaced by accident
    assert "--force" in again.output


def test_push_keys_prints_a_pair_for_the_environment_elsewhere(app, monkeypatch):
    monkeypatch.setitem(app.config, "VAPID_KEYS_IN_INSTANCE", False)
    result = app.test_cli_runner().invoke(args=["push", "keys"])
    assert result.exit_code == 0, result.output
    assert "DTECH_VAPID_PRIVATE_KEY=" in result.output and "Public key" in result.output


def test_inside_the_callers_transaction_the_outcome_is_part_of_it(vapid, push_service):
    push_service.post(FCM, status=410)
    push_service.post(MOZILLA, status=201)
    user, _ = subscribed(FCM, MOZILLA)
    factories.make_user(name="Written by the caller")  # the caller's transaction is open
    push_to_user(user.id, PAYLOAD, ttl=60, urgency="normal")
    db.session.rollback()  # the caller's task failed after all: its work and the outcome go together
    assert remaining() == {FCM, MOZILLA}
    assert db.session.scalar(select(PushSubscription.last_success_at).where(PushSubscription.endpoint == MOZILLA)) \
        is None


def test_one_users_browsers_are_each_tried_and_the_longest_retry_after_is_kept(vapid, push_service):
    push_service.post(FCM, status=201)
    push_service.post(MOZILLA, status=503, headers={"Retry-After": "60"})
    push_service.post(APPLE, status=410)
    user, _ = subscribed(FCM, MOZILLA, APPLE)

    with pytest.raises(PushRetry) as retry:
        push_to_user(user.id, PAYLOAD, ttl=3600, urgency="normal")
    db.session.commit()

    assert retry.value.retry_after == 60
    assert remaining() == {FCM, MOZILLA}  # Apple's is gone; what each answered is written despite the retry
    assert db.session.scalar(select(PushSubscription.last_success_at).where(PushSubscription.endpoint == FCM))
    assert len(push_service.calls) == 3
    assert {call.request.headers["TTL"] for call in push_service.calls} == {"3600"}
