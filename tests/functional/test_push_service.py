"""Web push end to end against push services on this machine:

- web-push-testing (npm, pinned in package-lock.json), a push service nobody here wrote: a subscription made there
  goes through our subscription endpoint, the app sends, and the service decrypts what it received. It checks our
  VAPID JWT (ES256, against the key the subscription was made with) and decrypts our aes128gcm body with its own
  implementation (Node's http_ece).
- a local HTTP endpoint answering 404, 410, 429 and 5xx: deletion and retries over a real connection.
"""

import json
import shutil
import socket
import subprocess
import threading
import time
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from app.extensions import db
from app.notifications.models import Notification, PushSubscription
from app.notifications.push import PushRetry, PushUndelivered, public_key_for, push_to_user
from tests import factories
from tests.conftest import missing
from tests.webpush import Browser, a_vapid_key

ROOT = Path(__file__).resolve().parents[2]
WEB_PUSH_TESTING = ROOT / "node_modules" / "web-push-testing" / "src" / "bin" / "server.js"
PAYLOAD = {"title": "बिल जारी हुआ", "body": "₹1,234.50 देय, 2 दिसंबर तक", "url": "/bills/7", "tag": "bill-7"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def push_service():
    """web-push-testing's server on a free port (its own server script: the CLI would detach it)."""
    node = shutil.which("node")
    if node is None or not WEB_PUSH_TESTING.exists():
        missing("web-push-testing (Node.js, then `make install` runs npm ci)")
    port = free_port()
    server = subprocess.Popen([node, str(WEB_PUSH_TESTING), str(port)], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    url = f"http://localhost:{port}"
    try:
        for _ in range(100):
            try:
                requests.post(f"{url}/status", timeout=1).raise_for_status()
                break
            except requests.ConnectionError:
                assert server.poll() is None, server.stdout.read()
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def vapid(app, monkeypatch):
    key = a_vapid_key()
    monkeypatch.setitem(app.config, "VAPID_PRIVATE_KEY", key)
    monkeypatch.setitem(app.config, "VAPID_SUBJECT", "mailto:push@utility.example")
    return key


def on_the_services_clock(service: str, clock) -> None:
    """The service checks our JWT's expiry against its own clock; the suite's is fixed in November 2026. So the
    app's now becomes the service's (its Date header)."""
    answer = requests.post(f"{service}/status", timeout=5)
    clock.move_to(parsedate_to_datetime(answer.headers["Date"]))


def subscribe_at(service: str, public_key: str) -> dict:
    """What PushManager.subscribe() gives a page: the service's endpoint and the browser's keys."""
    answer = requests.post(f"{service}/subscribe", json={"userVisibleOnly": "true",
                                                         "applicationServerKey": public_key}, timeout=5)
    answer.raise_for_status()
    return answer.json()["data"]


def received(service: str, client_hash: str) -> list[dict]:
    answer = requests.post(f"{service}/get-notifications", json={"clientHash": client_hash}, timeout=5)
    answer.raise_for_status()
    return [json.loads(message) for message in answer.json()["data"]["messages"]]


def test_an_independent_push_service_accepts_and_decrypts_what_we_send(push_service, vapid, client, login_as,
                                                                       clock):
    user = login_as("customer")
    subscription = subscribe_at(push_service, public_key_for(vapid))
    client_hash = subscription.pop("clientHash")
    assert client.post("/push/subscription", json=subscription).status_code == 201  # as push.js sends it
    on_the_services_clock(push_service, clock)

    push_to_user(user.id, PAYLOAD, ttl=86400, urgency="high")
    push_to_user(user.id, {**PAYLOAD, "body": "दूसरा संदेश"}, ttl=3600, urgency="normal")
    db.session.commit()

    assert received(push_service, client_hash) == [PAYLOAD, {**PAYLOAD, "body": "दूसरा संदेश"}]
    assert db.session.scalar(select(PushSubscription.last_success_at)) is not None


def test_a_customer_with_push_on_gets_a_bill_a_payment_and_one_due_reminder_through_the_service(
        push_service, vapid, client, login_as, clock):
    """The issue's "done when", through the product's own path: notifications written by a bill run, a payment
    at the counter and the reminder task, delivered by the delivery task, decrypted by an independent service."""
    from datetime import time as clock_time
    from datetime import timedelta
    from decimal import Decimal

    from app.billing.compose import Cycle
    from app.billing.runs import run_bills
    from app.db import today_in_india
    from app.notifications.models import Notification
    from app.notifications.reminders import send_due_reminders
    from app.payments.counter import record_counter_payment
    from app.payments.models import PaymentMethod

    on_the_services_clock(push_service, clock)  # (its clock is the real one: any hour of any day)
    today = today_in_india()
    user = login_as("customer")
    user.quiet_hours_start = user.quiet_hours_end = clock_time(0)  # no quiet hours: the hour of the run is any
    tariff = factories.make_tariff()
    read = factories.make_read_connection(tariff)  # readings for November 2024, billed now
    owing = factories.make_account(tariff)
    factories.make_bill(owing, "980.00", period_start=today - timedelta(days=40), issued_on=today - timedelta(days=9),
                        due_date=today + timedelta(days=2))  # in the days of the first reminder
    factories.link(user, read)
    factories.link(user, owing)
    db.session.commit()
    subscription = subscribe_at(push_service, public_key_for(vapid))
    client_hash = subscription.pop("clientHash")
    assert client.post("/push/subscription", json=subscription).status_code == 201  # as push.js sends it

    run_bills(Cycle(2024, 11), issued_on=today)
    db.session.commit()
    record_counter_payment(read.id, PaymentMethod.CASH, Decimal("500.00"), factories.make_user(role="support"),
                           "e2e-counter-key-000001")
    db.session.commit()
    send_due_reminders(today)
    send_due_reminders(today)  # a second run (or two at once) sends nothing twice

    pushes = received(push_service, client_hash)
    inbox = db.session.scalars(select(Notification).order_by(Notification.id)).all()
    assert [(p["title"], p["body"], p["url"]) for p in pushes] == [
        (n.title, n.body, f"/notifications/{n.id}") for n in inbox]
    assert [n.kind for n in inbox] == ["bill_issued", "payment", "due_reminder"]
    assert pushes[0]["title"] == "Your bill for Nov 2024 is ready"
    assert pushes[1]["title"] == "Payment received" and "₹500.00" in pushes[1]["body"]
    assert pushes[2]["body"].startswith("₹980.00 is due on")


def test_a_subscription_made_with_another_key_is_refused_by_the_service(push_service, vapid, login_as, clock,
                                                                        caplog):
    """The service checks the JWT against the key the subscription was made with: a signature from any other key
    fails there (so the test above passing means our signature is right)."""
    user = login_as("customer")
    subscription = subscribe_at(push_service, public_key_for(a_vapid_key()))
    client_hash = subscription.pop("clientHash")
    db.session.add(PushSubscription(user_id=user.id, endpoint=subscription["endpoint"],
                                    p256dh=subscription["keys"]["p256dh"], auth=subscription["keys"]["auth"]))
    db.session.commit()
    on_the_services_clock(push_service, clock)
    with pytest.raises(PushUndelivered):  # 400: logged, not retried, the delivery given up
        push_to_user(user.id, PAYLOAD, ttl=60, urgency="normal")
    assert received(push_service, client_hash) == []
    assert "refused with 400" in caplog.text


def test_an_expired_subscription_is_deleted(push_service, vapid, login_as, clock):
    user = login_as("customer")
    subscription = subscribe_at(push_service, public_key_for(vapid))
    client_hash = subscription.pop("clientHash")
    db.session.add(PushSubscription(user_id=user.id, endpoint=subscription["endpoint"],
                                    p256dh=subscription["keys"]["p256dh"], auth=subscription["keys"]["auth"]))
    db.session.commit()
    requests.post(f"{push_service}/expire-subscription/{client_hash}", timeout=5).raise_for_status()
    on_the_services_clock(push_service, clock)

    with pytest.raises(PushUndelivered):  # 410 Gone: nothing left to send to
        push_to_user(user.id, PAYLOAD, ttl=60, urgency="normal")
    db.session.commit()
    assert db.session.scalar(select(PushSubscription)) is None


# -- A local endpoint that answers what it is told ------------------------------------------------------------

class Answering(BaseHTTPRequestHandler):
    """POST /<status>/<anything>: answers <status>; records each request's headers and body length."""

    seen: list[dict] = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        status = int(self.path.split("/")[1])
        Answering.seen.append({"path": self.path, "status": status, "ttl": self.headers.get("TTL"),
                               "encoding": self.headers.get("Content-Encoding"), "size": len(body),
                               "authorization": self.headers.get("Authorization", "")})
        self.send_response(status)
        if status in (429, 503):
            self.send_header("Retry-After", "30")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def answering():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Answering)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def endpoints_of(user) -> set[str]:
    db.session.commit()
    return set(db.session.scalars(select(PushSubscription.endpoint).where(PushSubscription.user_id == user.id)))


def test_gone_subscriptions_are_deleted_and_retryable_answers_raise_push_retry(answering, vapid):
    user = factories.make_user()
    paths = {status: f"{answering}/{status}/browser-{status}" for status in (201, 404, 410, 429, 500, 503)}
    for endpoint in paths.values():
        Browser(endpoint).subscribe(user)
    db.session.commit()
    Answering.seen.clear()

    with pytest.raises(PushRetry) as retry:
        push_to_user(user.id, PAYLOAD, ttl=600, urgency="low")

    assert retry.value.retry_after == 30
    assert sorted(seen["status"] for seen in Answering.seen) == [201, 404, 410, 429, 500, 503]  # every one tried
    assert all(seen["ttl"] == "600" and seen["encoding"] == "aes128gcm" and seen["size"] > 0
               and seen["authorization"].startswith("vapid t=") for seen in Answering.seen)
    assert endpoints_of(user) == {paths[201], paths[429], paths[500], paths[503]}  # 404 and 410: deleted

    # Tried again (as the delivery task's retry does): the same, minus the two already gone.
    Answering.seen.clear()
    with pytest.raises(PushRetry):
        push_to_user(user.id, PAYLOAD, ttl=600, urgency="low")
    assert sorted(seen["status"] for seen in Answering.seen) == [201, 429, 500, 503]


def test_a_push_service_that_is_down_is_retried(vapid):
    user = factories.make_user()
    Browser(f"http://127.0.0.1:{free_port()}/nobody-listens").subscribe(user)
    db.session.commit()
    with pytest.raises(PushRetry):
        push_to_user(user.id, PAYLOAD, ttl=600, urgency="normal")
    assert len(endpoints_of(user)) == 1


def test_the_delivery_task_sends_a_batch_through_its_thread_pool_and_records_each_outcome(answering, vapid, app,
                                                                                         monkeypatch):
    """The product's path (app.notifications.delivery) with NOTIFICATION_SEND_THREADS = 4, over real sockets:
    each delivery gets its own outcome from what its browser's push service answered."""
    from app.notifications.delivery import deliver_due
    from app.notifications.models import DeliveryStatus, NotificationDelivery, NotificationKind
    from app.notifications.services import notify

    monkeypatch.setitem(app.config, "NOTIFICATION_SEND_THREADS", 4)
    monkeypatch.setattr("app.notifications.services._send_after_commit", lambda ids: None)  # sent below, at once
    answers = [201] * 6 + [410, 503]
    users = []
    for n, status in enumerate(answers):
        user = factories.make_user()
        Browser(f"{answering}/{status}/pool-{n}").subscribe(user)
        user.quiet_hours_start = user.quiet_hours_end = None
        users.append(user)
        notify(user, NotificationKind.PAYMENT, f"Paid {n}", "₹500")
    db.session.commit()
    Answering.seen.clear()

    outcomes = deliver_due(limit=50)

    assert outcomes == {DeliveryStatus.SENT: 6, DeliveryStatus.DEAD: 1, DeliveryStatus.FAILED: 1}
    assert sorted(seen["status"] for seen in Answering.seen) == sorted(answers)
    assert any(thread.name.startswith("push") for thread in threading.enumerate())  # the pool sent them
    db.session.commit()
    by_user = dict(db.session.execute(
        select(Notification.user_id, NotificationDelivery.status)
        .join(Notification, Notification.id == NotificationDelivery.notification_id)).all())
    assert [by_user[user.id] for user in users] == [DeliveryStatus.SENT] * 6 + [DeliveryStatus.DEAD,
                                                                                DeliveryStatus.FAILED]
    assert endpoints_of(users[6]) == set()  # 410: gone
