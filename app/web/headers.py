"""Per-request plumbing: writes take the write lock up front; every response gets a strict CSP, no sniffing,
caching rules."""

import hashlib
import hmac

from flask import abort, current_app, request
from flask_babel import get_locale
from flask_login import current_user

from app.db import begin_write
from app.extensions import db

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def refuse_nul_bytes() -> None:
    """No text we take holds a NUL character; PostgreSQL cannot store one (a query with it fails), so a request
    carrying one in its path, query or form fields is refused at the door."""
    texts = [request.path, *request.args.keys(), *request.args.values()]
    if request.method not in SAFE_METHODS:
        texts += [*request.form.keys(), *request.form.values()]
    if any("\x00" in text for text in texts):
        abort(400)


def upload_limit(max_bytes: int):
    """A view whose form takes a bigger upload than MAX_CONTENT_LENGTH, so it can refuse an oversized file at
    its field instead of the whole request failing (a photo straight from the camera)."""
    def mark(view):
        view.upload_limit = max_bytes
        return view

    return mark


def apply_upload_limit(endpoint: str | None, _values) -> None:
    """Runs before any hook reads the form (the CSRF check does)."""
    view = current_app.view_functions.get(endpoint) if endpoint else None
    if getattr(view, "upload_limit", None):
        request.max_content_length = view.upload_limit


def writes_on_get(view):
    """Marks a view that writes even when asked with GET (a payment gateway's return to our site)."""
    view.writes_on_get = True
    return view


def begin_write_for_unsafe_methods() -> None:
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    if request.method not in SAFE_METHODS or getattr(view, "writes_on_get", False):
        begin_write(db.session)

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "manifest-src 'self'",
        "worker-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "object-src 'none'",
    ]
)

def add_security_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "geolocation=(), microphone=(), camera=(self)")
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if response.mimetype == "text/html":  # the service worker shows its offline page in the language last seen
        headers.setdefault("Content-Language", str(get_locale()))
    # Static files get their caching rules where they are served (app/web/static_files.py).
    if response.mimetype == "text/html" and (request.endpoint or "").startswith("auth."):
        headers["Cache-Control"] = "no-store"  # sign-in, sign-up and reset pages are never kept anywhere
    elif response.mimetype == "text/html":
        # Pages hold personal data: never in a shared cache; the browser revalidates each time.
        headers.setdefault("Cache-Control", "private, no-cache")
        response.vary.add("HX-Request")
        response.vary.add("Cookie")
        _mark_offline_copy_allowed(response)
    return response


def offline_key(user) -> str:
    """An opaque per-user key: the service worker keeps each user's pages in a cache of their own."""
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, f"offline:{user.id}".encode(), hashlib.sha256).hexdigest()[:24]


def _mark_offline_copy_allowed(response) -> None:
    """A customer's successful full page (GET, not a fragment, not no-store) may be kept for offline use."""
    if (request.method == "GET" and response.status_code == 200 and current_user.is_authenticated
            and not current_user.is_staff and "HX-Request" not in request.headers
            and "no-store" not in response.headers.get("Cache-Control", "")):
        response.headers["X-DTech-Offline"] = offline_key(current_user)
