from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional, Regexp, ValidationError

from app.i18n import parse_rupees
from app.payments.models import PaymentMethod
from app.web.validators import at_most, required


class AmountField(StringField):
    """Rupees as typed (₹, commas welcome); `.amount` is the Decimal."""

    amount: Decimal | None = None

    def pre_validate(self, form) -> None:
        self.amount = parse_rupees(self.data)
        if self.data and self.amount is None:
            raise ValidationError(_l("Enter an amount in rupees, like 1234.50."))


AMOUNT_ATTRS = {"inputmode": "decimal", "autocomplete": "off"}


class PayForm(FlaskForm):
    amount = AmountField(_l("Amount to pay (₹)"), validators=[required()], render_kw=AMOUNT_ATTRS)
    method = RadioField(
        _l("How do you want to pay?"),
        choices=[SelectChoice(PaymentMethod.GATEWAY.value, _l("UPI, card or net banking on a secure payment page")),
                 SelectChoice(PaymentMethod.UPI.value, _l("UPI app on this phone, or scan a QR code"))],
        default=PaymentMethod.GATEWAY.value, validators=[required()],
    )
    idempotency_key = HiddenField(validators=[required()])
    # The connection shown when the page was made: switching in another tab must not move the money.
    account_id = HiddenField(validators=[Regexp(r"^\d*$")])


class CounterPaymentForm(FlaskForm):
    consumer_number = StringField(_l("Consumer number"), validators=[required(), at_most(20)],
                                  render_kw={"autocomplete": "off"})
    method = RadioField(
        _l("Paid by"),
        choices=[SelectChoice(PaymentMethod.CASH.value, _l("Cash")),
                 SelectChoice(PaymentMethod.CHEQUE.value, _l("Cheque")),
                 SelectChoice(PaymentMethod.DEMAND_DRAFT.value, _l("Demand draft"))],
        default=PaymentMethod.CASH.value, validators=[required()],
    )
    amount = AmountField(_l("Amount received (₹)"), validators=[required()], render_kw=AMOUNT_ATTRS)
    instrument_number = StringField(_l("Cheque or draft number"), validators=[Optional(), at_most(30)],
                                    render_kw={"inputmode": "numeric", "autocomplete": "off"})
    instrument_bank = StringField(_l("Bank and branch"), validators=[Optional(), at_most(80)])
    idempotency_key = HiddenField(validators=[required()])
    # Set by the confirmation page (holder, amount due, amount taken): only a confirmed form records a payment.
    confirmed = HiddenField(validators=[Optional(), Regexp(r"^(yes)?$")])


class RefundForm(FlaskForm):
    amount = AmountField(_l("Amount to refund (₹)"), validators=[required()], render_kw=AMOUNT_ATTRS)
    reason = StringField(_l("Reason"), validators=[required(), at_most(200)])
    idempotency_key = HiddenField(validators=[required()])


class BounceForm(FlaskForm):
    reason = StringField(_l("Bank's reason for returning it"), validators=[required(), at_most(200)])


class ConfirmUpiForm(FlaskForm):
    utr = StringField(_l("UTR (12 digits, from the bank statement)"), validators=[required(), at_most(12)],
                      render_kw={"inputmode": "numeric", "autocomplete": "off"})
    amount = AmountField(_l("Amount credited (₹)"), validators=[required()], render_kw=AMOUNT_ATTRS)
    idempotency_key = HiddenField(validators=[required()])


class RejectForm(FlaskForm):
    note = StringField(_l("Why it is rejected"), validators=[required(), at_most(200)])


class ActionForm(FlaskForm):
    """A button that only needs the CSRF token."""


class SettlementFileForm(FlaskForm):
    file = FileField(_l("Settlement file (CSV: date, UTR or gateway id, amount)"),
                     validators=[FileRequired(_l("Choose the settlement file."))],
                     render_kw={"accept": ".csv,text/csv"})


class NoteForm(FlaskForm):
    """Why a person dismissed a webhook, marked an attempt failed, or what they found on an unmatched line."""

    note = StringField(_l("Reason or note"), validators=[required(), at_most(200)])


class MatchEventForm(FlaskForm):
    payment_reference = StringField(_l("Our payment reference or receipt number"),
                                    validators=[required(), at_most(35)], render_kw={"autocomplete": "off"})
