"""Staff: start a bill run for a month and region (the task queue runs it), watch its progress live, see the
connections it could not bill and why, and resume a run that was interrupted (it bills only what is left). A run
started held keeps its bills from the customers until a billing officer or administrator releases it, after
looking at a sample of its bills and its exceptions on the run's page. Support staff look up runs (read-only):
starting, resuming and releasing are the billing staff's."""

from functools import partial

from flask import Blueprint, abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from wtforms.fields.choices import SelectChoice

from app.accounts.models import Account
from app.accounts.offices import in_office, regions_of, sees, visible_to
from app.auth.access import billing_staff, may_open, staff_only
from app.auth.models import User
from app.billing.compose import NOT_BILLED, Cycle
from app.billing.forms import BillRunForm
from app.billing.models import BillRun, BillRunError, BillRunStatus
from app.billing.release import ReleaseError, estimated_count, release_run, sample
from app.billing.runs import due_cycle, held_run_before, run_result, running_run, start_run
from app.billing.tasks import announce_released_run, bill_run
from app.db import today_in_india
from app.extensions import db
from app.i18n import explained
from app.metering.consumption import PROBLEMS
from app.taskqueue import after_commit
from app.web.pagination import page_of
from app.web.templating import render

bp = Blueprint("staff_bill_runs", __name__)

ALL = ""  # the region choice "every region" (head office only)
ERRORS_SHOWN = 20  # on the run's page, after the sample; every one on the run's "not billed" pages
ERRORS_PER_PAGE = 100


@bp.app_template_global("not_billed_reason")
def not_billed_reason(error: BillRunError) -> str:
    """Why a run could not bill a connection, in the reader's language (a row kept before codes: its English)."""
    text = NOT_BILLED.get(error.code) or PROBLEMS.get(error.code)
    said = explained(text, error.params) if text else error.reason
    return said[:1].upper() + said[1:]  # a sentence on its own line (the texts are clauses in the logs)


def _regions() -> list[SelectChoice]:
    """The regions this staff member may bill: their office's, or any (and all at once) for head office."""
    choices = [SelectChoice(name, name) for name in regions_of(current_user)]
    return choices if current_user.office is not None else [SelectChoice(ALL, _("Every region")), *choices]


def _runs_seen():
    return (select(BillRun).where(in_office(current_user, BillRun.region))
            .order_by(BillRun.started_at.desc(), BillRun.id.desc()))


def _form(**data) -> BillRunForm:
    form = BillRunForm(**data)
    form.region.choices = _regions()
    return form


@bp.route("/staff/bill-runs")
@staff_only  # support looks (read-only): starting, resuming and releasing are the billing staff's
def index():
    form = _form(formdata=None, cycle=str(due_cycle(today_in_india())), hold=True)
    return render("staff/bill_runs.html", form=form, shown=page_of(_runs_seen(), 20))


@bp.route("/staff/bill-runs", methods=["POST"])
@billing_staff
def start():
    form = _form()
    if form.validate_on_submit():
        cycle, region = form.cycle.cycle, form.region.data or None
        if cycle.first_day > today_in_india():
            form.cycle.errors.append(_("%(month)s has not begun yet: it cannot be billed.", month=str(cycle)))
        elif cycle.last_day >= today_in_india():  # readings may still come in: bill a month once it has ended
            form.cycle.errors.append(_("%(month)s has not ended yet: it can be billed from the 1st of next month.",
                                       month=str(cycle)))
        elif running_run(cycle, region) is not None:
            form.cycle.errors.append(_("A run for %(month)s is already running.", month=str(cycle)))
        elif (held := held_run_before(cycle, region)) is not None:
            form.cycle.errors.append(_("The run for %(month)s is held: release it before billing a later month.",
                                       month=held.cycle))
        else:
            run = start_run(cycle, region, actor=current_user, hold=form.hold.data)
            after_commit(partial(bill_run, run.id))
            flash(_("Bill run for %(month)s started.", month=str(cycle)), "success")
            return redirect(url_for("staff_bill_runs.run", run_id=run.id), 303)
    return render("staff/bill_runs.html", form=form, shown=page_of(_runs_seen(), 20)), 422


