"""Staff forms of billing."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, ValidationError

from app.billing.compose import Cycle
from app.i18n import REQUIRED


def _cycle(_form, field) -> None:
    try:
        field.cycle = Cycle.parse((field.data or "").strip())
    except ValueError:
        raise ValidationError(_l("Give the month as YYYY-MM, like 2026-11.")) from None


class BillRunForm(FlaskForm):
    cycle = StringField(_l("Billing month"), validators=[DataRequired(REQUIRED), _cycle],
                        render_kw={"placeholder": "2026-11", "inputmode": "numeric", "autocomplete": "off"})
    region = SelectField(_l("Region"), choices=[], validate_choice=True)  # the choices come from the view
