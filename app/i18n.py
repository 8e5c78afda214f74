"""Language and time zone choice, and the Indian formatting of money and dates."""

from datetime import date, datetime
from decimal import Decimal

from babel.numbers import format_currency, format_decimal
from flask import current_app, has_request_context, request, session
from flask_babel import format_date, format_datetime, get_locale
from flask_login import current_user


def select_locale() -> str:
    if not has_request_context():  # CLI commands and jobs speak the default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user and current_user.is_authenticated:
        return current_user.locale
    chosen = session.get("locale")
    if chosen in current_app.config["LANGUAGES"]:
        return chosen
    return request.accept_languages.best_match(["en", "hi"]) == "hi" and "hi_IN" or "en_IN"


def select_timezone() -> str:
    return current_app.config["BABEL_DEFAULT_TIMEZONE"]


def inr(amount: Decimal | int | str | None) -> str:
    """₹1,23,456.78: rupees with paise, grouped the Indian way."""
    if amount is None:
        return "—"
    return format_currency(Decimal(amount), "INR", locale=str(get_locale() or "en_IN"))


def quantity(value: Decimal | int | None) -> str:
    """Units and other quantities: 1,450.5 (no exponent, no trailing zeros, Indian grouping)."""
    if value is None:
        return "—"
    return format_decimal(Decimal(value), format="#,##,##0.###", locale=str(get_locale() or "en_IN"))


def indian_date(value: date | datetime | None, style: str = "medium") -> str:
    """24 Nov 2026 (English) / 24 नव॰ 2026 (Hindi)."""
    if value is None:
        return "—"
    formats = {"medium": "d MMM yyyy", "short": "dd/MM/yyyy", "long": "d MMMM yyyy"}
    return format_date(value, formats[style])


def indian_time(value: datetime) -> str:
    """14:05 IST, 24 Nov 2026."""
    return format_datetime(value, "HH:mm 'IST', d MMM yyyy")
