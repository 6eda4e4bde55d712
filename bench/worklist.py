"""Worklist figures: a synthetic Bulk FHIR export, scanned and evaluated by `nxp2-cds worklist --ndjson`.

    .venv/bin/python bench/worklist.py                 # 25,000, 50,000 and 100,000 patients (make bench)
    .venv/bin/python bench/worklist.py --patients 5000

Each size is generated into a temporary folder (its size printed), then the command runs in a child process:
its own summary gives the scan and evaluation times; the peak memory is the child's maximum resident set
(DuckDB included). 1% of the patients are anti-NXP2 positive (an adult or juvenile dermatomyositis with
its antibody result, CK and a condition); everyone has realistic routine data: about 14 Observations (labs and
vital signs with LOINC codes, reference ranges, performers), 3 Conditions, 1.5 Procedures and a
DiagnosticReport, each with the meta and identifiers a real export carries.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
NOW = "2026-11-24T09:00:00Z"
LINES_PER_FILE = 250_000  # servers split big exports into several files per type

LABS = [  # LOINC code, display, unit, low, high
    ("2157-6", "Creatine kinase [Enzymatic activity/volume] in Serum or Plasma", "U/L", 30, 200),
    ("1920-8", "Aspartate aminotransferase [Enzymatic activity/volume] in Serum or Plasma", "U/L", 10, 40),
    ("1742-6", "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma", "U/L", 7, 56),
    ("777-3", "Platelets [#/volume] in Blood by Automated count", "10*3/uL", 150, 400),
    ("718-7", "Hemoglobin [Mass/volume] in Blood", "g/dL", 12, 17),
    ("2276-4", "Ferritin [Mass/volume] in Serum or Plasma", "ng/mL", 20, 300),
    ("2345-7", "Glucose [Mass/volume] in Serum or Plasma", "mg/dL", 70, 100),
    ("2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "mg/dL", 0.6, 1.2),
    ("8867-4", "Heart rate", "/min", 60, 100),
    ("8310-5", "Body temperature", "Cel", 36.1, 37.2),
    ("29463-7", "Body weight", "kg", 50, 90),
    ("8302-2", "Body height", "cm", 150, 190),
]
CONDITIONS = [("38341003", "Hypertensive disorder"), ("44054006", "Diabetes mellitus type 2"),
              ("195967001", "Asthma"), ("35489007", "Depressive disorder"), ("55822004", "Hyperlipidemia")]
PROCEDURES = [("73761001", "Colonoscopy"), ("71651007", "Mammography"), ("80146002", "Appendectomy")]


def _meta(n: int) -> str:
    return (f'"meta":{{"versionId":"{1 + n % 3}","lastUpdated":"2026-0{1 + n % 9}-1{n % 10}T08:00:00.000Z",'
            f'"source":"#ehr-{n % 17}"}}')


def _observation(oid: str, pid: str, n: int, rng: random.Random) -> str:
    code, display, unit, low, high = LABS[n % len(LABS)]
    value = round(rng.uniform(low * 0.8, high * 1.2), 1)
    day = f"20{15 + n % 11}-{1 + n % 12:02d}-{1 + n % 28:02d}"
    return (f'{{"resourceType":"Observation","id":"{oid}",{_meta(n)},"identifier":[{{"system":"urn:oid:1.2.3.4.5",'
            f'"value":"{oid}-lab"}}],"status":"final","category":[{{"coding":[{{"system":'
            f'"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}}]}}],"code":{{'
            f'"coding":[{{"system":"http://loinc.org","code":"{code}","display":"{display}"}}],"text":"{display}"}},'
            f'"subject":{{"reference":"Patient/{pid}"}},"effectiveDateTime":"{day}T08:30:00Z","issued":'
            f'"{day}T11:00:00Z","performer":[{{"reference":"Organization/lab-{n % 5}"}}],"valueQuantity":{{'
            f'"value":{value},"unit":"{unit}","system":"http://unitsofmeasure.org","code":"{unit}"}},'
            f'"referenceRange":[{{"low":{{"value":{low},"unit":"{unit}"}},"high":{{"value":{high},"unit":"{unit}"}}}}]}}')


def _condition(cid: str, pid: str, n: int, code: str, display: str, onset: str) -> str:
    return (f'{{"resourceType":"Condition","id":"{cid}",{_meta(n)},"clinicalStatus":{{"coding":[{{"system":'
            f'"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}}]}},"verificationStatus":'
            f'{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/condition-ver-status","code":"confirmed"'
            f'}}]}},"code":{{"coding":[{{"system":"http://snomed.info/sct","code":"{code}","display":"{display}"}}],'
            f'"text":"{display}"}},"subject":{{"reference":"Patient/{pid}"}},"onsetDateTime":"{onset}",'
            f'"recordedDate":"{onset}"}}')


def _patient(pid: str, n: int, birth: str) -> str:
    return (f'{{"resourceType":"Patient","id":"{pid}",{_meta(n)},"identifier":[{{"system":"urn:oid:1.2.3.4.6",'
            f'"value":"MRN{n:08d}"}}],"name":[{{"family":"Family{n % 997}","given":["Given{n % 331}"]}}],'
            f'"gender":"{"female" if n % 2 else "male"}","birthDate":"{birth}","address":[{{"city":"Town{n % 50}"}}]}}')


class Writer:
    """NDJSON files of one type, a new file every LINES_PER_FILE lines."""

    def __init__(self, folder: Path, kind: str) -> None:
        self.folder, self.kind, self.lines, self.part, self.out = folder, kind, 0, 0, None

    def write(self, line: str) -> None:
        if self.out is None or self.lines == LINES_PER_FILE:
            if self.out is not None:
                self.out.close()
            self.out = (self.folder / f"{self.kind}-{self.part}.ndjson").open("w")
            self.part, self.lines = self.part + 1, 0
        self.out.write(line + "\n")
        self.lines += 1

    def close(self) -> None:
        if self.out is not None:
            self.out.close()


def generate(folder: Path, patients: int, positive_rate: float = 0.01, seed: int = 7) -> tuple[int, int]:
    """Write the export; return (resources, bytes)."""
    rng = random.Random(seed)  # noqa: S311 (synthetic data, reproducible)
    folder.mkdir(parents=True, exist_ok=True)
    writers = {k: Writer(folder, k) for k in ("Patient", "Observation", "Condition", "Procedure", "DiagnosticReport")}
    count = 0
    positive_every = round(1 / positive_rate)
    for n in range(patients):
        pid = f"p{n:07d}"
        positive = n % positive_every == 0
        birth = f"{1940 + n % 75}-{1 + n % 12:02d}-{1 + n % 28:02d}" if not positive else (
            f"{2012 + n % 6}-03-04" if n % 3 == 0 else f"{1955 + n % 20}-03-04")
        writers["Patient"].write(_patient(pid, n, birth))
        for k in range(rng.randint(6, 22)):
            writers["Observation"].write(_observation(f"{pid}-o{k}", pid, n + k, rng))
            count += 1
        for k in range(rng.randint(1, 5)):
            code, display = CONDITIONS[(n + k) % len(CONDITIONS)]
            writers["Condition"].write(_condition(f"{pid}-c{k}", pid, n + k, code, display, "2019-05-01"))
            count += 1
        for k in range(rng.randint(0, 3)):
            code, display = PROCEDURES[(n + k) % len(PROCEDURES)]
            writers["Procedure"].write(
                f'{{"resourceType":"Procedure","id":"{pid}-pr{k}",{_meta(n)},"status":"completed","code":{{"coding":'
                f'[{{"system":"http://snomed.info/sct","code":"{code}","display":"{display}"}}]}},"subject":'
                f'{{"reference":"Patient/{pid}"}},"performedDateTime":"2021-0{1 + k}-15T10:00:00Z"}}')
            count += 1
        writers["DiagnosticReport"].write(
            f'{{"resourceType":"DiagnosticReport","id":"{pid}-dr",{_meta(n)},"status":"final","code":{{"coding":'
            f'[{{"system":"http://loinc.org","code":"24323-8","display":"Comprehensive metabolic panel"}}]}},'
            f'"subject":{{"reference":"Patient/{pid}"}},"effectiveDateTime":"2024-02-02T08:00:00Z"}}')
        count += 2
        if positive:
            writers["Observation"].write(
                f'{{"resourceType":"Observation","id":"{pid}-nxp2",{_meta(n)},"status":"final","code":{{"text":'
                f'"Anti-NXP2 (MJ) antibody, line blot"}},"subject":{{"reference":"Patient/{pid}"}},'
                f'"effectiveDateTime":"2025-0{1 + n % 9}-10T09:00:00Z","valueString":"Positive",'
                f'"interpretation":[{{"coding":[{{"system":'
                f'"http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation","code":"POS"}}]}}]}}')
            writers["Condition"].write(_condition(f"{pid}-dm", pid, n, "396230008", "Dermatomyositis",
                                                  f"2025-0{1 + n % 9}-01"))
            count += 2
    for writer in writers.values():
        writer.close()
    size = sum(p.stat().st_size for p in folder.iterdir())
    return count, size


def run(folder: Path, out: Path) -> dict[str, float]:
    """Run the command in a child process; return its times and the child's own peak memory (wait4)."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as errors:
        command = [sys.executable, "-m", "cds_service.cli", "worklist", "--ndjson", str(folder), "--out", str(out),
                   "--now", NOW, "--quiet"]
        child = subprocess.Popen(command,  # noqa: S603 (our own command, fixed arguments)
                                 stdout=subprocess.PIPE, stderr=errors, text=True, cwd=PROJECT)
        assert child.stdout is not None
        with child.stdout:
            printed = child.stdout.read()
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        if child.returncode != 0:
            errors.seek(0)
            raise SystemExit(f"worklist failed:\n{errors.read()[-2000:].decode(errors='replace')}")
    times = dict(re.findall(r"(scan|evaluate) ([\d.]+) s", printed))
    candidates = re.search(r"(\d+) candidate patient", printed)
    due = re.search(r"(\d+) with a card due", printed)
    return {"wall": wall, "scan": float(times["scan"]), "evaluate": float(times["evaluate"]),
            "candidates": float(candidates.group(1)) if candidates else 0.0,
            "due": float(due.group(1)) if due else 0.0, "peak_mib": usage.ru_maxrss / 1024,
            # CPU seconds of the child (all threads): on a shared machine wall time says more about the others
            "cpu": usage.ru_utime + usage.ru_stime}


