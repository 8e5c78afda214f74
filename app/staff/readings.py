"""Staff: the queue of readings that need a person (customers' own with their photo, and flagged ones), each
beside the last accepted readings and the usual use, to approve or reject with a reason."""

from decimal import Decimal
from functools import partial

from flask import Blueprint, abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.accounts.models import Account
from app.accounts.offices import can_see, in_office, sees, visible_to
from app.auth.access import staff_only
from app.billing.bills import usual_daily_use
from app.extensions import db
from app.i18n import quantity
from app.metering import imports, review
from app.metering.forms import ReadingFileForm, ReviewForm
from app.metering.models import ImportStatus, Reading, ReadingImport
from app.metering.services import account_id_of
from app.metering.tasks import import_readings
from app.taskqueue import after_commit
from app.web.headers import upload_limit
from app.web.pagination import page_of
from app.web.templating import render

bp = Blueprint("staff_readings", __name__)

PER_PAGE = 10
bp.add_app_template_global(imports.problem_text, "import_problem")


@bp.route("/staff/readings")
@staff_only
def queue():
    shown = page_of(review.queue(visible_to(current_user)), PER_PAGE)
    items = []
    for reading in shown.items:
        account = db.session.get(Account, account_id_of(reading))
        usual = usual_daily_use(account.id)
        recent = review.recent_accepted(reading.meter_id, reading.read_on)
        since = review.units_since(recent[0], reading) if recent and recent[0].read_on < reading.read_on else None
        items.append((reading, account, recent, since, None if usual is None else usual.quantize(Decimal("0.1"))))
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


# --- Files of readings: checked, then imported (good rows) or discarded, as the person chooses.


def _uploads():
    uploads = select(ReadingImport).order_by(ReadingImport.created_at.desc(), ReadingImport.id.desc())
    return uploads.where(in_office(current_user, ReadingImport.office))


@bp.route("/staff/readings/import")
@staff_only
def upload_form():
    return render("staff/reading_import_form.html", form=ReadingFileForm(), uploads=page_of(_uploads(), 10))


@bp.route("/staff/readings/import", methods=["POST"])
@staff_only
@upload_limit(imports.MAX_BYTES + 64 * 1024)
def upload():
    form = ReadingFileForm()
    if form.validate_on_submit():
        try:
            text = imports.decode(form.file.data.read(imports.MAX_BYTES + 1))
            checked = imports.store_checked(form.file.data.filename or "readings.csv", text, current_user)
        except imports.ImportRefused as refusal:
            form.file.errors.append(str(refusal))
        else:
            return redirect(url_for("staff_readings.upload_report", upload_id=checked.id), 303)
    return render("staff/reading_import_form.html", form=form, uploads=page_of(_uploads(), 10)), 422


def _seen_upload(upload_id: int) -> ReadingImport:
    upload = db.session.get(ReadingImport, upload_id)
    if upload is None or not sees(current_user, upload.office):
        abort(404)
    return upload


@bp.route("/staff/readings/imports/<int:upload_id>")
@staff_only
def upload_report(upload_id: int):
    """The report; while the rows are written, htmx refreshes the progress every two seconds."""
    return render("staff/reading_import.html", fragment="progress", upload=_seen_upload(upload_id))


@bp.route("/staff/readings/imports/<int:upload_id>/import", methods=["POST"])
@staff_only
def start_import(upload_id: int):
    upload = _seen_upload(upload_id)
    if imports.start(upload, current_user):  # once, however many times it is asked
        after_commit(partial(import_readings, upload.id))
        flash(_("Importing %(count)s rows.", count=upload.good_rows), "success")
    return redirect(url_for("staff_readings.upload_report", upload_id=upload.id), 303)


@bp.route("/staff/readings/imports/<int:upload_id>/discard", methods=["POST"])
@staff_only
def discard_import(upload_id: int):
    upload = _seen_upload(upload_id)
    if upload.status is ImportStatus.CHECKED:
        imports.discard(upload, current_user)
        flash(_("Nothing was imported from %(file)s.", file=upload.filename), "success")
    return redirect(url_for("staff_readings.upload_form"), 303)
