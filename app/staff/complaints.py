"""Staff: the complaints of their office, by category and status, the most urgent first (escalated, then by time
left); one complaint to assign, answer (a public reply or an internal note), set in progress and resolve."""

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from app.accounts.models import Account
from app.accounts.offices import regions
from app.auth.access import head_office, staff_only
from app.auth.models import User
from app.db import parse_id, utcnow
from app.extensions import db
from app.support import services
from app.support.forms import (
    CATEGORY_LABELS,
    STATUS_LABELS,
    AssignForm,
    ResolveForm,
    RouteForm,
    StaffReplyForm,
    StatusForm,
)
from app.support.models import ACTIVE_STATUSES, Ticket, TicketCategory, TicketStatus
from app.web.pagination import page_of
from app.web.templating import render

bp = Blueprint("staff_complaints", __name__)

PER_PAGE = 25
# The status filter: the complaints still to act on (the default), or those of one status.
STATUS_FILTERS = {"active": ACTIVE_STATUSES, **{s.value: (s,) for s in TicketStatus}}


def _office_filters() -> dict[str, str]:
    """Head office filters the queue by office (its own complaints too); an office's staff see theirs only."""
    if current_user.office is not None:
        return {}
    return {services.HEAD_OFFICE_FILTER: _("Head office"), **{region: region for region in regions()}}


@bp.route("/staff/complaints")
@staff_only
def queue():
    category = request.args.get("category", "")
    status = request.args.get("status", "active")
    office = request.args.get("office", "")
    offices = _office_filters()
    # A filter value not among the choices (an edited or old address) is left out, and the page says so.
    bad_filter = False
    if category and category not in {c.value for c in TicketCategory}:
        category, bad_filter = "", True
    if status not in STATUS_FILTERS:
        status, bad_filter = "active", True
    if office and office not in offices:
        office, bad_filter = "", True
    shown = page_of(services.staff_queue(current_user, TicketCategory(category) if category else None,
                                         STATUS_FILTERS[status], office or None), PER_PAGE)
    accounts = {a.id: a for a in db.session.scalars(
        db.select(Account).where(Account.id.in_({t.account_id for t in shown.items if t.account_id})))}
    assignees = {u.id: u for u in db.session.scalars(
        db.select(User).where(User.id.in_({t.assigned_to_id for t in shown.items if t.assigned_to_id})))}
    return render("staff/complaints.html", shown=shown, accounts=accounts, assignees=assignees, now=utcnow(),
                  category=category, status=status, office=office, offices=offices, categories=CATEGORY_LABELS,
                  statuses=STATUS_LABELS, escalated_to_me=services.escalated_to(current_user),
                  bad_filter=bad_filter), 400 if bad_filter else 200


def _seen(ticket_id: int) -> Ticket:
    ticket = db.session.get(Ticket, ticket_id)
    if not services.staff_may_see(current_user, ticket):
        abort(404)  # another office's complaint: as if there were none
    return ticket


def _assign_form(ticket: Ticket, formdata=None) -> AssignForm:
    form = AssignForm(formdata=formdata)
    form.assignee.choices = [SelectChoice("", _("Nobody"))] + [
        SelectChoice(str(u.id), _("%(name)s (you)", name=u.name) if u.id == current_user.id else u.name)
        for u in services.assignable_staff(ticket)]
    if formdata is None:
        form.assignee.data = str(ticket.assigned_to_id or "")
    return form


def _route_form(ticket: Ticket, formdata=None) -> RouteForm | None:
    """Head office sends a complaint without a connection to an office."""
    if current_user.office is not None or ticket.account_id is not None:
        return None
    form = RouteForm(formdata=formdata)
    form.office.choices = [SelectChoice("", _("Head office"))] + [SelectChoice(r, r) for r in regions()]
    if formdata is None:
        form.office.data = ticket.office or ""
    return form


