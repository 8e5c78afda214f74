"""Opting in and out of web push on one browser: static/js/push.js posts the browser's subscription here.

A subscription is stored only when the customer presses the button (the page never asks on load). The endpoint
must be a push service's: the server will POST to it, so an address on our own network is refused (SSRF).
"""

import base64
import binascii
import ipaddress
from urllib.parse import urlsplit

from flask import Blueprint, current_app, jsonify, request, session
from flask_login import current_user

from app.auth.access import customer_only, limited
from app.notifications.push import has_subscription, remove_subscription, save_subscription, vapid_public_key

bp = Blueprint("push", __name__, url_prefix="/push")

@bp.app_context_processor
def push_key():
    """The public key the opt-in card subscribes with; None (no card) when push is not configured."""
    return {"push_public_key": vapid_public_key}


SESSION_KEY = "push_endpoint"  # this browser's endpoint, deleted at sign-out if the page could not say it


class BadSubscription(ValueError):
    pass


def _decode(value, length: int, name: str) -> str:
    """A base64url key of exactly `length` bytes (65 for p256dh, 16 for auth), returned as given."""
    if not isinstance(value, str) or len(value) > 200:
        raise BadSubscription(f"keys.{name} is missing")
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise BadSubscription(f"keys.{name} is not base64url") from None
    if len(raw) != length or (name == "p256dh" and raw[0] != 4):
        raise BadSubscription(f"keys.{name} is not a P-256 key" if name == "p256dh" else f"keys.{name} is wrong")
    return value


def allowed_endpoint(endpoint) -> bool:
    """An https URL on a known push service (config PUSH_SERVICE_HOSTS, each with its subdomains). The tests'
    local push services are allowed only where PUSH_ALLOW_LOCAL is set."""
    if not isinstance(endpoint, str) or len(endpoint) > 1000:
        return False
    parts = urlsplit(endpoint)
    host = (parts.hostname or "").lower()
    if current_app.config.get("PUSH_ALLOW_LOCAL") and parts.scheme in ("http", "https") and host in (
            "localhost", "127.0.0.1"):
        return True
    try:
        ipaddress.ip_address(host)
        return False  # a bare address is never a push service
    except ValueError:
        pass
    return parts.scheme == "https" and any(host == known or host.endswith("." + known)
                                           for known in current_app.config["PUSH_SERVICE_HOSTS"])


def _parse(data) -> tuple[str, str, str]:
    if not isinstance(data, dict) or not isinstance(data.get("keys"), dict):
        raise BadSubscription("a subscription is {endpoint, keys: {p256dh, auth}}")
    endpoint = data.get("endpoint")
    if not allowed_endpoint(endpoint):
        raise BadSubscription("endpoint is not a push service we send to")
    return endpoint, _decode(data["keys"].get("p256dh"), 65, "p256dh"), _decode(data["keys"].get("auth"), 16, "auth")


@bp.route("/subscription", methods=["POST"])
@customer_only
@limited("push", "PUSH_LIMIT_PER_USER")
def subscribe():
    try:
        endpoint, p256dh, auth = _parse(request.get_json(silent=True))
    except BadSubscription as problem:
        return jsonify(error=str(problem)), 400
    save_subscription(current_user.id, endpoint, p256dh, auth, request.user_agent.string)
    session[SESSION_KEY] = endpoint
    return jsonify(subscribed=True), 201


@bp.route("/subscription", methods=["DELETE"])
@customer_only
@limited("push", "PUSH_LIMIT_PER_USER")
def unsubscribe():
    data = request.get_json(silent=True)
    endpoint = data.get("endpoint") if isinstance(data, dict) else None
    if not isinstance(endpoint, str) or len(endpoint) > 1000:
        return jsonify(error="endpoint is missing"), 400
    remove_subscription(current_user.id, endpoint)  # only ever this user's: another's stays theirs
    session.pop(SESSION_KEY, None)
    return "", 204


@bp.route("/subscription/state", methods=["POST"])
@customer_only
@limited("push", "PUSH_LIMIT_PER_USER")
def state():
    """Whether this browser's subscription is this customer's (POST: the endpoint is a secret, kept out of URLs)."""
    data = request.get_json(silent=True)
    endpoint = data.get("endpoint") if isinstance(data, dict) else None
    if not isinstance(endpoint, str) or len(endpoint) > 1000:
        return jsonify(error="endpoint is missing"), 400
    return jsonify(subscribed=has_subscription(current_user.id, endpoint))


def forget_browser_at_sign_out(user, form=None, **_kwargs) -> None:
    """Signing out ends push to this browser: the next person on a shared phone gets none of this user's
    messages. The page names the endpoint (and unsubscribes the browser); the session remembers it otherwise."""
    endpoints = {(form or {}).get("push_endpoint"), session.get(SESSION_KEY)}
    for endpoint in endpoints - {None, ""}:
        remove_subscription(user.id, endpoint)
