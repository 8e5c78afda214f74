"""Paying a bill, its status, receipts and history (customers); the gateway's callback and webhook; counter
payments, refunds and reviews (staff). Views parse input, call a service, render; one commit per request."""

import json
import logging
from decimal import Decimal
from urllib.parse import parse_qsl, urlsplit

import segno
from flask import Blueprint, abort, current_app, flash, jsonify, make_response, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from app.accounts.models import Account
from app.accounts.selection import selected_account, viewable
from app.accounts.services import linked_accounts
from app.auth.access import customer_only, public, signed_in, staff_only
from app.billing import ledger
from app.billing.bills import bill_status, latest_bills
from app.db import ZERO, today_in_india
from app.extensions import csrf, db
from app.i18n import inr
from app.payments import WEBHOOK_PATH, cash_books, queries, services
from app.payments.base import REFUSALS
from app.payments.forms import (
    ActionForm,
    BounceForm,
    ConfirmUpiForm,
    CounterPaymentForm,
    PayForm,
    PaymentSearchForm,
    RefundForm,
    RejectForm,
)
from app.payments.gateways import GatewayError, GatewayUnavailable, get_gateway
from app.payments.models import CashBookState, MoneyApproval, Payment, PaymentMethod, PaymentState
from app.payments.receipts import render_receipt_pdf
from app.payments.upi import upi_link
from app.web.headers import CONTENT_SECURITY_POLICY, writes_on_get
from app.web.pagination import page_of
from app.web.templating import render

log = logging.getLogger(__name__)
bp = Blueprint("payments", __name__)

MAX_WEBHOOK_BYTES = 256 * 1024
RETURNED = ("paid", "failed", "cancelled")
STAFF_PAGE_SIZE = 25


def _redirect(endpoint: str, **values):
    """After a POST, 303 See Other (the browser GETs the next page); after a GET, a plain 302."""
    return redirect(url_for(endpoint, **values), 302 if request.method == "GET" else 303)


def _viewable(payment_id: int) -> Payment:
    return viewable(db.session.get(Payment, payment_id))  # someone else's payment looks exactly like no payment


# --- paying ---


def refusal_text(refusal: services.PaymentError) -> str:
    """A refusal in the customer's language when it has a code; amounts in its params are shown as money."""
    if refusal.code not in REFUSALS:
        return str(refusal)
    params = {name: inr(value) if isinstance(value, Decimal) else value for name, value in refusal.params.items()}
    return _(REFUSALS[refusal.code], **params)


@bp.route("/pay", methods=["GET", "POST"])
@customer_only
def pay():
    accounts = linked_accounts(current_user)
    if not accounts:
        return _redirect("accounts.link")
    form = PayForm()
    account = selected_account(accounts)
    if form.account_id.data:
        account = next((a for a in accounts if str(a.id) == form.account_id.data), None)
        if account is None:
            abort(404)
    form.account_id.data = str(account.id)
    balance = ledger.balance(account.id)
    due = max(balance, ZERO)
    offer = services.rebate_offer(account.id, today_in_india(), digital=True, balance=balance)
    if request.method == "GET":
        form.idempotency_key.data = services.new_idempotency_key()
        suggested = offer.pay_amount if offer else due
        form.amount.data = f"{suggested:.2f}" if suggested > 0 else ""
    elif form.validate_on_submit():
        try:
            services.check_amount(form.amount.amount, due)
            payment, created = services.start_payment(account, current_user, form.amount.amount,
                                                      PaymentMethod(form.method.data), form.idempotency_key.data)
        except services.AmountOutOfRange as refusal:
            form.amount.errors.append(refusal_text(refusal))
        except GatewayUnavailable:
            flash(_("Online payment is not available right now. Nothing was charged. Please try again later."),
                  "error")
            return _redirect("payments.pay")
        except services.PaymentError as refusal:
            flash(refusal_text(refusal), "error")
            return _redirect("payments.pay")
        else:
            return _proceed(payment, created)
    bills = latest_bills(account.id, limit=1)
    low, high = services.amount_bounds(due)
    context = dict(account=account, accounts=accounts, balance=balance, due=due, offer=offer, form=form, low=low,
                   high=high, bill=bills[0] if bills else None,
                   status=bill_status(bills[0], balance, today_in_india()) if bills else None,
                   waiting=queries.open_payments(account.id))
    return render("payments/pay.html", **context), 422 if form.errors else 200


