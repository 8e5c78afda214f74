"""Test helpers for web push: a browser's subscription keys, and reading back what was sent to it."""

import base64
import json
import os
from urllib.parse import urlsplit

import http_ece
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import jwt as vapid_jwt

from app.notifications.push import new_vapid_key, public_key_for, save_subscription


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class Browser:
    """What a browser keeps for one push subscription: the ECDH key pair and auth secret a sender encrypts to."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)

    @property
    def p256dh(self) -> str:
        return b64url(self.key.public_key().public_bytes(serialization.Encoding.X962,
                                                         serialization.PublicFormat.UncompressedPoint))

    def subscribe(self, user) -> object:
        return save_subscription(user.id, self.endpoint, self.p256dh, b64url(self.auth), "Test browser")

    def read(self, body: bytes) -> dict:
        """The payload, decrypted as the browser would (RFC 8291, aes128gcm)."""
        return json.loads(http_ece.decrypt(body, private_key=self.key, auth_secret=self.auth, version="aes128gcm"))


def vapid_claims(authorization: str, private_key: str) -> dict:
    """The JWT claims of a `vapid t=…, k=…` header, after checking it is signed by our key and names it."""
    fields = dict(part.strip().split("=", 1) for part in authorization.removeprefix("vapid ").split(","))
    assert fields["k"] == public_key_for(private_key)
    return vapid_jwt.decode(fields["t"], fields["k"])


def audience(endpoint: str) -> str:
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc}"


def a_vapid_key() -> str:
    return new_vapid_key()
