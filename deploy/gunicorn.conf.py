"""gunicorn settings for the CDS service. CDS clients expect an answer in about 500 ms, so a request
that is still running after `timeout` seconds is a stuck worker, not a slow answer."""

import os

bind = os.environ.get("CDS_BIND", "0.0.0.0:8080")  # noqa: S104  (inside a container; make run passes --bind)
workers = int(os.environ.get("CDS_WORKERS", "2"))
worker_class = "sync"
timeout = 30
graceful_timeout = 20
keepalive = 5
max_requests = 5000
max_requests_jitter = 500
# Load the app once in the master so a bad catalogue or setting stops start-up before workers fork.
preload_app = True
accesslog = "-"
errorlog = "-"
access_log_format = '{"remote": "%(h)s", "request": "%(m)s %(U)s", "status": %(s)s, "duration_ms": %(M)s}'