def _proceed(payment: Payment, created: bool):
    """After the attempt exists: to the gateway's checkout, or to the attempt's page (UPI, or already done)."""
    if not created:
        flash(_("This payment was already started; here it is."), "info")
    if payment.state != PaymentState.CREATED and not (payment.method == PaymentMethod.UPI and
                                                      payment.state == PaymentState.PENDING):
        return _redirect("payments.payment", payment_id=payment.id)
    try:
        services.ensure_order(payment)
    except GatewayError as error:
        log.warning("payment %s: no gateway order: %s", payment.reference, error)
        flash(_("We could not reach the payment service. Nothing was charged. Please try again."), "error")
        return _redirect("payments.payment", payment_id=payment.id)
    if payment.method == PaymentMethod.UPI:
        return _redirect("payments.payment", payment_id=payment.id)
    return _to_checkout(payment)


def _to_checkout(payment: Payment):
    gateway = get_gateway()
    step = gateway.checkout(
        payment.gateway_order_id, payment.amount, _("Electricity bill payment %(reference)s",
                                                    reference=payment.reference),
        callback_url=url_for("payments.callback", _external=True),
        cancel_url=url_for("payments.payment", payment_id=payment.id, returned="cancelled", _external=True),
        prefill={"merchant": current_app.config["UTILITY_NAME"], "name": current_user.name,
                 "contact": current_user.mobile or "", "email": current_user.email or ""})
    if step.method == "GET":
        return redirect(step.url, 303)
    # Hosted checkout is a form POSTed to the gateway: allow exactly that origin as a form action here.
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(step.url))
    response = make_response(render("payments/checkout_redirect.html", step=step, payment=payment))
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.replace(
        "form-action 'self'", f"form-action 'self' {origin}")
    return response


@bp.route("/payments/<int:payment_id>/checkout", methods=["POST"])
@customer_only
def continue_checkout(payment_id: int):
    payment = services.lock_payment(_viewable(payment_id).id)
    if payment.method != PaymentMethod.GATEWAY or payment.state != PaymentState.CREATED:
        return _redirect("payments.payment", payment_id=payment.id)
    return _proceed(payment, created=True)


@bp.route("/payments/<int:payment_id>")
@customer_only
def payment(payment_id: int):
    payment = _viewable(payment_id)
    account = db.session.get(Account, payment.account_id)
    upi = qr = sandbox_upi = None
    if payment.method == PaymentMethod.UPI and payment.state == PaymentState.PENDING:
        upi = upi_link(payment.amount, payment.reference, f"Electricity {account.consumer_number}")
        svg = segno.make(upi, error="m").svg_inline(scale=4, border=2, title=_("UPI QR code"))
        qr = Markup(svg)  # noqa: S704  # nosec B704  # segno draws it from our own UPI link; nobody's text
        if payment.gateway == "sandbox":
            sandbox_upi = url_for("sandbox_gateway.upi", **dict(parse_qsl(urlsplit(upi).query)))
    rebate, rebate_bill = queries.rebate_of(payment.id)
    returned = request.args.get("returned")
    return render("payments/payment.html", fragment="status", payment=payment, account=account, upi=upi, qr=qr,
                  sandbox_upi=sandbox_upi, rebate=rebate, rebate_bill=rebate_bill,
                  returned=returned if returned in RETURNED else None, action_form=ActionForm())


@bp.route("/payments")
@customer_only
def history():
    accounts = linked_accounts(current_user)
    if not accounts:
        return _redirect("accounts.link")
    account = selected_account(accounts)
    shown = page_of(queries.history(account.id), queries.PAGE_SIZE)
    return render("payments/history.html", account=account, accounts=accounts, payments=shown.items,
                  page=shown.page, has_next=shown.has_next, notice=request.args.get("notice"))


# --- receipts ---


def _receipt(payment_id: int):
    payment = _viewable(payment_id)
    receipt = queries.receipt_view(payment, current_app.config["UTILITY_NAME"])
    if receipt is None:
        abort(404)
    return payment, receipt


@bp.route("/payments/<int:payment_id>/receipt")
@signed_in
def receipt(payment_id: int):
    payment, receipt = _receipt(payment_id)
    return render("payments/receipt.html", payment=payment, receipt=receipt)


