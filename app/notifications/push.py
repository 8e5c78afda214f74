"""Web push: a small JSON message, encrypted (aes128gcm) and signed (VAPID), to each browser a user subscribed.

The notification core calls `push_batch` from its delivery task; this module only sends and looks after the
subscriptions (saved when a customer opts in, deleted when the push service says they are gone or the person
signs out on that browser).

- TTL: pywebpush's default of 0 lets a push service drop a message to a phone that is offline; the caller gives
  each kind its own (a due-date reminder waits a day, a sign-in alert an hour).
- A retryable failure (429, 5xx, no connection) raises PushRetry once every subscription has been tried, so the
  task is retried with backoff. The retry sends to all of them again: the message's `tag` (the notification
  shows once per tag) and Topic header (a push service keeps only the latest per topic) keep the browsers that
  already had it from showing it twice.
- The endpoint URL is a bearer secret (whoever knows it can push to that browser): logs name only its host.
"""

import base64
import json
import logging
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import cache
from typing import NamedTuple
from urllib.parse import urlsplit
from urllib.request import getproxies

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import current_app
from py_vapid import Vapid
from pywebpush import WebPusher
from requests.adapters import HTTPAdapter
from sqlalchemy import delete, select, update

from app.db import begin_write, utcnow
from app.extensions import db
from app.notifications.models import PushSubscription

log = logging.getLogger(__name__)

URGENCIES = ("very-low", "low", "normal", "high")  # RFC 8030 §5.3
MAX_PAYLOAD_BYTES = 3000  # push services take 4096 encrypted bytes; a title, body, URL and tag fit easily
TIMEOUT = (5, 15)  # seconds: to connect, then for the push service's answer
VAPID_LIFETIME = timedelta(hours=12)  # push services refuse a token valid for more than 24 hours
GONE = (404, 410)
TOPIC = re.compile(r"^[A-Za-z0-9_-]{1,32}$")  # RFC 8030 §5.4: at most 32 base64url characters


class PushUndelivered(Exception):
    """No browser of the user took the message and retrying changes nothing: no subscription left, push not
    configured, or every push service refused it (the log says why). The delivery records it and gives up."""


