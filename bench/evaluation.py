"""`make bench`: the whole CDS Hooks call against the JSON parse of its body, and where the time goes.

For 50, 500, 2,000 and 5,000 Observations in two mixes (bench/bodies.py: `today`, and `read` where every
Observation is a result the cards read) it prints the median time of `orjson.loads` of the body, of the whole
call in-process through the WSGI app (after `settle_for_serving`, as `cds_service/wsgi.py` does: Flask, body
decoding, validation, prefetch resolution, facts, rules, render, response encoding, issued-card record,
telemetry), their ratio, the cost per Observation, and the split of the call into its steps (each timed on
its own; "other" is the whole call minus the steps: Flask/werkzeug, CORS, the JWT layer). Then one figure over
HTTP: gunicorn (deploy/gunicorn.conf.py, development mode) on a free loopback port, at 2,000 read
Observations (bench/http.py). Targets (issue 19): in-process <= 1.5x the parse at 500-5,000 read
Observations; over HTTP <= 3x at 2,000.

Run: `make bench` (all of it, a few minutes) or `.venv/bin/python bench/evaluation.py --quick`.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bodies import MIXES, NOW, request_body  # noqa: E402
from cds_service.api.decode import decode_hook_request  # noqa: E402
from cds_service.app import create_app  # noqa: E402
from cds_service.config import Settings  # noqa: E402
from cds_service.facts.build import build_facts  # noqa: E402
from cds_service.hooks.evaluate import Services, run_rules  # noqa: E402
from cds_service.hooks.prefetch import resolve  # noqa: E402
from cds_service.protocol import CdsResponse, HookRequest  # noqa: E402
from cds_service.storage.feedback import IssuedCard  # noqa: E402
from cds_service.support.clock import FixedClock  # noqa: E402
from cds_service.support.collection import settle_for_serving  # noqa: E402
from cds_service.support.ids import SequentialIds  # noqa: E402

SIZES = (50, 500, 2000, 5000)
SERVICE = "nxp2-myositis"
URL = f"/cds-services/{SERVICE}"
STEPS = ("decode", "validate", "resolve", "facts", "rules", "encode", "record", "log", "metrics")


def wsgi_call(app: Any, body: bytes) -> Callable[[], bytes]:
    """One POST through the app's WSGI callable, as gunicorn makes it (no test client in between)."""
    statuses: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        statuses.append(status)

    def call() -> bytes:
        environ = {
            "REQUEST_METHOD": "POST", "PATH_INFO": URL, "SCRIPT_NAME": "", "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "127.0.0.1", "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body), "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr, "wsgi.multithread": False, "wsgi.multiprocess": True,
            "wsgi.run_once": False, "wsgi.version": (1, 0),
        }
        answer = b"".join(app(environ, start_response))
        if statuses.pop() != "200 OK":
            raise SystemExit(f"the call failed: {answer[:500]!r}")
        return answer

    return call


def medians(actions: list[Callable[[], object]], repeats: int) -> list[float]:
    """Median wall time of each action, run in turn so that all of them see the same machine load."""
    for action in actions:
        action()  # warm caches (unit and text look-ups, lazy model builds)
    times: list[list[float]] = [[] for _ in actions]
    for _ in range(repeats):
        for index, action in enumerate(actions):
            start = time.perf_counter()
            action()
            times[index].append(time.perf_counter() - start)
    return [statistics.median(found) for found in times]


def steps(services: Services, body: bytes, limit: int) -> list[Callable[[], object]]:
    """The steps of one call, each on the output of the one before (computed once here)."""
    service = services.catalogue.service(SERVICE)
    assert service is not None
    decoded = decode_hook_request(body, limit)
    request = HookRequest.model_validate(decoded)
    data = resolve(service.prefetch, service.required_prefetch, request)
    facts = build_facts(data.patient, data.resources, NOW, services.valuesets, unavailable=data.unavailable)
    rendered = run_rules(facts, service, services, NOW)
    response = CdsResponse(cards=[r.card for r in rendered])

    def record() -> None:  # what the call itself spends: the write is queued to a thread (storage/records.py)
        issued = [IssuedCard(services.ids.new_id(), r.rule_id, request.hookInstance, ()) for r in rendered]
        services.records.record(issued, (), NOW)

    return [
        lambda: decode_hook_request(body, limit),
        lambda: HookRequest.model_validate(decoded),
        lambda: resolve(service.prefetch, service.required_prefetch, request),
        lambda: build_facts(data.patient, data.resources, NOW, services.valuesets, unavailable=data.unavailable),
        lambda: run_rules(facts, service, services, NOW),
        lambda: orjson.dumps(response.dump()),
        record,
    ]


