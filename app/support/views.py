"""The customer's complaints: raise one (connection, category, description, optional photo), follow its status
and the public replies, add to it, reopen it once if not satisfied, and then learn where to go next."""

from flask import Blueprint, abort, current_app, flash, redirect, send_from_directory, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from app.accounts import services as accounts
from app.accounts.models import Account
from app.accounts.offices import regions
from app.accounts.selection import selected_account
from app.auth.access import customer_only, limited, signed_in
from app.db import utcnow
from app.extensions import db
from app.metering.photos import PHOTO_REQUEST_LIMIT, PhotoError
from app.support import services
from app.support.forms import CATEGORY_LABELS, NO_CONNECTION, STATUS_LABELS, CommentForm, ComplaintForm, ReopenForm
from app.support.models import Ticket, TicketCategory, TicketMessage
from app.web.headers import upload_limit
from app.web.pagination import page_of
from app.web.templating import render

bp = Blueprint("support", __name__)

PER_PAGE = 20


def labels() -> dict:
    return {"categories": CATEGORY_LABELS, "statuses": STATUS_LABELS}


@bp.route("/complaints")
@customer_only
def complaints():
    shown = page_of(services.customer_complaints(current_user), PER_PAGE)
    return render("support/complaints.html", shown=shown, now=utcnow(), **labels())


@bp.route("/complaints/new", methods=["GET", "POST"])
@customer_only
@limited("complaint", "COMPLAINTS_LIMIT_PER_USER")
@upload_limit(PHOTO_REQUEST_LIMIT)  # a photo larger than we keep is refused at its field, the form kept
def new_complaint():
    linked = accounts.linked_accounts(current_user)
    names = accounts.connection_names(current_user)
    form = ComplaintForm()
    # A customer without a connection (or asking for another one) raises a new connection request (or something
    # else) with the locality and the office nearest to them.
    form.account_id.choices = [SelectChoice(str(a.id), f"{names[a.id]} · {a.consumer_number}") for a in linked] + [
        SelectChoice(NO_CONNECTION, _("No connection yet (a new connection, or something else)"))]
    form.office.choices = [SelectChoice("", _("I don't know: head office will send it on"))] + [
        SelectChoice(region, region) for region in regions()]
    if not form.is_submitted():
        form.account_id.data = str(selected_account(linked).id) if linked else NO_CONNECTION
        if not linked:
            form.category.data = TicketCategory.NEW_CONNECTION.value
    if form.validate_on_submit():
        account = next((a for a in linked if str(a.id) == form.account_id.data), None)
        photo = form.photo.data.read() if form.photo.data else None
        try:
            ticket = services.raise_complaint(current_user, account, TicketCategory(form.category.data),
                                              form.description.data, photo, office=form.office.data or None,
                                              locality=form.locality.data)
        except PhotoError as refusal:
            form.photo.errors.append(str(refusal))
        except services.ComplaintRefused as refusal:
            form.description.errors.append(str(refusal))
        else:
            flash(_("Complaint %(number)s registered. Keep this number to follow it up.", number=ticket.number),
                  "success")
            return redirect(url_for("support.complaint", ticket_id=ticket.id), code=303)
    return render("support/new_complaint.html", form=form, linked=linked, no_connection=NO_CONNECTION), \
        422 if form.errors else 200


def _own(ticket_id: int) -> Ticket:
    ticket = services.own_complaint(current_user, ticket_id)
    if ticket is None:
        abort(404)  # another customer's complaint: as if there were none
    return ticket


def _page(ticket: Ticket, comment: CommentForm | None = None, reopen: ReopenForm | None = None, status: int = 200):
    config = current_app.config
    account = db.session.get(Account, ticket.account_id) if ticket.account_id else None
    return render("support/complaint.html", ticket=ticket, now=utcnow(), account=account,
                  comment_form=comment or CommentForm(formdata=None), reopen_form=reopen or ReopenForm(formdata=None),
                  may_reopen=services.may_reopen(ticket), forum_name=config["GRIEVANCE_FORUM_NAME"],
                  forum_address=config["GRIEVANCE_FORUM_ADDRESS"], **labels()), status


@bp.route("/complaints/<int:ticket_id>")
@customer_only
def complaint(ticket_id: int):
    return _page(_own(ticket_id))


@bp.route("/complaints/<int:ticket_id>/comment", methods=["POST"])
@customer_only
@limited("complaint", "COMPLAINTS_LIMIT_PER_USER")
def comment(ticket_id: int):
    ticket = _own(ticket_id)
    form = CommentForm()
    if form.validate_on_submit():
        try:
            services.add_comment(ticket, current_user, form.text.data)
        except services.ComplaintRefused as refusal:
            flash(str(refusal), "error")  # the form may not be on the page any more (resolved meanwhile)
        else:
            flash(_("Added to your complaint."), "success")
            return redirect(url_for("support.complaint", ticket_id=ticket.id), code=303)
    return _page(ticket, comment=form, status=422)


@bp.route("/complaints/<int:ticket_id>/reopen", methods=["POST"])
@customer_only
@limited("complaint", "COMPLAINTS_LIMIT_PER_USER")
def reopen(ticket_id: int):
    ticket = _own(ticket_id)
    form = ReopenForm()
    if form.validate_on_submit():
        try:
            services.reopen(ticket, current_user, form.reason.data)
        except services.ComplaintRefused as refusal:
            flash(str(refusal), "error")
        else:
            flash(_("Your complaint is open again. We will look at it once more."), "success")
            return redirect(url_for("support.complaint", ticket_id=ticket.id), code=303)
    return _page(ticket, reopen=form, status=422)


@bp.route("/complaints/<int:ticket_id>/photos/<int:message_id>")
@signed_in
def photo(ticket_id: int, message_id: int):
    """A complaint's photo: for its customer, and for staff of its connection's office."""
    ticket = db.session.get(Ticket, ticket_id)
    allowed = (services.staff_may_see(current_user, ticket) if current_user.is_staff
               else ticket is not None and ticket.user_id == current_user.id)
    message = db.session.get(TicketMessage, message_id) if allowed else None
    if (message is None or message.ticket_id != ticket_id or not message.attachment_path
            or (message.internal and not current_user.is_staff)):
        abort(404)
    response = send_from_directory(services.photos(), message.attachment_path, mimetype="image/jpeg")
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response
