"""A client that sends its request body slowly, or announces more than it sends, must not hold a worker thread.

gunicorn's gthread workers read the body with no timeout at all (a Content-Length larger than the body held a
thread for as long as the client kept the connection open). Under gunicorn this middleware gives every read of
the body a timeout and the whole body a deadline; a request that misses either gets 408. The proxy in front
does the same with its own client-body timeouts (README, "Serving").
"""

import time

from werkzeug.exceptions import RequestTimeout


class LimitedBody:
    """The request body with a deadline for reading all of it; a stalled read (socket timeout) is a 408 too."""

    def __init__(self, stream, deadline: float) -> None:
        self.stream = stream
        self.deadline = deadline

    def _read(self, method, *args):
        if time.monotonic() > self.deadline:
            raise RequestTimeout()
        try:
            return method(*args)
        except TimeoutError as error:
            raise RequestTimeout() from error

    def read(self, *args):
        return self._read(self.stream.read, *args)

    def readline(self, *args):
        return self._read(self.stream.readline, *args)

    def __iter__(self):
        return iter(self.readline, b"")


class BodyReadLimits:
    def __init__(self, app, read_timeout: float, deadline: float) -> None:
        self.app = app
        self.read_timeout = read_timeout
        self.deadline = deadline

    def __call__(self, environ, start_response):
        sock = environ.get("gunicorn.socket")
        if sock is not None and environ.get("CONTENT_LENGTH", "0") not in ("", "0"):
            sock.settimeout(self.read_timeout)
            environ["wsgi.input"] = LimitedBody(environ["wsgi.input"], time.monotonic() + self.deadline)
        return self.app(environ, start_response)
