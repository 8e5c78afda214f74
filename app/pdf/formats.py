"""Amounts on paper, the Indian way in either language: ₹1,23,456.78 with Latin digits (app.i18n formats them,
for pages and PDFs alike)."""

from decimal import Decimal

from app.i18n import rupee_rate, rupees

LOCALES = {"en": "en_IN", "hi": "hi_IN"}  # both give lakh grouping with Latin digits: ₹1,23,456.78


def money(amount: Decimal, language: str) -> str:
    """₹1,23,456.78, rounded half-up to the paisa."""
    return rupees(amount, LOCALES[language])


def rate(value: Decimal, language: str) -> str:
    """A tariff rate keeps up to four decimals (₹0.475), but at least two (₹3.00)."""
    return rupee_rate(value, LOCALES[language])
