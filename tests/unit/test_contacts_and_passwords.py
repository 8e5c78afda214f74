import pytest

from app.auth.contacts import mask_mobile, normalise_email, normalise_mobile
from app.auth.passwords import _common_passwords, password_problem


@pytest.mark.parametrize(
    "typed",
    [
        "9876543210",
        "+919876543210",
        "+91 98765 43210",
        "91-98765-43210",
        "09876543210",
        " 98765-43210 ",
        "(+91) 9876543210",
    ],
)
def test_indian_mobile_numbers_are_normalised(typed):
    assert normalise_mobile(typed) == "+919876543210"


@pytest.mark.parametrize(
    "typed", ["", "12345", "5876543210", "98765432101", "+929876543210", "98765abcde", "+91 98765 4321"]
)
def test_not_indian_mobile_numbers_are_refused(typed):
    assert normalise_mobile(typed) is None


def test_email_is_normalised_and_validated():
    assert normalise_email("  Asha.Patil@Example.COM ") == "asha.patil@example.com"
    assert normalise_email("not an email") is None
    assert normalise_email("a@b") is None


def test_mobile_is_masked():
    assert mask_mobile("+919876543210") == "••••••3210"


def test_ten_thousand_common_passwords_are_known():
    common = _common_passwords()
    assert len(common) == 10_000
    assert {"password", "12345678", "iloveyou"} <= common


@pytest.mark.parametrize(
    ("password", "refused"),
    [
        ("short", True),
        ("1234567", True),
        ("password", True),
        ("PassWord", True),
        ("iloveyou", True),
        ("qwertyuiop", True),
        ("a" * 129, True),
        ("bijli-bill-2026", False),
        ("correct-horse-battery", False),
    ],
)
def test_password_rules(app, password, refused):
    with app.test_request_context():
        assert (password_problem(password) is not None) is refused


def test_hints_show_enough_of_a_contact_to_recognise_it():
    from app.auth.contacts import hint_email, hint_mobile

    assert hint_mobile("+919876543210") == "+91\u00a098XXXXX210"
    assert hint_mobile(None) == "" and hint_mobile("12345") == ""
    assert hint_email("asha.patil@example.com") == "a…@example.com"
    assert hint_email(None) == ""
