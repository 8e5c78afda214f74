"""Amounts as people type them: one parser for every form (paying, the counter, refunds, linking by bill amount)."""

from decimal import Decimal

import pytest

from app.i18n import MAX_RUPEE_DIGITS, parse_rupees


@pytest.mark.parametrize(("text", "amount"), [
    ("1234.50", "1234.50"), ("1234.5", "1234.5"), ("1234", "1234"), (" 1234 ", "1234"),
    ("₹1,00,000.50", "100000.50"), ("₹ 1,234.50", "1234.50"), ("Rs. 1,234", "1234"), ("rs 99", "99"),
    ("INR 5", "5"), ("100,000", "100000"), ("0.5", "0.5"), ("007", "7"),
    ("12.345", "12.345"),  # kept as typed: the payment refuses more than paise with its own message
    ("9" * MAX_RUPEE_DIGITS + ".99", "9" * MAX_RUPEE_DIGITS + ".99"),
])
def test_amounts_as_typed(text, amount):
    assert parse_rupees(text) == Decimal(amount)


@pytest.mark.parametrize("text", [
    None, "", " ", "lots", "1" * 40, "9" * (MAX_RUPEE_DIGITS + 1), "1e5", "1E5", "NaN", "nan", "Infinity", "inf",
    "-5", "+5", "- 5", ".5", "5.", "1 000", "१२३", "₹", "$5", "5 rupees", "0x10", "1_000",
])
def test_anything_else_is_not_an_amount(text):
    assert parse_rupees(text) is None
