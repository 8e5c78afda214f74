import uuid
from datetime import date
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, HiddenField, StringField
from wtforms.validators import Regexp, ValidationError

from app.web.validators import at_most, required


def _meter_value(_form, field) -> None:
    try:
        value = Decimal((field.data or "").replace(",", "").strip())
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or value < 0 or value.as_tuple().exponent < -3:
        raise ValidationError(_l("Type the number on the meter's display, like 12345 or 12345.6."))
    field.decimal = value


def _day(_form, field) -> None:
    field.date = None
    if field.data:
        try:
            field.date = date.fromisoformat(field.data)
        except ValueError:
            raise ValidationError(_l("That is not a date.")) from None


class ReadingForm(FlaskForm):
    value = StringField(_l("Meter reading (kWh)"),
                        validators=[required(), at_most(20), _meter_value],
                        render_kw={"inputmode": "decimal", "autocomplete": "off"})
    photo = FileField(_l("Photo of the meter's display"),
                      validators=[FileRequired(_l("Add a photo of the meter's display."))],
                      render_kw={"accept": "image/*", "capture": "environment", "data-shrink": ""})
    confirm_rollover = BooleanField(_l("My meter went past its highest number and started again from zero"))
    # The connection the reading is for, fixed when the page was made: a reading queued offline still goes to
    # the right meter if the customer switches connections before it is sent.
    account_id = HiddenField(validators=[Regexp(r"^\d*$")])
    # Set by the phone when a reading waits offline: the day it was taken, not the day it reached us.
    taken_on = HiddenField(validators=[Regexp(r"^(\d{4}-\d{2}-\d{2})?$"), _day])
    idempotency_key = HiddenField(validators=[required(), Regexp(r"^[A-Za-z0-9_-]{8,64}$")],
                                  default=lambda: uuid.uuid4().hex)


class ReviewForm(FlaskForm):
    """A staff member's decision on one reading: a note to approve with, or the reason to reject."""

    note = StringField(_l("Note for the customer (needed to reject)"),
                       validators=[at_most(300)], render_kw={"autocomplete": "off"})


class ReadingFileForm(FlaskForm):
    file = FileField(_l("File of readings (CSV)"), validators=[FileRequired(_l("Choose the file to import."))],
                     render_kw={"accept": ".csv,text/csv"})
