"""The sandbox gateway's own pages: its hosted checkout and a UPI app simulator, both marked TEST MODE.

They stand in for pages on the gateway's servers and for the customer's UPI app, so they speak to the rest of
the app only as a gateway would: a signed redirect to our callback and signed webhooks to our endpoint. They
answer 404 unless the configured gateway is the sandbox.
"""

from urllib.parse import urlencode, urlsplit

from flask import Blueprint, abort, current_app, redirect, request
from wtforms import HiddenField, RadioField
from wtforms.fields.choices import SelectChoice

from app.auth.access import public
from app.payments.forms import AmountField, FlaskForm
from app.payments.gateways import GatewayError, from_paise, get_gateway, to_paise
from app.payments.gateways.sandbox import SandboxGateway
from app.payments.tasks import deliver_sandbox_webhooks
from app.payments.upi import REFERENCE
from app.taskqueue import after_commit
from app.web.templating import render

bp = Blueprint("sandbox_gateway", __name__, url_prefix="/sandbox-gateway")


class SandboxCheckoutForm(FlaskForm):
    method = RadioField("Pay with", choices=[SelectChoice("upi", "UPI"), SelectChoice("card", "Card"),
                                             SelectChoice("netbanking", "Net banking")], default="upi")
    outcome = HiddenField()
    callback_url = HiddenField()
    cancel_url = HiddenField()


class SandboxUpiForm(FlaskForm):
    amount = AmountField("Amount (₹)", render_kw={"inputmode": "decimal"})
    outcome = HiddenField()


def _sandbox() -> SandboxGateway:
    try:
        gateway = get_gateway()
    except GatewayError:
        abort(404)
    if not isinstance(gateway, SandboxGateway):
        abort(404)
    return gateway


def _local_path(url: str | None) -> str | None:
    """Only our own pages (a path, or a URL on this host) may be redirected to: no open redirect."""
    parts = urlsplit(url or "")
    if parts.netloc and parts.netloc != request.host:
        return None
    path = parts.path
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        return None
    return path + (f"?{parts.query}" if parts.query else "")


def _deliver_now(gateway: SandboxGateway) -> None:
    """Send the gateway's webhooks as soon as this request has committed the records they are about, as Razorpay
    does within seconds (unless configured to leave them to the periodic task)."""
    if current_app.config.get("SANDBOX_WEBHOOKS", "immediate") == "immediate":
        after_commit(deliver_sandbox_webhooks)


@bp.route("/checkout/<order_id>", methods=["GET", "POST"])
@public
def checkout(order_id: str):
    gateway = _sandbox()
    order = gateway.order(order_id[:40])
    if order is None:
        abort(404)
    form = SandboxCheckoutForm()
    if request.method == "GET":
        form.callback_url.data = request.args.get("callback_url", "")
        form.cancel_url.data = request.args.get("cancel_url", "")
    callback_url, cancel_url = _local_path(form.callback_url.data), _local_path(form.cancel_url.data)
    if callback_url is None or cancel_url is None:
        abort(400)
    if request.method == "POST" and form.validate_on_submit():
        outcome = form.outcome.data
        if outcome == "abandon":
            return redirect(cancel_url, 303)
        try:
            payment = gateway.pay(order.id, outcome, method=form.method.data or "upi")
        except GatewayError:
            abort(400)
        order_id, payment_id = order.id, payment.id
        _deliver_now(gateway)
        if outcome == "succeed":
            query = {"razorpay_payment_id": payment_id, "razorpay_order_id": order_id,
                     "razorpay_signature": gateway.sign_checkout(order_id, payment_id)}
        else:  # as Razorpay reports a failure to the callback: unsigned
            query = {"error[code]": "BAD_REQUEST_ERROR", "error[source]": "bank",
                     "error[description]": "Payment failed (TEST MODE)" if outcome != "pending" else
                     "Your bank has not confirmed the payment yet (TEST MODE)",
                     "error[reason]": "payment_failed" if outcome != "pending" else "payment_pending",
                     "error[metadata]": f'{{"payment_id":"{payment_id}","order_id":"{order_id}"}}'}
        separator = "&" if "?" in callback_url else "?"
        return redirect(callback_url + separator + urlencode(query), 303)
    return render("payments/sandbox_checkout.html", form=form, order=order, order_amount=from_paise(order.amount),
                  cancel_url=cancel_url)


@bp.route("/upi", methods=["GET", "POST"])
@public
def upi():
    """A stand-in for the customer's UPI app, opened with the fields of a upi://pay link."""
    gateway = _sandbox()
    reference = request.args.get("tr", "")
    order = gateway.order_by_receipt(reference) if REFERENCE.match(reference) else None
    if order is None:
        abort(404)
    form = SandboxUpiForm()
    if request.method == "GET":
        form.amount.data = request.args.get("am", f"{from_paise(order.amount):.2f}")
    done = None
    if request.method == "POST" and form.validate_on_submit() and form.amount.amount:
        outcome = "succeed" if form.outcome.data == "pay" else "fail"
        try:
            gateway.pay(order.id, outcome, method="upi", amount_paise=to_paise(form.amount.amount))
        except (GatewayError, ValueError):
            abort(400)
        _deliver_now(gateway)
        done = outcome
    return render("payments/sandbox_upi.html", form=form, order=order, payee=request.args.get("pn", ""),
                  vpa=request.args.get("pa", ""), note=request.args.get("tn", ""), reference=reference, done=done)
