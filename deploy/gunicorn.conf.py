"""gunicorn settings for the CDS service. `timeout` restarts a worker whose event loop has not checked in
for that long (a stuck process); with threads it does not end one slow request, whose own budgets are the
FHIR fetch's (CDS_FHIR_TIMEOUT_S) and the reverse proxy's read timeout.

Settings come from the same `CDS_*` variables as the app (a malformed one stops start-up here). Workers
share their Prometheus counters through files in `<CDS_DATA_DIR>/prometheus`, emptied at every start
(under a lock: a second instance on the same folder is refused rather than blanking the first's metrics).
"""

import os
import sys

from cds_service.config import Settings, SettingsError

try:
    _settings = Settings.from_env()
except SettingsError as error:
    sys.exit(f"nxp2-cds: {error}")

# Must be set before prometheus_client is first imported (it picks its value store at import time); the
# app is loaded after this file, in the master (preload_app), before the workers fork.
_metrics_dir = _settings.metrics_dir
os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(_metrics_dir)

from cds_service.observability import MetricsDirInUse, mark_process_dead, prepare_multiprocess_dir  # noqa: E402

try:
    prepare_multiprocess_dir(_metrics_dir)  # locked: a second instance never empties a running one's metrics
except MetricsDirInUse as error:
    sys.exit(f"nxp2-cds: {error}")

bind = _settings.bind  # `make run` sets CDS_BIND from HOST and PORT
if _settings.metrics_bind:  # a second socket; the app serves /metrics there and only there (docs/deploy.md)
    bind = [_settings.bind, _settings.metrics_bind]
workers = _settings.workers
# gunicorn's threaded worker, whose event loop also reads every request whole (cds_service/edge/worker.py):
# a client sending slowly costs one of `worker_connections`, never a thread, and is answered 408 past
# CDS_HEADER_TIMEOUT_S / CDS_BODY_TIMEOUT_S. Threads only run complete requests.
worker_class = "cds_service.edge.worker.EdgeWorker"
threads = _settings.worker_threads
worker_connections = _settings.worker_connections
timeout = 30
graceful_timeout = 20
keepalive = 5
max_requests = 5000
max_requests_jitter = 500
# Load the app once in the master so a bad catalogue or setting stops start-up before workers fork.
preload_app = True
# No gunicornc control socket: unused here, and it would be shared by every instance under $HOME.
control_socket_disable = True
# The app writes one JSON line per request (with hookInstance, status and duration), so gunicorn's own
# access log would only repeat it; gunicorn's messages go through the same JSON formatter on stderr.
accesslog = None
errorlog = "-"
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "root": {"level": "INFO", "handlers": ["json"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
        "gunicorn.access": {"level": "WARNING", "handlers": [], "propagate": False},
    },
    "handlers": {"json": {"class": "cds_service.observability.StderrHandler", "formatter": "json"}},
    "formatters": {"json": {"()": "cds_service.observability.JsonFormatter"}},
}


def child_exit(server: object, worker: object) -> None:
    """Tell prometheus_client a worker died, so its live gauges stop being reported."""
    mark_process_dead(worker.pid)  # type: ignore[attr-defined]
