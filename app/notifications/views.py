"""The customer's inbox (/notifications), its unread badge, and what the customer wants sent to them."""

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.accounts.selection import selected_account
from app.auth.access import customer_only
from app.i18n import parse_rupees
from app.notifications import services, usage
from app.notifications.models import Channel
from app.web.pagination import page_of
from app.web.templating import render

bp = Blueprint("notifications", __name__)

PER_PAGE = 20


@bp.app_context_processor
def inbox_badge() -> dict:
    """The header's unread count, asked for only by the template that shows it (a customer's pages)."""
    return {"unread_notifications": lambda: services.unread_count(current_user.id)}


def _local_path(url: str | None) -> str | None:
    """A notification only ever leads within the app (never a link elsewhere)."""
    return url if url and url.startswith("/") and not url.startswith("//") and "\\" not in url else None


@bp.route("/notifications")
@customer_only
def inbox():
    shown = page_of(services.inbox_query(current_user.id), PER_PAGE)
    return render("notifications/inbox.html", fragment="rows", notifications=shown.items, page=shown.page,
                  has_more=shown.has_next, unread=services.unread_count(current_user.id))


@bp.route("/notifications/badge")
@customer_only
def badge():
    return render("notifications/_badge.html", count=services.unread_count(current_user.id))


@bp.route("/notifications/<int:notification_id>")
@customer_only
def open_one(notification_id: int):
    """Opening a notification marks it read and goes where it leads (or back to the inbox)."""
    notification = services.open_notification(current_user.id, notification_id)
    if notification is None:
        abort(404)
    return redirect(_local_path(notification.url) or url_for("notifications.inbox"))


@bp.route("/notifications/read-all", methods=["POST"])
@customer_only
def read_all():
    services.mark_all_read(current_user.id)
    flash(_("All notifications are marked read."), "success")
    return redirect(url_for("notifications.inbox"))


@bp.route("/notifications/settings", methods=["GET", "POST"])
@customer_only
def settings():
    """Per kind and channel: what the customer wants sent (the inbox always gets everything); and the monthly
    budget of the chosen connection."""
    if request.method == "POST":
        for name, _label, kinds in services.PREFERENCE_GROUPS:
            for channel in _channels_of(kinds):
                services.set_preference(current_user, kinds, channel, f"{name}-{channel}" in request.form)
        flash(_("Your notification choices are saved."), "success")
        return redirect(url_for("notifications.settings"))
    return _settings_page()


def _channels_of(kinds) -> list[Channel]:
    """A group's choices: SMS only where its kinds have an SMS template."""
    return [channel for channel in services.SENDING_CHANNELS
            if channel is not Channel.SMS or set(kinds) <= services.SMS_KINDS]


def _settings_page(budget_error: str | None = None, status: int = 200):
    chosen = services.preferences(current_user)
    rows = [(name, label, {channel: chosen[(kinds[0], channel)] for channel in _channels_of(kinds)})
            for name, label, kinds in services.PREFERENCE_GROUPS]
    account = selected_account()
    budget = usage.budget_of(current_user.id, account.id) if account else None
    return render("notifications/settings.html", rows=rows, Channel=Channel,
                  account=account, budget=budget, budget_error=budget_error,
                  typed=request.form.get("limit") if budget_error else None), status


@bp.route("/notifications/budget", methods=["POST"])
@customer_only
def budget():
    """Set or remove the chosen connection's monthly budget (₹ or units)."""
    account = selected_account()
    if account is None:
        abort(404)
    text = (request.form.get("limit") or "").strip()
    removing = "remove" in request.form or not text
    limit = None if removing else parse_rupees(text)
    try:
        if limit is None and not removing:
            raise usage.BudgetError("not a number")
        usage.set_budget(current_user, account, limit, in_units=request.form.get("unit") == "units")
    except usage.BudgetError:
        return _settings_page(_("Give the budget as a number, such as 1500."), 422)
    flash(_("Your budget is saved.") if limit is not None else _("Your budget is removed."), "success")
    return redirect(url_for("notifications.settings"))
