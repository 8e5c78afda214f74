"""Each request: an id (the proxy's X-Request-ID when it is a sane one, else a new one) that every log line of the
request carries and the response returns; at the end one access line and the request metrics.

Metrics are labelled by the URL rule (/bills/<int:bill_id>), never by the raw path, so their number stays small.
"""

import logging
import re
import time
import uuid

from flask import g, request
from prometheus_client import Counter, Histogram

from app.web.logs import route_of_request, signed_in_user_id

access_log = logging.getLogger("dtech.access")

REQUEST_ID_HEADER = "X-Request-ID"
# What we take from a proxy: short, and only characters that cannot break a log line or a header.
SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
# Probes a load balancer or Prometheus makes every few seconds: their access lines are DEBUG, not INFO.
QUIET_ENDPOINTS = frozenset({"ops.healthz", "ops.readyz", "ops.metrics"})

REQUESTS = Counter("dtech_http_requests_total", "HTTP requests answered, by route, method and status",
                   ["route", "method", "status"])
REQUEST_SECONDS = Histogram("dtech_http_request_duration_seconds", "Time to answer a request, by route and method",
                            ["route", "method"],
                            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))


def request_id_from(header: str | None) -> str:
    if header and SAFE_REQUEST_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


def begin_request() -> None:
    """The first before_request hook: whatever happens later (a refusal, an error) has the id and the start."""
    g.request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
    g.request_started = time.perf_counter()


def finish_request(response):
    """The last after_request hook to run: the response's status is final."""
    response.headers[REQUEST_ID_HEADER] = g.get("request_id") or request_id_from(None)
    started = g.get("request_started")
    seconds = time.perf_counter() - started if started is not None else 0.0
    route, status = route_of_request(), response.status_code
    REQUESTS.labels(route, request.method, str(status)).inc()
    REQUEST_SECONDS.labels(route, request.method).observe(seconds)
    level = logging.DEBUG if request.endpoint in QUIET_ENDPOINTS else logging.INFO
    access_log.log(level, "%s %s %s", request.method, route, status,
                   extra={"status": status, "duration_ms": round(seconds * 1000, 1), "user_id": signed_in_user_id()})
    return response
