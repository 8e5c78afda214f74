"""Amounts on paper, the Indian way in either language: ₹1,23,456.78 with Latin digits."""

from decimal import ROUND_HALF_UP, Decimal

from babel.numbers import format_currency

LOCALES = {"en": "en_IN", "hi": "hi_IN"}  # both give lakh grouping with Latin digits: ₹1,23,456.78


def money(amount: Decimal, language: str) -> str:
    """₹1,23,456.78, rounded half-up to the paisa."""
    paise = amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return format_currency(paise, "INR", locale=LOCALES[language])
