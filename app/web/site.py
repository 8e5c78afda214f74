"""Links that leave the site (reset and invite links by SMS or email) carry its own address."""

from flask import current_app, url_for


def external_url(endpoint: str, **values) -> str:
    """The endpoint's full address on DTECH_PUBLIC_URL when set (production requires it), never on the Host header
    a client sent: a forged Host on a reset request would otherwise put its own address in a real reset link sent
    to the victim. Without it (development, tests): the address the request came to."""
    configured = current_app.config.get("PUBLIC_URL")
    if not configured:
        return url_for(endpoint, _external=True, **values)
    return configured + url_for(endpoint, **values)
