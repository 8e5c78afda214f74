from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField, TelField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Optional, Regexp, ValidationError

from app.auth.contacts import normalise_email, normalise_mobile
from app.auth.passwords import MAX_LENGTH, password_problem
from app.web.validators import at_most, required


def _acceptable_password(_form, field) -> None:
    problem = password_problem(field.data or "")
    if problem:
        raise ValidationError(problem)


def _indian_mobile(_form, field) -> None:
    if field.data and not normalise_mobile(field.data):
        raise ValidationError(_l("Enter a 10-digit Indian mobile number, like 98765 43210."))


def _email(_form, field) -> None:
    if field.data and not normalise_email(field.data):
        raise ValidationError(_l("Enter an email address like name@example.com."))


def new_password_field(label):
    return PasswordField(label, validators=[required(), _acceptable_password],
                         render_kw={"autocomplete": "new-password", "maxlength": MAX_LENGTH})


def confirm_field(label):
    return PasswordField(label,
                         validators=[required(), EqualTo("password", _l("The two passwords differ."))],
                         render_kw={"autocomplete": "new-password"})


class LoginForm(FlaskForm):
    login = StringField(_l("Mobile number or email"),
                        validators=[required(), at_most(254)],
                        render_kw={"autocomplete": "username", "autocapitalize": "none"})
    password = PasswordField(_l("Password"),
                             validators=[required(), at_most(MAX_LENGTH)],
                             render_kw={"autocomplete": "current-password"})


class RegisterForm(FlaskForm):
    name = StringField(_l("Your name"), validators=[required(), at_most(120)],
                       render_kw={"autocomplete": "name"})
    mobile = TelField(_l("Mobile number"), validators=[required(), _indian_mobile],
                      render_kw={"autocomplete": "tel", "inputmode": "tel"})
    password = new_password_field(_l("Password (at least 8 characters)"))
    confirm = confirm_field(_l("Password again"))
    consent = BooleanField(_l("I have read the privacy notice and agree to my data being used as it says."),
                           validators=[DataRequired(_l("Tick the box to agree to the privacy notice."))])


class AcceptPrivacyForm(FlaskForm):
    """Accepting a new version of the privacy notice: the button is the consent."""


class ChangePasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[required()],
                            render_kw={"autocomplete": "current-password"})
    password = new_password_field(_l("New password"))
    confirm = confirm_field(_l("New password again"))


class ForgotPasswordForm(FlaskForm):
    login = StringField(_l("Mobile number or email"),
                        validators=[required(), at_most(254)],
                        render_kw={"autocomplete": "username", "autocapitalize": "none"})


class ResetPasswordForm(FlaskForm):
    password = new_password_field(_l("New password"))
    confirm = confirm_field(_l("New password again"))


class CodeForm(FlaskForm):
    code = StringField(_l("6-digit code"),
                       validators=[required(),
                                   Regexp(r"^\s*\d{6}\s*$", message=_l("Type the 6 digits of the code."))],
                       render_kw={"inputmode": "numeric", "autocomplete": "one-time-code", "maxlength": 8,
                                  "pattern": "[0-9 ]*"})


# --- An admin's forms for people (app/staff/users.py); the offices' choices come from the view.

STAFF_ROLES = [SelectChoice("support", _l("Support")), SelectChoice("billing", _l("Billing officer")),
               SelectChoice("admin", _l("Admin"))]


class StaffRoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=STAFF_ROLES, validate_choice=True)
    office = SelectField(_l("Office"), choices=[], validate_choice=True)


class NewStaffForm(StaffRoleForm):
    name = StringField(_l("Name"), validators=[required(), at_most(120)],
                       render_kw={"autocomplete": "off"})
    email = EmailField(_l("Email"), validators=[Optional(), at_most(254), _email],
                       render_kw={"autocomplete": "off"})
    mobile = TelField(_l("Mobile number"), validators=[Optional(), _indian_mobile],
                      render_kw={"autocomplete": "off", "inputmode": "tel"})

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if not (self.mobile.data or self.email.data):
            self.email.errors.append(_l("Give a mobile number or an email address."))
            return False
        return valid
