"""Staff: the tariffs and their versions, each shown as a readable schedule with a live what-if quote; a version
imported from its `dtech-tariff/1` document (problems shown where they are) and exported exactly as stored; and
the monthly parameters (fuel adjustment and the like) entered per month."""

from datetime import timedelta
from decimal import Decimal

from flask import Blueprint, Response, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from app.auth.access import billing_staff, staff_only
from app.billing import tariff as engine
from app.billing.forms import DecisionForm, QuoteForm, TariffImportForm, TariffParamForm
from app.billing.models import Tariff, TariffParam, TariffVersion
from app.billing.services import (
    PARAM_REFUSALS,
    ParamRefused,
    TariffApprovalRefused,
    TariffImportError,
    approve_tariff,
    monthly_params,
    propose_tariff,
    reject_tariff,
    set_monthly_param,
)
from app.extensions import db
from app.i18n import N_
from app.web.templating import render

bp = Blueprint("staff_tariffs", __name__)


def _tariffs() -> list[Tariff]:
    return list(db.session.scalars(select(Tariff).order_by(Tariff.code)))


def _versions() -> dict[int, list[TariffVersion]]:
    versions: dict[int, list[TariffVersion]] = {}
    for version in db.session.scalars(select(TariffVersion).order_by(TariffVersion.effective_from.desc())):
        versions.setdefault(version.tariff_id, []).append(version)
    return versions


@bp.route("/staff/tariffs")
@staff_only
def index():
    return render("staff/tariffs.html", tariffs=_tariffs(), versions=_versions(), form=TariffImportForm())


@bp.route("/staff/tariffs", methods=["POST"])
@billing_staff
def import_version():
    form = TariffImportForm()
    problems: tuple[str, ...] = ()
    if form.validate_on_submit():
        try:
            version = propose_tariff(form.document.data, actor=current_user)
        except engine.TariffError as error:
            problems = error.problems
        except TariffImportError as error:
            problems = (str(error),)
        else:
            flash(_("Tariff %(code)s from %(day)s is stored. It takes effect when another billing officer or "
                    "administrator approves it.", code=version.tariff.code, day=version.effective_from.isoformat()),
                  "success")
            return redirect(url_for("staff_tariffs.version", version_id=version.id), 303)
    return render("staff/tariffs.html", tariffs=_tariffs(), versions=_versions(), form=form,
                  problems=problems), 422


def _param_choices(parsed: engine.Tariff) -> list[SelectChoice]:
    return [SelectChoice(name, name) for name in sorted(parsed.param_names)]


def _version(version_id: int) -> tuple[TariffVersion, engine.Tariff]:
    version = db.session.get(TariffVersion, version_id) or abort(404)
    return version, engine.stored_tariff(version.document)


@bp.route("/staff/tariffs/versions/<int:version_id>")
@staff_only
def version(version_id: int):
    """The schedule, a what-if quote (htmx refreshes only the quote as the figures change) and the months'
    parameters."""
    version, parsed = _version(version_id)
    form = QuoteForm(formdata=request.args or None)  # first visit: the form's own example figures
    quote, problems = None, ()
    if form.validate():
        try:
            last = form.period_to.data
            quote = engine.quote(parsed, engine.QuoteInput(
                units=form.units.decimal, period_from=last - timedelta(days=form.days.data - 1), period_to=last,
                load_kw=form.load_kw.decimal, phase=form.phase.data,
                params=monthly_params(version.tariff_id, last.replace(day=1))))
        except engine.TariffError as error:
            problems = error.problems
    params = list(db.session.scalars(select(TariffParam).where(TariffParam.tariff_id == version.tariff_id)
                                     .order_by(TariffParam.month.desc(), TariffParam.name).limit(36)))
    param_form = TariffParamForm(formdata=None)
    param_form.name.choices = _param_choices(parsed)
    return render("staff/tariff_version.html", fragment="quote", version=version, tariff=parsed, form=form,
                  quote=quote, problems=problems, params=params, param_form=param_form,
                  decision_form=DecisionForm(formdata=None))


@bp.route("/staff/tariffs/versions/<int:version_id>.json")
@staff_only
def export(version_id: int):
    """The document exactly as it was imported."""
    version = db.session.get(TariffVersion, version_id) or abort(404)
    filename = f"{version.tariff.code}-{version.effective_from.isoformat()}.json"
    return Response(version.document, mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.route("/staff/tariffs/versions/<int:version_id>/params", methods=["POST"])
@billing_staff
def set_param(version_id: int):
    version, parsed = _version(version_id)
    form = TariffParamForm()
    form.name.choices = _param_choices(parsed)
    if form.validate_on_submit():
        value: Decimal = form.value.decimal
        try:
            set_monthly_param(version.tariff.code, form.cycle.cycle.first_day, form.name.data, value,
                              actor=current_user)
        except ParamRefused as refusal:
            db.session.rollback()
            flash(_(PARAM_REFUSALS[refusal.code], **refusal.params), "error")
        else:
            flash(_("%(name)s for %(month)s is now %(value)s.", name=form.name.data, month=str(form.cycle.cycle),
                    value=value), "success")
    else:
        flash(" ".join(str(error) for errors in form.errors.values() for error in errors), "error")
    return redirect(url_for("staff_tariffs.version", version_id=version.id) + "#params", 303)


# The decisions on a proposed version: refusals by code (app.auth.maker_checker), in the staff member's language.
_REFUSED = {
    "approval_not_admin": N_("Only a billing officer or an administrator can approve or reject a tariff version."),
    "approval_own": N_("You imported this version yourself; another billing officer or administrator decides it."),
    "reason_required": N_("Give the reason this version is rejected: its importer needs to know what to correct."),
    "approval_decided": N_("This proposal was already decided."),
}


def _decide(version_id: int, decide, done: str):
    if db.session.get(TariffVersion, version_id) is None:
        abort(404)
    form = DecisionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        decide(form)
    except TariffApprovalRefused as refusal:
        db.session.rollback()
        flash(_(_REFUSED.get(refusal.code, "This proposal was already decided.")), "error")
    else:
        flash(done, "success")
    return redirect(url_for("staff_tariffs.version", version_id=version_id), 303)


@bp.route("/staff/tariffs/versions/<int:version_id>/approve", methods=["POST"])
@billing_staff
def approve(version_id: int):
    return _decide(version_id, lambda _form: approve_tariff(version_id, current_user),
                   _("Approved: this version is in force from its start date."))


@bp.route("/staff/tariffs/versions/<int:version_id>/reject", methods=["POST"])
@billing_staff
def reject(version_id: int):
    return _decide(version_id, lambda form: reject_tariff(version_id, form.note.data, current_user),
                   _("Rejected: this version is never used."))
