from decimal import Decimal

import pytest

from app.web.csv_export import csv_safe


@pytest.mark.parametrize(("value", "cell"), [
    ("=1+2", "'=1+2"), ("+91 98", "'+91 98"), ("-5", "'-5"), ("@SUM(A1)", "'@SUM(A1)"), ("\t=x", "'\t=x"),
    ("Asha", "Asha"), ("a=b", "a=b"), (None, ""), (Decimal("12.50"), "12.50"), (Decimal("-3.00"), "-3.00"), (7, "7"),
])  # a number (a negative balance) stays a number a spreadsheet can add up: only text can carry a formula
def test_cells_that_a_spreadsheet_would_read_as_formulas_are_prefixed(value, cell):
    assert csv_safe(value) == cell
