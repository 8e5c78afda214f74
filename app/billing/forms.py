"""Staff forms of billing."""

from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, NumberRange, Optional, Regexp, ValidationError

from app.billing.compose import Cycle
from app.db import today_in_india
from app.i18n import parse_rupees
from app.web.validators import at_most, required


def _cycle(_form, field) -> None:
    try:
        field.cycle = Cycle.parse((field.data or "").strip())
    except ValueError:
        raise ValidationError(_l("Give the month as YYYY-MM, like 2026-11.")) from None


class BillRunForm(FlaskForm):
    cycle = StringField(_l("Billing month"), validators=[required(), _cycle],
                        render_kw={"placeholder": "2026-11", "inputmode": "numeric", "autocomplete": "off"})
    region = SelectField(_l("Region"), choices=[], validate_choice=True)  # the choices come from the view
    hold = BooleanField(_l("Hold the bills until I release them (look at a sample and the exceptions first)"))


def _decimal(_form, field) -> None:
    try:
        value = Decimal((field.data or "").replace(",", "").strip())
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or abs(value) >= 10**8:
        raise ValidationError(_l("Enter a number, like 221 or 0.35."))
    field.decimal = value


class TariffImportForm(FlaskForm):
    document = TextAreaField(_l("Tariff document (dtech-tariff/1 JSON)"),
                             validators=[required(), at_most(200_000)],
                             render_kw={"rows": 12, "spellcheck": "false", "autocomplete": "off"})


class QuoteForm(FlaskForm):
    """A what-if quote: it changes nothing, so it needs no CSRF token (it is sent with GET)."""

    class Meta:
        csrf = False

    units = StringField(_l("Units"), default="221", validators=[required(), _decimal],
                        render_kw={"inputmode": "decimal"})
    days = IntegerField(_l("Days in the period"), default=30, validators=[NumberRange(min=1, max=400)])
    # The period's end: a tariff may price by calendar month, and its monthly parameters are the month's.
    period_to = DateField(_l("Period ends on"), default=today_in_india,
                          validators=[DataRequired(_l("Give the day the period ends, like 2026-11-30."))])
    load_kw = StringField(_l("Sanctioned load (kW)"), default="3", validators=[required(), _decimal],
                          render_kw={"inputmode": "decimal"})
    phase = SelectField(_l("Phase"), default="single", choices=[SelectChoice("single", _l("Single phase")),
                                                  SelectChoice("three", _l("Three phase"))])


class TariffParamForm(FlaskForm):
    cycle = StringField(_l("Month"), validators=[required(), _cycle],
                        render_kw={"placeholder": "2026-11", "autocomplete": "off"})
    name = SelectField(_l("Parameter"), choices=[], validate_choice=True)  # the tariff's, from the view
    value = StringField(_l("Value"), validators=[required(), _decimal],
                        render_kw={"inputmode": "decimal", "autocomplete": "off"})


class CorrectionForm(FlaskForm):
    """A proposed correction: cancel or revise a bill, or a debit or credit note (which needs an amount)."""

    action = SelectField(_l("Correction"), choices=[
        SelectChoice("cancel", _l("Cancel with credit note")), SelectChoice("revise", _l("Revise")),
        SelectChoice("debit_note", _l("Debit note (charge)")), SelectChoice("credit_note", _l("Credit note"))],
        validators=[required()])
    bill_id = HiddenField(validators=[Optional(), Regexp(r"^\d+$")])
    amount = StringField(_l("Amount (₹)"), render_kw={"inputmode": "decimal", "autocomplete": "off"})
    reason = StringField(_l("Reason (the customer is shown it)"),
                         validators=[required(), at_most(200)])
    idempotency_key = HiddenField(validators=[DataRequired()])

    @property
    def rupees(self) -> Decimal | None:
        return parse_rupees(self.amount.data)


class DecisionForm(FlaskForm):
    """Approve (the CSRF token only) or reject (with a note)."""

    note = StringField(_l("Why it is rejected"), validators=[Optional(), at_most(200)])
