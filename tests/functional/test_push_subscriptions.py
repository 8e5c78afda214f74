"""Opting in and out of web push: the subscription endpoints, the card on the dashboard and profile, and signing
out, which deletes that browser's subscription."""

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.notifications.models import PushSubscription
from app.notifications.push import public_key_for
from tests import factories
from tests.webpush import Browser, a_vapid_key

FCM = "https://fcm.googleapis.com/fcm/send/browser-secret-1"
OTHER = "https://updates.push.services.mozilla.com/wpush/v2/browser-secret-2"


@pytest.fixture
def vapid(app, monkeypatch):
    key = a_vapid_key()
    monkeypatch.setitem(app.config, "VAPID_PRIVATE_KEY", key)
    monkeypatch.setitem(app.config, "VAPID_SUBJECT", "mailto:push@utility.example")
    return key


def subscription_json(endpoint=FCM):
    browser = Browser(endpoint)
    return {"endpoint": endpoint, "expirationTime": None, "keys": {"p256dh": browser.p256dh, "auth": "A" * 22}}


def stored():
    return {(s.user_id, s.endpoint) for s in db.session.scalars(select(PushSubscription))}


def test_a_customer_subscribes_this_browser(client, login_as):
    user = login_as("customer")
    response = client.post("/push/subscription", json=subscription_json(),
                           headers={"User-Agent": "Mozilla/5.0 (Linux; Android 13) Chrome/131"})
    assert response.status_code == 201
    assert stored() == {(user.id, FCM)}
    assert db.session.scalar(select(PushSubscription.user_agent)).startswith("Mozilla/5.0 (Linux; Android 13)")
    again = client.post("/push/subscription", json=subscription_json())  # the same browser again: one row
    assert again.status_code == 201 and stored() == {(user.id, FCM)}


@pytest.mark.parametrize("change", [
    {"endpoint": "http://fcm.googleapis.com/fcm/send/x"},  # not https
    {"endpoint": "https://10.0.0.5/admin"},  # our own network
    {"endpoint": "https://push.example.net/x"},  # not a push service
    {"endpoint": "https://fcm.googleapis.com.evil.example/x"},
    {"endpoint": FCM + "x" * 1000},
    {"endpoint": None},
    {"keys": {"p256dh": "AAAA", "auth": "A" * 22}},  # not a P-256 point
    {"keys": {"p256dh": Browser(FCM).p256dh, "auth": "A"}},
    {"keys": {"p256dh": "!!not base64!!", "auth": "A" * 22}},
    {"keys": None},
])
def test_a_subscription_that_is_not_a_push_services_is_refused(app, client, login_as, monkeypatch, change):
    monkeypatch.setitem(app.config, "PUSH_ALLOW_LOCAL", False)
    login_as("customer")
    response = client.post("/push/subscription", json={**subscription_json(), **change})
    assert response.status_code == 400
    assert "error" in response.get_json()
    assert stored() == set()


def test_a_local_push_service_is_refused_outside_the_tests(app, client, login_as, monkeypatch):
    login_as("customer")
    local = "http://localhost:8090/notify/abc"
    monkeypatch.setitem(app.config, "PUSH_ALLOW_LOCAL", False)
    assert client.post("/push/subscription", json=subscription_json(local)).status_code == 400
    monkeypatch.setitem(app.config, "PUSH_ALLOW_LOCAL", True)
    assert client.post("/push/subscription", json=subscription_json(local)).status_code == 201


def test_not_json_is_a_400(client, login_as):
    login_as("customer")
    assert client.post("/push/subscription", data="endpoint=x").status_code == 400
    assert client.delete("/push/subscription", data="x").status_code == 400
    assert client.post("/push/subscription/state", json=["x"]).status_code == 400


def test_only_customers_subscribe(client, login_as):
    assert client.post("/push/subscription", json=subscription_json()).status_code in (302, 401)
    login_as("support")
    assert client.post("/push/subscription", json=subscription_json()).status_code == 403
    assert stored() == set()


def test_turning_off_deletes_only_this_users_subscription_of_that_browser(client, login_as):
    other = factories.make_user()
    Browser(OTHER).subscribe(other)
    db.session.commit()
    user = login_as("customer")
    client.post("/push/subscription", json=subscription_json())
    assert client.post("/push/subscription/state", json={"endpoint": FCM}).get_json() == {"subscribed": True}
    assert client.post("/push/subscription/state", json={"endpoint": OTHER}).get_json() == {"subscribed": False}
    assert client.delete("/push/subscription", json={"endpoint": OTHER}).status_code == 204
    assert client.delete("/push/subscription", json={"endpoint": FCM}).status_code == 204
    assert stored() == {(other.id, OTHER)}
    assert client.post("/push/subscription/state", json={"endpoint": FCM}).get_json() == {"subscribed": False}
    assert user.id != other.id


def test_the_csrf_token_is_needed(app, client, login_as):
    login_as("customer")
    page = client.get("/profile").get_data(as_text=True)
    token = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        assert client.post("/push/subscription", json=subscription_json()).status_code == 400
        assert client.delete("/push/subscription", json={"endpoint": FCM}).status_code == 400
        accepted = client.post("/push/subscription", json=subscription_json(), headers={"X-CSRFToken": token})
        assert accepted.status_code == 201
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_signing_out_deletes_the_subscription_the_page_names(client, login_as):
    user = login_as("customer")
    client.post("/push/subscription", json=subscription_json(FCM))
    Browser(OTHER).subscribe(user)  # the same person's other phone
    db.session.commit()
    client.post("/logout", data={"push_endpoint": FCM})
    assert stored() == {(user.id, OTHER)}  # the other phone keeps getting them


def test_signing_out_without_the_page_saying_deletes_the_one_this_session_made(client, login_as):
    user = login_as("customer")
    client.post("/push/subscription", json=subscription_json(FCM))
    Browser(OTHER).subscribe(user)
    db.session.commit()
    client.post("/logout")
    assert stored() == {(user.id, OTHER)}


def test_signing_out_never_deletes_someone_elses_subscription(client, login_as):
    other = factories.make_user()
    Browser(OTHER).subscribe(other)
    db.session.commit()
    login_as("customer")
    client.post("/logout", data={"push_endpoint": OTHER})
    assert stored() == {(other.id, OTHER)}


def with_a_connection(user):
    factories.link(user, factories.make_account(factories.make_tariff()))
    db.session.commit()


def test_the_dashboard_and_profile_offer_push_with_the_public_key(client, login_as, vapid):
    with_a_connection(login_as("customer", locale="hi_IN"))
    for url in ("/", "/profile"):
        page = client.get(url).get_data(as_text=True)
        assert f'data-key="{public_key_for(vapid)}"' in page
        assert "इस फ़ोन पर सूचनाएँ" in page and "सूचनाएँ चालू करें" in page
        assert re.search(r'src="/static/js/push\.[0-9a-f]{12}\.js" defer', page)
        assert 'id="push-card"' in page and re.search(r'id="push-card"[^>]*\shidden', page)  # push.js shows it


def test_no_card_when_push_is_not_configured(client, login_as, app, monkeypatch):
    monkeypatch.setitem(app.config, "VAPID_PRIVATE_KEY", None)
    with_a_connection(login_as("customer"))
    for url in ("/", "/profile"):
        assert "push-card" not in client.get(url).get_data(as_text=True)
