"""One HTTP call to a provider's API (a payment gateway, an SMS provider) with the standard library: the status and
body whatever the status; `Unreachable` when there is no answer. Each adapter wraps it in its own transport, so
its tests can replay the provider's documented answers instead."""

import urllib.error
import urllib.request
from urllib.parse import urlsplit


class Unreachable(Exception):
    """No HTTP answer: the network, DNS or a timeout (the name of the error only, never the URL's secrets)."""


ALLOWED_SCHEMES = ("https", "http")  # never file: or a custom scheme urllib would also open


def http_call(method: str, url: str, headers: dict[str, str], body: bytes | None, timeout: float) -> tuple[int, bytes]:
    if urlsplit(url).scheme not in ALLOWED_SCHEMES:
        raise ValueError("only http(s) URLs are called")
    request = urllib.request.Request(url, data=body, headers=headers, method=method)  # noqa: S310 - scheme checked
    try:
        # The scheme is checked above, and callers build the URL from their own configuration.
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310  # nosec B310
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        raise Unreachable(type(error).__name__) from None
