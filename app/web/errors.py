"""Error pages in the app's own design; nothing internal is ever shown.

A handler first rolls the request's transaction back (nothing of a failed request is kept, and the session is
usable again), then renders. When the page cannot be drawn for the signed-in user because the database is gone
(loading who is signed in needs it), it is drawn as for a visitor: in the language of the session or browser.
"""

import logging

from flask import g, render_template
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from app.crypto import DataKeyError
from app.extensions import db, login_manager
from app.web.error_log import record_error

log = logging.getLogger(__name__)

MESSAGES = {
    400: _l("The request could not be understood."),
    403: _l("You do not have access to this page."),
    404: _l("We could not find that page."),
    405: _l("That action is not allowed here."),
    408: _l("What you sent took too long to arrive. Please try again."),
    413: _l("That file is too large."),
    429: _l("Too many attempts. Please wait a little and try again."),
    500: _l("Something went wrong on our side. Nothing you entered was lost; please try again."),
    503: _l("The service is busy or briefly unavailable. Nothing you entered was kept; please try again in a "
            "minute."),
}

# The database did not answer (down, restarting, locked for too long): a passing state, so 503, not 500.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)


def roll_back() -> None:
    try:
        db.session.rollback()
    except Exception:  # the connection is already gone: drop the session, a new one starts clean
        log.warning("rollback failed; the database session is discarded")
        discard_session()


def discard_session(_error=None) -> None:
    """End the request's session without letting a dead connection raise: closing it rolls back, which fails
    while the database is away, and an exception out of a teardown would make gunicorn answer its own bare 500
    after the app had chosen its page. Registered after Flask-SQLAlchemy's teardown, so it runs first."""
    try:
        db.session.remove()
    except Exception:
        log.warning("the database session could not be closed; it is dropped")
        db.session.registry.clear()


def _page(code: int, message: str | None = None):
    roll_back()
    context = {"code": code, "message": message or MESSAGES.get(code)}
    try:
        return render_template("errors/error.html", **context), code
    except Exception:
        log.warning("error page drawn for a signed-out visitor: the signed-in user could not be loaded")
        roll_back()
        g._login_user = login_manager.anonymous_user()  # Flask-Login's per-request user: nobody, no query
        return render_template("errors/error.html", **context), code


def register_error_handlers(app) -> None:
    app.teardown_appcontext(discard_session)

    @app.errorhandler(CSRFError)
    def csrf_error(_error):
        return _page(400, _("This form has expired. Please go back, reload the page and try again."))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        # An exception outside the view (the commit after it) reaches here as a 500 that carries the original.
        original = getattr(error, "original_exception", None)
        if original is not None:
            return unexpected_error(original)
        return _page(error.code or 500)

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        if isinstance(error, DATABASE_UNAVAILABLE):
            log.error("database unavailable (%s)", type(getattr(error, "orig", None) or error).__name__)
            page, code = _page(503)
            return page, code, {"Retry-After": "30"}
        if isinstance(error, DataKeyError):  # the configuration, not the request: said plainly, once, no traceback
            log.critical("stored data cannot be decrypted: %s", error)
            return _page(500)
        log.exception("unhandled error", exc_info=error)
        page = _page(500)  # (the request's transaction is rolled back first)
        try:
            record_error(error)  # for the system page, in the clean session: commit_request commits it
        except Exception:  # the error page is still sent when the database is the problem
            log.warning("the error could not be recorded for the system page", exc_info=True)
            roll_back()
        return page


def commit_request(response):
    """One transaction per request: it commits here, once, when the view returned a response (a refusal too:
    a counted failed attempt must stay counted). An exception never gets here: its handler rolled back."""
    db.session.commit()
    return response
