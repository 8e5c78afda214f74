"""Staff: the reconciliation page. Attempts pending too long, held payments, webhooks that matched no order, and
settlement files matched against our payments, each with its action. Every staff member may look (support
read-only); billing officers and administrators act. Staff with an office see their office's payments only."""

from flask import Blueprint, abort, current_app, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.accounts.selection import viewable
from app.auth.access import billing_staff, may_open, staff_only
from app.db import INDIA
from app.extensions import db
from app.payments import services, settlements
from app.payments.forms import ActionForm, MatchEventForm, NoteForm, SettlementFileForm
from app.payments.gateways import GatewayError, GatewayUnavailable
from app.payments.models import Payment, PaymentEvent, SettlementFile, SettlementOutcome
from app.payments.views import refusal_text
from app.web.csv_export import csv_response
from app.web.templating import render

bp = Blueprint("staff_reconciliation", __name__)

def _window() -> int:
    return current_app.config["PAYMENT_RECONCILE_AFTER_MINUTES"]


def _back(anchor: str = ""):
    return redirect(url_for("staff_reconciliation.index") + anchor, 303)


def _page(status: int = 200, upload_form=None, refused=None):
    return render("staff/reconciliation.html", window=_window(),
                  overdue=settlements.overdue_attempts(current_user, _window()),
                  held=settlements.held_payments(current_user),
                  events=[(event, settlements.event_reference(event)) for event in settlements.unmatched_events()],
                  uploads=settlements.settlements(), upload_form=upload_form or SettlementFileForm(formdata=None),
                  note_form=NoteForm(formdata=None), match_form=MatchEventForm(formdata=None), refused=refused,
                  names=outcome_names(), may_act=_may_act()), status


@bp.route("/staff/reconciliation")
@staff_only
def index():
    return _page()


def _may_act() -> bool:
    """The buttons show to those who may press them (the actions' policy: billing officers and administrators)."""
    return may_open("staff_reconciliation.upload")


def _payment(payment_id: int) -> Payment:
    return viewable(db.session.get(Payment, payment_id))  # another office's payment is as good as none (404)


