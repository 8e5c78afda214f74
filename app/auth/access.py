"""Who may open which view. Every view declares a policy; one hook enforces it; no policy means 403.

    @public            anyone, signed in or not
    @signed_in         any signed-in user
    @customer_only     customers
    @staff_only        any staff: support, billing officer, admin
    @billing_staff     billing officer and admin (tariffs, bill runs, corrections)
    @admin_only        admin
    @head_office       (with one of the above) only staff with no office: people, the audit log, the system

A staff member with an office sees that office's connections only (app.accounts.offices).
A customer who has not yet verified their mobile number (or email) with a code may open only the views marked
@unverified_ok (verifying, signing out); every other page sends them to verify first.
A customer who has not accepted the current privacy notice (app/auth/privacy.py) is sent to accept it first,
except from the views marked @privacy_not_needed (accepting it, signing out, downloading or erasing their data).
"""

import logging
from functools import wraps

from flask import abort, current_app, redirect, request, url_for
from flask_login import current_user

from app.auth import privacy, throttle
from app.auth.models import Role

log = logging.getLogger(__name__)

PUBLIC = frozenset({"*"})


def _with_policy(roles: frozenset):
    def mark(view):
        view.access_policy = roles
        return view

    return mark


def mark_public(view):
    return _with_policy(PUBLIC)(view)


public = mark_public
signed_in = _with_policy(frozenset(Role))
customer_only = _with_policy(frozenset({Role.CUSTOMER}))
staff_only = _with_policy(frozenset({Role.SUPPORT, Role.BILLING, Role.ADMIN}))
billing_staff = _with_policy(frozenset({Role.BILLING, Role.ADMIN}))
admin_only = _with_policy(frozenset({Role.ADMIN}))


def head_office(view):
    """Only head-office staff (no office): pages about everyone, such as user management and the audit log."""
    view.head_office_only = True
    return view


def _office_allows(endpoint: str) -> bool:
    return not getattr(current_app.view_functions[endpoint], "head_office_only", False) \
        or current_user.office is None


def unverified_ok(view):
    view.unverified_ok = True
    return view


def privacy_not_needed(view):
    view.privacy_not_needed = True
    return view


def policy_of(endpoint: str) -> frozenset | None:
    return getattr(current_app.view_functions[endpoint], "access_policy", None)


def may_open(endpoint: str) -> bool:
    """Whether the signed-in user may open `endpoint` (menus show only what leads somewhere)."""
    policy = policy_of(endpoint)
    return policy is PUBLIC or (policy is not None and current_user.is_authenticated
                                and current_user.role in policy and _office_allows(endpoint))


def enforce_access():
    if request.endpoint is None:  # no such URL: the 404 handler answers
        return None
    policy = policy_of(request.endpoint)
    if policy is None:
        log.error("view %s declares no access policy; refusing", request.endpoint)
        abort(403)
    if policy is PUBLIC:
        return None
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    if current_user.role not in policy or not _office_allows(request.endpoint):
        abort(403)
    view = current_app.view_functions[request.endpoint]
    if current_user.is_staff or getattr(view, "unverified_ok", False):
        return None
    if not current_user.is_verified:
        return redirect(url_for("auth.verify"))
    if not getattr(view, "privacy_not_needed", False) and not privacy.has_accepted_current(current_user):
        return redirect(url_for("auth.accept_privacy"))
    return None


def limited(scope: str, setting: str):
    """Each signed-in user's writes to this view counted (one atomic statement, so across workers and hosts) and
    refused with 429 beyond the configured (attempts, window); reading the page is not counted."""

    def decorate(view):
        @wraps(view)
        def counted(*args, **kwargs):
            if request.method not in ("GET", "HEAD") and current_user.is_authenticated:
                limit = throttle.Limit.from_config(current_app.config[setting])
                if throttle.attempt([(scope, str(current_user.id), limit)]):
                    abort(429)
            return view(*args, **kwargs)

        return counted

    return decorate
