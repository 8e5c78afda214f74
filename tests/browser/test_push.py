"""Web push in headless Chromium: the opt-in card and signing out (with PushManager stubbed: headless Chromium has
no push service), and the service worker's push and notificationclick handlers, fed a push message through the
DevTools protocol (ServiceWorker.deliverPushMessage)."""

import json

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.db import begin_write
from app.extensions import db
from app.notifications.models import PushSubscription
from app.notifications.push import public_key_for
from tests import factories
from tests.browser import test_pwa
from tests.browser.test_pwa import sign_in, sign_out, under_service_worker
from tests.webpush import Browser, a_vapid_key

sw_context = test_pwa.sw_context  # the fixture: a context in which the service worker runs

ENDPOINT = "https://fcm.googleapis.com/fcm/send/stubbed-browser-secret"

# PushManager as a browser with a push service would behave, its subscription kept in localStorage so it
# outlives page loads; what the page asked for is recorded there too.
STUB_PUSH_MANAGER = """(() => {
  const KEY = "stub-push-subscription";
  const make = (json) => ({endpoint: json.endpoint, options: {applicationServerKey: null}, toJSON: () => json,
    unsubscribe: async () => { localStorage.removeItem(KEY); localStorage.setItem("stub-push-unsubscribed", "1");
                               return true; }});
  PushManager.prototype.getSubscription = async function () {
    const json = localStorage.getItem(KEY);
    return json ? make(JSON.parse(json)) : null;
  };
  PushManager.prototype.subscribe = async function (options) {
    const key = new Uint8Array(options.applicationServerKey);
    localStorage.setItem("stub-push-key", btoa(String.fromCharCode(...key)).replace(/\\+/g, "-")
      .replace(/\\//g, "_").replace(/=+$/, ""));
    localStorage.setItem(KEY, JSON.stringify(%s));
    return make(JSON.parse(localStorage.getItem(KEY)));
  };
})();"""


@pytest.fixture
def vapid(app, monkeypatch):
    key = a_vapid_key()
    monkeypatch.setitem(app.config, "VAPID_PRIVATE_KEY", key)
    monkeypatch.setitem(app.config, "VAPID_SUBJECT", "mailto:push@utility.example")
    return key


@pytest.fixture
def push_customer():
    user = factories.make_user(mobile="+919822200001", name="Push Customer")
    factories.link(user, factories.make_account(factories.make_tariff()))
    db.session.commit()
    return user


def stored():
    db.session.commit()  # a new transaction sees what the server thread wrote
    return {(s.user_id, s.endpoint) for s in db.session.scalars(select(PushSubscription))}


def test_turning_on_subscribes_this_phone_and_signing_out_ends_it(sw_context, vapid, push_customer, screenshot):
    browser = Browser(ENDPOINT)
    subscription = {"endpoint": ENDPOINT, "expirationTime": None, "keys": {"p256dh": browser.p256dh, "auth": "A" * 22}}
    context = sw_context(permissions=["notifications"])
    context.add_init_script(STUB_PUSH_MANAGER % json.dumps(subscription))
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, push_customer)
    card = page.locator("#push-card")
    expect(card).to_be_visible()
    expect(card).to_contain_text("Get a notification on this phone before a bill is due.")
    page.get_by_role("button", name="Turn on notifications").click()
    expect(card).to_contain_text("Notifications are on for this phone")
    expect(page.get_by_role("button", name="Turn off notifications")).to_be_visible()
    screenshot(page, "push-on-dashboard")
    assert stored() == {(push_customer.id, ENDPOINT)}
    assert page.evaluate("localStorage.getItem('stub-push-key')") == public_key_for(vapid)

    page.goto("/profile")  # the profile knows this phone is subscribed (the server says so)
    expect(page.locator("#push-card")).to_contain_text("Notifications are on for this phone")

    page.goto("/")
    sign_out(page)
    assert stored() == set()  # the next person on this phone gets none of these messages

    # Signed in again: the browser still holds the subscription (the stub keeps it), but it is nobody's now, and
    # the card says so rather than taking it over without a press.
    sign_in(page, push_customer)
    expect(page.locator("#push-card")).to_contain_text("Get a notification on this phone before a bill is due.")
    # One this session never made (a subscription from an earlier session): the page names it at sign-out.
    db.session.commit()
    begin_write(db.session)  # the server thread writes too: take the lock before reading
    browser.subscribe(push_customer)
    db.session.commit()
    sign_out(page)
    assert stored() == set()


