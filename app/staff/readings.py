"""Staff: the queue of readings that need a person (customers' own with their photo, and flagged ones), each
beside the last accepted readings and the usual use, to approve or reject with a reason."""

from decimal import Decimal

from flask import Blueprint, abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.accounts.models import Account
from app.accounts.offices import can_see, visible_to
from app.auth.access import staff_only
from app.billing.bills import usual_daily_use
from app.extensions import db
from app.i18n import quantity
from app.metering import review
from app.metering.forms import ReviewForm
from app.metering.models import Reading
from app.metering.services import account_id_of
from app.web.pagination import page_of
from app.web.templating import render

bp = Blueprint("staff_readings", __name__)

PER_PAGE = 10


@bp.route("/staff/readings")
@staff_only
def queue():
    shown = page_of(review.queue(visible_to(current_user)), PER_PAGE)
    items = []
    for reading in shown.items:
        account = db.session.get(Account, account_id_of(reading))
        usual = usual_daily_use(account.id)
        items.append((reading, account, review.recent_accepted(reading.meter_id, reading.read_on),
                      None if usual is None else usual.quantize(Decimal("0.1"))))
    return render("staff/readings.html", shown=shown, items=items, form=ReviewForm(formdata=None))


def _reviewable(reading_id: int) -> Reading:
    reading = db.session.get(Reading, reading_id)
    if reading is None or not can_see(current_user, db.session.get(Account, account_id_of(reading))):
        abort(404)
    return reading


@bp.route("/staff/readings/<int:reading_id>/approve", methods=["POST"])
@staff_only
def approve(reading_id: int):
    return _decide(reading_id, review.approve, _("Reading of %(value)s approved: the next bill uses it."))


@bp.route("/staff/readings/<int:reading_id>/reject", methods=["POST"])
@staff_only
def reject(reading_id: int):
    return _decide(reading_id, review.reject, _("Reading of %(value)s rejected; the customer is told why."))


def _decide(reading_id: int, decision, done: str):
    reading = _reviewable(reading_id)
    form = ReviewForm()
    if form.validate_on_submit():
        try:
            decision(reading, current_user, form.note.data or "")
        except review.ReviewRefused as refusal:
            flash(str(refusal), "error")
        else:
            flash(done % {"value": quantity(reading.value)}, "success")
    else:
        flash(" ".join(form.note.errors) or _("This form has expired. Please reload the page and try again."),
              "error")
    return redirect(url_for("staff_readings.queue"))
