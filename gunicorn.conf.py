"""gunicorn settings. gthread workers: a request waiting on the database does not block the others."""

import importlib.util
import os
from pathlib import Path

bind = os.environ.get("DTECH_BIND", "127.0.0.1:8000")
worker_class = "gthread"
workers = int(os.environ.get("DTECH_WORKERS", "2"))
threads = int(os.environ.get("DTECH_THREADS", "4"))
timeout = 30
graceful_timeout = 20
# No gunicorn access log: the app writes one line per request itself (logger dtech.access, JSON in production)
# with the request id, user id, route (never the query string: reset links carry a token) and status.
accesslog = None
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def _json_formatter():
    """app/web/log_format.py (the standard library only) loaded by its path: importing it as app.web.… would put
    the app package in this master process, and workers forked after a reload (HUP) would run that old code."""
    spec = importlib.util.spec_from_file_location("_dtech_log_format", Path(__file__).parent / "app/web/log_format.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.JsonFormatter()


# gunicorn's own lines (workers booting, timeouts) in the app's format when that is JSON (config.py: production's
# default), so a log shipper reads one format. The root logger gets no handler here: the app adds its own.
_default_format = "json" if os.environ.get("DTECH_ENV") == "production" else "text"
if os.environ.get("DTECH_LOG_FORMAT", _default_format).strip().lower() == "json":
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": _json_formatter}},
        "handlers": {"gunicorn_json": {"class": "logging.StreamHandler", "formatter": "json",
                                       "stream": "ext://sys.stderr"}},
        "root": {"level": "INFO", "handlers": []},
        "loggers": {"gunicorn.error": {"level": "INFO", "handlers": ["gunicorn_json"], "propagate": False}},
    }

# Prometheus (app/ops/views.py): each worker counts its own requests, so they write their metrics to files in
# PROMETHEUS_MULTIPROC_DIR and /metrics adds them up (prometheus_client's multiprocess mode). prometheus_client
# reads the variable when first imported, so it is set here, in the master, before a worker loads the app. A Huey
# consumer on this host given the same directory (`make serve` does) adds its task counts.
METRICS_DIR = Path(os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR", str(Path(os.environ.get("DTECH_INSTANCE_DIR", "instance")) / "prometheus")))


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def on_starting(server) -> None:
    """A new run starts its counts from zero: the files of processes gone (an earlier run's) are removed, those of
    a live consumer kept."""
    METRICS_DIR.mkdir(parents=True, exist_ok=True)
    for path in METRICS_DIR.glob("*.db"):
        pid = path.stem.rsplit("_", 1)[-1]
        if pid.isdigit() and not _process_alive(int(pid)):
            path.unlink(missing_ok=True)


def child_exit(server, worker) -> None:
    """A worker that ended: its live gauges stop counting (prometheus_client's multiprocess rule)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
