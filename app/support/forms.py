from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from app.support.models import WITHOUT_CONNECTION, TicketCategory, TicketStatus
from app.support.services import MAX_TEXT
from app.web.validators import at_most, required

# What each category and status is called, on the customer's and the staff pages alike.
CATEGORY_LABELS = {
    TicketCategory.NO_SUPPLY: _l("No supply (power cut at my premises)"),
    TicketCategory.VOLTAGE: _l("Voltage too low or too high"),
    TicketCategory.METER_FAULT: _l("Meter fault"),
    TicketCategory.BILLING_DISPUTE: _l("Billing dispute"),
    TicketCategory.NEW_CONNECTION: _l("New connection"),
    TicketCategory.OTHER: _l("Something else"),
}
STATUS_LABELS = {
    TicketStatus.OPEN: _l("Open"),
    TicketStatus.IN_PROGRESS: _l("In progress"),
    TicketStatus.RESOLVED: _l("Resolved"),
    TicketStatus.CLOSED: _l("Closed"),
}


def _text(label, max_length: int = MAX_TEXT) -> TextAreaField:
    return TextAreaField(label, validators=[required(), at_most(max_length)],
                         render_kw={"rows": 4, "maxlength": max_length})


NO_CONNECTION = ""  # the connection choice of a customer who has none yet (a new connection)


class ComplaintForm(FlaskForm):
    account_id = SelectField(_l("Connection"))
    category = RadioField(_l("What is it about?"), validators=[required()],
                          choices=[SelectChoice(c.value, label) for c, label in CATEGORY_LABELS.items()])
    description = _text(_l("Describe the problem"))
    # Without a connection: where, and which office (the customer's choice, or head office routes it).
    locality = StringField(_l("Address or locality"), validators=[Optional(), at_most(200)],
                           render_kw={"autocomplete": "street-address"})
    office = SelectField(_l("Office nearest to you"), validate_choice=False)  # checked in validate
    photo = FileField(_l("Photo (optional)"), render_kw={"accept": "image/*", "data-shrink": ""})

    def validate(self, extra_validators=None) -> bool:
        """A complaint without a connection is about a new connection or something else, and says where."""
        valid = super().validate(extra_validators)
        if self.account_id.data != NO_CONNECTION:
            return valid
        if self.category.data and TicketCategory(self.category.data) not in WITHOUT_CONNECTION:
            self.account_id.errors.append(_l("Choose your connection: without one, you can raise only a new "
                                             "connection request or something else."))
            valid = False
        if len(" ".join((self.locality.data or "").split())) < 3:
            self.locality.errors.append(_l("Give the address or locality, so the right office can visit."))
            valid = False
        if (self.office.data or "") not in {choice.value for choice in self.office.choices}:
            self.office.errors.append(_l("Choose one of the listed offices."))
            valid = False
        return valid


class CommentForm(FlaskForm):
    text = _text(_l("Add to your complaint"))


class ReopenForm(FlaskForm):
    reason = _text(_l("Why are you not satisfied?"))


class StaffReplyForm(FlaskForm):
    text = _text(_l("Message"))
    visibility = RadioField(_l("Who sees it"), default="public", validators=[required()],
                            choices=[SelectChoice("public", _l("Reply to the customer")),
                                     SelectChoice("internal", _l("Internal note (staff only)"))])


class AssignForm(FlaskForm):
    assignee = SelectField(_l("Assigned to"))


class RouteForm(FlaskForm):
    office = SelectField(_l("Office that handles it"))


class StatusForm(FlaskForm):
    status = SelectField(_l("Status"), choices=[SelectChoice(s.value, STATUS_LABELS[s])
                                                for s in (TicketStatus.OPEN, TicketStatus.IN_PROGRESS)])


class ResolveForm(FlaskForm):
    resolution = _text(_l("Resolution (the customer sees it)"))
