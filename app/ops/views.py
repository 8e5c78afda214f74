"""/healthz: the process answers (no database: a load balancer restarts only what is really stuck).
/readyz: the database answers, its schema is at the migrations' head (or ahead of them, during an upgrade), the
data keys read what is stored, and the task queue's storage answers; a load balancer sends traffic only while it
says 200. /metrics: Prometheus's, only with the bearer token.

All three are never cached and say nothing about the system beyond ok or not (no versions, hosts or errors)."""

import hmac
import logging
import os
from functools import cache

from alembic.script import ScriptDirectory
from flask import Blueprint, Response, abort, current_app, jsonify, request
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import inspect, text
from sqlalchemy.exc import SQLAlchemyError

from app.auth.access import public
from app.crypto import DataKeyError, decrypt
from app.extensions import db
from app.ops.collector import DomainCollector
from app.taskqueue import queue_reachable

bp = Blueprint("ops", __name__)
log = logging.getLogger(__name__)

NO_STORE = {"Cache-Control": "no-store"}


@bp.get("/healthz")
@public
def healthz():
    return jsonify(status="ok"), 200, NO_STORE


@bp.get("/readyz")
@public
def readyz():
    checks = {"database": "ok", "migrations": "ok", "data_keys": "ok", "queue": "ok"}
    try:
        with db.engine.connect() as connection:
            applied = applied_revisions(connection)
            checks["migrations"] = schema_state(applied, current_app.extensions["migrate"].directory)
            if checks["migrations"] in READY:
                checks["data_keys"] = data_keys_state(connection)
    except SQLAlchemyError as error:
        log.warning("readiness: the database does not answer (%s)", type(error).__name__)
        checks.update(database="unavailable", migrations="unknown", data_keys="unknown")
    if not queue_reachable():
        checks["queue"] = "unavailable"
    ready = all(value in READY for value in checks.values())
    return jsonify(status="ready" if ready else "not_ready", checks=checks), 200 if ready else 503, NO_STORE


def applied_revisions(connection) -> frozenset[str]:
    """What alembic_version says (Alembic's own MigrationContext would log two INFO lines at every probe)."""
    if not inspect(connection).has_table("alembic_version"):
        return frozenset()
    return frozenset(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())


def data_keys_state(connection) -> str:
    """Whether the configured keys read what is stored: one encrypted value, decrypted (a host started with a wrong
    DTECH_DATA_KEYS would fail on every page that shows an address)."""
    token = connection.execute(text("SELECT address FROM accounts WHERE address IS NOT NULL LIMIT 1")).scalar()
    if token is not None:
        try:
            decrypt(token)
        except DataKeyError:
            log.error("readiness: the stored data cannot be decrypted with DTECH_DATA_KEYS")
            return "wrong"
    return "ok"


# "ahead": a newer release has migrated the database while this one still serves (a rolling upgrade; migrations
# are written so that the release before them keeps working). Not ready is only a schema this code has not reached.
READY = ("ok", "ahead")


def schema_state(applied: frozenset[str], directory: str) -> str:
    heads, known = migration_revisions(directory)
    if applied == heads:
        return "ok"
    if applied and not applied & known:
        return "ahead"
    return "not_at_head"


@cache
def migration_revisions(directory: str) -> tuple[frozenset[str], frozenset[str]]:
    """The heads the code expects and every revision it knows (read from migrations/ once a process: they change
    only with the code)."""
    script = ScriptDirectory(directory)
    return frozenset(script.get_heads()), frozenset(rev.revision for rev in script.walk_revisions())


@bp.get("/metrics")
@public  # not public in fact: the bearer token below is checked instead of a signed-in user
def metrics():
    token = current_app.config.get("METRICS_TOKEN")
    if not token:
        abort(404)  # metrics are off: nothing here
    if not bearer_token_matches(request.headers.get("Authorization", ""), token):
        return Response("", 401, {"WWW-Authenticate": 'Bearer realm="metrics"', **NO_STORE})
    domain = CollectorRegistry(auto_describe=False)
    domain.register(DomainCollector())
    body = generate_latest(process_registry()) + generate_latest(domain)
    return Response(body, 200, {"Content-Type": CONTENT_TYPE_LATEST, **NO_STORE})


def bearer_token_matches(header: str, token: str) -> bool:
    scheme, _, given = header.partition(" ")
    # compare_digest: the time taken does not tell a guesser how much of the token was right.
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def process_registry() -> CollectorRegistry:
    """Request and task metrics: this process's own, or, with several gunicorn workers (and consumers) writing to
    PROMETHEUS_MULTIPROC_DIR, every process's summed (prometheus_client's multiprocess mode)."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry
