"""gunicorn settings. gthread workers: a request waiting on the database does not block the others."""

import os

bind = os.environ.get("DTECH_BIND", "127.0.0.1:8000")
worker_class = "gthread"
workers = int(os.environ.get("DTECH_WORKERS", "2"))
threads = int(os.environ.get("DTECH_THREADS", "4"))
timeout = 30
graceful_timeout = 20
accesslog = "-"
# The access log leaves out query strings: reset links carry their token in one (/reset?token=…).
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)ss'
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
