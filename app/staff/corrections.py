"""Staff: corrections of bills and balances with maker-checker. A billing officer or an administrator proposes
one from the consumer's page (cancel the latest bill with a credit note, revise it, or a debit or credit note, each
with the reason the customer is shown); another administrator approves or rejects it at /staff/corrections,
which support staff may read too. Staff with an office see and decide their office's connections only."""

from flask import Blueprint, abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import aliased

from app.accounts.models import Account
from app.accounts.offices import can_see, visible_to
from app.auth.access import admin_only, billing_staff, staff_only
from app.auth.maker_checker import ApprovalState
from app.auth.models import User
from app.billing import corrections
from app.billing.forms import CorrectionForm, DecisionForm
from app.billing.models import Bill, BillCorrection, CorrectionAction
from app.extensions import db
from app.staff.consumers import page_with_correction
from app.web.templating import render

bp = Blueprint("staff_corrections", __name__)
FIELDS_SHOWN = {"reason", "amount"}  # the fields of the consumer page's correction forms (refusal codes too)


def refusal_text(refusal: corrections.CorrectionRefused) -> str:
    return _(corrections.REFUSALS[refusal.code], **refusal.params)


def _back_to(account_id: int):
    return redirect(url_for("staff_consumers.consumer", account_id=account_id) + "#corrections", 303)


@bp.route("/staff/consumers/<int:account_id>/corrections", methods=["POST"])
@billing_staff
def propose(account_id: int):
    account = db.session.get(Account, account_id)
    if not can_see(current_user, account):
        abort(404)
    form = CorrectionForm()
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            abort(400)
        return page_with_correction(account, form, None if set(form.errors) & FIELDS_SHOWN
                                    else _("Please correct the marked fields."))
    try:
        correction = corrections.propose(
            CorrectionAction(form.action.data), account_id, form.reason.data, current_user,
            form.idempotency_key.data, bill_id=int(form.bill_id.data) if form.bill_id.data else None,
            amount=form.rupees)
    except corrections.CorrectionRefused as refusal:
        db.session.rollback()
        if refusal.code in FIELDS_SHOWN:  # said at the field, with everything typed kept
            getattr(form, refusal.code).errors = [refusal_text(refusal)]
            return page_with_correction(account, form)
        return page_with_correction(account, form, refusal_text(refusal))
    flash(_("Proposed: it takes effect when another administrator approves it (see Corrections)."), "info")
    return _back_to(correction.account_id)


@bp.route("/staff/corrections")
@staff_only  # support looks up what waits (read-only); proposing is the billing staff's, deciding the admins'
def index():
    """What waits for a decision, oldest first, with what a checker needs beside it."""
    proposer = aliased(User)
    rows = db.session.execute(
        select(BillCorrection, Account, Bill, proposer.name)
        .join(Account, Account.id == BillCorrection.account_id)
        .outerjoin(Bill, Bill.id == BillCorrection.bill_id)
        .join(proposer, proposer.id == BillCorrection.proposed_by_id)
        .where(BillCorrection.state == ApprovalState.PENDING, visible_to(current_user))
        .order_by(BillCorrection.proposed_at, BillCorrection.id).limit(100)).all()
    return render("staff/corrections.html", rows=rows, form=DecisionForm(formdata=None))


def _decided(decide, done: str):
    try:
        decide()
    except corrections.CorrectionRefused as refusal:
        db.session.rollback()
        if refusal.code == "approval_missing":
            abort(404)
        flash(refusal_text(refusal), "error")
        return redirect(url_for("staff_corrections.index"), 303)
    flash(done, "success")
    return redirect(url_for("staff_corrections.index"), 303)


@bp.route("/staff/corrections/<int:correction_id>/approve", methods=["POST"])
@admin_only
def approve(correction_id: int):
    if not DecisionForm().validate_on_submit():
        abort(400)
    return _decided(lambda: corrections.approve(correction_id, current_user),
                    _("Approved: the correction is made and the customer sees it."))


@bp.route("/staff/corrections/<int:correction_id>/reject", methods=["POST"])
@admin_only
def reject(correction_id: int):
    form = DecisionForm()
    if not form.validate_on_submit():
        abort(400)
    return _decided(lambda: corrections.reject(correction_id, form.note.data, current_user),
                    _("Rejected: nothing changed."))
