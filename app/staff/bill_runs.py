"""Staff: start a bill run for a month and region (the task queue runs it), watch its progress live, see the
connections it could not bill and why, and resume a run that was interrupted (it bills only what is left). A run
started held keeps its bills from the customers until a billing officer or administrator releases it, after
looking at a sample of its bills and its exceptions on the run's page."""

from functools import partial

from flask import Blueprint, abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from app.accounts.models import Account
from app.accounts.offices import in_office, regions_of, sees, visible_to
from app.auth.access import billing_staff
from app.auth.models import User
from app.billing.compose import Cycle
from app.billing.forms import BillRunForm
from app.billing.models import BillRun, BillRunError, BillRunStatus
from app.billing.release import ReleaseError, estimated_count, release_run, sample
from app.billing.runs import held_run_before, run_result, running_run, start_run
from app.billing.tasks import announce_released_run, bill_run
from app.db import today_in_india
from app.extensions import db
from app.taskqueue import after_commit
from app.web.pagination import page_of
from app.web.templating import render

bp = Blueprint("staff_bill_runs", __name__)

ALL = ""  # the region choice "every region" (head office only)
ERRORS_SHOWN = 200


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
@billing_staff
def index():
    form = _form(formdata=None, cycle=str(Cycle(today_in_india().year, today_in_india().month)), hold=True)
    return render("staff/bill_runs.html", form=form, shown=page_of(_runs_seen(), 20))


@bp.route("/staff/bill-runs", methods=["POST"])
@billing_staff
def start():
    form = _form()
    if form.validate_on_submit():
        cycle, region = form.cycle.cycle, form.region.data or None
        if cycle.first_day > today_in_india():
            form.cycle.errors.append(_("%(month)s has not begun yet: it cannot be billed.", month=str(cycle)))
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


@bp.route("/staff/bill-runs/<int:run_id>")
@billing_staff
def run(run_id: int):
    """The run's page; while it runs, htmx fetches its progress block every two seconds (and stops after)."""
    run = _seen_run(run_id)
    errors = db.session.execute(
        select(BillRunError, Account).join(Account, Account.id == BillRunError.account_id)
        .where(BillRunError.run_id == run.id, visible_to(current_user)).order_by(Account.consumer_number)
        .limit(ERRORS_SHOWN)).all()
    return render("staff/bill_run.html", fragment="progress", run=run, result=run_result(run), errors=errors,
                  resumable=run.status in (BillRunStatus.INTERRUPTED, BillRunStatus.FAILED),
                  releasable=run.withheld and run.status is not BillRunStatus.RUNNING,
                  sample=sample(run) if run.withheld else {}, estimated=estimated_count(run),
                  released_by=db.session.get(User, run.released_by_id) if run.released_by_id else None)


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
