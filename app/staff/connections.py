"""Staff (billing officers, admins) open a connection with its first meter, change its terms (dated, audited,
kept as history), and install or replace its meter. Staff with an office act on their office's connections."""

from flask import Blueprint, abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select

from app.accounts.changes import ChangeRefused, Terms, change_connection
from app.accounts.models import Account, BillingCycle, Phase
from app.accounts.offices import can_see, regions_of
from app.auth.access import billing_staff
from app.billing.models import Tariff
from app.extensions import db
from app.metering.connections import MeterRefused, NewMeter, install_meter, open_connection, replace_meter
from app.metering.services import active_meter
from app.staff.forms import ChangeForm, ConnectionForm, InstallForm, ReplaceForm
from app.web.templating import render

bp = Blueprint("staff_connections", __name__)


def _tariff_choices(form) -> None:
    """Every tariff after an empty "choose" (nothing preselected that might not fit); the service checks the one
    chosen against the category and region."""
    tariffs = db.session.scalars(select(Tariff).order_by(Tariff.name)).all()
    form.tariff_id.choices = [("", _("Choose the tariff")), *((str(t.id), f"{t.name} ({t.code})") for t in tariffs)]


def _categories() -> list[str]:
    """Known categories, offered as the person types (a new one may still be typed)."""
    return list(db.session.scalars(select(Account.category).distinct().order_by(Account.category)))


def _new_meter(form) -> NewMeter:
    return NewMeter(serial=form.serial.data, digits=form.digits.value,
                    multiplying_factor=form.multiplying_factor.value, installed_on=form.installed_on.value,
                    initial_reading=form.initial_reading.value)


def _refused(form, refusal: MeterRefused | ChangeRefused, field: str | None = None) -> None:
    getattr(form, getattr(refusal, "field", None) or field).errors.append(str(refusal))


def _connection_page(form, status: int = 200):
    return render("staff/connection_new.html", form=form, regions=regions_of(current_user),
                  categories=_categories()), status


@bp.route("/staff/consumers/new")
@billing_staff
def new():
    form = ConnectionForm(formdata=None)
    if current_user.office:
        form.region.data = current_user.office
    _tariff_choices(form)
    return _connection_page(form)


@bp.route("/staff/consumers/new", methods=["POST"])
@billing_staff
def create():
    form = ConnectionForm()
    _tariff_choices(form)
    if not form.validate_on_submit():
        return _connection_page(form, 422)
    region = form.region.data.strip()
    if current_user.office and region != current_user.office:
        form.region.errors.append(_("You open connections of your office (%(office)s) only.",
                                    office=current_user.office))
        return _connection_page(form, 422)
    bimonthly = form.billing_cycle.data == BillingCycle.BIMONTHLY.value
    account = Account(
        consumer_number=form.consumer_number.data, holder_name=form.holder_name.data.strip(),
        address=form.address.data.strip(), region=region, category=form.category.data.strip(),
        tariff_id=int(form.tariff_id.data), sanctioned_load_kw=form.sanctioned_load_kw.value,
        phase=Phase(form.phase.data), billing_cycle=BillingCycle(form.billing_cycle.data),
        cycle_offset=int(form.cycle_offset.data) if bimonthly else 0,
        registered_mobile=form.registered_mobile.value, connected_on=form.connected_on.value)
    try:
        open_connection(account, _new_meter(form), current_user)
    except MeterRefused as refusal:
        _refused(form, refusal)
        return _connection_page(form, 422)
    flash(_("Connection %(number)s opened with meter %(serial)s.", number=account.consumer_number,
            serial=form.serial.data), "success")
    return redirect(url_for("staff_consumers.consumer", account_id=account.id), 303)


def _own(account_id: int) -> Account:
    account = db.session.get(Account, account_id)
    if not can_see(current_user, account):
        abort(404)
    return account


# --- Changing the terms -----------------------------------------------------------------------------------------


def _change_page(account: Account, form, status: int = 200):
    return render("staff/connection_change.html", account=account, form=form, categories=_categories()), status


@bp.route("/staff/consumers/<int:account_id>/change")
@billing_staff
def change_form(account_id: int):
    account = _own(account_id)
    form = ChangeForm(formdata=None, holder_name=account.holder_name, category=account.category,
                      tariff_id=str(account.tariff_id or ""), registered_mobile=account.registered_mobile or "",
                      sanctioned_load_kw=format(account.sanctioned_load_kw.normalize(), "f"))
    _tariff_choices(form)
    return _change_page(account, form)


@bp.route("/staff/consumers/<int:account_id>/change", methods=["POST"])
@billing_staff
def change(account_id: int):
    account = _own(account_id)
    form = ChangeForm()
    _tariff_choices(form)
    if not form.validate_on_submit():
        return _change_page(account, form, 422)
    terms = Terms(holder_name=form.holder_name.data.strip(), category=form.category.data.strip(),
                  tariff_id=int(form.tariff_id.data), sanctioned_load_kw=form.sanctioned_load_kw.value,
                  registered_mobile=form.registered_mobile.value)
    try:
        changes = change_connection(account, terms, form.effective_on.value, current_user)
    except ChangeRefused as refusal:
        _refused(form, refusal, "effective_on")
        return _change_page(account, form, 422)
    flash(ngettext("%(num)d change recorded.", "%(num)d changes recorded.", len(changes)), "success")
    return redirect(url_for("staff_consumers.consumer", account_id=account.id), 303)


# --- Meters -------------------------------------------------------------------------------------------------------


def _meter_page(account: Account, form, status: int = 200):
    return render("staff/meter_form.html", account=account, form=form, meter=active_meter(account)), status


@bp.route("/staff/consumers/<int:account_id>/meter")
@billing_staff
def meter_form(account_id: int):
    account = _own(account_id)
    form = (InstallForm if active_meter(account) is None else ReplaceForm)(formdata=None)
    return _meter_page(account, form)


@bp.route("/staff/consumers/<int:account_id>/meter/install", methods=["POST"])
@billing_staff
def install(account_id: int):
    account = _own(account_id)
    form = InstallForm()
    if not form.validate_on_submit():
        return _meter_page(account, form, 422)
    try:
        meter = install_meter(account, _new_meter(form), current_user)
    except MeterRefused as refusal:
        _refused(form, refusal)
        return _meter_page(account, form, 422)
    flash(_("Meter %(serial)s installed.", serial=meter.serial), "success")
    return redirect(url_for("staff_consumers.consumer", account_id=account.id), 303)


@bp.route("/staff/consumers/<int:account_id>/meter/replace", methods=["POST"])
@billing_staff
def replace(account_id: int):
    account = _own(account_id)
    form = ReplaceForm()
    if not form.validate_on_submit():
        return _meter_page(account, form, 422)
    try:
        meter = replace_meter(account, form.final_reading.value, form.removed_on.value, _new_meter(form),
                              current_user)
    except MeterRefused as refusal:
        _refused(form, refusal)
        return _meter_page(account, form, 422)
    flash(_("Meter replaced: %(serial)s is in use; the next bill counts both meters.", serial=meter.serial),
          "success")
    return redirect(url_for("staff_consumers.consumer", account_id=account.id), 303)