def test_turning_off_deletes_the_subscription(sw_context, vapid, push_customer):
    browser = Browser(ENDPOINT)
    subscription = {"endpoint": ENDPOINT, "expirationTime": None, "keys": {"p256dh": browser.p256dh, "auth": "A" * 22}}
    context = sw_context(permissions=["notifications"])
    context.add_init_script(STUB_PUSH_MANAGER % json.dumps(subscription))
    page = context.new_page()
    sign_in(page, push_customer)
    page.get_by_role("button", name="Turn on notifications").click()
    expect(page.get_by_role("button", name="Turn off notifications")).to_be_visible()
    page.get_by_role("button", name="Turn off notifications").click()
    expect(page.get_by_role("button", name="Turn on notifications")).to_be_visible()
    assert stored() == set()


def test_no_card_where_the_browser_has_no_push(sw_context, vapid, push_customer):
    context = sw_context()
    context.add_init_script("delete window.PushManager;")
    page = context.new_page()
    sign_in(page, push_customer)
    page.wait_for_load_state("load")
    expect(page.locator("#push-card")).to_be_hidden()


def test_the_worker_shows_a_pushed_message_and_a_tap_opens_its_page(sw_context, live_server, push_customer):
    context = sw_context(permissions=["notifications"])
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, push_customer)
    under_service_worker(page)
    page.goto("/profile")

    cdp = context.new_cdp_session(page)
    registrations = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda event: registrations.extend(event["registrations"]))
    cdp.send("ServiceWorker.enable")
    for _ in range(100):  # Playwright hands over the protocol's events while it waits
        if any(not r["isDeleted"] for r in registrations):
            break
        page.wait_for_timeout(100)
    registration_id = next(r["registrationId"] for r in registrations if not r["isDeleted"])
    message = {"title": "बिल जारी हुआ", "body": "₹1,234.50, 2 दिसंबर तक", "url": "/bills", "tag": "bill-7"}
    cdp.send("ServiceWorker.deliverPushMessage", {"origin": live_server, "registrationId": registration_id,
                                                   "data": json.dumps(message, ensure_ascii=False)})

    shown = """() => navigator.serviceWorker.ready.then((r) => r.getNotifications()).then((list) =>
        list.map((n) => ({title: n.title, body: n.body, tag: n.tag, url: n.data && n.data.url})))"""
    expected = [{"title": message["title"], "body": message["body"], "tag": "bill-7", "url": f"{live_server}/bills"}]
    as_js = json.dumps(json.dumps(expected, ensure_ascii=False))
    page.wait_for_function(f"({shown})().then((list) => JSON.stringify(list) === {as_js})")

    # A tap (the click event the browser sends): the open window of the app shows the notification's page.
    worker = context.service_workers[0]
    tapped = worker.evaluate("""async () => {
        const [notification] = await self.registration.getNotifications();
        self.dispatchEvent(new NotificationEvent("notificationclick", {notification}));
        return notification.data.url;
    }""")
    assert tapped == f"{live_server}/bills"
    page.wait_for_url(f"{live_server}/bills")
    expect(page.get_by_role("heading", name="Bills")).to_be_visible()
    page.wait_for_function(f"({shown})().then((list) => list.length === 0)")  # closed by the tap

    # A URL elsewhere becomes the app's home page; the same tag again replaces the notification (Chromium's list
    # may show the one replaced for a moment: waited for until it settles).
    for body in ("first", "second"):
        cdp.send("ServiceWorker.deliverPushMessage", {"origin": live_server, "registrationId": registration_id,
                                                       "data": json.dumps({**message, "body": body,
                                                                           "url": "https://evil.example/pay"})})
    page.wait_for_function(f"""({shown})().then((list) => list.length === 1 && list[0].body === 'second'
                               && list[0].url === '{live_server}/')""")
