"""Bad input is counted with its file, never fatal, never wrong: whose data was lost is listed as such."""

from __future__ import annotations

import gzip
from collections import Counter
from pathlib import Path
from typing import Any

import orjson

from cds_service.cli import main
from tests.worklist.exports import NOW_ARG, fixture_bundles, patient_of, resources_by_type, write_export

LOST_FIXTURE = "jdm-nxp2-mas-ast-49"


def run(tmp_path: Path, export: Path) -> dict[str, Any]:
    out = tmp_path / "out"
    assert main(["worklist", "--ndjson", str(export), "--out", str(out), "--now", NOW_ARG, "--quiet"]) == 0
    document: dict[str, Any] = orjson.loads((out / "worklist.json").read_bytes())
    return document


def by_patient(document: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    rows: dict[str, list[tuple[str, str]]] = {}
    for row in document["rows"]:
        rows.setdefault(row["patient_id"], []).append((row["status"], row["card_id"]))
    return {k: sorted(v) for k, v in rows.items()}


def append(path: Path, *lines: bytes) -> None:
    with path.open("ab") as out:
        out.write(b"".join(line + b"\n" for line in lines))


def test_bad_lines_are_counted_and_the_patient_who_lost_one_is_listed(tmp_path: Path) -> None:
    bundles = fixture_bundles()
    clean = by_patient(run(tmp_path / "clean", write_export(tmp_path / "clean-export", resources_by_type(bundles))))
    export = write_export(tmp_path / "export", resources_by_type(bundles))
    lost = patient_of(bundles[LOST_FIXTURE])
    append(
        export / "Observation.ndjson",
        # cut off mid-line, as a truncated download ends: its patient can still be read from the text
        b'{"resourceType":"Observation","id":"cut","status":"final","subject":{"reference":"Patient/' + lost.encode()
        + b'"},"code":{"text":"Anti-NXP2"},"valueQuant',
        orjson.dumps({"resourceType": "Observation", "id": "orphan", "status": "final", "code": {"text": "CK"}}),
        orjson.dumps({"resourceType": "Encounter", "id": "e1", "subject": {"reference": f"Patient/{lost}"}}),
        b'{"id": "typeless"}',
        b"   ",
    )
    document = run(tmp_path, export)
    counts = {(p["kind"], p["file"]): p["count"] for p in document["problems"]}
    assert counts == {
        ("malformed line (not JSON)", "Observation.ndjson"): 1,
        ("resource without a patient subject", "Observation.ndjson"): 1,
        ("resource type the rules do not read (ignored)", "Observation.ndjson"): 1,
        ("line without a resourceType", "Observation.ndjson"): 1,
    }
    rows = by_patient(document)
    assert rows[lost] == [("data could not be read", "")]  # not a card built on part of the data
    assert clean[lost] and clean[lost][0][0] == "card due"
    assert {k: v for k, v in rows.items() if k != lost} == {k: v for k, v in clean.items() if k != lost}


def test_a_line_no_patient_can_be_tied_to_makes_its_type_uncertain_for_everyone(tmp_path: Path) -> None:
    bundles = fixture_bundles()
    export = write_export(tmp_path / "export", resources_by_type(bundles))
    append(export / "Condition.ndjson", b"\x7b not json")
    document = run(tmp_path, export)
    assert document["uncertain_types"] == ["Condition"]
    # Conditions are a required prefetch key: nobody gets a card built without them, everybody is listed.
    statuses = Counter(row["status"] for row in document["rows"])
    assert statuses == {"data could not be read": len(bundles)}


def test_a_truncated_gzip_file_and_manifest_errors_are_reported(tmp_path: Path) -> None:
    bundles = fixture_bundles()
    export = write_export(tmp_path / "export", resources_by_type(bundles))
    procedures = (export / "Procedure.ndjson").read_bytes()
    (export / "Procedure.ndjson").unlink()
    packed = gzip.compress(procedures)
    (export / "Procedure.ndjson.gz").write_bytes(packed[: len(packed) // 2])
    (export / "errors.ndjson").write_bytes(b'{"resourceType":"OperationOutcome","issue":[]}\n' * 2)
    outputs = [{"type": p.name.split(".")[0], "file": p.name} for p in sorted(export.glob("*.ndjson*"))
               if not p.name.startswith("errors")]
    (export / "manifest.json").write_bytes(orjson.dumps({"output": outputs, "error": [{"file": "errors.ndjson"}]}))
    document = run(tmp_path, export)
    kinds = Counter()
    for problem in document["problems"]:
        kinds[problem["kind"]] += problem["count"]
        if problem["kind"] == "file could not be read":
            assert problem["file"].startswith("Procedure.ndjson.gz")
    assert kinds == {"file could not be read": 1, "error entry in the export manifest": 2}
    assert document["uncertain_types"] == ["Procedure"]
    # Procedures are optional: patients are still evaluated, as a hook call without them would be.
    assert any(row["status"] == "card due" for row in document["rows"])
