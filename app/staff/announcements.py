"""Staff: announcements to customers (planned outages, service news). Every staff member sees the list (scheduled,
current, ended) of what concerns their office; billing officers and admins write one, and change or call it off
until it is sent (see app.notifications.announcements for why and for the office rule)."""

from datetime import timedelta

from flask import Blueprint, abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from app.accounts.offices import regions_of
from app.auth.access import billing_staff, staff_only
from app.db import INDIA, utcnow
from app.extensions import db
from app.notifications import announcements as service
from app.notifications.models import Announcement
from app.notifications.tasks import send_current_announcements
from app.staff.forms import AnnouncementForm
from app.taskqueue import after_commit
from app.web.templating import render

bp = Blueprint("staff_announcements", __name__)

LOCAL_LAYOUT = "%Y-%m-%dT%H:%M"  # what a datetime-local input shows


@bp.route("/staff/announcements")
@staff_only
def index():
    listing = service.staff_listing(current_user)
    every = listing.scheduled + listing.current + listing.ended
    may_write = current_user.role in service.ANNOUNCERS
    return render("staff/announcements.html", listing=listing, now=utcnow(),
                  counts=service.target_counts([a.id for a in every]),
                  changeable={a.id for a in listing.scheduled + listing.current
                              if may_write and a.sent_at is None and service.may_change(current_user, a)},
                  may_write=may_write)


def _form(**data) -> AnnouncementForm:
    form = AnnouncementForm(**data)  # the posted form when submitted, else `data`
    form.region.choices = [SelectChoice(r, r) for r in regions_of(current_user)]
    if current_user.office is not None:  # an office announces to its own customers only
        form.audience.choices = [c for c in form.audience.choices if c.value != "everyone"]
    return form


def _draft(form: AnnouncementForm) -> service.Draft:
    audience = form.audience.data
    return service.Draft(
        form.title.data, form.body.data, form.starts_at.value, form.ends_at.value,
        region=form.region.data if audience == "region" else None,
        consumer_numbers=service.split_consumer_numbers(form.consumer_numbers.data) if audience == "consumers"
        else ())


def _saved(announcement: Announcement, message: str):
    if announcement.starts_at <= utcnow():  # current already: sent now rather than at the next sweep
        after_commit(send_current_announcements)
    flash(message, "success")
    return redirect(url_for("staff_announcements.index"), code=303)


def _refused(form: AnnouncementForm, refusal: service.AnnouncementError) -> None:
    """The refusal beside the field it is about, so nothing typed is lost."""
    field = getattr(form, refusal.field or "audience")
    field.errors = [*field.errors, str(refusal)]


def _page(form: AnnouncementForm, announcement: Announcement | None):
    return render("staff/announcement_form.html", form=form, announcement=announcement), \
        422 if form.errors else 200


@bp.route("/staff/announcements/new", methods=["GET", "POST"])
@billing_staff
def new():
    start = (utcnow() + timedelta(hours=1)).astimezone(INDIA).replace(minute=0)
    form = _form(starts_at=start.strftime(LOCAL_LAYOUT))
    if form.validate_on_submit():
        try:
            announcement = service.write_announcement(_draft(form), current_user)
        except service.AnnouncementError as refusal:
            _refused(form, refusal)
        else:
            return _saved(announcement, _("Announcement saved: it is shown and sent when it starts."))
    return _page(form, None)


def _seen(announcement_id: int) -> Announcement:
    announcement = db.session.get(Announcement, announcement_id)
    if announcement is None or not service.visible(current_user, announcement):
        abort(404)  # another office's announcement: as if there were none
    return announcement


def _local(moment) -> str:
    return moment.astimezone(INDIA).strftime(LOCAL_LAYOUT) if moment else ""


def _no_longer(refusal: service.AnnouncementError | None = None):
    flash(str(refusal) if refusal else _("This announcement can no longer be changed."), "error")
    return redirect(url_for("staff_announcements.index"), code=303)


@bp.route("/staff/announcements/<int:announcement_id>/edit", methods=["GET", "POST"])
@billing_staff
def edit(announcement_id: int):
    announcement = _seen(announcement_id)
    if announcement.sent_at is not None or announcement.cancelled_at is not None \
            or not service.may_change(current_user, announcement):
        return _no_longer()
    numbers = service.consumer_numbers_of(announcement)
    form = _form(title=announcement.title, body=announcement.body,
                 audience="consumers" if numbers else ("region" if announcement.region else "everyone"),
                 region=announcement.region, consumer_numbers="\n".join(numbers),
                 starts_at=_local(announcement.starts_at), ends_at=_local(announcement.ends_at))
    if form.validate_on_submit():
        try:
            changed = service.change_announcement(announcement.id, _draft(form), current_user)
        except LookupError:
            abort(404)
        except service.AnnouncementError as refusal:
            if refusal.field is None:  # sent or called off meanwhile
                return _no_longer(refusal)
            _refused(form, refusal)
        else:
            return _saved(changed, _("Announcement changed."))
    return _page(form, announcement)


@bp.route("/staff/announcements/<int:announcement_id>/cancel", methods=["POST"])
@billing_staff
def cancel(announcement_id: int):
    _seen(announcement_id)
    try:
        service.cancel_announcement(announcement_id, current_user)
    except LookupError:
        abort(404)
    except service.AnnouncementError as refusal:
        flash(str(refusal), "error")
    else:
        flash(_("Announcement called off: it will not be shown or sent."), "success")
    return redirect(url_for("staff_announcements.index"), code=303)