class PushRetry(Exception):
    """A retryable failure happened (429, 5xx, network): try the delivery again later, after `retry_after`
    seconds if the push service said how long (None: the task's own backoff)."""

    def __init__(self, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


# -- Keys ---------------------------------------------------------------------------------------------------------

def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def new_vapid_key() -> str:
    """A new VAPID private key: P-256, raw, base64url (what DTECH_VAPID_PRIVATE_KEY holds)."""
    key = ec.generate_private_key(ec.SECP256R1())
    return _b64url(key.private_numbers().private_value.to_bytes(32, "big"))


@cache
def _vapid(private_key: str) -> Vapid:
    return Vapid.from_string(private_key)


@cache
def public_key_for(private_key: str) -> str:
    """The public key browsers subscribe with (applicationServerKey): the uncompressed point, base64url."""
    point = _vapid(private_key).public_key.public_bytes(serialization.Encoding.X962,
                                                        serialization.PublicFormat.UncompressedPoint)
    return _b64url(point)


def vapid_public_key() -> str | None:
    """The configured public key, or None when push is off (no key configured)."""
    private_key = current_app.config.get("VAPID_PRIVATE_KEY")
    return public_key_for(private_key) if private_key else None


_signed: dict[tuple[str, str], tuple[dict, datetime]] = {}  # (key, audience) → (headers, expiry)


def _vapid_headers(private_key: str, subject: str, endpoint: str) -> dict:
    """The Authorization header for one push service (the JWT's audience), signed once and reused until it is
    within an hour of expiring: signing each of thousands of messages would cost more than sending them."""
    parts = urlsplit(endpoint)
    audience = f"{parts.scheme}://{parts.netloc}"
    now = utcnow()
    headers, expires = _signed.get((private_key, audience), (None, now))
    if headers is None or not now + timedelta(hours=1) < expires <= now + VAPID_LIFETIME:
        expires = now + VAPID_LIFETIME
        claims = {"sub": subject, "aud": audience, "exp": int(expires.timestamp())}
        headers = _vapid(private_key).sign(claims)
        _signed[(private_key, audience)] = (headers, expires)
    return headers


# -- Sending ------------------------------------------------------------------------------------------------------

_local = threading.local()


def http_session() -> requests.Session:
    """This thread's connection pool: a kept-alive connection per push service, as a worker sends many."""
    session = getattr(_local, "session", None)
    if session is None:
        session = requests.Session()
        # Proxies from the environment (HTTPS_PROXY …) read once, not again for every message as requests would.
        session.proxies.update(getproxies())
        session.trust_env = False
        session.mount("https://", HTTPAdapter(pool_connections=8, pool_maxsize=8))
        session.mount("http://", HTTPAdapter(pool_connections=8, pool_maxsize=8))
        _local.session = session
    return session


def host_of(endpoint: str) -> str:
    """What logs may say about an endpoint: its host (the path is the browser's secret)."""
    return urlsplit(endpoint).hostname or "?"


def _is_apple(endpoint: str) -> bool:
    # Apple's push service answers 403 for a subscription it no longer honours.
    return host_of(endpoint).endswith(".push.apple.com")


def _retry_after(response: requests.Response) -> int | None:
    """Retry-After in seconds (it may be given as seconds or as an HTTP date)."""
    value = (response.headers.get("Retry-After") or "").strip()
    if value.isdigit():
        return int(value)
    try:
        return max(0, int((parsedate_to_datetime(value) - utcnow()).total_seconds()))
    except (TypeError, ValueError):
        return None


def encode_payload(payload: dict) -> bytes:
    data = json.dumps({key: payload.get(key) for key in ("title", "body", "url", "tag")}, ensure_ascii=False,
                      separators=(",", ":")).encode()
    if len(data) > MAX_PAYLOAD_BYTES:
        raise ValueError(f"push payload of {len(data)} bytes: keep it under {MAX_PAYLOAD_BYTES}")
    return data


def send(subscription: "Target | PushSubscription", data: bytes, *, ttl: int, urgency: str, topic: str | None,
         private_key: str, subject: str, session: requests.Session | None = None) -> requests.Response:
    """One message to one browser; the push service's response (network errors raise requests' own)."""
    headers = dict(_vapid_headers(private_key, subject, subscription.endpoint))
    headers["Urgency"] = urgency
    headers["Content-Type"] = "application/octet-stream"  # as the web-push libraries send it; some services need it
    if topic:
        headers["Topic"] = topic
    info = {"endpoint": subscription.endpoint, "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth}}
    return WebPusher(info, requests_session=session or http_session()).send(
        data, headers, ttl=ttl, content_encoding="aes128gcm", timeout=TIMEOUT)


class Target(NamedTuple):
    """A subscription as read for one fan-out: plain values, usable after the read's transaction has ended."""

    id: int
    endpoint: str
    p256dh: str
    auth: str


class PushMessage(NamedTuple):
    """One notification to all of one user's browsers; `key` names it in push_batch's answer."""

    key: int
    user_id: int
    payload: dict  # {"title", "body", "url", "tag"}, already in the user's language
    ttl: int
    urgency: str


def push_to_user(user_id: int, payload: dict, *, ttl: int, urgency: str) -> None:
    """One message to every browser the user subscribed (push_batch for one): raises PushRetry or PushUndelivered
    as push_batch says."""
    outcome = push_batch([PushMessage(0, user_id, payload, ttl, urgency)])[0]
    if outcome is not None:
        raise outcome


def push_batch(messages: list[PushMessage], threads: int = 1) -> dict[int, "PushRetry | PushUndelivered | None"]:
    """Send each message to every browser its user subscribed, `threads` at once. Gone subscriptions are deleted;
    delivered ones get last_success_at. For each message's key: None if a browser took it; PushRetry if any
    browser failed in a way worth retrying (the longest Retry-After of them); PushUndelivered if none took it and
    retrying changes nothing (no subscription left, push not configured, refused: the log says why).

    Called outside a transaction (the delivery task having committed its claim), no database lock or snapshot is
    held while push services answer: the subscriptions are read in one query and that read ended, the messages
    sent, then what the services answered is written in a write transaction (begin_write) that the caller
    commits. Called inside one, all of it happens in the caller's transaction."""
    for message in messages:
        if message.ttl <= 0:
            raise ValueError("a push needs a TTL: with 0 a phone that is offline never gets it")
        if message.urgency not in URGENCIES:
            raise ValueError(f"urgency must be one of {', '.join(URGENCIES)}")
    private_key, subject = current_app.config.get("VAPID_PRIVATE_KEY"), current_app.config.get("VAPID_SUBJECT")
    own_transaction = not db.session().in_transaction()
    subscriptions: dict[int, list[Target]] = {}
    for user_id, *target in db.session.execute(
            select(PushSubscription.user_id, PushSubscription.id, PushSubscription.endpoint, PushSubscription.p256dh,
                   PushSubscription.auth)
            .where(PushSubscription.user_id.in_({message.user_id for message in messages}))
            .order_by(PushSubscription.id)):
        subscriptions.setdefault(user_id, []).append(Target(*target))
    if own_transaction:
        db.session.rollback()  # only read so far: end it, so no snapshot is held while we wait on the network
    if subscriptions and not private_key:
        log.warning("web push is not configured (DTECH_VAPID_PRIVATE_KEY); %s users' subscriptions wait",
                    len(subscriptions))
        subscriptions = {}
    jobs = [(message, target, encode_payload(message.payload)) for message in messages
            for target in subscriptions.get(message.user_id, [])]

    def deliver(job) -> str | PushRetry | None:
        message, target, data = job
        tag = str(message.payload.get("tag") or "")
        return _deliver(target, data, ttl=message.ttl, urgency=message.urgency,
                        topic=tag if TOPIC.match(tag) else None, private_key=private_key, subject=subject)

    results = list(_sender_pool(threads).map(deliver, jobs)) if threads > 1 and len(jobs) > 1 \
        else [deliver(job) for job in jobs]
    if jobs:
        if own_transaction:
            begin_write(db.session)
        _record([(target, outcome) for (_message, target, _data), outcome in zip(jobs, results, strict=True)])
    answers: dict[int, list] = {message.key: [] for message in messages}
    for (message, _target, _data), outcome in zip(jobs, results, strict=True):
        answers[message.key].append(outcome)
    return {key: _verdict(outcomes) for key, outcomes in answers.items()}


def _verdict(outcomes: list) -> "PushRetry | PushUndelivered | None":
    retries = [outcome for outcome in outcomes if isinstance(outcome, PushRetry)]
    if retries:
        return max(retries, key=lambda retry: retry.retry_after or 0)
    if DELIVERED in outcomes:
        return None
    return PushUndelivered("no browser took it: no subscription left, push not configured, or refused")


@cache
def _sender_pool(size: int) -> ThreadPoolExecutor:
    """Threads that stay, so each keeps its connections to the push services alive from one batch to the next."""
    return ThreadPoolExecutor(size, thread_name_prefix="push")


DELIVERED, GONE_NOW = "delivered", "gone"


def _deliver(target: Target, data: bytes, **options) -> str | PushRetry | None:
    """Send to one subscription: DELIVERED, GONE_NOW, a PushRetry worth trying again, or None (refused)."""
    where = f"push subscription {target.id} ({host_of(target.endpoint)})"
    try:
        response = send(target, data, **options)
    except requests.RequestException as error:
        log.warning("%s: no answer (%s); will retry", where, type(error).__name__)
        return PushRetry(f"{where}: {type(error).__name__}")
    status = response.status_code
    if 200 <= status < 300:
        return DELIVERED
    if status in GONE or (status == 403 and _is_apple(target.endpoint)):
        log.info("%s: gone (%s); deleted", where, status)
        return GONE_NOW
    if status == 429 or status >= 500:
        log.warning("%s: %s; will retry", where, status)
        return PushRetry(f"{where}: {status}", retry_after=_retry_after(response))
    # 400 (bad payload or headers), 401/403 (our VAPID key refused), 413 (too big): retrying changes nothing.
    log.error("%s: refused with %s: %s", where, status, response.text[:200].replace(target.endpoint, "…"))
    return None


def _record(outcomes: list) -> None:
    delivered = [target.id for target, outcome in outcomes if outcome == DELIVERED]
    gone = [target.id for target, outcome in outcomes if outcome == GONE_NOW]
    if delivered:
        db.session.execute(update(PushSubscription).where(PushSubscription.id.in_(delivered))
                           .values(last_success_at=utcnow()), execution_options={"synchronize_session": False})
    if gone:
        db.session.execute(delete(PushSubscription).where(PushSubscription.id.in_(gone)),
                           execution_options={"synchronize_session": False})


# -- Subscriptions ------------------------------------------------------------------------------------------------

def save_subscription(user_id: int, endpoint: str, p256dh: str, auth: str, user_agent: str | None) -> PushSubscription:
    """Keep a browser's subscription for this user. An endpoint is one browser: if someone else had it (a shared
    phone they did not sign out of), it now belongs to the person who subscribed on it last."""
    subscription = db.session.scalar(select(PushSubscription).where(PushSubscription.endpoint == endpoint))
    if subscription is None:
        subscription = PushSubscription(endpoint=endpoint)
        db.session.add(subscription)
    subscription.user_id = user_id
    subscription.p256dh, subscription.auth = p256dh, auth
    subscription.user_agent = (user_agent or "")[:200] or None
    db.session.flush()
    return subscription


def remove_subscription(user_id: int, endpoint: str) -> bool:
    """Forget this user's subscription for one browser; False if there was none."""
    result = db.session.execute(delete(PushSubscription).where(PushSubscription.user_id == user_id,
                                                                PushSubscription.endpoint == endpoint))
    return result.rowcount > 0


def has_subscription(user_id: int, endpoint: str) -> bool:
    return db.session.scalar(select(PushSubscription.id).where(PushSubscription.user_id == user_id,
                                                               PushSubscription.endpoint == endpoint)) is not None