def measure(patients: int, scratch: Path) -> dict[str, float]:
    folder = scratch / f"export-{patients}"
    started = time.perf_counter()
    resources, size = generate(folder, patients)
    generated = time.perf_counter() - started
    figures = run(folder, scratch / f"out-{patients}")
    print(f"{patients:>8,} patients  {resources + patients:>10,} resources  {size / 1e6:>8,.0f} MB "
          f"(generated in {generated:.0f} s) | scan {figures['scan']:5.1f} s  evaluate {figures['evaluate']:5.1f} s  "
          f"whole run {figures['wall']:5.1f} s  {patients / figures['wall']:>8,.0f} patients/s  "
          f"candidates {figures['candidates']:,.0f} ({figures['due']:,.0f} with a card)  "
          f"peak RSS {figures['peak_mib']:,.0f} MiB  CPU {figures['cpu']:.0f} s  "
          f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)", flush=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, nargs="*", default=[25_000, 50_000, 100_000])
    args = parser.parse_args()
    print("worklist over a synthetic export (1% anti-NXP2 positive); target: 100,000 patients in 60 s, 1 GB")
    with tempfile.TemporaryDirectory(prefix="nxp2-bench-worklist-") as scratch:
        for patients in sorted(args.patients):
            measure(patients, Path(scratch))


if __name__ == "__main__":
    main()