@bp.route("/payments/<int:payment_id>/receipt.pdf")
@signed_in
def receipt_pdf(payment_id: int):
    payment, receipt = _receipt(payment_id)
    language = "hi" if request.args.get("lang") == "hi" else "en"
    response = make_response(render_receipt_pdf(receipt, language))
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'inline; filename="{receipt.receipt_number}-{language}.pdf"'
    response.headers["Cache-Control"] = "private, no-cache"
    return response


# --- the gateway talking back ---


@bp.route("/payments/callback", methods=["GET", "POST"])
@public
@csrf.exempt  # the gateway's page POSTs here; the signature, not a CSRF token, proves it
@writes_on_get  # the gateway may come back with a GET too
def callback():
    """The customer's browser back from the gateway's checkout. Never touches the session (a cross-site POST
    carries no session cookie, and writing one would sign the customer out): it only redirects."""
    values = request.values
    order_id = values.get("razorpay_order_id", "")[:64]
    gateway_payment_id = values.get("razorpay_payment_id", "")[:64]
    if order_id and gateway_payment_id:
        payment = services.checkout_returned(order_id, gateway_payment_id, values.get("razorpay_signature"))
        if payment is None:
            return _redirect("payments.history", notice="unverified")
        return _redirect("payments.payment", payment_id=payment.id, returned="paid")
    # A failure report is not signed: it changes nothing; the webhook or reconcile will say what happened.
    order_id = order_id or _order_in_error_metadata(values.get("error[metadata]"))
    found = db.session.scalar(select(Payment).where(Payment.gateway_order_id == order_id)) if order_id else None
    if found is None:
        return _redirect("payments.history")
    return _redirect("payments.payment", payment_id=found.id, returned="failed")


def _order_in_error_metadata(text: str | None) -> str | None:
    try:
        value = json.loads(text or "{}").get("order_id")
    except (ValueError, AttributeError):
        return None
    return value[:64] if isinstance(value, str) else None


@bp.route(WEBHOOK_PATH, methods=["POST"])
@public
@csrf.exempt  # authenticated by its HMAC signature
def webhook():
    if (request.content_length or 0) > MAX_WEBHOOK_BYTES:
        return jsonify(error="too large"), 413
    raw = request.get_data(cache=False)
    if len(raw) > MAX_WEBHOOK_BYTES:
        return jsonify(error="too large"), 413
    try:
        result = services.receive_webhook(raw, request.headers.get("X-Razorpay-Signature"),
                                          request.headers.get("X-Razorpay-Event-Id"), request.remote_addr)
    except GatewayUnavailable:
        db.session.rollback()
        return jsonify(error="payments are not configured"), 503
    if result.status == 400:
        db.session.rollback()
        return jsonify(error=result.outcome), 400
    return jsonify(status=result.outcome), result.status


# --- staff ---


@bp.route("/staff/payments")
@staff_only
def staff_index():
    """The payment search (a GET form: it works without JavaScript and its address can be shared)."""
    form = PaymentSearchForm(formdata=request.args)
    filters = None
    if form.validate():
        filters = queries.PaymentFilters(
            consumer_number=form.consumer_number.data or "", receipt_number=form.receipt_number.data or "",
            gateway_id=form.gateway_id.data or "", instrument_number=form.instrument_number.data or "",
            since=form.date_from.day, until=form.date_to.day, method=form.method.data or "",
            state=form.state.data or "")
        if filters.consumer_number and queries.account_by_number(filters.consumer_number, current_user) is None:
            form.consumer_number.errors.append(_("There is no connection with this number."))  # nor in your office
            filters = None
    shown = page_of(queries.search_payments(filters, current_user), STAFF_PAGE_SIZE) if filters else None
    return render("payments/staff_index.html", form=form, shown=shown, filter_args=form.args(),
                  waiting_events=queries.count_waiting_events(),
                  **queries.payment_rows(shown.items if shown else [])), 200 if filters else 400


# The counter form's field each refusal is about (shown at that field); the others go under the amount.
_COUNTER_REFUSAL_FIELDS = {"instrument_number": "instrument_number", "instrument_recorded": "instrument_number",
                           "instrument_micr": "instrument_micr", "instrument_bank": "instrument_bank",
                           "card_full_number": "card_last4", "card_approval_code": "card_approval_code",
                           "card_last4": "card_last4"}