def measure(app: Any, mix: str, sizes: tuple[int, ...] = SIZES, scale: int = 20000) -> list[dict[str, Any]]:
    """Print one table for a mix; return its rows."""
    services: Services = app.extensions["nxp2_cds"]
    limit = app.config["SETTINGS"].max_json_depth
    # Both columns under the serving collector policy (settle_for_serving): a collector running on allocation
    # counts slows orjson.loads of a large body too (27 against 18 ms at 2,000 Observations): it flattered the ratio.
    print(f"\nmix '{mix}' (parse and call with the collector as in a worker: no collection on allocation counts)")
    print(f"{'obs':>5} {'KB':>5} {'orjson ms':>9} {'call ms':>8} {'ratio':>5} {'us/obs':>6} | "
          + " ".join(f"{name:>7}" for name in (*STEPS, "other")) + f" {'cards':>5}")
    rows = []
    for size in sizes:
        body = request_body(size, mix=mix)
        call = wsgi_call(app, body)
        parts = [*steps(services, body, limit), *telemetry(app)]
        timed = medians([lambda body=body: orjson.loads(body), call, *parts], max(9, scale // size))
        t_parse, t_call, split = timed[0], timed[1], timed[2:]
        cards = len(orjson.loads(call())["cards"])
        other = t_call - sum(split)
        row = {"mix": mix, "observations": size, "kb": len(body) / 1024, "parse_ms": t_parse * 1e3,
               "call_ms": t_call * 1e3, "ratio": t_call / t_parse, "us_per_obs": t_call / size * 1e6,
               **{f"{name}_ms": t * 1e3 for name, t in zip((*STEPS, "other"), (*split, other), strict=True)},
               "cards": cards}
        rows.append(row)
        print(f"{size:>5} {row['kb']:>5.0f} {row['parse_ms']:>9.2f} {row['call_ms']:>8.2f} {row['ratio']:>5.2f} "
              f"{row['us_per_obs']:>6.1f} | " + " ".join(f"{t * 1e3:>7.2f}" for t in (*split, other))
              + f" {cards:>5}")
    return rows


def quiet_logs() -> Any:
    """Keep the request log line of every call (its cost is part of the call) but write it to /dev/null.

    The JSON handler writes to whatever `sys.stderr` is at each record (observability.StderrHandler).
    Returns the stderr to put back afterwards.
    """
    before = sys.stderr
    sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - closed by the caller putting `before` back
    return before


def telemetry(app: Any) -> list[Callable[[], object]]:
    """The request log line and the Prometheus updates of one call (api/telemetry.py), timed on their own."""
    log = logging.getLogger("cds_service.request")
    metrics = app.extensions["nxp2_cds_metrics"]
    fields = {"route": "/cds-services/<service_id>", "method": "POST", "status": 200, "duration_ms": 12.34,
              "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea", "service": SERVICE,
              "cards": ["adult-cancer-screening", "ild-baseline-screen", "jdm-mas-pattern", "bulbar-dysphagia"]}

    def count() -> None:
        metrics.requests.labels(fields["route"], "POST", "200").inc()
        metrics.latency.labels(fields["route"], "POST").observe(0.01234)
        for card_id in fields["cards"]:
            metrics.cards.labels(SERVICE, card_id).inc()

    return [lambda: log.info("request", extra=fields), count]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repeats, no HTTP figure")
    parser.add_argument("--no-http", action="store_true", help="skip the gunicorn figure")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as data_dir:
        # 5,000 read Observations are 5.4 MB: above the default body limit (5 MB).
        settings = Settings(mode="development", data_dir=Path(data_dir), max_body_bytes=20_000_000)
        app = create_app(settings, clock=FixedClock(NOW), ids=SequentialIds())
        stderr = quiet_logs()
        settle_for_serving(app)  # as wsgi.py does after start-up
        try:
            for mix in MIXES:
                measure(app, mix, scale=4000 if args.quick else 20000)
            # Write the queued issued-card records while the data dir still exists (atexit would be too late).
            app.extensions["nxp2_cds"].records.flush()
        finally:
            sys.stderr.close()
            sys.stderr = stderr
    if not (args.quick or args.no_http):
        from bench.over_http import http_figure

        http_figure(2000, "read")
    return 0


if __name__ == "__main__":
    sys.exit(main())
