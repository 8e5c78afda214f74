"""Idempotency keys: a form that moves money or changes a bill carries one, so a second submission (a double
click, a retry) finds what the first did instead of doing it again."""

import re
import secrets

IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def new_idempotency_key() -> str:
    return secrets.token_urlsafe(24)