def _counter_refusal(form: CounterPaymentForm, refusal: services.PaymentError) -> None:
    if refusal.code == "card_full_number":
        form.forget_card_number()
    form[_COUNTER_REFUSAL_FIELDS.get(refusal.code, "amount")].errors.append(refusal_text(refusal))


@bp.route("/staff/payments/counter", methods=["GET", "POST"])
@staff_only
def counter():
    """Two steps: the cashier types the consumer number and amount; a second page shows whose bill it is and what
    is due, and only its Confirm button records the payment (once, by the form's idempotency key)."""
    form = CounterPaymentForm()
    if request.method == "GET":
        form.idempotency_key.data = services.new_idempotency_key()
        form.consumer_number.data = request.args.get("consumer_number", "")[:20]
    elif form.validate_on_submit():
        account = queries.account_by_number(form.consumer_number.data, current_user)
        if account is None:
            form.consumer_number.errors.append(_("There is no connection with this number."))
        elif "change" in request.form:
            form.confirmed.data = ""
        elif form.confirmed.data != "yes":
            try:  # a cheque recorded before, or the day's cash limit: said now, not after Confirm
                services.check_counter_payment(account.id, PaymentMethod(form.method.data), form.amount.amount,
                                               cashier=current_user, **form.counter_instrument())
            except services.PaymentError as refusal:
                _counter_refusal(form, refusal)
            else:
                form.confirmed.data = "yes"
                return render("payments/staff_counter_confirm.html", form=form, account=account,
                              balance=ledger.balance(account.id))
        else:
            try:
                payment = services.record_counter_payment(
                    account.id, PaymentMethod(form.method.data), form.amount.amount, current_user,
                    form.idempotency_key.data, **form.counter_instrument())
            except services.PaymentError as refusal:
                db.session.rollback()
                form.confirmed.data = ""
                _counter_refusal(form, refusal)
            else:
                flash(_("Payment recorded: receipt %(number)s.", number=payment.receipt_number), "success")
                return _redirect("payments.staff_payment", payment_id=payment.id)
    book = cash_books.todays_book(current_user)
    return render("payments/staff_counter.html", form=form, cash_limit=current_app.config["CASH_LIMIT"],
                  day_closed=book is not None and book.state != CashBookState.OPEN), 422 if form.errors else 200


@bp.route("/staff/payments/<int:payment_id>")
@staff_only
def staff_payment(payment_id: int):
    return _staff_page(_viewable(payment_id))


def _staff_page(payment: Payment, status: int = 200, **forms):
    forms.setdefault("refund_form", RefundForm(formdata=None, idempotency_key=services.new_idempotency_key()))
    forms.setdefault("bounce_form", BounceForm(formdata=None))
    forms.setdefault("confirm_form", ConfirmUpiForm(formdata=None, idempotency_key=services.new_idempotency_key()))
    account = db.session.get(Account, payment.account_id)
    rebate, rebate_bill = queries.rebate_of(payment.id)
    cashier, centre = queries.counter_of(payment)
    return render("payments/staff_payment.html", payment=payment, account=account, cashier=cashier, centre=centre,
                  cash_book_id=payment.cash_book_id, refunds=queries.refunds_of(
        payment.id), rebate=rebate, rebate_bill=rebate_bill, action_form=ActionForm(),
        bounce_charge=services.bounce_charge(), approval_limit=services.approval_limit(),
        proposals=queries.approvals(payment.id, waiting_only=False), **forms), status


def _proposed(approval: MoneyApproval):
    flash(_("Proposed: %(amount)s waits for a second administrator's approval (see Approvals).",
            amount=services.rupees(approval.amount)), "info")
    return _redirect("payments.staff_payment", payment_id=approval.payment_id)


@bp.route("/staff/payments/<int:payment_id>/refund", methods=["POST"])
@staff_only
def staff_refund(payment_id: int):
    payment = _viewable(payment_id)
    form = RefundForm()
    if form.validate_on_submit():
        try:
            done = services.refund_or_propose(payment.id, form.amount.amount, form.reason.data, current_user,
                                              form.idempotency_key.data)
        except services.PaymentError as refusal:
            db.session.rollback()
            form.amount.errors.append(refusal_text(refusal))
        else:
            if isinstance(done, MoneyApproval):
                return _proposed(done)
            flash(_("Refund of %(amount)s recorded (%(state)s).", amount=services.rupees(done.amount),
                    state=done.state), "success")
            return _redirect("payments.staff_payment", payment_id=payment_id)
    return _staff_page(db.session.get(Payment, payment_id), 422, refund_form=form)


