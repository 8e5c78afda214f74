"""How long a sign-in lasts, and what binds it.

A session is the signed Flask cookie holding the user's `id:session_version`: signing out everywhere, a new
password, or an admin switching the account off raises the version and ends every session at once. Two clocks
kept in the same cookie end it too: IDLE without a request, and MAX after signing in, whatever happens
(SESSION_IDLE and SESSION_MAX in config.py, staff shorter than customers). A session is not bound to the browser's
User-Agent or the address: a phone's browser updates itself, and its address changes as it moves between mobile
networks, which would sign customers out for nothing (Flask-Login's session protection is off for that reason).
"""

from datetime import timedelta

from flask import current_app, flash, session
from flask_babel import lazy_gettext as _l
from flask_login import current_user, logout_user

from app.db import utcnow

SEEN_EVERY = timedelta(minutes=1)  # "last seen" is written at most this often (each write re-signs the cookie)
SIGNED_OUT_FOR_TIME = _l("You were signed out after a while without use. Please sign in again.")


def start() -> None:
    """Called at sign-in: both clocks start now."""
    session["since"] = session["seen"] = int(utcnow().timestamp())


def end_if_expired() -> None:
    """Before each request: a session past either limit is ended (the page then asks to sign in, as for anyone
    signed out); otherwise its last-seen time moves on."""
    if not current_user.is_authenticated:
        return
    now = int(utcnow().timestamp())
    kind = "staff" if current_user.is_staff else "customer"
    idle = current_app.config["SESSION_IDLE"][kind].total_seconds()
    longest = current_app.config["SESSION_MAX"][kind].total_seconds()
    since, seen = session.get("since"), session.get("seen")
    if not isinstance(since, int) or not isinstance(seen, int):  # a session from before these clocks: they start
        start()
        return
    if now - seen > idle or now - since > longest:
        locale = session.get("locale")
        logout_user()
        session.clear()
        if locale:
            session["locale"] = locale  # the sign-in page stays in their language
        flash(SIGNED_OUT_FOR_TIME, "info")
        return
    if now - seen >= SEEN_EVERY.total_seconds():
        session["seen"] = now
