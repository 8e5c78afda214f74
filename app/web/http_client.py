"""One HTTP call to a provider's API (a payment gateway, an SMS provider) with the standard library: the status and
body whatever the status; `Unreachable` when there is no answer. Each adapter wraps it in its own transport, so
its tests can replay the provider's documented answers instead."""

import urllib.error
import urllib.request


class Unreachable(Exception):
    """No HTTP answer: the network, DNS or a timeout (the name of the error only, never the URL's secrets)."""


def http_call(method: str, url: str, headers: dict[str, str], body: bytes | None, timeout: float) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers=headers, method=method)  # noqa: S310 - callers fix the URL
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        raise Unreachable(type(error).__name__) from None