@bp.route("/staff/payments/<int:payment_id>/bounce", methods=["POST"])
@staff_only
def staff_bounce(payment_id: int):
    payment = _viewable(payment_id)
    form = BounceForm()
    if form.validate_on_submit():
        try:
            services.bounce_instrument(payment.id, form.reason.data, current_user)
        except services.PaymentError as refusal:
            db.session.rollback()
            form.reason.errors.append(refusal_text(refusal))
        else:
            flash(_("Marked as returned unpaid; the account is debited again."), "success")
            return _redirect("payments.staff_payment", payment_id=payment_id)
    return _staff_page(db.session.get(Payment, payment_id), 422, bounce_form=form)


@bp.route("/staff/payments/<int:payment_id>/cleared", methods=["POST"])
@staff_only
def staff_cleared(payment_id: int):
    return _staff_action(payment_id, services.clear_instrument,
                         _("Marked as cleared by the bank: the payment is final."))


@bp.route("/staff/payments/<int:payment_id>/accept", methods=["POST"])
@staff_only
def staff_accept(payment_id: int):
    return _staff_action(payment_id, services.accept_held, _("Accepted and credited."))


def _staff_action(payment_id: int, action, done: str):
    """A button on the staff payment page that needs nothing but the CSRF token."""
    payment = _viewable(payment_id)
    if ActionForm().validate_on_submit():
        try:
            action(payment.id, current_user)
        except services.PaymentError as refusal:
            db.session.rollback()
            flash(refusal_text(refusal), "error")
        else:
            flash(done, "success")
    return _redirect("payments.staff_payment", payment_id=payment_id)


@bp.route("/staff/payments/<int:payment_id>/confirm-upi", methods=["POST"])
@staff_only
def staff_confirm_upi(payment_id: int):
    payment = _viewable(payment_id)
    form = ConfirmUpiForm()
    if form.validate_on_submit():
        try:
            done = services.confirm_or_propose(payment.id, form.utr.data, form.amount.amount or Decimal(0),
                                               current_user, form.idempotency_key.data)
        except services.PaymentError as refusal:
            db.session.rollback()
            form.utr.errors.append(refusal_text(refusal))
        else:
            if isinstance(done, MoneyApproval):
                return _proposed(done)
            flash(_("Confirmed from the bank statement."), "success")
            return _redirect("payments.staff_payment", payment_id=payment_id)
    return _staff_page(db.session.get(Payment, payment_id), 422, confirm_form=form)


# --- maker-checker ---


@bp.route("/staff/approvals")
@staff_only
def staff_approvals():
    return render("payments/staff_approvals.html", rows=queries.approvals(staff=current_user), action_form=ActionForm(),
                  reject_form=RejectForm(formdata=None), approval_limit=services.approval_limit())


def _seen_approval(approval_id: int) -> MoneyApproval:
    approval = db.session.get(MoneyApproval, approval_id)
    if approval is None:
        abort(404)
    _viewable(approval.payment_id)  # another office's proposal: 404, as if there were none
    return approval


def _decided(approval_id: int, decide, done_message: str):
    try:
        approval = decide()
    except services.PaymentError as refusal:
        db.session.rollback()
        flash(refusal_text(refusal), "error")
        return _redirect("payments.staff_approvals")
    flash(done_message % {"amount": services.rupees(approval.amount)}, "success")
    return _redirect("payments.staff_approvals")


@bp.route("/staff/approvals/<int:approval_id>/approve", methods=["POST"])
@staff_only
def staff_approve(approval_id: int):
    _seen_approval(approval_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    return _decided(approval_id, lambda: services.approve(approval_id, current_user),
                    _("Approved: %(amount)s has moved."))


@bp.route("/staff/approvals/<int:approval_id>/reject", methods=["POST"])
@staff_only
def staff_reject(approval_id: int):
    _seen_approval(approval_id)
    form = RejectForm()
    if not form.validate_on_submit():
        flash(_("Give the reason for rejecting it."), "error")
        return _redirect("payments.staff_approvals")
    return _decided(approval_id, lambda: services.reject(approval_id, form.note.data, current_user),
                    _("Rejected: nothing moved (%(amount)s)."))
