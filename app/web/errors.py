"""Error pages in the app's own design; nothing internal is ever shown."""

import logging

from flask import render_template
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

MESSAGES = {
    400: _l("The request could not be understood."),
    403: _l("You do not have access to this page."),
    404: _l("We could not find that page."),
    405: _l("That action is not allowed here."),
    413: _l("That file is too large."),
    429: _l("Too many attempts. Please wait a little and try again."),
    500: _l("Something went wrong on our side. Nothing you entered was lost; please try again."),
}


def _page(code: int, message: str | None = None):
    return render_template("errors/error.html", code=code, message=message or MESSAGES.get(code)), code


def register_error_handlers(app) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(_error):
        return _page(400, _("This form has expired. Please go back, reload the page and try again."))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        return _page(error.code or 500)

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        log.exception("unhandled error")
        return _page(500)
