"""Time `build_facts` alone on the `read` mix (every Observation a CK/ferritin/platelets/AST result).

Why a script of its own: the facts step is a few ms inside a call whose other steps move with this shared
machine's load; timing it alone, with the collector off, medians of many runs, is what tells a real change
from noise. Decodes and resolves the body as `bench/evaluation.py` `steps` does.

Run: `.venv/bin/python bench/facts_timing.py [--repeats 60] [sizes...]` (default sizes 500 2000).
"""

from __future__ import annotations

import argparse
import gc
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bodies import NOW, request_body  # noqa: E402
from cds_service.api.decode import decode_hook_request  # noqa: E402
from cds_service.app import create_app  # noqa: E402
from cds_service.config import Settings  # noqa: E402
from cds_service.facts.build import build_facts  # noqa: E402
from cds_service.hooks.prefetch import resolve  # noqa: E402
from cds_service.protocol import HookRequest  # noqa: E402
from cds_service.support.clock import FixedClock  # noqa: E402
from cds_service.support.ids import SequentialIds  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("sizes", nargs="*", type=int, default=[500, 2000])
    parser.add_argument("--repeats", type=int, default=60)
    parser.add_argument("--mix", default="read")
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)  # the app's start-up lines (development mode) are not part of the figure
    with tempfile.TemporaryDirectory() as data_dir:
        settings = Settings(mode="development", data_dir=Path(data_dir), max_body_bytes=20_000_000)
        app = create_app(settings, clock=FixedClock(NOW), ids=SequentialIds())
        services = app.extensions["nxp2_cds"]
        limit = app.config["SETTINGS"].max_json_depth
        service = services.catalogue.service("nxp2-myositis")
        for size in args.sizes:
            body = request_body(size, mix=args.mix)
            request = HookRequest.model_validate(decode_hook_request(body, limit))
            data = resolve(service.prefetch, service.required_prefetch, request)
            for _ in range(3):
                build_facts(data.patient, data.resources, NOW, services.valuesets, unavailable=data.unavailable)
            gc.disable()
            times = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                build_facts(data.patient, data.resources, NOW, services.valuesets, unavailable=data.unavailable)
                times.append(time.perf_counter() - start)
            gc.enable()
            print(f"{args.mix} {size:>5}: median {statistics.median(times) * 1e3:7.3f} ms "
                  f"(min {min(times) * 1e3:.3f}, {statistics.median(times) / size * 1e6:.2f} us/obs)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
