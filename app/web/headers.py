"""Response headers every page gets: a strict CSP, no sniffing, caching rules."""

from flask import request

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "manifest-src 'self'",
        "worker-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "object-src 'none'",
    ]
)

YEAR = 365 * 24 * 3600


def add_security_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "geolocation=(), microphone=(), camera=(self)")
    if request.endpoint == "static" and "v" in request.args:
        headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
    elif response.mimetype == "text/html":
        # Pages hold personal data: never in a shared cache; the browser revalidates each time.
        headers.setdefault("Cache-Control", "private, no-cache")
        response.vary.add("HX-Request")
        response.vary.add("Cookie")
    return response
