"""The customer pages that compose several domains: dashboard, usage, a reading with its projection, my data."""


from flask import Blueprint, abort, current_app, jsonify, redirect, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from app.accounts import services as accounts
from app.accounts.models import Account
from app.accounts.selection import selected_account, viewable
from app.auth.access import customer_only, limited, privacy_not_needed, signed_in
from app.billing.bills import latest_bills, usual_daily_use
from app.billing.forecast import current_projection
from app.db import parse_id
from app.extensions import db
from app.metering.checks import ReadingRefused
from app.metering.forms import ReadingForm
from app.metering.models import Reading, ReadingStatus
from app.metering.photos import PHOTO_REQUEST_LIMIT, PhotoError
from app.metering.services import account_id_of, active_meter, last_accepted, same_day_reading, submit_reading
from app.notifications.announcements import current_announcements
from app.portal import usage as usage_data
from app.portal.dashboard import dashboard_for
from app.portal.export import export_user_data
from app.web.headers import upload_limit
from app.web.templating import render

bp = Blueprint("portal", __name__)


@bp.route("/")
@signed_in
def home():
    if current_user.is_staff:
        return redirect(url_for("staff.home"))
    linked = accounts.linked_accounts(current_user)
    if not linked:
        return redirect(url_for("accounts.link"))
    account = selected_account(linked)
    pay_url = url_for("payments.pay") if "payments.pay" in current_app.view_functions else None
    return render("portal/home.html", account=account, accounts=linked, dashboard=dashboard_for(account),
                  pay_url=pay_url, announcements=current_announcements(account))


def wants_json() -> bool:
    return request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"


@bp.route("/readings/new", methods=["GET", "POST"])
@customer_only
@limited("reading", "READINGS_LIMIT_PER_USER")
@upload_limit(PHOTO_REQUEST_LIMIT)  # a photo larger than we keep is refused at its field, the reading kept
def new_reading():
    form = ReadingForm()
    account = selected_account()
    if form.account_id.data:
        account_id = parse_id(form.account_id.data)
        if account_id is None or not accounts.find_link(current_user, account_id):
            abort(404)
        account = db.session.get(Account, account_id)
    if account is None:
        return redirect(url_for("accounts.link"))
    form.account_id.data = str(account.id)
    if form.validate_on_submit():
        try:
            outcome = submit_reading(current_user, account, form.value.decimal, form.photo.data.read(),
                                     form.confirm_rollover.data, form.idempotency_key.data, form.taken_on.date,
                                     usual_use=lambda: usual_daily_use(account.id))
        except ReadingRefused as refusal:
            form.value.errors.append(str(refusal))
        except PhotoError as refusal:
            form.photo.errors.append(str(refusal))
        else:
            reading = outcome.reading
            if wants_json():
                body = {"status": reading.status.value, "reading_id": reading.id,
                        "url": url_for("portal.reading", reading_id=reading.id)}
                return jsonify(body), 200 if outcome.duplicate else 201
            return redirect(url_for("portal.reading", reading_id=reading.id), code=303)
    if form.errors and wants_json():
        return jsonify({"errors": {name: [str(e) for e in errors] for name, errors in form.errors.items()}}), 422
    meter = active_meter(account)
    return render("portal/new_reading.html", form=form, account=account, meter=meter,
                  last=last_accepted(meter) if meter else None), 200 if not form.errors else 422


@bp.route("/readings/<int:reading_id>")
@customer_only
def reading(reading_id: int):
    reading = viewable(db.session.get(Reading, reading_id), account_id_of)
    account = db.session.get(Account, account_id_of(reading))
    bills = latest_bills(account.id, limit=1)
    projection = current_projection(account, bills[0] if bills else None, extra=reading)
    return render("portal/reading.html", reading=reading, projection=projection,
                  same_day=same_day_reading(reading) if reading.status is ReadingStatus.NEEDS_REVIEW else None)


@bp.route("/usage")
@customer_only
def usage():
    linked = accounts.linked_accounts(current_user)
    account = selected_account(linked)
    if account is None:
        return redirect(url_for("accounts.link"))
    measure = "amount" if request.args.get("measure") == "amount" else "units"
    data = usage_data.usage_for(account)
    locale = get_locale()
    months = locale.months["format"]  # for the chart's date axis
    return render("portal/usage.html", account=account, accounts=linked, data=data, measure=measure,
                  chart_json=usage_data.chart_json(data, labels={
                      "units": _("Units (kWh)"), "amount": _("Amount (₹)"), "last_year": _("Same period last year"),
                      "daily": _("Daily use (kWh)"), "locale": str(locale),
                      "months": [months["wide"][m] for m in range(1, 13)],
                      "short_months": [months["abbreviated"][m] for m in range(1, 13)]}))


@bp.route("/profile/data.json")
@customer_only
@privacy_not_needed  # the data can be downloaded without accepting a new notice
def my_data():
    response = jsonify(export_user_data(current_user))
    response.headers["Content-Disposition"] = 'attachment; filename="my-d-tech-data.json"'
    response.headers["Cache-Control"] = "no-store"
    return response
