"""One worklist run over an export on disk: scan for candidates, evaluate each one, collect the rows."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from pathlib import Path

from cds_service.hooks.evaluate import Services
from cds_service.protocol import ServiceDefinition
from cds_service.worklist.problems import Problems
from cds_service.worklist.progress import Bars
from cds_service.worklist.report import RunFacts
from cds_service.worklist.rows import FetchFrom, PatientRows, Row, template_types
from cds_service.worklist.scan import CandidateFilter, ExportFile, ExportScan


@dataclass
class Outcome:
    rows: list[Row]
    problems: Problems
    run: RunFacts


def run_worklist(files: list[ExportFile], services: Services, definition: ServiceDefinition, problems: Problems,
                 *, source: str, temp_dir: Path, bars: Bars, memory_limit: str = "512MB",
                 fetch: FetchFrom | None = None) -> Outcome:
    """Scan `files` and evaluate every candidate patient at `services.clock.now()` (fix the clock for a run).

    With `fetch` (an export of changes only), every patient with a changed resource is a candidate and is
    evaluated on the whole record read from the FHIR server: an antibody result older than `_since` still counts.
    """
    run = RunFacts(now=services.clock.now(), source=source, files=len(files),
                   bytes=sum(f.path.stat().st_size for f in files))
    types = frozenset(template_types(definition).values())
    scan = ExportScan(files, types, problems, temp_dir=temp_dir, memory_limit=memory_limit)
    try:
        started = time.perf_counter()
        with bars.step("scan", run.bytes, "B") as advance:
            run.candidates = scan.find_candidates(
                CandidateFilter.from_valuesets(services.valuesets), lambda f: advance(f.path.stat().st_size),
                everyone=fetch is not None,
            )
        with bars.step("read", sum(f.path.stat().st_size for f in scan.readable), "B") as advance:
            records = scan.candidate_records(lambda f: advance(f.path.stat().st_size))
            first = next(records, None)  # pass 2 runs to the end before the first patient comes out
        run.timings["scan"] = time.perf_counter() - started
        started = time.perf_counter()
        patient_rows = PatientRows(services, definition, problems, fetch)
        rows: list[Row] = []
        with bars.step("evaluate", run.candidates, "patients") as advance:
            if first is not None:
                for patient_id, resources in itertools.chain([first], records):
                    rows.extend(patient_rows.rows(patient_id, resources))
                    run.patients_evaluated += 1
                    advance()
        run.timings["evaluate"] = time.perf_counter() - started
    finally:
        scan.close()
    return Outcome(rows, problems, run)