def _seen_run(run_id: int) -> BillRun:
    run = db.session.get(BillRun, run_id)
    if run is None or not sees(current_user, run.region):
        abort(404)
    return run


def _errors_of(run: BillRun):
    """The connections the run could not bill (this staff member's office's), by consumer number."""
    return (select(BillRunError, Account).join(Account, Account.id == BillRunError.account_id)
            .where(BillRunError.run_id == run.id, visible_to(current_user)).order_by(Account.consumer_number))


@bp.route("/staff/bill-runs/<int:run_id>")
@staff_only
def run(run_id: int):
    """The run's page; while it runs, htmx fetches its progress block every two seconds (and stops after). Support
    sees it read-only (no resume, no release)."""
    run = _seen_run(run_id)
    errors = db.session.execute(_errors_of(run).limit(ERRORS_SHOWN)).all()
    errors_seen = db.session.scalar(select(func.count()).select_from(_errors_of(run).subquery()))
    return render("staff/bill_run.html", fragment="progress", run=run, result=run_result(run), errors=errors,
                  errors_seen=errors_seen,
                  resumable=run.status in (BillRunStatus.INTERRUPTED, BillRunStatus.FAILED)
                  and may_open("staff_bill_runs.resume"),
                  releasable=run.withheld and run.status is not BillRunStatus.RUNNING
                  and may_open("staff_bill_runs.release"),
                  sample=sample(run) if run.withheld else {}, estimated=estimated_count(run),
                  released_by=db.session.get(User, run.released_by_id) if run.released_by_id else None)


@bp.route("/staff/bill-runs/<int:run_id>/not-billed")
@staff_only
def not_billed(run_id: int):
    """Every connection the run could not bill, with why, a page at a time."""
    run = _seen_run(run_id)
    shown = page_of(_errors_of(run), ERRORS_PER_PAGE)  # its items are the errors (a pagination keeps one entity)
    accounts = db.session.scalars(select(Account).where(Account.id.in_([e.account_id for e in shown.items])))
    return render("staff/bill_run_errors.html", run=run, shown=shown, accounts={a.id: a for a in accounts})


@bp.route("/staff/bill-runs/<int:run_id>/resume", methods=["POST"])
@billing_staff
def resume(run_id: int):
    earlier = _seen_run(run_id)
    cycle, region = Cycle.parse(earlier.cycle), earlier.region or None
    if earlier.status not in (BillRunStatus.INTERRUPTED, BillRunStatus.FAILED):
        flash(_("Only an interrupted or failed run can be resumed."), "error")
        return redirect(url_for("staff_bill_runs.run", run_id=earlier.id), 303)
    if running_run(cycle, region) is not None:
        flash(_("A run for %(month)s is already running.", month=str(cycle)), "error")
        return redirect(url_for("staff_bill_runs.run", run_id=earlier.id), 303)
    run = start_run(cycle, region, actor=current_user, hold=earlier.hold)
    after_commit(partial(bill_run, run.id))
    flash(_("Bill run for %(month)s resumed: it bills only the connections not yet billed.", month=str(cycle)),
          "success")
    return redirect(url_for("staff_bill_runs.run", run_id=run.id), 303)


@bp.route("/staff/bill-runs/<int:run_id>/release", methods=["POST"])
@billing_staff
def release(run_id: int):
    """Release a held run: its bills are issued today and their customers told (after the commit, in chunks)."""
    run = _seen_run(run_id)
    try:
        bills = release_run(run, current_user)
    except ReleaseError:
        flash(_("Only a held run that has stopped running can be released, and only once."), "error")
        return redirect(url_for("staff_bill_runs.run", run_id=run.id), 303)
    after_commit(partial(announce_released_run, run.id))
    flash(_("Bill run for %(month)s released: %(count)s bills issued today; the customers are being told.",
            month=run.cycle, count=bills), "success")
    return redirect(url_for("staff_bill_runs.run", run_id=run.id), 303)
