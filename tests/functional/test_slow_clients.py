"""A client that announces a body it never sends is cut off with 408 instead of holding a worker thread."""

import socket

import pytest
from werkzeug.test import EnvironBuilder, run_wsgi_app

from app import create_app
from config import TestingConfig


@pytest.fixture(scope="module")
def strict_app(app):
    config = TestingConfig()
    config.SQLALCHEMY_DATABASE_URI = app.config["SQLALCHEMY_DATABASE_URI"]
    return create_app(config, BODY_READ_TIMEOUT=0.2, BODY_READ_DEADLINE=5)


def gunicorn_environ(sock: socket.socket, announced: int) -> dict:
    """What gunicorn hands the app: the client's socket and a body read from it."""
    environ = EnvironBuilder(method="POST", path="/login",
                             content_type="application/x-www-form-urlencoded").get_environ()
    environ.update({"gunicorn.socket": sock, "wsgi.input": sock.makefile("rb"), "CONTENT_LENGTH": str(announced)})
    return environ


def test_a_body_shorter_than_announced_gets_408(strict_app):
    server_side, client_side = socket.socketpair()
    with server_side, client_side:
        client_side.sendall(b"login=98")  # 8 of the 1,000 bytes it announced, then nothing
        _body, status, _headers = run_wsgi_app(strict_app, gunicorn_environ(server_side, 1000), buffered=True)
    assert status.startswith("408")


def test_a_whole_body_is_read_as_usual(strict_app):
    server_side, client_side = socket.socketpair()
    body = b"login=9876500001&password=wrong-password"
    with server_side, client_side:
        client_side.sendall(body)
        _body, status, _headers = run_wsgi_app(strict_app, gunicorn_environ(server_side, len(body)), buffered=True)
    assert status.startswith("422")  # read in full, then refused as a wrong password