@bp.route("/staff/reconciliation/payments/<int:payment_id>/ask", methods=["POST"])
@billing_staff
def ask_gateway(payment_id: int):
    payment = _payment(payment_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        before, after = settlements.ask_gateway(payment.id, current_user)
    except services.PaymentError as refusal:
        db.session.rollback()
        flash(refusal_text(refusal), "error")
        return _back("#overdue")
    except (GatewayError, GatewayUnavailable) as error:
        db.session.rollback()
        flash(_("The gateway could not be asked now (%(error)s); try again later.", error=str(error)), "error")
        return _back("#overdue")
    if before == after:
        flash(_("Asked the gateway: payment %(reference)s is still %(state)s.", reference=payment.reference,
                state=after.value), "info")
    else:
        flash(_("Asked the gateway: payment %(reference)s is now %(state)s.", reference=payment.reference,
                state=after.value), "success")
    return _back("#overdue")


@bp.route("/staff/reconciliation/payments/<int:payment_id>/fail", methods=["POST"])
@billing_staff
def mark_failed(payment_id: int):
    form = NoteForm()
    _payment(payment_id)
    if not form.validate_on_submit():
        flash(_("Give the reason for marking it failed."), "error")
        return _back("#overdue")
    try:
        payment = settlements.mark_failed(payment_id, form.note.data, current_user, _window())
    except services.PaymentError as refusal:
        db.session.rollback()
        flash(refusal_text(refusal), "error")
        return _back("#overdue")
    flash(_("Payment %(reference)s is marked as failed.", reference=payment.reference), "success")
    return _back("#overdue")


def _event(event_id: int) -> PaymentEvent:
    event = db.session.get(PaymentEvent, event_id)
    if event is None:
        abort(404)
    return event


@bp.route("/staff/reconciliation/webhooks/<int:event_id>/dismiss", methods=["POST"])
@billing_staff
def dismiss_event(event_id: int):
    _event(event_id)
    form = NoteForm()
    if not form.validate_on_submit():
        flash(_("Give the reason for dismissing the webhook."), "error")
        return _back("#webhooks")
    try:
        settlements.dismiss_event(event_id, form.note.data, current_user)
    except services.PaymentError as refusal:
        db.session.rollback()
        flash(refusal_text(refusal), "error")
        return _back("#webhooks")
    flash(_("Webhook dismissed."), "success")
    return _back("#webhooks")


@bp.route("/staff/reconciliation/webhooks/<int:event_id>/match", methods=["POST"])
@billing_staff
def match_event(event_id: int):
    _event(event_id)
    form = MatchEventForm()
    if not form.validate_on_submit():
        flash(_("Give our payment reference (DT…) or the receipt number."), "error")
        return _back("#webhooks")
    try:
        _event_row, payment, _outcome = settlements.match_event(event_id, form.payment_reference.data, current_user)
    except services.PaymentError as refusal:
        db.session.rollback()
        flash(refusal_text(refusal), "error")
        return _back("#webhooks")
    flash(_("Webhook matched to payment %(reference)s, now %(state)s.", reference=payment.reference,
            state=payment.state.value), "success")
    return _back("#webhooks")


# --- settlement files ---


@bp.route("/staff/reconciliation/settlements", methods=["POST"])
@billing_staff
def upload():
    form = SettlementFileForm()
    if not form.validate_on_submit():
        return _page(422, upload_form=form)
    data = form.file.data.read(settlements.MAX_BYTES + 1)
    try:
        settlement, created = settlements.store_settlement(form.file.data.filename, data, current_user)
    except settlements.SettlementRefused as refusal:
        db.session.rollback()
        return _page(422, upload_form=form, refused=refusal)
    if not created:
        flash(_("This file was uploaded before; here is its report."), "info")
    return redirect(url_for("staff_reconciliation.settlement", settlement_id=settlement.id), 303)


def _settlement(settlement_id: int) -> SettlementFile:
    settlement = db.session.get(SettlementFile, settlement_id)
    if settlement is None:
        abort(404)
    return settlement


@bp.route("/staff/reconciliation/settlements/<int:settlement_id>")
@staff_only
def settlement(settlement_id: int):
    found = _settlement(settlement_id)
    lines = settlements.report_lines(found.id, current_user)
    counts = {outcome.value: sum(row.line.outcome == outcome for row in lines) for outcome in SettlementOutcome}
    return render("staff/settlement.html", settlement=found, lines=lines, counts=counts, names=outcome_names(),
                  note_form=NoteForm(formdata=None), may_act=_may_act())


def outcome_names() -> dict[str, str]:
    return {"matched": _("Matched"), "amount_differs": _("Amount differs"), "not_captured": _("Ours, not captured"),
            "not_ours": _("In the file, not ours"), "missing": _("Ours, not in the file")}


@bp.route("/staff/reconciliation/settlements/<int:settlement_id>.csv")
@staff_only
def settlement_csv(settlement_id: int):
    found = _settlement(settlement_id)
    header = [_("Line"), _("Date"), _("UTR or gateway id"), _("Amount in the file"), _("Outcome"),
              _("Consumer number"), _("Our reference"), _("Our amount"), _("Receipt"), _("Investigated"), _("Note")]
    names = outcome_names()
    rows = [(row.line.line_number, row.line.settled_on, row.line.reference, row.line.amount,
             names[row.line.outcome.value], row.account.consumer_number if row.account else None,
             row.payment.reference if row.payment else None, row.payment.credited_amount if row.payment else None,
             row.payment.receipt_number if row.payment else None,
             row.line.investigated_at.astimezone(INDIA).date() if row.line.investigated_at else None, row.line.note)
            for row in settlements.report_lines(found.id, current_user)]
    return csv_response(f"settlement-{found.id}.csv", header, rows)


@bp.route("/staff/reconciliation/settlements/<int:settlement_id>/lines/<int:line_id>/investigated",
          methods=["POST"])
@billing_staff
def investigated(settlement_id: int, line_id: int):
    line = settlements.visible_line(line_id, current_user)
    if line is None or line.settlement_id != settlement_id:
        abort(404)
    back = redirect(url_for("staff_reconciliation.settlement", settlement_id=settlement_id) + f"#line-{line_id}", 303)
    form = NoteForm()
    if not form.validate_on_submit():
        flash(_("Write what you found (a note)."), "error")
        return back
    try:
        settlements.mark_investigated(line_id, form.note.data, current_user)
    except services.PaymentError as refusal:
        db.session.rollback()
        flash(refusal_text(refusal), "error")
        return back
    flash(_("Marked as investigated."), "success")
    return back
