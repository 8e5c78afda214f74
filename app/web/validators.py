"""The validators every form uses, with their messages in the user's language (wtforms' own are English)."""

from wtforms.validators import DataRequired, Length

from app.i18n import REQUIRED, TOO_LONG


def required() -> DataRequired:
    return DataRequired(REQUIRED)


def at_most(characters: int) -> Length:
    return Length(max=characters, message=TOO_LONG)
