from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Regexp

from app.web.validators import at_most, required


class LinkForm(FlaskForm):
    consumer_number = StringField(
        _l("Consumer number"),
        validators=[required(), at_most(20),
                    Regexp(r"^[A-Za-z0-9\-/ ]+$", message=_l("Use the consumer number as printed on your bill."))],
        render_kw={"autocapitalize": "characters", "autocomplete": "off"},
    )


class BillAmountForm(FlaskForm):
    amount = StringField(_l("Amount of the latest bill"),
                         validators=[required(), at_most(40)],
                         render_kw={"inputmode": "decimal", "autocomplete": "off"})


class LanguageForm(FlaskForm):
    language = RadioField(_l("Language / भाषा"), choices=[SelectChoice("en_IN", "English"),
                                                         SelectChoice("hi_IN", "हिंदी")],
                          validators=[required()])


class PaperlessForm(FlaskForm):
    paperless = BooleanField(_l("Paperless: no printed bill; I read my bills in the app"))


class EraseForm(FlaskForm):
    password = PasswordField(_l("Your password"), validators=[required()],
                             render_kw={"autocomplete": "current-password"})
    understood = BooleanField(_l("I understand: my sign-in and personal data are erased for good. My connections' "
                                 "bills and payments stay with the utility, as the law requires."),
                              validators=[DataRequired(_l("Tick the box to confirm."))])


class NicknameForm(FlaskForm):
    nickname = StringField(_l("Your name for it"), validators=[at_most(30)],
                           render_kw={"placeholder": _l("Home, Shop …"), "maxlength": 30, "autocomplete": "off"})