def _page(ticket: Ticket, status: int = 200, **forms):
    status_form = StatusForm(formdata=None)
    status_form.status.data = ticket.status.value
    forms = {"reply_form": StaffReplyForm(formdata=None), "assign_form": _assign_form(ticket),
             "status_form": status_form, "resolve_form": ResolveForm(formdata=None),
             "route_form": _route_form(ticket), **forms}
    return render("staff/complaint.html", ticket=ticket, now=utcnow(),
                  account=db.session.get(Account, ticket.account_id) if ticket.account_id else None,
                  customer=db.session.get(User, ticket.user_id) if ticket.user_id else None,
                  assignee=db.session.get(User, ticket.assigned_to_id) if ticket.assigned_to_id else None,
                  escalated_to=db.session.get(User, ticket.escalated_to_id) if ticket.escalated_to_id else None,
                  office=services.office_of(ticket),
                  categories=CATEGORY_LABELS,
                  statuses=STATUS_LABELS, **forms), status


@bp.route("/staff/complaints/<int:ticket_id>")
@staff_only
def complaint(ticket_id: int):
    return _page(_seen(ticket_id))


def _done(ticket: Ticket, message: str):
    flash(message, "success")
    return redirect(url_for("staff_complaints.complaint", ticket_id=ticket.id), code=303)


@bp.route("/staff/complaints/<int:ticket_id>/reply", methods=["POST"])
@staff_only
def reply(ticket_id: int):
    ticket = _seen(ticket_id)
    form = StaffReplyForm()
    if form.validate_on_submit():
        internal = form.visibility.data == "internal"
        try:
            services.reply(ticket, current_user, form.text.data, internal=internal)
        except services.ComplaintRefused as refusal:
            flash(str(refusal), "error")  # its form may be gone from the page (resolved meanwhile)
        else:
            return _done(ticket, _("Note added (staff only).") if internal else _("Reply sent; the customer is told."))
    return _page(ticket, 422, reply_form=form)


@bp.route("/staff/complaints/<int:ticket_id>/assign", methods=["POST"])
@staff_only
def assign(ticket_id: int):
    ticket = _seen(ticket_id)
    form = _assign_form(ticket, request.form)
    if form.validate_on_submit():
        chosen = parse_id(form.assignee.data)
        try:
            services.assign(ticket, current_user, db.session.get(User, chosen) if chosen else None)
        except services.ComplaintRefused as refusal:
            flash(str(refusal), "error")  # its form may be gone from the page (resolved meanwhile)
        else:
            return _done(ticket, _("Assignment saved."))
    return _page(ticket, 422, assign_form=form)


@bp.route("/staff/complaints/<int:ticket_id>/status", methods=["POST"])
@staff_only
def set_status(ticket_id: int):
    ticket = _seen(ticket_id)
    form = StatusForm()
    if form.validate_on_submit():
        try:
            services.set_status(ticket, current_user, TicketStatus(form.status.data))
        except services.ComplaintRefused as refusal:
            flash(str(refusal), "error")  # its form may be gone from the page (resolved meanwhile)
        else:
            return _done(ticket, _("Status saved."))
    return _page(ticket, 422, status_form=form)


@bp.route("/staff/complaints/<int:ticket_id>/resolve", methods=["POST"])
@staff_only
def resolve(ticket_id: int):
    ticket = _seen(ticket_id)
    form = ResolveForm()
    if form.validate_on_submit():
        try:
            services.resolve(ticket, current_user, form.resolution.data)
        except services.ComplaintRefused as refusal:
            flash(str(refusal), "error")  # its form may be gone from the page (resolved meanwhile)
        else:
            return _done(ticket, _("Complaint resolved; the customer is told."))
    return _page(ticket, 422, resolve_form=form)


@bp.route("/staff/complaints/<int:ticket_id>/route", methods=["POST"])
@staff_only
@head_office  # an office's staff cannot send a complaint elsewhere (403)
def route(ticket_id: int):
    ticket = _seen(ticket_id)
    form = _route_form(ticket, request.form)
    if form is None:
        abort(404)  # a complaint of a connection stays with its office; an office cannot send one elsewhere
    if form.validate_on_submit():
        try:
            services.route(ticket, current_user, form.office.data or None)
        except services.ComplaintRefused as refusal:
            flash(str(refusal), "error")
        else:
            return _done(ticket, _("Complaint sent to %(office)s.", office=ticket.office or _("Head office")))
    return _page(ticket, 422, route_form=form)
