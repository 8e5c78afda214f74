from datetime import date
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional, Regexp, ValidationError

from app.i18n import parse_rupees
from app.payments.models import PaymentMethod, PaymentState
from app.payments.queries import NEEDS_A_PERSON_FILTER
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
                 SelectChoice(PaymentMethod.DEMAND_DRAFT.value, _l("Demand draft")),
                 SelectChoice(PaymentMethod.CARD.value, _l("Card (POS terminal)"))],
        default=PaymentMethod.CASH.value, validators=[required()],
    )
    amount = AmountField(_l("Amount received (₹)"), validators=[required()], render_kw=AMOUNT_ATTRS)
    instrument_number = StringField(_l("Cheque or draft number"), validators=[Optional(), at_most(30)],
                                    render_kw={"inputmode": "numeric", "autocomplete": "off"})
    instrument_micr = StringField(_l("MICR code"), validators=[Optional(), at_most(20)],
                                  render_kw={"inputmode": "numeric", "autocomplete": "off"})
    instrument_bank = StringField(_l("Bank and branch"), validators=[Optional(), at_most(80)])
    # A card: only what the terminal's slip shows. The fields are short on purpose (a card number does not fit).
    card_approval_code = StringField(_l("Card approval code"), validators=[Optional(), at_most(30)],
                                     render_kw={"autocomplete": "off", "maxlength": 6})
    card_last4 = StringField(_l("Card's last four digits"), validators=[Optional(), at_most(30)],
                             render_kw={"inputmode": "numeric", "autocomplete": "off", "maxlength": 4})

    def counter_instrument(self) -> dict:
        """The instrument's particulars for the counter service, by the method chosen."""
        if self.method.data == PaymentMethod.CARD.value:
            return {"instrument_number": self.card_approval_code.data, "card_last4": self.card_last4.data}
        return {"instrument_number": self.instrument_number.data, "instrument_bank": self.instrument_bank.data,
                "instrument_micr": self.instrument_micr.data}

    def forget_card_number(self) -> None:
        """A full card number typed by mistake is not sent back to the browser."""
        self.card_approval_code.data = self.card_last4.data = ""
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


class CloseDayForm(FlaskForm):
    counted_cash = AmountField(_l("Cash counted (₹)"), validators=[required()], render_kw=AMOUNT_ATTRS)
    note = StringField(_l("Why the count differs (if it does)"), validators=[Optional(), at_most(200)])


class DayField(StringField):
    """A day as the browser's date input sends it (2026-11-18); `.day` is the date."""

    day: date | None = None

    def pre_validate(self, form) -> None:
        self.day = None
        text = (self.data or "").strip()
        if not text:
            return
        try:
            self.day = date.fromisoformat(text)
        except ValueError:
            raise ValidationError(_l("Enter a date as year-month-day, like 2026-11-18.")) from None


class ChoiceField(SelectField):
    """A select whose wrong value (typed into the address) gets a message people understand."""

    def pre_validate(self, form) -> None:
        if self.data not in {choice.value for choice in self.choices}:
            raise ValidationError(_l("Choose one of the listed options."))


S, M = PaymentState, PaymentMethod
STATE_CHOICES = [
    SelectChoice("", _l("Any state")),
    SelectChoice(NEEDS_A_PERSON_FILTER, _l("Needs a person (held, or cheque clearing)")),
    SelectChoice(S.CREATED.value, _l("Not completed")), SelectChoice(S.PENDING.value, _l("Pending confirmation")),
    SelectChoice(S.CLEARING.value, _l("Received, clearing")), SelectChoice(S.CAPTURED.value, _l("Paid")),
    SelectChoice(S.HELD.value, _l("Under review")), SelectChoice(S.FAILED.value, _l("Failed")),
    SelectChoice(S.REFUNDED.value, _l("Refunded")), SelectChoice(S.BOUNCED.value, _l("Returned unpaid")),
]
METHOD_CHOICES = [
    SelectChoice("", _l("Any channel")), SelectChoice(M.UPI.value, _l("UPI")),
    SelectChoice(M.GATEWAY.value, _l("Online")), SelectChoice(M.CASH.value, _l("Cash")),
    SelectChoice(M.CHEQUE.value, _l("Cheque")), SelectChoice(M.DEMAND_DRAFT.value, _l("Demand draft")),
    SelectChoice(M.CARD.value, _l("Card at the counter")),
]


class PaymentSearchForm(FlaskForm):
    """Staff's payment search: a GET form (no CSRF: it changes nothing), every filter optional."""

    class Meta:
        csrf = False

    consumer_number = StringField(_l("Consumer number"), validators=[Optional(), at_most(20)],
                                  render_kw={"autocomplete": "off"})
    receipt_number = StringField(_l("Receipt number"), validators=[Optional(), at_most(24)],
                                 render_kw={"autocomplete": "off"})
    gateway_id = StringField(_l("Gateway order or payment ID"), validators=[Optional(), at_most(64)],
                             render_kw={"autocomplete": "off"})
    instrument_number = StringField(_l("UTR, cheque or draft number"), validators=[Optional(), at_most(30)],
                                    render_kw={"autocomplete": "off"})
    date_from = DayField(_l("Paid from"), render_kw={"type": "date"})
    date_to = DayField(_l("Paid up to"), render_kw={"type": "date"})
    method = ChoiceField(_l("Channel"), choices=METHOD_CHOICES, default="")
    state = ChoiceField(_l("State"), choices=STATE_CHOICES, default="")

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if valid and self.date_from.day and self.date_to.day and self.date_from.day > self.date_to.day:
            self.date_to.errors.append(_l("The end date is before the start date."))
            return False
        return valid

    def args(self) -> dict:
        """The filters as given (for the pager's links)."""
        return {name: field.data.strip() for name, field in self._fields.items() if (field.data or "").strip()}
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
