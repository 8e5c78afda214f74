"""Devices a user has signed in on before: a signed cookie listing those users' ids (nothing else, no tracking).

Five wrong passwords lock an account against new devices only: a guesser is stopped, while the owner, on a
phone that signed in before, still gets in with the right password (their own wrong attempts are counted apart).
"""

from flask import current_app, request
from itsdangerous import BadSignature, URLSafeSerializer

COOKIE = "dtech_known"
KEEP = 5  # the latest users of a shared phone
MAX_AGE = 400 * 24 * 3600  # browsers cap cookies at 400 days


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="known-devices")


def known_user_ids() -> list[int]:
    try:
        ids = _serializer().loads(request.cookies.get(COOKIE, ""))
    except BadSignature:
        return []
    return [i for i in ids if isinstance(i, int)] if isinstance(ids, list) else []


def is_known(user_id: int) -> bool:
    return user_id in known_user_ids()


def remember(response, user_id: int) -> None:
    """After a successful sign-in: this device knows this user from now on."""
    ids = [user_id] + [i for i in known_user_ids() if i != user_id]
    response.set_cookie(COOKIE, _serializer().dumps(ids[:KEEP]), max_age=MAX_AGE, httponly=True, samesite="Lax",
                        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")))
