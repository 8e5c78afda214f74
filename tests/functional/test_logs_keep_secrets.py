"""A customer's whole journey with every log line captured at DEBUG, as production writes them (JSON, context,
masking): registration, the one-time code, signing out and in (a wrong password first), a password reset and a
payment. Their mobile number, password, code, reset token and UPI id appear in none of the lines."""

import logging
from io import StringIO

import pytest
from sqlalchemy import select

from app.auth.models import User
from app.extensions import db
from app.web.logs import log_handler
from tests.functional.test_auth import GOOD_PASSWORD, register, reset_link
from tests.functional.test_payment_helpers import billed_account, pay_in_full
from tests.functional.test_verification import code_in

MOBILE_TYPED = "98765 43210"
MOBILE_DIGITS = "9876543210"
EMAIL = "asha.patil@example.com"
NEW_PASSWORD = "kharif-harvest-77"


class RawMessages(logging.Handler):
    """Each line's message before any filter masks it: what the code itself wrote."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def captured_logs():
    root = logging.getLogger()
    raw, stream = RawMessages(), StringIO()
    written = log_handler("json", stream)
    previous = root.level
    root.addHandler(raw)  # first: it sees each record before the masking filter of the next one changes it
    root.addHandler(written)
    root.setLevel(logging.DEBUG)
    for logger in logging.Logger.manager.loggerDict.values():  # Alembic's fileConfig disables the loggers it found
        if isinstance(logger, logging.Logger):
            logger.disabled = False
    yield raw, stream
    root.removeHandler(written)
    root.removeHandler(raw)
    root.setLevel(previous)


def test_a_customers_journey_leaves_no_secret_in_the_logs(client, outbox, captured_logs):
    raw, stream = captured_logs

    assert register(client, mobile=MOBILE_TYPED).headers["Location"] == "/register/confirm"
    code = code_in(outbox[-1])
    wrong = "000000" if code != "000000" else "111111"
    assert client.post("/register/confirm", data={"code": wrong}).status_code == 422  # a wrong code first
    assert client.post("/register/confirm", data={"code": code}).status_code == 302
    db.session.scalar(select(User)).email = EMAIL  # given later (sign-up asks for the mobile number only)
    db.session.commit()
    client.post("/logout")
    assert client.post("/login", data={"login": MOBILE_TYPED, "password": "wrong-" + GOOD_PASSWORD}).status_code == 422
    assert client.post("/login", data={"login": MOBILE_TYPED, "password": GOOD_PASSWORD}).status_code == 302
    client.post("/logout")

    assert client.post("/forgot", data={"login": MOBILE_TYPED}).status_code == 302
    reset_path = reset_link(outbox)
    token = reset_path.split("token=", 1)[1]
    assert client.post(reset_path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 302
    assert client.post("/login", data={"login": EMAIL, "password": NEW_PASSWORD}).status_code == 302

    user = db.session.scalar(select(User))
    billed_account(user, "1500.00")
    payment, landed = pay_in_full(client)
    assert payment.state == "captured", landed.status_code

    written = stream.getvalue()
    lines = written.splitlines()
    assert len(lines) > 20 and '"logger": "dtech.access"' in written  # the capture worked
    assert f'"user_id": {user.id}' in written
    for secret in (MOBILE_DIGITS, MOBILE_TYPED, "8765432", EMAIL, GOOD_PASSWORD, NEW_PASSWORD, code, token,
                   "success@razorpay"):
        assert secret not in written, secret
    # And not only thanks to the masking filter: the code itself never writes a password, a code or a token.
    for secret in (GOOD_PASSWORD, NEW_PASSWORD, code, token):
        assert not [message for message in raw.messages if secret in message], secret
