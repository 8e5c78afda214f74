"""Staff forms for connections, meters and readings typed by hand. Values are read by our own small
validators (each sets `field.value`), so every message is in the catalogue."""

import re
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError

from app.auth.contacts import normalise_mobile
from app.db import INDIA, today_in_india
from app.web.validators import at_most, required

DATE = {"type": "date", "autocomplete": "off"}
DECIMAL = {"inputmode": "decimal", "autocomplete": "off"}
MAX_LOAD = Decimal("99999.999")  # Numeric(8, 3)


def _number(text: str) -> Decimal | None:
    try:
        value = Decimal((text or "").replace(",", "").strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() and value.as_tuple().exponent >= -3 else None


def positive(_form, field) -> None:
    value = _number(field.data)
    if value is None or value <= 0 or value > MAX_LOAD:
        raise ValidationError(_l("Enter a number above zero, like 3 or 7.5."))
    field.value = value


def meter_reading(_form, field) -> None:
    value = _number(field.data)
    if value is None or value < 0:
        raise ValidationError(_l("Type the number on the meter's display, like 12345 or 12345.6."))
    field.value = value


def past_day(_form, field) -> None:
    try:
        field.value = date.fromisoformat((field.data or "").strip())
    except ValueError:
        raise ValidationError(_l("That is not a date.")) from None
    if field.value > today_in_india():
        raise ValidationError(_l("The day cannot be in the future."))


def digits(_form, field) -> None:
    if not re.fullmatch(r"[4-9]", (field.data or "").strip()):
        raise ValidationError(_l("A meter shows 4 to 9 digits."))
    field.value = int(field.data)


def optional_mobile(_form, field) -> None:
    field.value = None
    if (field.data or "").strip():
        field.value = normalise_mobile(field.data)
        if field.value is None:
            raise ValidationError(_l("Enter a 10-digit Indian mobile number."))


def consumer_number(_form, field) -> None:
    field.data = re.sub(r"\s+", "", field.data or "").upper()
    if not re.fullmatch(r"[A-Z0-9][A-Z0-9/-]{3,19}", field.data):
        raise ValidationError(_l("4 to 20 letters and digits (and - or /), as printed on the bills."))


def serial(_form, field) -> None:
    field.data = re.sub(r"\s+", "", field.data or "").upper()
    if not re.fullmatch(r"[A-Z0-9][A-Z0-9/-]{2,29}", field.data):
        raise ValidationError(_l("3 to 30 letters and digits (and - or /), as on the meter."))


def _text(label, length: int, **kw):
    return StringField(label, validators=[required(), at_most(length)],
                       render_kw={"autocomplete": "off", **kw})


PHASES = [SelectChoice("single", _l("Single phase")), SelectChoice("three", _l("Three phase"))]
CYCLES = [SelectChoice("monthly", _l("Monthly")), SelectChoice("bimonthly", _l("Every two months"))]
OFFSETS = [SelectChoice("0", _l("Even months (Feb, Apr …)")), SelectChoice("1", _l("Odd months (Jan, Mar …)"))]


class TermsFields(FlaskForm):
    """What a connection is sold on: shared by opening and changing one. Tariff choices come from the view."""

    holder_name = _text(_l("Holder's name"), 120)
    category = _text(_l("Category"), 60, list="categories")
    tariff_id = SelectField(_l("Tariff"), choices=[], validate_choice=True, validators=[required()])
    sanctioned_load_kw = StringField(_l("Sanctioned load (kW)"), validators=[required(), positive],
                                     render_kw=DECIMAL)
    registered_mobile = StringField(_l("Registered mobile (optional)"), validators=[optional_mobile],
                                    render_kw={"inputmode": "tel", "autocomplete": "off"})


class MeterFields(FlaskForm):
    serial = StringField(_l("Meter serial"), validators=[required(), serial],
                         render_kw={"autocomplete": "off", "autocapitalize": "characters"})
    digits = StringField(_l("Digits on the display"), default="5", validators=[required(), digits],
                         render_kw={"inputmode": "numeric", "autocomplete": "off"})
    multiplying_factor = StringField(_l("Multiplying factor"), default="1",
                                     validators=[required(), positive], render_kw=DECIMAL)
    installed_on = StringField(_l("Installed on"), validators=[required(), past_day], render_kw=DATE)
    initial_reading = StringField(_l("Initial reading (kWh)"), validators=[required(), meter_reading],
                                  render_kw=DECIMAL)


class ConnectionForm(TermsFields, MeterFields):
    consumer_number = StringField(_l("Consumer number"), validators=[required(), consumer_number],
                                  render_kw={"autocomplete": "off", "autocapitalize": "characters"})
    address = TextAreaField(_l("Address"), validators=[required(), at_most(500)],
                            render_kw={"rows": 3})
    region = _text(_l("Region (office)"), 40, list="regions")
    phase = SelectField(_l("Phase"), choices=PHASES, default="single")
    billing_cycle = SelectField(_l("Billing cycle"), choices=CYCLES, default="monthly")
    cycle_offset = SelectField(_l("Billed in (every two months only)"), choices=OFFSETS, default="0")
    connected_on = StringField(_l("Connected on"), validators=[required(), past_day], render_kw=DATE)


class ChangeForm(TermsFields):
    effective_on = StringField(_l("Takes effect on"), validators=[required(), past_day], render_kw=DATE)


class InstallForm(MeterFields):
    pass


class ReplaceForm(MeterFields):
    final_reading = StringField(_l("Old meter's final reading (kWh)"),
                                validators=[required(), meter_reading], render_kw=DECIMAL)
    removed_on = StringField(_l("Old meter removed on"), validators=[required(), past_day],
                             render_kw=DATE)


READER_CODES = [SelectChoice("", _l("Read: a value")), SelectChoice("door_locked", _l("Door locked")),
                SelectChoice("meter_faulty", _l("Meter faulty")),
                SelectChoice("meter_not_found", _l("Meter not found")),
                SelectChoice("not_possible", _l("Reading not possible"))]
READER_LABELS = {choice.value: choice.label for choice in READER_CODES if choice.value}


class ManualReadingForm(FlaskForm):
    """A value from a reader's book, or the reader's status code instead of one."""

    read_on = StringField(_l("Read on"), validators=[required(), past_day], render_kw=DATE)
    status = SelectField(_l("Reader's status"), choices=READER_CODES, default="")
    value = StringField(_l("Reading (kWh)"), validators=[at_most(20)], render_kw=DECIMAL)

    def validate_value(self, field) -> None:
        field.value = None
        if self.status.data and (field.data or "").strip():
            raise ValidationError(_l("With a status code, leave the reading empty."))
        if not self.status.data:
            if not (field.data or "").strip():
                raise ValidationError(_l("Type the reading, or choose the reader's status."))
            meter_reading(self, field)


LOCAL_TIME = {"type": "datetime-local", "autocomplete": "off"}


def india_time(_form, field) -> None:
    """A date and time typed in India time (the browser's datetime-local, or 2026-12-01 09:00), as a UTC moment."""
    field.value = None
    text = (field.data or "").strip()
    if not text:
        return
    for layout in ("%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"):
        try:
            field.value = datetime.strptime(text, layout).replace(tzinfo=INDIA).astimezone(UTC)
            return
        except ValueError:
            continue
    raise ValidationError(_l("Write the date and time as 2026-12-01 09:00 (India time)."))


AUDIENCES = [SelectChoice("everyone", _l("Everyone")), SelectChoice("region", _l("One region")),
             SelectChoice("consumers", _l("A list of consumer numbers"))]


class AnnouncementForm(FlaskForm):
    """An announcement; the region choices (and whether "everyone" is offered) come from the view."""

    title = _text(_l("Title"), 120)
    body = TextAreaField(_l("Text"), validators=[required(), at_most(2000)], render_kw={"rows": 4})
    audience = RadioField(_l("For whom"), choices=AUDIENCES, default="region", validators=[required()])
    region = SelectField(_l("Region"), choices=[], validate_choice=False)
    consumer_numbers = TextAreaField(_l("Consumer numbers"), validators=[at_most(25000)],
                                     render_kw={"rows": 3, "autocapitalize": "characters", "autocomplete": "off"})
    starts_at = StringField(_l("Starts (India time)"), validators=[required(), india_time], render_kw=LOCAL_TIME)
    ends_at = StringField(_l("Ends (India time, optional)"), validators=[india_time], render_kw=LOCAL_TIME)

    def validate_region(self, field) -> None:
        if self.audience.data == "region" and field.data not in {c.value for c in field.choices}:
            raise ValidationError(_l("Choose the region."))

    def validate_consumer_numbers(self, field) -> None:
        if self.audience.data == "consumers" and not (field.data or "").strip():
            raise ValidationError(_l("Type the consumer numbers, one a line or separated by commas."))
