"""Log lines: one JSON object per line in production (DTECH_LOG_FORMAT=json), readable text in development.

Every line carries the request's id and the signed-in user's id (when there is a request), so one request's lines
can be found together and matched with the proxy's (X-Request-ID). The code never logs passwords, tokens,
one-time codes, full mobile numbers, UPI ids or card data; `MaskPersonalData` is the safety net under that rule:
whatever still looks like a mobile number or an email address is masked before a line is written.
"""

import logging
import re
import sys

from flask import Flask, g, has_request_context, request
from sqlalchemy import inspect

from app.web.log_format import JsonFormatter

# An Indian mobile number: +91 / 91 / 0 and ten digits starting 6-9, spaces or dashes allowed after the prefix and
# in the middle; never inside a longer word or number (a consumer number, a payment reference).
MOBILE = re.compile(r"(?<![\w+])(?:\+91[\s-]?|91[\s-]?|0)?[6-9]\d{4}[\s-]?\d{5}(?!\w)")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# asha.patil@okicici: a name, @, a bank's handle (a full stop after it ends a sentence; before a letter, a domain).
UPI_ID = re.compile(r"(?<![\w.+-])[\w.-]+@[A-Za-z]{2,}(?![\w@-]|\.\w)")
# A payment card's number: 13 to 19 digits, in groups or not, that pass the Luhn check (consumer numbers, which
# have 12 at most, and other long numbers do not).
CARD = re.compile(r"(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-])")


def _luhn(digits: str) -> bool:
    total = sum(int(d) if i % 2 == 0 else (2 * int(d) - 9 if int(d) > 4 else 2 * int(d))
                for i, d in enumerate(reversed(digits)))
    return total % 10 == 0


def _mask_card(match: re.Match) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return "XXXX" + digits[-4:] if _luhn(digits) else match.group(0)


def mask_personal_data(text: str) -> str:
    """Mobile numbers keep their last two digits (enough to tell two apart in a log), emails and UPI ids their
    domain or bank handle, card numbers their last four."""
    text = EMAIL.sub(lambda m: "…@" + m.group(0).rsplit("@", 1)[1], text)
    text = UPI_ID.sub(lambda m: "…@" + m.group(0).rsplit("@", 1)[1], text)
    text = CARD.sub(_mask_card, text)
    return MOBILE.sub(lambda m: "XXXXXXXX" + re.sub(r"\D", "", m.group(0))[-2:], text)


class MaskPersonalData(logging.Filter):
    """Masks mobile numbers and emails in the message and in the traceback (a handler's filter: it sees every
    line that handler writes, whichever logger made it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask_personal_data(record.getMessage())
        record.args = ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_personal_data(record.exc_text)
        return True


def signed_in_user_id() -> int | None:
    """The id of the user this request has loaded, without loading one (no query, even after a commit expired
    the instance, or with the database gone)."""
    user = g.get("_login_user")  # where Flask-Login keeps the request's user once something asked for it
    state = inspect(user, raiseerr=False) if user is not None else None
    return state.identity[0] if state is not None and state.identity else None


class RequestContext(logging.Filter):
    """Adds request_id, user_id, route and method to every line written during a request."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context():
            record.request_id = getattr(record, "request_id", None) or g.get("request_id")
            record.user_id = getattr(record, "user_id", None) or signed_in_user_id()
            record.route = getattr(record, "route", None) or route_of_request()
            record.method = getattr(record, "method", None) or request.method
        return True


def route_of_request() -> str:
    """The URL rule that matched (/bills/<int:bill_id>), never the path itself: ids and tokens stay out."""
    rule = request.url_rule
    return rule.rule if rule is not None else "<unmatched>"


class TextFormatter(logging.Formatter):
    """Development: the time, level and logger, then the request id (when there is one) and the message."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(request_tag)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", None)
        record.request_tag = f" [{request_id}]" if request_id else ""
        return super().format(record)


def log_handler(log_format: str, stream=None) -> logging.Handler:
    """A handler that writes lines in `log_format` ("json" or "text"), with the request's context and masked."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(RequestContext())
    handler.addFilter(MaskPersonalData())
    handler.dtech = True  # ours: replaced, not doubled, when another app is created in the process
    return handler


def configure_logging(app: Flask) -> None:
    """The root logger writes to stderr in LOG_FORMAT at LOG_LEVEL. The tests keep pytest's own capture."""
    if app.testing:
        return
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "dtech", False)]:
        root.removeHandler(handler)
    root.addHandler(log_handler(app.config["LOG_FORMAT"]))
    root.setLevel(app.config["LOG_LEVEL"])
    for chatty in ("alembic.runtime.plugins", "fontTools"):  # fontTools logs every glyph of every PDF
        logging.getLogger(chatty).setLevel(logging.WARNING)
